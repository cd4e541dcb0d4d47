"""Shared by the Python conformance programs: run as <program> <scenario> <bootstrap> <topic>;
exit 0 when every produced record came back, else print "FAIL: <reason>" and exit 1."""
import sys
import threading
import time
import traceback


def fail(reason):
    print(f"FAIL: {reason}", flush=True)
    sys.exit(1)


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(3)


def make_records(n, tag):
    return [(f"k{i}", f"{tag}:v{i}:{'x' * (i % 50)}") for i in range(n)]


class Expect:
    """Every produced record consumed exactly once, with its key, and nothing else."""

    def __init__(self, records):
        self.want = {v: k for k, v in records}
        self.seen = {}
        self.problems = []
        self.lock = threading.Lock()

    def add(self, key, value):
        key = key.decode() if isinstance(key, bytes) else key
        value = value.decode() if isinstance(value, bytes) else value
        with self.lock:
            if value not in self.want:
                self.problems.append(f"unexpected record {value!r:.60}")
                return
            if self.want[value] != key:
                self.problems.append(f"record {value:.40} has key {key!r}, want {self.want[value]!r}")
            self.seen[value] = self.seen.get(value, 0) + 1

    @property
    def done(self):
        return len(self.seen) == len(self.want)

    def verify(self):
        missing = [v for v in self.want if v not in self.seen]
        dups = [v for v, n in self.seen.items() if n > 1]
        p = list(self.problems)
        if missing:
            p.append(f"{len(missing)} of {len(self.want)} records never consumed (first: {missing[0]:.40})")
        if dups:
            p.append(f"{len(dups)} records consumed more than once")
        if p:
            fail("; ".join(p[:3]))


def main(scenarios):
    scenario, bootstrap, topic = sys.argv[1:4]
    fn = scenarios.get(scenario)
    if fn is None:
        fail(f"unknown scenario {scenario}")
    timer = threading.Timer(80, lambda: (print("FAIL: scenario did not finish in 80 s", flush=True), __import__("os")._exit(1)))
    timer.daemon = True
    timer.start()
    try:
        fn(bootstrap, topic)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - report any client error as the failure reason
        traceback.print_exc()
        fail(f"{type(e).__name__}: {e}")
    sys.stdout.flush()
    __import__("os")._exit(0)


def wait_until(check, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.05)
    fail(f"timed out after {seconds} s waiting for {what}")
