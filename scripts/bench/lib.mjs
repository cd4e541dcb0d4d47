// Pieces shared by scripts/bench/run.mjs (the benchmark) and scripts/bench/profile.mjs (CPU
// profiles): building Fjord and the Go load generator into .cache/bench, starting Fjord, running
// the load generators, sampling resident memory, machine facts.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, runKafkaClassSync, waitForMetadata } from '../kafka-dist.mjs';
import { fjordNodeFlags } from '../node-flags.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// FJORD_BENCH_CACHE=<dir> builds Fjord and the Go tool elsewhere (e.g. when .cache is shared between checkouts).
export const CACHE = process.env.FJORD_BENCH_CACHE ? resolve(process.env.FJORD_BENCH_CACHE) : join(ROOT, '.cache', 'bench');
export const GO_TOOL = join(CACHE, 'fjord-bench');
export const MIB = 1024 * 1024;

export const log = (...a) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds scripts/bench/go into .cache/bench/fjord-bench when missing or older than its source. */
export function buildGoTool() {
  const src = join(ROOT, 'scripts', 'bench', 'go');
  if (existsSync(GO_TOOL) && statSync(GO_TOOL).mtimeMs >= newestMtime(src)) return GO_TOOL;
  log('building the Go load generator (franz-go)');
  mkdirSync(CACHE, { recursive: true });
  const r = spawnSync('go', ['build', '-o', GO_TOOL, '.'], { cwd: src, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('go build failed');
  return GO_TOOL;
}

/**
 * Builds Fjord (scripts/build.mjs: modules + the bundled command line) into a private dist (.cache/bench/fjord-dist) so that another engineer's
 * `npm run build` (which deletes dist/) cannot pull the broker out from under a running bench.
 * src = 'worktree' (the files as they are now) or a git revision (HEAD, a commit).
 * Returns { main, src, commit, dirty }.
 */
export async function buildFjord(src = 'worktree') {
  const out = join(CACHE, 'fjord-dist');
  let srcDir = join(ROOT, 'src');
  const commit = execFileSync('git', ['rev-parse', '--short', src === 'worktree' ? 'HEAD' : src], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dirty = src === 'worktree' && execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  if (src !== 'worktree') {
    const tree = join(CACHE, 'fjord-src');
    rmSync(tree, { recursive: true, force: true });
    mkdirSync(tree, { recursive: true });
    execFileSync('sh', ['-c', `git archive --format=tar ${src} src | tar -x -C "${tree}"`], { cwd: ROOT });
    srcDir = join(tree, 'src');
  }
  const { buildInto } = await import('../build.mjs');
  const main = await buildInto(srcDir, out);
  log(`built Fjord ${commit}${dirty ? ' + uncommitted changes in src/' : ''} into ${out}`);
  return { main, src, commit, dirty };
}

/** VmRSS of a process in MiB (null when it is gone). */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Samples VmRSS every `ms` until stopped; stop() returns the maximum seen. */
export function rssSampler(pid, ms = 200) {
  let max = rssMiB(pid) ?? 0;
  const t = setInterval(() => { max = Math.max(max, rssMiB(pid) ?? 0); }, ms);
  return { stop: () => { clearInterval(t); max = Math.max(max, rssMiB(pid) ?? 0); return max; } };
}

/** User+system CPU seconds a process has used so far (from /proc/<pid>/stat). */
export function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/**
 * A CA and a certificate for 127.0.0.1 / localhost signed by it (EC P-256, openssl), in `dir`:
 * { caFile, keystoreFile (key + certificate, PEM) } for the TLS targets.
 */
export function makeTlsMaterial(dir) {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const f = (n) => join(dir, n);
  const run = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=fjord bench CA']);
  run(['req', '-new', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', '1', '-days', '2', '-out', f('server.pem'), '-extfile', f('server.ext')]);
  writeFileSync(f('server-keystore.pem'), readFileSync(f('server.key'), 'utf8') + readFileSync(f('server.pem'), 'utf8'));
  return { caFile: f('ca.pem'), keystoreFile: f('server-keystore.pem') };
}

/**
 * Starts `node <main> server` on 127.0.0.1 with a fresh data dir; resolves when Metadata answers.
 * flush: 'os' | 'always' | '<ms>'. nodeArgs: e.g. ['--cpu-prof', '--cpu-prof-dir=...'].
 * tls: { keystoreFile } adds an SSL listener (the PLAINTEXT one stays, for the readiness probe);
 * `bootstrap` is then the SSL listener's address.
 */
export async function startFjord({ main, dataDir, flush = 'os', nodeArgs = [], extraArgs = [], tls = null }) {
  const port = await freePort();
  const tlsPort = tls ? await freePort() : null;
  const listen = tls
    ? ['--listeners', `PLAINTEXT://127.0.0.1:${port},SSL://127.0.0.1:${tlsPort}`, '--ssl-keystore-location', tls.keystoreFile]
    : ['--port', String(port), '--host', '127.0.0.1'];
  const output = [];
  const since = performance.now();
  const child = spawn(process.execPath, [...(fjordNodeFlags(ROOT) ?? []), ...nodeArgs, ...(process.env.FJORD_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), main, 'server', ...listen,
    '--data-dir', dataDir, '--flush', flush, '--group-initial-rebalance-delay-ms', '0', ...extraArgs],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  // FJORD_BENCH_BROKER_LOG=<file> keeps everything the broker prints (e.g. with --trace-gc in FJORD_BENCH_NODE_ARGS).
  const tee = process.env.FJORD_BENCH_BROKER_LOG;
  const onLine = (d) => {
    if (tee) appendFileSync(tee, d);
    for (const l of String(d).split('\n')) if (l && output.length < 5000) output.push(l);
  };
  child.stdout.on('data', onLine);
  child.stderr.on('data', onLine);
  const exited = new Promise((res) => child.on('exit', (code, sig) => res(code ?? sig)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    const readyMs = await waitForMetadata('127.0.0.1', port, { since, child, timeoutMs: 30000 });
    return { bootstrap: `127.0.0.1:${tlsPort ?? port}`, port: tlsPort ?? port, pid: child.pid, child, readyMs, output, stop };
  } catch (err) {
    await stop();
    throw new Error(`Fjord did not start: ${err.message}\n${output.slice(-20).join('\n')}`);
  }
}

/** Runs the Go tool; resolves its JSON answer. tlsCa: connect with TLS trusting this CA file. */
export function goTool(mode, args, { timeoutMs = 15 * 60000, tlsCa = null } = {}) {
  return new Promise((res, rej) => {
    const env = tlsCa ? { ...process.env, FJORD_BENCH_TLS_CA: tlsCa } : process.env;
    const child = spawn(GO_TOOL, [mode, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return rej(new Error(`fjord-bench ${mode} failed (${code}): ${err.trim().slice(-2000)}`));
      try { res(JSON.parse(out.trim().split('\n').pop())); } catch (e) { rej(new Error(`fjord-bench ${mode}: bad output ${out}`)); }
    });
  });
}

/** Client properties for Kafka's Java tools to connect over TLS trusting `caFile` (PEM). */
export const javaTlsProps = (caFile) => ['security.protocol=SSL', 'ssl.truststore.type=PEM', `ssl.truststore.location=${caFile}`];

/** kafka-producer-perf-test; parses its summary line. clientProps: extra producer properties (k=v). */
export async function javaProduce({ bootstrap, topic, records, size, acks, dist, clientProps = [] }) {
  const r = await runKafkaClassSync('producer-perf-test', ['--topic', topic, '--num-records', String(records), '--record-size', String(size),
    '--throughput', '-1', '--producer-props', `bootstrap.servers=${bootstrap}`, `acks=${acks}`, ...clientProps], { dist, heap: '512M' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const m = /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th/.exec(line);
  if (r.code !== 0 || !m) throw new Error(`kafka-producer-perf-test failed (${r.code}): ${line}\n${r.stderr.slice(-2000)}`);
  return { tool: 'kafka-producer-perf-test', records: +m[1], recordsPerSec: +m[2], mibPerSec: +m[3],
    latency: { avgMs: +m[4], maxMs: +m[5], p50Ms: +m[6], p95Ms: +m[7], p99Ms: +m[8], p999Ms: +m[9] } };
}

/**
 * kafka-consumer-perf-test (a group consumer); fetch.* figures exclude the group join.
 * clientProps: extra consumer properties (k=v), written to configDir/consumer.properties.
 */
export async function javaConsume({ bootstrap, topic, records, dist, clientProps = [], configDir = null }) {
  const config = [];
  if (clientProps.length) {
    const file = join(configDir ?? os.tmpdir(), `bench-consumer-${process.pid}.properties`);
    writeFileSync(file, clientProps.join('\n') + '\n');
    config.push('--consumer.config', file);
  }
  const r = await runKafkaClassSync('consumer-perf-test', ['--bootstrap-server', bootstrap, '--topic', topic, '--messages', String(records),
    '--timeout', '60000', ...config], { dist, heap: '512M' });
  const lines = r.stdout.trim().split('\n');
  const f = (lines.pop() ?? '').split(',').map((s) => s.trim());
  if (r.code !== 0 || f.length < 10) throw new Error(`kafka-consumer-perf-test failed (${r.code}): ${lines.join('\n')}\n${r.stderr.slice(-2000)}`);
  return { tool: 'kafka-consumer-perf-test', mib: +f[2], records: +f[4], rebalanceMs: +f[6], fetchMs: +f[7],
    mibPerSec: +f[8], recordsPerSec: +f[9], totalMibPerSec: +f[3] };
}

function cmdOut(cmd, args) {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim(); } catch (e) { return `${e.stderr ?? e.message}`.trim(); }
}

/** What the machine is, for the record. */
export function machineFacts(dataDir) {
  const mem = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
  const df = cmdOut('df', ['-h', '--output=source,fstype,size,avail', dataDir]).split('\n').pop();
  const src = df.split(/\s+/)[0];
  const dev = src.replace('/dev/', '').replace(/\d+$/, '');
  let rotational = null;
  try { rotational = readFileSync(`/sys/block/${dev}/queue/rotational`, 'utf8').trim() === '1'; } catch { /* not a block device we can see */ }
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: mem ? +(Number(mem[1]) / 1024 / 1024).toFixed(1) : null,
    kernel: os.release(),
    disk: `${df} (${rotational === null ? 'rotational: unknown' : rotational ? 'the kernel reports it rotational' : 'the kernel reports it non-rotational'})`,
    node: process.version,
    java: (java.stderr || '').split('\n')[0],
    go: cmdOut('go', ['version']),
    loadavgAtStart: os.loadavg().map((x) => +x.toFixed(2)),
    shared: 'yes: 2 cores shared with other engineers\' work while this ran; numbers are noisy',
  };
}
