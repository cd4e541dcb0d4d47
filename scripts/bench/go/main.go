// fjord-bench: the light load generator of scripts/bench/run.mjs (franz-go), plus probes of the
// machine's ceilings. Every mode prints exactly one JSON object on stdout; errors go to stderr
// with a non-zero exit.
//
//	fjord-bench create  -brokers B -topic T -partitions P
//	fjord-bench produce -brokers B -topic T -records N -size S -acks 1|all [-linger 5ms] [-batch 1048576]
//	fjord-bench consume -brokers B -topic T -records N
//	fjord-bench e2e     -brokers B -topic T -rate R -seconds D -size S -acks 1|all [-warmup 2]
//	fjord-bench txn     -brokers B -topic T -records N -per-txn K -size S
//	fjord-bench tcp     -bytes N [-chunk 1048576]
//	fjord-bench disk    -dir D -bytes N
//
// FJORD_BENCH_TLS_CA=<PEM file>: the Kafka modes connect with TLS, trusting that CA.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const mib = 1024 * 1024

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "fjord-bench: "+format+"\n", args...)
	os.Exit(1)
}

func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		die("json: %v", err)
	}
	fmt.Println(string(b))
}

// percentiles of microsecond samples (sorted in place), in milliseconds.
func percentiles(us []int64) map[string]float64 {
	out := map[string]float64{"count": float64(len(us))}
	if len(us) == 0 {
		return out
	}
	sort.Slice(us, func(i, j int) bool { return us[i] < us[j] })
	at := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(us)))) - 1
		if i < 0 {
			i = 0
		}
		return float64(us[i]) / 1000
	}
	var sum int64
	for _, v := range us {
		sum += v
	}
	out["avgMs"] = float64(sum) / float64(len(us)) / 1000
	out["p50Ms"] = at(0.50)
	out["p99Ms"] = at(0.99)
	out["p999Ms"] = at(0.999)
	out["maxMs"] = float64(us[len(us)-1]) / 1000
	return out
}

func acksOpts(acks string, linger time.Duration, batch int) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(linger),
		kgo.ProducerBatchMaxBytes(int32(batch)),
		kgo.MaxBufferedRecords(200000),
		kgo.RecordRetries(10),
	}
	switch acks {
	case "1":
		// Non-idempotent, so several produce requests may be in flight (the Java client's default 5).
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(5))
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks())) // idempotent, 5 in flight
	default:
		die("-acks must be 1 or all, not %q", acks)
	}
	return opts
}

func client(brokers string, opts ...kgo.Opt) *kgo.Client {
	all := append([]kgo.Opt{kgo.SeedBrokers(strings.Split(brokers, ",")...), kgo.ClientID("fjord-bench")}, opts...)
	if caFile := os.Getenv("FJORD_BENCH_TLS_CA"); caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			die("FJORD_BENCH_TLS_CA: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			die("FJORD_BENCH_TLS_CA: no certificate in %s", caFile)
		}
		all = append(all, kgo.DialTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	}
	cl, err := kgo.NewClient(all...)
	if err != nil {
		die("client: %v", err)
	}
	return cl
}

