// Package check is shared by the Go conformance programs. Each program is run as
//
//	<program> <scenario> <bootstrap> <topic>
//
// and exits 0 when every record it produced came back; on failure it prints "FAIL: <reason>".
package check

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Args are the command line: scenario, bootstrap address, topic.
type Args struct{ Scenario, Bootstrap, Topic string }

// Brokers is the bootstrap list one address each (run.ts --cluster passes three, comma-separated).
func (a Args) Brokers() []string { return strings.Split(a.Bootstrap, ",") }

// First is the first bootstrap address, for calls that dial one broker.
func (a Args) First() string { return a.Brokers()[0] }

// Main dispatches to the scenario named on the command line, with an overall deadline.
func Main(scenarios map[string]func(Args)) {
	if len(os.Args) < 4 {
		Fail("usage: <program> <scenario> <bootstrap> <topic>")
	}
	a := Args{os.Args[1], os.Args[2], os.Args[3]}
	fn, ok := scenarios[a.Scenario]
	if !ok {
		Fail("unknown scenario %s", a.Scenario)
	}
	go func() {
		time.Sleep(80 * time.Second)
		Fail("scenario did not finish in 80 s")
	}()
	fn(a)
	os.Exit(0)
}

// Fail prints the reason and exits 1.
func Fail(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// Skip prints the reason and exits 3 (the runner records a skip).
func Skip(format string, args ...any) {
	fmt.Printf("SKIP: "+format+"\n", args...)
	os.Exit(3)
}

// Must fails on a non-nil error.
func Must(err error, what string) {
	if err != nil {
		Fail("%s: %v", what, err)
	}
}

// Record is one key/value pair.
type Record struct{ Key, Value string }

// Records makes n records with distinct keys and values that carry the tag.
func Records(n int, tag string) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{fmt.Sprintf("k%d", i), fmt.Sprintf("%s:v%d:%s", tag, i, strings.Repeat("x", i%50))}
	}
	return out
}

// Expect checks consumed records against the produced ones: every one, exactly once.
type Expect struct {
	mu       sync.Mutex
	want     map[string]string
	seen     map[string]int
	problems []string
}

// NewExpect starts an expectation for the given records.
func NewExpect(records []Record) *Expect {
	e := &Expect{want: map[string]string{}, seen: map[string]int{}}
	for _, r := range records {
		e.want[r.Value] = r.Key
	}
	return e
}

// Add notes one consumed record.
func (e *Expect) Add(key, value []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, ok := e.want[string(value)]
	if !ok {
		if len(e.problems) < 5 {
			e.problems = append(e.problems, fmt.Sprintf("unexpected record %.60q", value))
		}
		return
	}
	if k != string(key) && len(e.problems) < 5 {
		e.problems = append(e.problems, fmt.Sprintf("record %.40s has key %q, want %q", value, key, k))
	}
	e.seen[string(value)]++
}

// Done tells whether every record was seen.
func (e *Expect) Done() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.seen) == len(e.want)
}

// Count is how many distinct records were seen.
func (e *Expect) Count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.seen)
}

// Wait polls until every record was seen or the timeout passes.
func (e *Expect) Wait(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for !e.Done() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// Verify fails unless every record was seen exactly once and nothing else was.
func (e *Expect) Verify() {
	e.mu.Lock()
	defer e.mu.Unlock()
	missing, dups := 0, 0
	first := ""
	for v := range e.want {
		if e.seen[v] == 0 {
			if missing == 0 {
				first = v
			}
			missing++
		} else if e.seen[v] > 1 {
			dups++
		}
	}
	p := e.problems
	if missing > 0 {
		p = append(p, fmt.Sprintf("%d of %d records never consumed (first: %.40s)", missing, len(e.want), first))
	}
	if dups > 0 {
		p = append(p, fmt.Sprintf("%d records consumed more than once", dups))
	}
	if len(p) > 0 {
		if len(p) > 3 {
			p = p[:3]
		}
		Fail("%s", strings.Join(p, "; "))
	}
}
