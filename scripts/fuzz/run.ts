// `npm run fuzz -- --cases N --seed S [--minutes M] [--connections C] [--first-case K] [--show-case K]`: the long
// fuzz run against a real `fjord server` child process (see test/fuzz/). Prints cases/s, crashes,
// the broker's peak RSS and the longest event-loop stall seen by the probe; exits 1 on a crash.
// --minutes M stops starting cases after M minutes (the report says how many ran). --show-case K prints case K of the seed (label and bytes in hex) without running anything.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { supportedApis } from '../../src/broker/registry.js';
import { makeCase } from '../../test/fuzz/cases.js';
import { formatReport, fuzzBroker } from '../../test/fuzz/fuzzer.js';
import { startServerProcess } from '../../test/server-process.js';

const USAGE = `usage: npm run fuzz -- [options]
  a long fuzz run against a real \`fjord server\` child process (see test/fuzz/ and docs/robustness.md)
  --cases N            cases to run (default 1000000)
  --seed S             seed of the case sequence (default: random; the report names it)
  --minutes M          stop starting cases after M minutes (the report says how many ran)
  --connections C      parallel connections (default 8)
  --first-case K       start at case K of the seed (default 0)
  --case-timeout-ms T  how long one case may take before it counts as a hang (default 1000)
  --show-case K        print case K of the seed (label and bytes in hex) and run nothing
  -h, --help           this text
exits 1 when the broker crashed, 2 on a bad option`;

const options = {
  cases: { type: 'string', default: '1000000' },
  seed: { type: 'string' },
  connections: { type: 'string', default: '8' },
  'first-case': { type: 'string', default: '0' },
  'show-case': { type: 'string' },
  'case-timeout-ms': { type: 'string', default: '1000' },
  minutes: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
let parsed: ReturnType<typeof parseArgs<{ options: typeof options }>>;
try {
  parsed = parseArgs({ options });
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Math.random() * 0x1_0000_0000) >>> 0;
const apis = supportedApis();

if (values['show-case'] !== undefined) {
  const c = makeCase(seed, Number(values['show-case']), apis);
  console.log(`seed ${seed} case ${values['show-case']}: ${c.label}${c.endAfter ? ' (then half-close)' : ''}`);
  for (const chunk of c.chunks) console.log(chunk.toString('hex'));
  process.exit(0);
}

const dataDir = mkdtempSync(join(tmpdir(), 'fjord-fuzz-'));
const server = await startServerProcess(['--data-dir', dataDir, '--group-initial-rebalance-delay-ms', '0', '--log-level', 'info']);
console.log(`fuzzing broker pid ${server.child.pid} on port ${server.port}, seed ${seed}, ${values.cases} cases from #${values['first-case']}`);
let report;
try {
  report = await fuzzBroker({
    port: server.port, pid: server.child.pid!, exited: server.exited, apis, seed,
    cases: Number(values.cases), firstCase: Number(values['first-case']), connections: Number(values.connections),
    caseTimeoutMs: Number(values['case-timeout-ms']),
    maxDurationMs: values.minutes !== undefined ? Number(values.minutes) * 60_000 : undefined,
    onProgress: (r) => process.stderr.write(`  ${r.cases} cases, ${Math.round(r.cases / (r.durationMs / 1000))}/s, peak RSS ${(r.peakRssKiB / 1024).toFixed(0)} MiB, longest stall ${r.longestStallMs.toFixed(0)} ms, crashes ${r.crashes.length}\n`),
  });
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(formatReport(report));
// The broker's ERROR lines (a handler that threw), counted by message with numbers and names blurred.
const errors = new Map<string, number>();
for (const line of server.output().split('\n')) {
  const m = / ERROR (.*)$/.exec(line);
  if (!m) continue;
  const key = m[1]!.replace(/from \S+/, 'from <client>').replace(/\d+/g, 'N');
  errors.set(key, (errors.get(key) ?? 0) + 1);
}
console.log(`broker ERROR lines: ${[...errors.values()].reduce((a, b) => a + b, 0)}${[...errors].map(([k, n]) => `\n  ${n} × ${k}`).join('')}`);
process.exit(report.crashes.length ? 1 : 0);