func cmdCreate(args []string) {
	fs := flag.NewFlagSet("create", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "")
	topic := fs.String("topic", "", "")
	partitions := fs.Int("partitions", 1, "")
	fs.Parse(args)
	cl := client(*brokers)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopics(ctx, int32(*partitions), 1, nil, *topic)
	if err != nil {
		die("create %s: %v", *topic, err)
	}
	for _, r := range resp {
		if r.Err != nil {
			die("create %s: %v", r.Topic, r.Err)
		}
	}
	// Wait until the topic's leaders are known (Kafka creates asynchronously).
	for {
		md, err := adm.Metadata(ctx, *topic)
		if err == nil {
			if t, ok := md.Topics[*topic]; ok && t.Err == nil && len(t.Partitions) == *partitions {
				ready := true
				for _, p := range t.Partitions {
					if p.Leader < 0 || p.Err != nil {
						ready = false
					}
				}
				if ready {
					break
				}
			}
		}
		if ctx.Err() != nil {
			die("topic %s not ready: %v", *topic, ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	emit(map[string]any{"topic": *topic, "partitions": *partitions})
}

func cmdProduce(args []string) {
	fs := flag.NewFlagSet("produce", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "")
	topic := fs.String("topic", "", "")
	records := fs.Int("records", 100000, "")
	size := fs.Int("size", 1024, "")
	acks := fs.String("acks", "1", "")
	linger := fs.Duration("linger", 5*time.Millisecond, "")
	batch := fs.Int("batch", 1<<20, "")
	fs.Parse(args)

	cl := client(*brokers, append(acksOpts(*acks, *linger, *batch), kgo.DefaultProduceTopic(*topic))...)
	defer cl.Close()
	ctx := context.Background()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("warmup")}).FirstErr(); err != nil {
		die("warm-up produce: %v", err)
	}
	value := make([]byte, *size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	lat := make([]int64, *records)
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	for i := 0; i < *records; i++ {
		i := i
		sent := time.Now()
		cl.Produce(ctx, &kgo.Record{Value: value}, func(r *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			lat[i] = time.Since(sent).Microseconds()
		})
	}
	if err := cl.Flush(ctx); err != nil {
		die("flush: %v", err)
	}
	secs := time.Since(start).Seconds()
	ok := *records - int(failed.Load())
	out := map[string]any{
		"tool": "franz-go", "records": ok, "failed": failed.Load(), "seconds": secs,
		"recordsPerSec": float64(ok) / secs, "mibPerSec": float64(ok) * float64(*size) / mib / secs,
		"latency": percentiles(lat),
	}
	if e := firstErr.Load(); e != nil {
		out["firstError"] = e
	}
	emit(out)
}

func cmdConsume(args []string) {
	fs := flag.NewFlagSet("consume", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "")
	topic := fs.String("topic", "", "")
	records := fs.Int("records", 100000, "")
	timeout := fs.Duration("timeout", 10*time.Minute, "")
	fs.Parse(args)
	cl := client(*brokers, kgo.ConsumeTopics(*topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var n, bytes int64
	var start time.Time
	for n < int64(*records) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			die("consumed %d of %d records before the timeout", n, *records)
		}
		if start.IsZero() {
			start = time.Now() // from the first answer: excludes connecting and metadata
		}
		fetches.EachError(func(t string, p int32, err error) { die("fetch %s[%d]: %v", t, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			n++
			bytes += int64(len(r.Value) + len(r.Key))
		})
	}
	secs := time.Since(start).Seconds()
	emit(map[string]any{"tool": "franz-go", "records": n, "bytes": bytes, "seconds": secs,
		"recordsPerSec": float64(n) / secs, "mibPerSec": float64(bytes) / mib / secs})
}

func cmdE2E(args []string) {
	fs := flag.NewFlagSet("e2e", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "")
	topic := fs.String("topic", "", "")
	rate := fs.Int("rate", 1000, "records per second")
	seconds := fs.Float64("seconds", 10, "")
	warmup := fs.Float64("warmup", 2, "seconds at the start whose samples are dropped")
	size := fs.Int("size", 1024, "")
	acks := fs.String("acks", "all", "")
	fs.Parse(args)
	if *size < 16 {
		*size = 16
	}
	base := time.Now()
	total := int(float64(*rate) * *seconds)
	skip := int(float64(*rate) * *warmup)

	cons := client(*brokers, kgo.ConsumeTopics(*topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(500*time.Millisecond))
	defer cons.Close()
	prod := client(*brokers, append(acksOpts(*acks, 0, 1<<20), kgo.DefaultProduceTopic(*topic))...)
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*seconds+60)*time.Second)
	defer cancel()
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: make([]byte, *size)}).FirstErr(); err != nil {
		die("warm-up produce: %v", err)
	}

	samples := make([]int64, 0, total)
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		seen := 0
		for seen < total+1 {
			fetches := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			now := time.Since(base).Microseconds()
			fetches.EachRecord(func(r *kgo.Record) {
				seen++
				seq := binary.BigEndian.Uint64(r.Value[8:16])
				if seq == 0 || int(seq) <= skip {
					return // the warm-up record and the warm-up seconds
				}
				sentUs := int64(binary.BigEndian.Uint64(r.Value[0:8]))
				mu.Lock()
				samples = append(samples, now-sentUs)
				mu.Unlock()
			})
		}
	}()

	var failed atomic.Int64
	interval := time.Second / time.Duration(*rate)
	start := time.Now()
	for i := 1; i <= total; i++ {
		next := start.Add(time.Duration(i-1) * interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		v := make([]byte, *size)
		binary.BigEndian.PutUint64(v[0:8], uint64(time.Since(base).Microseconds()))
		binary.BigEndian.PutUint64(v[8:16], uint64(i))
		prod.Produce(ctx, &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
			}
		})
	}
	sendSecs := time.Since(start).Seconds()
	prod.Flush(ctx)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if ctx.Err() != nil {
		die("e2e: timed out with %d of %d samples", len(samples), total-skip)
	}
	emit(map[string]any{"tool": "franz-go", "rate": *rate, "achievedRate": float64(total) / sendSecs,
		"failed": failed.Load(), "latency": percentiles(samples)})
}

