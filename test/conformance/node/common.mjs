// Shared by the Node.js conformance programs. Each program is run as
//   node <program>.mjs <scenario> <bootstrap> <topic>
// and exits 0 when every record it produced came back; on failure it prints "FAIL: <reason>".
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.FJORD_CONFORMANCE_CACHE
  ? join(process.env.FJORD_CONFORMANCE_CACHE, 'node')
  : join(here, '..', '..', '..', '.cache', 'conformance', 'node');
/** Loads a client from the conformance install (.cache/conformance/node), not the project's. */
export const load = createRequire(join(modules, 'package.json'));

export const [scenario, bootstrap, topic] = process.argv.slice(2);
/** The bootstrap addresses one by one (`run.ts --cluster` passes all three brokers, comma-separated). */
export const brokers = (bootstrap ?? '').split(',').filter(Boolean);

export function fail(reason) {
  console.log(`FAIL: ${reason}`);
  process.exit(1);
}

export function skip(reason) {
  console.log(`SKIP: ${reason}`);
  process.exit(3);
}

/** n records with distinct keys and values; values carry the topic so stray records are caught. */
export function makeRecords(n, tag = topic) {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${tag}:v${i}:${'x'.repeat(i % 50)}` }));
}

/** Collects consumed records and checks them against the expected list: every one, exactly once. */
export class Expect {
  constructor(records) {
    this.want = new Map(records.map((r) => [r.value, r.key]));
    this.seen = new Map();
    this.problems = [];
  }
  add(key, value) {
    key = key == null ? null : key.toString();
    value = value == null ? null : value.toString();
    if (!this.want.has(value)) { this.problems.push(`unexpected record ${JSON.stringify(value)?.slice(0, 60)}`); return; }
    if (this.want.get(value) !== key) this.problems.push(`record ${value.slice(0, 40)} has key ${key}, expected ${this.want.get(value)}`);
    this.seen.set(value, (this.seen.get(value) ?? 0) + 1);
  }
  get done() { return this.seen.size === this.want.size; }
  verify() {
    const missing = [...this.want.keys()].filter((v) => !this.seen.has(v));
    const dups = [...this.seen].filter(([, n]) => n > 1);
    if (missing.length) this.problems.push(`${missing.length} of ${this.want.size} records never consumed (first: ${missing[0].slice(0, 40)})`);
    if (dups.length) this.problems.push(`${dups.length} records consumed more than once`);
    if (this.problems.length) fail(this.problems.slice(0, 3).join('; '));
  }
}

export async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  fail(`timed out after ${ms} ms waiting for ${what}`);
}

/** Runs the scenario function named on the command line; unknown names and exceptions fail. */
export async function main(scenarios) {
  const fn = scenarios[scenario];
  if (!fn) fail(`unknown scenario ${scenario}`);
  const timer = setTimeout(() => fail('scenario did not finish in 80 s'), 80_000);
  try {
    await fn();
  } catch (err) {
    fail(err?.stack?.split("\n").slice(0, process.env.CONFORMANCE_DEBUG ? 20 : 2).join(" ") ?? String(err));
  }
  clearTimeout(timer);
  process.exit(0);
}