// cmdTxn produces N records in transactions of K records each (one transactional producer,
// acks=all): begin, produce K, flush, commit, and again. Reports commits/s, records/s, MiB/s and
// the latency of each transaction's flush + commit.
func cmdTxn(args []string) {
	fs := flag.NewFlagSet("txn", flag.ExitOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "")
	topic := fs.String("topic", "", "")
	records := fs.Int("records", 100000, "")
	perTxn := fs.Int("per-txn", 100, "")
	size := fs.Int("size", 100, "")
	fs.Parse(args)
	if *perTxn < 1 {
		die("-per-txn must be at least 1")
	}
	opts := append(acksOpts("all", 0, 1<<20), kgo.DefaultProduceTopic(*topic),
		kgo.TransactionalID(fmt.Sprintf("fjord-bench-%d", time.Now().UnixNano())), kgo.TransactionTimeout(60*time.Second))
	cl := client(*brokers, opts...)
	defer cl.Close()
	ctx := context.Background()
	value := make([]byte, *size)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	one := func(n int) time.Duration {
		if err := cl.BeginTransaction(); err != nil {
			die("begin: %v", err)
		}
		var failed atomic.Value
		for i := 0; i < n; i++ {
			cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.CompareAndSwap(nil, err.Error())
				}
			})
		}
		t0 := time.Now()
		if err := cl.Flush(ctx); err != nil {
			die("flush: %v", err)
		}
		if e := failed.Load(); e != nil {
			die("produce in transaction: %v", e)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			die("commit: %v", err)
		}
		return time.Since(t0)
	}
	one(1) // warm-up: producer id, coordinator, partitions
	txns := *records / *perTxn
	if txns < 1 {
		txns = 1
	}
	lat := make([]int64, 0, txns)
	start := time.Now()
	for t := 0; t < txns; t++ {
		lat = append(lat, one(*perTxn).Microseconds())
	}
	secs := time.Since(start).Seconds()
	total := txns * *perTxn
	emit(map[string]any{
		"records": total, "transactions": txns, "perTxn": *perTxn, "seconds": secs,
		"commitsPerSec": float64(txns) / secs, "recordsPerSec": float64(total) / secs,
		"mibPerSec": float64(total) * float64(*size) / mib / secs, "commitLatency": percentiles(lat),
	})
}

func cmdTCP(args []string) {
	fs := flag.NewFlagSet("tcp", flag.ExitOnError)
	total := fs.Int64("bytes", 4<<30, "")
	chunk := fs.Int("chunk", 1<<20, "")
	fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		die("listen: %v", err)
	}
	got := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			die("accept: %v", err)
		}
		n, _ := io.CopyBuffer(io.Discard, c, make([]byte, *chunk))
		got <- n
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		die("dial: %v", err)
	}
	buf := make([]byte, *chunk)
	start := time.Now()
	for sent := int64(0); sent < *total; sent += int64(len(buf)) {
		if _, err := c.Write(buf); err != nil {
			die("write: %v", err)
		}
	}
	c.Close()
	n := <-got
	secs := time.Since(start).Seconds()
	emit(map[string]any{"bytes": n, "seconds": secs, "mibPerSec": float64(n) / mib / secs})
}

// Sequential writes to one file: buffered (page cache), buffered + one fdatasync at the end (the
// device's sustained rate), and an fdatasync after every write of 64 KiB and of 4 KiB (what a
// per-request flush costs).
func cmdDisk(args []string) {
	fs := flag.NewFlagSet("disk", flag.ExitOnError)
	dir := fs.String("dir", os.TempDir(), "")
	total := fs.Int64("bytes", 1<<30, "")
	syncSecs := fs.Float64("sync-seconds", 3, "")
	fs.Parse(args)
	path := filepath.Join(*dir, fmt.Sprintf("fjord-bench-disk-%d", os.Getpid()))
	defer os.Remove(path)
	write := func(chunk int, limit int64, secs float64, syncEach, syncEnd bool) (int64, int, float64) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			die("open: %v", err)
		}
		defer f.Close()
		buf := make([]byte, chunk)
		for i := range buf {
			buf[i] = byte(i)
		}
		var n int64
		syncs := 0
		start := time.Now()
		for n < limit && (secs <= 0 || time.Since(start).Seconds() < secs) {
			if _, err := f.Write(buf); err != nil {
				die("write: %v", err)
			}
			n += int64(chunk)
			if syncEach {
				if err := fdatasync(f); err != nil {
					die("fdatasync: %v", err)
				}
				syncs++
			}
		}
		if syncEnd {
			if err := fdatasync(f); err != nil {
				die("fdatasync: %v", err)
			}
			syncs++
		}
		return n, syncs, time.Since(start).Seconds()
	}
	res := map[string]any{"dir": *dir}
	n, _, s := write(1<<20, *total, 0, false, false)
	res["bufferedMibPerSec"] = float64(n) / mib / s
	os.Remove(path)
	n, _, s = write(1<<20, *total, 0, false, true)
	res["fdatasyncAtEndMibPerSec"] = float64(n) / mib / s
	os.Remove(path)
	n, k, s := write(64<<10, *total, *syncSecs, true, false)
	res["sync64kMibPerSec"] = float64(n) / mib / s
	res["sync64kPerSec"] = float64(k) / s
	os.Remove(path)
	n, k, s = write(4<<10, *total, *syncSecs, true, false)
	res["sync4kMibPerSec"] = float64(n) / mib / s
	res["sync4kPerSec"] = float64(k) / s
	emit(res)
}

func fdatasync(f *os.File) error {
	return syscall.Fdatasync(int(f.Fd()))
}

func main() {
	if len(os.Args) < 2 {
		die("usage: fjord-bench create|produce|consume|e2e|txn|tcp|disk [flags]")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "create":
		cmdCreate(args)
	case "produce":
		cmdProduce(args)
	case "consume":
		cmdConsume(args)
	case "e2e":
		cmdE2E(args)
	case "txn":
		cmdTxn(args)
	case "tcp":
		cmdTCP(args)
	case "disk":
		cmdDisk(args)
	default:
		die("unknown mode %q", os.Args[1])
	}
}
