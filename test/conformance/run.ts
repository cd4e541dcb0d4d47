// `npm run test:conformance`: runs real Kafka clients in their own languages against the real
// `fjord server` process and prints one table, client × scenario → pass / FAIL / xfail / skip.
//
//   pass   the scenario produced and consumed every record it checks
//   FAIL   a scenario named in allowlist.txt did not pass (this makes the exit code 1)
//   xfail  a scenario outside the allowlist that failed: a known gap, described in docs/compatibility.md
//   skip   not run: what it needs could not be installed or built here (the reason is printed)
//
// It installs what it needs by itself and caches it under .cache/conformance/ (npm, PyPI, the Go
// module proxy, Maven Central, apt for kcat). Every client gets a fresh broker (file storage in a
// temporary directory); logs of every scenario and broker are kept in .cache/conformance/logs/.
//
// Security scenarios (a Scenario with `secure`) run each against a broker of their own with four
// listeners — PLAINTEXT (setup), SASL_SSL, SASL_PLAINTEXT and SSL with ssl.client.auth=required —
// certificates made in the run by openssl, SCRAM users from --add-scram, OAUTHBEARER checked against
// a JWKS file of a key made in the run, and the ACL authorizer on; what a program needs to connect
// comes in environment variables (see `startSecureFjord`).
//
// `--against kafka` runs the same clients, scenarios and peer suites against Apache Kafka 4.1 instead
// (one KRaft node from scripts/kafka-dist.mjs, a fresh one wherever Fjord gets a fresh broker; the
// security scenarios need Fjord's four listeners and are not run). Each run writes its results to
// results-<broker>.json beside its logs; `--compare` prints the two side by side (the table of
// docs/compatibility.md) and lists every row where Kafka passes and Fjord does not.
//
// Usage: tsx test/conformance/run.ts [--only a,b] [--skip a,b] [--list] [--jobs-note] [--cluster] [--against fjord|kafka] [--compare]
//   --only / --skip take client names or client/scenario ids (prefix match); a peer suite's tests
//   can be picked one by one (`--only franz-go-kgo/TestGroupETL`).
//   --cluster: every client gets three brokers on one throw-away PostgreSQL (cluster mode,
//   docs/cluster.md) and a bootstrap list naming all three; secure scenarios are skipped.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream, chmodSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, startKafka } from '../../scripts/kafka-dist.mjs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { hasOpenssl, makeCa } from '../tls-certs.js';
import { pgSkipReason, startPgServer, type PgServer } from '../pg-server.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const CACHE = process.env.FJORD_CONFORMANCE_CACHE ?? join(ROOT, '.cache', 'conformance');
function flagValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
/** The broker under test: Fjord (the default) or Apache Kafka 4.1 for the comparison column. */
const AGAINST = flagValue('--against') ?? 'fjord';
if (AGAINST !== 'fjord' && AGAINST !== 'kafka') throw new Error(`--against takes fjord or kafka, not ${AGAINST}`);
const LOGS = join(CACHE, AGAINST === 'kafka' ? 'logs-kafka' : 'logs');

// ---------------------------------------------------------------------------------------------
// Results

type Status = 'pass' | 'FAIL' | 'xfail' | 'skip';
interface Result { client: string; scenario: string; status: Status; ms: number; note: string }

const allowlist = new Set(
  readFileSync(join(HERE, 'allowlist.txt'), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean),
);
const results: Result[] = [];

function record(client: string, scenario: string, ok: boolean | 'skip', ms: number, note: string): Result {
  // The allowlist is what Fjord must pass; against Kafka every failure is just recorded.
  const must = AGAINST === 'fjord' && allowlist.has(`${client}/${scenario}`) && !(CLUSTER && clusterExceptions.has(`${client}/${scenario}`));
  const status: Status = ok === true ? 'pass' : must ? 'FAIL' : ok === 'skip' ? 'skip' : 'xfail';
  const r = { client, scenario, status, ms, note: note.replace(/\s+/g, ' ').trim().slice(0, 160) };
  results.push(r);
  const mark = status === 'pass' ? 'ok  ' : status === 'FAIL' ? 'FAIL' : status === 'xfail' ? 'xf  ' : 'skip';
  process.stdout.write(`  ${mark} ${client}/${scenario} (${(ms / 1000).toFixed(1)} s)${status === 'pass' ? '' : ` — ${r.note}`}\n`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Processes

interface RunOutput { code: number | null; signal: string | null; out: string; timedOut: boolean; ms: number }

/** Runs a command, tees its output to a log file, kills its process group on timeout. */
function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; log?: string; input?: string } = {}): Promise<RunOutput> {
  return new Promise((resolve) => {
    const started = Date.now();
    const spawnOpts: SpawnOptions = { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'], detached: true };
    const child = spawn(cmd, args, spawnOpts);
    let out = '';
    const log = opts.log ? createWriteStream(opts.log) : undefined;
    log?.write(`$ ${cmd} ${args.join(' ')}\n`);
    const onData = (d: Buffer) => {
      if (out.length < 4_000_000) out += d.toString();
      log?.write(d);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
    }, opts.timeoutMs ?? 120_000);
    const finish = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      log?.end(`\n[exit ${code ?? signal}${timedOut ? ', timed out' : ''} after ${Date.now() - started} ms]\n`);
      resolve({ code, signal, out, timedOut, ms: Date.now() - started });
    };
    child.on('error', (err) => { out += `\n${err.message}\n`; finish(127, null); });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

function lastLines(out: string, n = 1): string {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.slice(-n).join(' | ');
}

function has(cmd: string, args = ['--version']): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

function hashFiles(paths: string[]): string {
  const h = createHash('sha256');
  for (const p of paths) h.update(existsSync(p) ? readFileSync(p) : Buffer.alloc(0));
  return h.digest('hex').slice(0, 16);
}

/** Runs `install` unless the stamp file holds `key` (the hash of what defines the install). */
async function cached(name: string, key: string, install: () => Promise<void>): Promise<void> {
  const stamp = join(CACHE, `${name}.stamp`);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return;
  const t = Date.now();
  process.stdout.write(`== installing ${name}\n`);
  await install();
  writeFileSync(stamp, key);
  process.stdout.write(`== installed ${name} in ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
}

async function must(what: string, p: Promise<RunOutput>): Promise<RunOutput> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}): ${lastLines(r.out, 3)}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Setups: each installs or builds one thing, once per run, cached across runs.

const GO_ENV: NodeJS.ProcessEnv = { GOFLAGS: '-modcacherw -buildvcs=false', GOMODCACHE: join(CACHE, 'gomod'), GOTOOLCHAIN: 'local' };
const PY = join(CACHE, 'py', 'bin', 'python');
const M2 = join(CACHE, 'm2');

/** Versions of the Java artifacts; KAFKA_DIST is the Kafka release whose CLI tools run. */
export const JAVA_CLIENTS = { '3.9': '3.9.1', '4.1': '4.1.1' } as const;
const KAFKA_TOOLS_VERSION = '4.1.1';
/** Peer suites, pinned. */
const FRANZ_GO = 'github.com/twmb/franz-go@v1.22.2';
const KAFKA_GO = 'github.com/segmentio/kafka-go@v0.4.51';
const SARAMA = 'github.com/IBM/sarama@v1.61.1';
/** sarama's functional tests reach the cluster through toxiproxy (they add and remove faults on it). */
const TOXIPROXY = 'github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0';

const setups: Record<string, () => Promise<void>> = {
  async kcat() {
    if (has('kcat', ['-V'])) return;
    if (!has('apt-get', ['--version'])) throw new Error('kcat is not installed and apt-get is not there');
    await must('apt-get update', run('apt-get', ['update', '-qq'], { timeoutMs: 300_000, log: join(LOGS, 'setup-apt.log') }));
    await must('apt-get install kcat', run('apt-get', ['install', '-y', '-qq', 'kcat'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000, log: join(LOGS, 'setup-apt-kcat.log') }));
  },

  async node() {
    const src = join(HERE, 'node');
    const dst = join(CACHE, 'node');
    await cached('node', hashFiles([join(src, 'package.json'), join(src, 'package-lock.json')]), async () => {
      mkdirSync(dst, { recursive: true });
      cpSync(join(src, 'package.json'), join(dst, 'package.json'));
      cpSync(join(src, 'package-lock.json'), join(dst, 'package-lock.json'));
      // node-rdkafka is optional: it compiles librdkafka; if that fails npm goes on without it.
      // librdkafka's build enables zstd only when libzstd's headers are there.
      if (!existsSync('/usr/include/zstd.h') && has('apt-get', ['--version'])) {
        const install = () => run('apt-get', ['install', '-y', '-qq', 'libzstd-dev'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 300_000, log: join(LOGS, 'setup-apt-libzstd.log') });
        if ((await install()).code !== 0) {
          await run('apt-get', ['update', '-qq'], { timeoutMs: 300_000, log: join(LOGS, 'setup-apt-update.log') });
          await install(); // best effort: without it node-rdkafka just has no zstd
        }
      }
      await must('npm ci (test/conformance/node)', run('npm', ['ci', '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: dst, timeoutMs: 1_200_000, log: join(LOGS, 'setup-node.log') }));
    });
  },

  async python() {
    const req = join(HERE, 'python', 'requirements.txt');
    await cached('python', hashFiles([req]), async () => {
      if (!existsSync(PY)) await must('python3 -m venv', run('python3', ['-m', 'venv', join(CACHE, 'py')], { log: join(LOGS, 'setup-python-venv.log') }));
      await must('pip install', run(PY, ['-m', 'pip', 'install', '-q', '-r', req], { timeoutMs: 900_000, log: join(LOGS, 'setup-python.log') }));
    });
  },

  async go() {
    // Each program's `go build` fetches only the modules it needs (go.sum is committed).
    if (!has('go', ['version'])) throw new Error('go is not installed');
  },

  async 'java-clients'() {
    if (!has('javac', ['-version']) || !has('mvn', ['-v'])) throw new Error('javac or mvn is not installed');
    for (const [short, version] of Object.entries(JAVA_CLIENTS)) {
      const cpFile = join(CACHE, 'java', `cp-kafka-clients-${version}.txt`);
      const classes = join(CACHE, 'java', `classes-${short}`);
      const sources = readdirSync(join(HERE, 'java')).filter((f) => f.endsWith('.java')).map((f) => join(HERE, 'java', f));
      await cached(`java-${short}`, hashFiles([join(HERE, 'java', 'pom.xml'), ...sources]) + version, async () => {
        await mavenClasspath('kafka-clients', version, cpFile);
        rmSync(classes, { recursive: true, force: true });
        await must(`javac (kafka-clients ${version})`, run('javac', ['-nowarn', '-d', classes, '-cp', readFileSync(cpFile, 'utf8').trim(), ...sources], { timeoutMs: 300_000, log: join(LOGS, `setup-javac-${short}.log`) }));
      });
    }
  },

  async 'kafka-tools'() {
    if (!has('java', ['-version']) || !has('mvn', ['-v'])) throw new Error('java or mvn is not installed');
    const cpFile = join(CACHE, 'java', `cp-kafka-tools-${KAFKA_TOOLS_VERSION}.txt`);
    await cached('kafka-tools', hashFiles([join(HERE, 'java', 'pom.xml')]) + KAFKA_TOOLS_VERSION, () => mavenClasspath('kafka-tools', KAFKA_TOOLS_VERSION, cpFile));
  },

  async 'franz-go'() {
    await peerModule('franz-go', FRANZ_GO);
  },

  async 'kafka-go-tests'() {
    await peerModule('kafka-go-tests', KAFKA_GO);
  },

  async 'sarama-functional'() {
    // The suite creates its topics with replication factor 3 for its five-broker docker-compose
    // cluster; a single node (Kafka's or Fjord's) refuses that, so the copy asks for 1.
    await peerModule('sarama-functional', SARAMA, (dir) => {
      const f = join(dir, 'functional_test.go');
      writeFileSync(f, readFileSync(f, 'utf8').replaceAll('ReplicationFactor: 3,', 'ReplicationFactor: 1,'));
    });
    await cached('toxiproxy', TOXIPROXY, async () => {
      mkdirSync(join(CACHE, 'go', 'bin'), { recursive: true });
      await must(`go install ${TOXIPROXY}`, run('go', ['install', TOXIPROXY], { cwd: CACHE, env: { ...GO_ENV, GOBIN: join(CACHE, 'go', 'bin') }, timeoutMs: 600_000, log: join(LOGS, 'setup-toxiproxy.log') }));
    });
  },
};

async function mavenClasspath(artifact: string, version: string, outFile: string): Promise<void> {
  mkdirSync(dirname(outFile), { recursive: true });
  await must(`mvn dependency:build-classpath ${artifact}:${version}`, run('mvn', [
    '-B', '-q', '-f', join(HERE, 'java', 'pom.xml'), `-Dmaven.repo.local=${M2}`, `-Dkafka.artifact=${artifact}`, `-Dkafka.version=${version}`,
    'dependency:build-classpath', `-Dmdep.outputFile=${outFile}`,
  ], { timeoutMs: 900_000, log: join(LOGS, `setup-mvn-${artifact}-${version}.log`) }));
}

/** Downloads a Go module from the module proxy and copies it to a writable directory. */
async function peerModule(name: string, modVersion: string, patch?: (dir: string) => void): Promise<void> {
  if (!has('go', ['version'])) throw new Error('go is not installed');
  const dst = join(CACHE, name);
  await cached(name, modVersion + (patch ? `+${createHash('sha256').update(patch.toString()).digest('hex').slice(0, 8)}` : ''), async () => {
    const r = await must(`go mod download ${modVersion}`, run('go', ['mod', 'download', '-json', modVersion], { cwd: CACHE, env: GO_ENV, timeoutMs: 600_000, log: join(LOGS, `setup-${name}.log`) }));
    const dir = (JSON.parse(r.out.slice(r.out.indexOf('{'))) as { Dir: string }).Dir;
    rmSync(dst, { recursive: true, force: true });
    cpSync(dir, dst, { recursive: true });
    makeWritable(dst);
    patch?.(dst);
    await must(`go mod download (${name} deps)`, run('go', ['mod', 'download'], { cwd: dst, env: GO_ENV, timeoutMs: 600_000, log: join(LOGS, `setup-${name}-deps.log`) }));
  });
}

function makeWritable(path: string): void {
  const st = statSync(path);
  chmodSync(path, st.mode | 0o200);
  if (st.isDirectory()) for (const e of readdirSync(path)) makeWritable(join(path, e));
}

const setupRuns = new Map<string, Promise<string | null>>();
/** Runs a setup once; resolves to null when it worked, else the reason it did not. */
function ensure(name: string): Promise<string | null> {
  let p = setupRuns.get(name);
  if (!p) {
    p = setups[name]!().then(() => null, (err: Error) => err.message);
    setupRuns.set(name, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  name: string;
  /** Command and arguments; `{bootstrap}` and `{topic}` are substituted. */
  cmd: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  input?: string;
  /** Runs against a broker of its own with the security listeners (`startSecureFjord`), plus these server args. */
  secure?: string[];
  /** After a secure scenario passed: a problem found in the broker's log, or null. */
  brokerCheck?: (log: string) => string | null;
}

interface Client {
  name: string;
  setup: string[];
  /** Extra checks after setup (e.g. an optional package that may not have built): a reason to skip, or null. */
  available?: () => string | null | Promise<string | null>;
  /** Built before its scenarios run; a failure skips them with the reason. */
  build?: () => Promise<void>;
  scenarios?: Scenario[];
  /** A peer test suite: runs and reports one result per test. */
  suite?: (bootstrap: string, broker: Broker) => Promise<void>;
  serverArgs?: string[];
}

const nodeScript = (file: string) => ['node', join(HERE, 'node', file)];
const goBin = (prog: string) => join(CACHE, 'go', 'bin', prog);
const goScenarios = (prog: string, names: string[], timeoutMs = 90_000): Scenario[] => names.map((name) => ({ name, cmd: [goBin(prog), name, '{bootstrap}', '{topic}'], timeoutMs }));
const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'];
const goSecure = (prog: string, names: string[]): Scenario[] => goScenarios(prog, names).map((s) => ({ ...s, secure: secureArgs(s.name) }));
/**
 * Server args of a security scenario's own broker. Wrong-password scenarios raise the per-address
 * failure limit: librdkafka and others retry at once, and the penalty past the limit (tested in
 * test/broker/sasl.test.ts) would slow the good client that follows from the same address.
 */
const secureArgs = (name: string): string[] => (name.endsWith('wrong-password') ? ['--sasl-failed-authentication-limit', '1000'] : []);


async function goBuild(prog: string): Promise<void> {
  mkdirSync(join(CACHE, 'go', 'bin'), { recursive: true });
  await must(`go build ./${prog}`, run('go', ['build', '-o', goBin(prog), `./${prog}`], { cwd: join(HERE, 'go'), env: GO_ENV, timeoutMs: 900_000, log: join(LOGS, `build-go-${prog}.log`) }));
}

function javaScenarios(short: keyof typeof JAVA_CLIENTS): Scenario[] {
  const cp = () => `${join(CACHE, 'java', `classes-${short}`)}:${readFileSync(join(CACHE, 'java', `cp-kafka-clients-${JAVA_CLIENTS[short]}.txt`), 'utf8').trim()}`;
  return ['idempotent-produce-consume', 'consumer-group', 'admin', 'transactions', ...CODECS.map((c) => `compression-${c}`)].map((name) => ({
    name,
    get cmd() { return ['java', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', cp(), 'Conformance', name, '{bootstrap}', '{topic}']; },
    timeoutMs: 120_000,
  } as Scenario)).concat(['sasl-ssl-scram-sha-256', 'sasl-ssl-scram-sha-512', 'mtls-acl', 'reauth-scram', 'sasl-wrong-password'].map((name): Scenario => ({
    name,
    get cmd() { return ['java', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', cp(), 'Security', name, '{bootstrap}', '{topic}']; },
    timeoutMs: 120_000,
    // KIP-368: 1.5 s sessions; the broker logs each re-authentication at DEBUG.
    secure: name === 'reauth-scram' ? ['--connections-max-reauth-ms', '1500', '--log-level', 'debug'] : secureArgs(name),
    brokerCheck: name === 'reauth-scram' ? reauthenticated(3) : undefined,
  })));
}

/** The broker's log shows at least `n` re-authentications (of any connection), none refused. */
function reauthenticated(n: number): (log: string) => string | null {
  return (log) => {
    const count = log.split('\n').filter((l) => l.includes(' re-authenticated User:')).length;
    if (count < n) return `${count} re-authentications logged, want at least ${n}`;
    return /failed SASL|expired \(connections.max.reauth.ms\)/.test(log) ? 'a failed authentication or an expired session was logged' : null;
  };
}

const clients: Client[] = [
  {
    name: 'kafkajs',
    setup: ['node'],
    scenarios: ['produce-consume', 'idempotent-producer', 'consumer-group', 'admin', 'transactions', ...CODECS.map((c) => `compression-${c}`)].map((name) => ({ name, cmd: [...nodeScript('kafkajs.mjs'), name, '{bootstrap}', '{topic}'] })),
  },
  {
    name: 'kafka-node',
    setup: ['node'],
    scenarios: ['create-topics', 'producer-keys-partitions', 'compression-gzip', 'compression-snappy', 'high-level-producer', 'consumer-commit-pause-resume', 'offset-out-of-range', 'consumer-group-roundrobin'].map((name) => ({ name, cmd: [...nodeScript('kafka-node.mjs'), name, '{bootstrap}', '{topic}'] })),
  },
  {
    name: 'node-rdkafka',
    setup: ['node'],
    available: () => existsSync(join(CACHE, 'node', 'node_modules', 'node-rdkafka', 'build', 'Release', 'node-librdkafka.node')) ? null : 'node-rdkafka did not build from npm here (see .cache/conformance/logs/setup-node.log)',
    scenarios: ['produce-delivery-reports', 'consumer-group', ...CODECS.map((c) => `compression-${c}`)].map((name) => ({ name, cmd: [...nodeScript('node-rdkafka.mjs'), name, '{bootstrap}', '{topic}'] })),
  },
  {
    name: 'kcat',
    setup: ['kcat'],
    scenarios: ['produce-consume', 'metadata', 'consumer-group', ...CODECS.map((c) => `compression-${c}`)].map((name): Scenario => ({ name, cmd: [...nodeScript('kcat.mjs'), name, '{bootstrap}', '{topic}'] }))
      .concat(['sasl-ssl-scram-sha-512', 'sasl-ssl-oauthbearer-oidc', 'sasl-wrong-password'].map((name) => ({ name, cmd: [...nodeScript('kcat.mjs'), name, '{bootstrap}', '{topic}'], secure: secureArgs(name) })))
      .concat([{ name: 'sasl-ssl-oauthbearer-unsecured', cmd: [...nodeScript('kcat.mjs'), 'sasl-ssl-oauthbearer-unsecured', '{bootstrap}', '{topic}'], secure: ['--sasl-oauthbearer-unsecured-jwt'] }]),
  },
  {
    name: 'confluent-kafka-python',
    setup: ['python'],
    scenarios: ['produce-delivery-reports', 'consumer-group-earliest', 'admin', 'transactions', ...CODECS.map((c) => `compression-${c}`)].map((name): Scenario => ({ name, cmd: [PY, join(HERE, 'python', 'confluent.py'), name, '{bootstrap}', '{topic}'] }))
      .concat(['sasl-ssl-scram-sha-512', 'sasl-ssl-oauthbearer', 'sasl-wrong-password'].map((name) => ({ name, cmd: [PY, join(HERE, 'python', 'confluent.py'), name, '{bootstrap}', '{topic}'], secure: secureArgs(name) }))),
  },
  {
    name: 'kafka-python',
    setup: ['python'],
    scenarios: ['produce-consume', 'consumer-group', 'admin', ...CODECS.map((c) => `compression-${c}`)].map((name) => ({ name, cmd: [PY, join(HERE, 'python', 'kafka_python.py'), name, '{bootstrap}', '{topic}'] })),
  },
  {
    name: 'sarama',
    setup: ['go'],
    build: () => goBuild('sarama'),
    scenarios: [...goScenarios('sarama', ['sync-producer-waitforall', 'partition-consumer-newest', 'consumer-group', 'transactions', ...CODECS.map((c) => `compression-${c}`)]),
      ...goSecure('sarama', ['sasl-ssl-scram-sha-256', 'sasl-ssl-scram-sha-512', 'sasl-plaintext-scram-sha-256', 'sasl-wrong-password'])],
  },
  {
    // franz-go's own test suite is the franz-go-kgo client below (PLAINTEXT); this is SASL.
    name: 'franz-go',
    setup: ['go'],
    build: () => goBuild('franz'),
    scenarios: goSecure('franz', ['sasl-ssl-scram-sha-256', 'sasl-ssl-scram-sha-512', 'sasl-plaintext-scram-sha-256', 'sasl-plaintext-scram-sha-512', 'sasl-wrong-password']),
  },
  {
    name: 'sarama-0.10.2',
    setup: ['go'],
    build: () => goBuild('sarama-old'),
    scenarios: goScenarios('sarama-old', ['sync-producer', 'partition-consumer', 'consumer-group', 'compression-gzip', 'compression-snappy', 'compression-lz4']),
  },
  {
    name: 'kafka-go',
    setup: ['go'],
    build: () => goBuild('kafkago'),
    scenarios: goScenarios('kafkago', ['dial-leader-write', 'writer-leastbytes', 'async-writer-batch', 'reader-group', 'read-batch', ...CODECS.map((c) => `compression-${c}`)]),
  },
  {
    name: 'confluent-kafka-go',
    setup: ['go'],
    build: () => goBuild('confluent'),
    scenarios: goScenarios('confluent', ['produce-events-flush', 'subscribe-poll', 'transactions', ...CODECS.map((c) => `compression-${c}`)]),
  },
  { name: 'java-3.9', setup: ['java-clients'], scenarios: javaScenarios('3.9') },
  { name: 'java-4.1', setup: ['java-clients'], scenarios: javaScenarios('4.1') },
  {
    name: 'kafka-cli-4.1',
    // node: the kafka-transactions scenarios open their transactions with kafkajs.
    setup: ['kafka-tools', 'node'],
    scenarios: ['topics-create', 'topics-list', 'topics-describe', 'console-producer', 'console-consumer', 'consumer-groups-describe',
      ...['list', 'describe', 'describe-producers', 'find-hanging', 'abort'].map((c) => `transactions-${c}`)].map((name) => ({
      name,
      cmd: [...nodeScript('kafka-cli.mjs'), name, '{bootstrap}', name.startsWith('transactions-') ? '{topic}' : 'golang-test'],
      env: { KAFKA_TOOLS_CP: join(CACHE, 'java', `cp-kafka-tools-${KAFKA_TOOLS_VERSION}.txt`) },
      timeoutMs: 120_000,
    })),
  },
  {
    name: 'franz-go-kgo',
    setup: ['franz-go'],
    // KGO_TEST_RECORDS: the ETL tests' record count (default 500k), smaller to fit CI's time.
    suite: (b, f) => goTestSuite('franz-go-kgo', join(CACHE, 'franz-go', 'pkg', 'kgo'), { KGO_SEEDS: b, KGO_TEST_RF: '1', KGO_TEST_RECORDS: '20000', KGO_LOG_LEVEL: 'info' }, f, 120_000),
  },
  {
    name: 'kafka-go-tests',
    setup: ['kafka-go-tests'],
    // Its tests dial localhost:9092 (hard-coded), so this broker takes that port.
    serverArgs: ['--port', '9092'],
    available: async () => ((await portFree(9092)) ? null : 'port 9092 is in use (kafka-go\'s tests dial localhost:9092)'),
    suite: (_b, f) => goTestSuite('kafka-go-tests', join(CACHE, 'kafka-go-tests'), { KAFKA_VERSION: '3.9.0' }, f, 60_000),
  },
  {
    name: 'sarama-functional',
    setup: ['sarama-functional'],
    available: async () => {
      for (let port = 29091; port <= 29095; port++) if (!(await portFree(port))) return `port ${port} is in use (sarama's functional tests dial 127.0.0.1:29091-29095)`;
      return null;
    },
    suite: (b, f) => saramaFunctional(b, f),
  },
];

/**
 * IBM/sarama's functional tests (`-tags functional`, the functional_*_test.go files) against one
 * broker. They expect toxiproxy in front of a five-broker cluster (proxies kafka1..kafka5 on
 * 127.0.0.1:29091-29095) and docker compose to stop and start brokers. Here a real toxiproxy
 * server (built from its module) runs with the five proxies made beforehand, all to the one broker,
 * and TOXIPROXY_ADDR tells the suite it is an "existing environment": the tests that stop brokers
 * or run Java through docker skip themselves for that reason. KAFKA_VERSION=4.1.0 for both brokers.
 */
async function saramaFunctional(bootstrap: string, broker: Broker): Promise<void> {
  const dir = join(CACHE, 'sarama-functional');
  const port = await freePort();
  const toxi = spawn(join(CACHE, 'go', 'bin', 'server'), ['-host', '127.0.0.1', '-port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const toxiLog = createWriteStream(join(LOGS, 'sarama-functional--toxiproxy.log'));
  toxi.stdout!.pipe(toxiLog);
  toxi.stderr!.pipe(toxiLog);
  try {
    const api = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try { if ((await fetch(`${api}/version`)).ok) break; } catch { /* not up yet */ }
      if (i > 100) throw new Error('toxiproxy did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    // --cluster: kafka1..kafka5 go to the three brokers in turn (clients then use the addresses Metadata advertises).
    const upstreams = bootstrap.split(',').map((a) => a.replace(/^localhost:/, '127.0.0.1:'));
    for (let i = 1; i <= 5; i++) {
      const upstream = upstreams[(i - 1) % upstreams.length];
      const res = await fetch(`${api}/proxies`, { method: 'POST', body: JSON.stringify({ name: `kafka${i}`, listen: `127.0.0.1:${29090 + i}`, upstream, enabled: true }) });
      if (!res.ok) throw new Error(`toxiproxy: creating kafka${i}: ${res.status} ${await res.text()}`);
    }
    const functional = new Set(readdirSync(dir).filter((f) => /^functional_.*_test\.go$/.test(f))
      .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/^func (Test\w+)\(t \*testing\.T\)/gm)].map((m) => m[1]!)));
    await goTestSuite('sarama-functional', dir, { TOXIPROXY_ADDR: api, KAFKA_VERSION: '4.1.0' }, broker, 120_000, 1, ['-tags', 'functional'], (name) => functional.has(name));
  } finally {
    toxi.kill('SIGTERM');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ port: 0, host: '127.0.0.1' }, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Runs a Go package's tests one top-level test at a time (a compiled test binary, one process per
 * test, each with its own timeout), so that a test that hangs on a missing feature is recorded as
 * failed instead of stalling the rest. Records one result per test.
 */
async function goTestSuite(client: string, dir: string, env: NodeJS.ProcessEnv, broker: Broker, perTestMs = 120_000, parallel = 1, buildArgs: string[] = [], want: (name: string) => boolean = () => true): Promise<void> {
  const bin = join(CACHE, 'go', 'bin', `${client}.test`);
  mkdirSync(dirname(bin), { recursive: true });
  const built = await run('go', ['test', '-c', ...buildArgs, '-o', bin, '.'], { cwd: dir, env: GO_ENV, timeoutMs: 900_000, log: join(LOGS, `${client}--build.log`) });
  if (built.code !== 0) { record(client, '(suite)', false, built.ms, `go test -c failed: ${lastLines(built.out, 2)}`); return; }
  const listed = await run(bin, ['-test.list', '.*'], { cwd: dir, env: { ...GO_ENV, ...env }, timeoutMs: 60_000 });
  const names = listed.out.split('\n').map((l) => l.trim()).filter((l) => /^(Test|Example|Fuzz)\w*$/.test(l) && !l.startsWith('Fuzz') && want(l) && selected(`${client}/${l}`));
  if (names.length === 0) { record(client, '(suite)', false, listed.ms, `no tests listed: ${lastLines(listed.out, 2)}`); return; }
  const log = createWriteStream(join(LOGS, `${client}.log`));
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      if (!broker.alive()) { record(client, name, false, 0, 'not run: the broker had exited'); continue; }
      const r = await run(bin, ['-test.run', `^${name}$`, '-test.v', '-test.count=1', `-test.timeout=${Math.floor(perTestMs / 1000)}s`], {
        cwd: dir, env: { ...GO_ENV, ...env }, timeoutMs: perTestMs + 15_000,
      });
      log.write(`\n==================== ${name} (exit ${r.code ?? r.signal}, ${r.ms} ms)\n${r.out}`);
      const skipped = r.code === 0 && new RegExp(`--- SKIP: ${name} `).test(r.out) && !/--- FAIL/.test(r.out);
      if (skipped) { record(client, name, 'skip', r.ms, goSkipReason(r.out)); continue; }
      const hung = /panic: test timed out after/.test(r.out) || r.timedOut;
      record(client, name, r.code === 0, r.ms, r.code === 0 ? '' : hung ? `hung: no result in ${Math.floor(perTestMs / 1000)} s` : goFailureReason(r.out.split('\n').map((l) => l + '\n')));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  log.end();
}

function goSkipReason(out: string): string {
  const lines = out.split('\n').map((l) => l.trim()).filter((l) => l && !/^(=== |--- |PASS|ok )/.test(l));
  return lines.find((l) => /_test\.go:\d+:/.test(l)) ?? lines[0] ?? 'skipped by the suite';
}

function goFailureReason(out: string[]): string {
  const lines = out.join('').split('\n').map((l) => l.trim()).filter((l) => l && !/^(=== |--- |FAIL|PASS)/.test(l));
  const panic = lines.find((l) => l.startsWith('panic: ') && !l.startsWith('panic: test timed out'));
  if (panic) return `${panic} at ${lines.find((l) => /_test\.go:\d+ \+0x/.test(l))?.replace(/^.*\//, '') ?? '?'}`;
  // The last file:line message is usually the assertion that failed; skip the suites' progress logs.
  const noise = /createTopic\(|waitForTopic|retrying after|NOT DELETING/;
  const marked = [...lines].reverse().find((l) => /_test\.go:\d+:/.test(l) && !noise.test(l)) ?? lines.find((l) => /panic|error|unable|fail/i.test(l));
  return marked ?? lines.slice(-1)[0] ?? 'failed';
}

// ---------------------------------------------------------------------------------------------
// Main

function parseList(flag: string): string[] | null {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? (process.argv[i + 1] ?? '').split(',').filter(Boolean) : null;
}
const only = parseList('--only');
const skip = parseList('--skip') ?? [];
const matches = (id: string, pattern: string) => id === pattern || id.startsWith(`${pattern}/`);
const selected = (id: string) => (!only || only.some((o) => matches(id, o))) && !skip.some((s) => matches(id, s)) && !(CLUSTER && clusterExceptions.has(id));

/** The broker a client runs against: a `fjord server` process or an Apache Kafka node. */
interface Broker { bootstrap: string; alive(): boolean; output(): string; stop(): Promise<void> }
interface Fjord extends Broker { server: ServerProcess; dataDir: string }

/** A fresh broker for one client: Fjord, or with `--against kafka` Apache Kafka 4.1 (Fjord's `--port N` becomes Kafka's port). */
async function startBroker(client: string, extra: string[] = []): Promise<Broker> {
  if (AGAINST === 'fjord') return startFjord(client, extra);
  const i = extra.indexOf('--port');
  const port = i >= 0 ? Number(extra[i + 1]) : 0;
  const dist = await ensureKafka({ quiet: true });
  const kafka = await startKafka({ dist, port, heap: '1G', quiet: true }) as { bootstrap: string; child: { exitCode: number | null; signalCode: string | null }; output: string[]; stop(): Promise<void> };
  return {
    bootstrap: kafka.bootstrap,
    alive: () => kafka.child.exitCode === null && kafka.child.signalCode === null,
    output: () => kafka.output.join('\n'),
    async stop() {
      await kafka.stop();
      writeFileSync(join(LOGS, `${client}--broker.log`), kafka.output.join('\n'));
    },
  };
}

const CLUSTER = process.argv.includes('--cluster');
/**
 * --cluster: scenarios and peer tests that pass on one node but cannot pass on three brokers, with
 * the reason (cluster-exceptions.txt, `client/scenario: reason`); they are not run, and recorded as skipped.
 */
const clusterExceptions = new Map(readFileSync(join(HERE, 'cluster-exceptions.txt'), 'utf8').split('\n')
  .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()] as const));
let pgServer: Promise<PgServer | null> | null = null;

/** --cluster: three brokers on one PostgreSQL (a schema per client); `server` is the first, `bootstrap` lists all three. */
async function startCluster(client: string, extra: string[]): Promise<Fjord> {
  const reason = pgSkipReason();
  if (reason) throw new Error(`--cluster needs PostgreSQL: ${reason}`);
  pgServer ??= startPgServer();
  const pg = await pgServer;
  if (!pg) throw new Error('--cluster: PostgreSQL did not start');
  const url = `${pg.url}?schema=${`c_${client}`.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const nodes: Fjord[] = [];
  // A fixed --port (kafka-go's tests dial localhost:9092) is node 1's; the others take free ports.
  const at = extra.indexOf('--port');
  const fixedPort = at >= 0 ? extra.slice(at, at + 2) : [];
  const rest = at >= 0 ? [...extra.slice(0, at), ...extra.slice(at + 2)] : extra;
  for (const n of [1, 2, 3]) {
    nodes.push(await startFjordWith(`${client}-node${n}`, ['--host', '127.0.0.1', '--advertised-host', 'localhost', '--storage', url, '--node-id', String(n),
      '--group-initial-rebalance-delay-ms', '0', '--log-level', 'info', ...(n === 1 ? fixedPort : []), ...rest]));
  }
  // Every broker lists the three before a client starts (they see each other within a poll).
  await new Promise((r) => setTimeout(r, 1500));
  return {
    server: nodes[0]!.server, dataDir: nodes[0]!.dataDir, bootstrap: nodes.map((f) => f.bootstrap).join(','),
    alive: () => nodes.every((f) => f.alive()),
    output: () => nodes.map((f) => f.output()).join('\n'),
    async stop() { for (const f of nodes) await f.stop(); },
  };
}

async function startFjord(client: string, extra: string[] = []): Promise<Fjord> {
  if (CLUSTER) return startCluster(client, extra);
  return startFjordWith(client, ['--host', '127.0.0.1,::1', '--advertised-host', 'localhost', '--data-dir', '{dataDir}',
    '--group-initial-rebalance-delay-ms', '0', '--log-level', 'info', ...extra]);
}

/** Starts `fjord server` with these args (`{dataDir}`: a fresh temporary directory); the log is kept as `<name>--broker.log`. */
async function startFjordWith(name: string, args: string[]): Promise<Fjord> {
  const dataDir = mkdtempSync(join(tmpdir(), `fjord-conformance-${name.replace(/[^a-zA-Z0-9._-]/g, '-')}-`));
  const server = await startServerProcess(args.map((a) => a.replaceAll('{dataDir}', dataDir)));
  return {
    server, dataDir, bootstrap: `localhost:${server.port}`,
    alive: () => server.child.exitCode === null,
    output: () => server.output(),
    async stop() {
      if (server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        const t = setTimeout(() => server.child.kill('SIGKILL'), 10000);
        await server.exited;
        clearTimeout(t);
      }
      writeFileSync(join(LOGS, `${name}--broker.log`), server.output());
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The users every secure broker has (SCRAM-SHA-256 and -512 each); admin is a super user. */
export const SECURE_USERS = { alice: 'alice-secret', admin: 'admin-secret' } as const;
const MTLS_SUBJECT = '/O=Fjord Conformance/CN=mtls-client';
const JWT_ISSUER = 'https://issuer.conformance.test';
const JWT_AUDIENCE = 'fjord';

interface SecureMaterial { dir: string; env: NodeJS.ProcessEnv; serverArgs: string[] }
/** Signed tokens must name this issuer and audience; not asked of unsecured tokens (librdkafka's carry neither, and Kafka's unsecured validator does not check them). */
const CLAIM_ARGS = ['--sasl-oauthbearer-expected-issuer', JWT_ISSUER, '--sasl-oauthbearer-expected-audience', JWT_AUDIENCE];
let secureMaterial: SecureMaterial | null = null;

/** Certificates, the OAUTHBEARER key and JWKS: made once per run (openssl and node:crypto). */
function secureSetup(): SecureMaterial {
  if (secureMaterial) return secureMaterial;
  if (!hasOpenssl()) throw new Error('openssl is not installed (the security scenarios make their certificates with it)');
  const dir = mkdtempSync(join(tmpdir(), 'fjord-conformance-tls-'));
  const ca = makeCa(dir, '/CN=Fjord Conformance CA');
  const server = ca.issue('server', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1');
  const client = ca.issue('mtls-client', MTLS_SUBJECT);
  // A second client certificate from a CA the broker does not trust.
  const rogue = makeCa(mkdtempSync(join(tmpdir(), 'fjord-conformance-rogue-')), '/CN=Rogue CA').issue('rogue', '/CN=rogue');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'conformance-1', use: 'sig', alg: 'ES256' }] }));
  const jwtKey = join(dir, 'jwt-signing.key');
  writeFileSync(jwtKey, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  const users = Object.entries(SECURE_USERS).flatMap(([name, password]) => ['SCRAM-SHA-256', 'SCRAM-SHA-512'].map((m) => `${m}=[name=${name},password=${password}]`)).join(';');
  secureMaterial = {
    dir,
    env: {
      FJORD_CA: ca.caFile,
      FJORD_CLIENT_CERT: client.certFile, FJORD_CLIENT_KEY: client.keyFile, FJORD_CLIENT_BUNDLE: client.bundleFile,
      FJORD_ROGUE_CERT: rogue.certFile, FJORD_ROGUE_KEY: rogue.keyFile,
      FJORD_MTLS_PRINCIPAL: 'User:mtls-client',
      FJORD_USER: 'alice', FJORD_PASSWORD: SECURE_USERS.alice, FJORD_ADMIN_USER: 'admin', FJORD_ADMIN_PASSWORD: SECURE_USERS.admin,
      FJORD_JWT_KEY: jwtKey, FJORD_JWT_KID: 'conformance-1', FJORD_JWT_ISSUER: JWT_ISSUER, FJORD_JWT_AUDIENCE: JWT_AUDIENCE,
    },
    serverArgs: [
      '--listeners', 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
      '--ssl-keystore-location', server.bundleFile, '--ssl-truststore-location', ca.caFile,
      '--listener-ssl', 'listener.name.ssl.ssl.client.auth=required',
      '--ssl-principal-mapping-rules', 'RULE:^CN=([^,]+),O=Fjord Conformance$/$1/,DEFAULT',
      '--sasl-enabled-mechanisms', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      '--add-scram', users,
      '--sasl-oauthbearer-jwks-endpoint-url', pathToFileURL(jwks).href,
      '--authorizer-class-name', 'fjord', '--super-users', 'User:admin', '--allow-everyone-if-no-acl-found', 'true',
    ],
  };
  return secureMaterial;
}

/** A signed OAUTHBEARER token (ES256, the run's key) for `sub`, valid for `seconds`. */
function mintToken(sub: string, seconds = 900): string {
  const m = secureSetup();
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'ES256', typ: 'JWT', kid: m.env.FJORD_JWT_KID })}.${b64({ sub, iss: JWT_ISSUER, aud: JWT_AUDIENCE, iat: now, exp: now + seconds })}`;
  const sig = sign('sha256', Buffer.from(head), { key: readFileSync(m.env.FJORD_JWT_KEY!), dsaEncoding: 'ieee-p1363' });
  return `${head}.${sig.toString('base64url')}`;
}

/**
 * A broker with the security listeners for one scenario. The scenario gets, besides `{bootstrap}`
 * (the PLAINTEXT listener, loopback, for setup), FJORD_SASL_SSL, FJORD_SASL_PLAINTEXT and FJORD_SSL
 * (host:port of each), the CA and client certificate files, the SCRAM users (FJORD_USER /
 * FJORD_PASSWORD; FJORD_ADMIN_* is a super user), FJORD_OAUTH_TOKEN (a signed token for alice) and
 * the signing key (FJORD_JWT_*) for programs that mint their own.
 */
async function startSecureFjord(client: string, scenario: string, extra: string[]): Promise<Fjord & { env: NodeJS.ProcessEnv }> {
  const m = secureSetup();
  const claims = extra.includes('--sasl-oauthbearer-unsecured-jwt') ? [] : CLAIM_ARGS;
  const fjord = await startFjordWith(`${client}--${scenario}`, ['--data-dir', '{dataDir}', '--group-initial-rebalance-delay-ms', '0', '--log-level', 'info', ...m.serverArgs, ...claims, ...extra]);
  const ports: Record<string, string> = {};
  for (const match of fjord.server.output().matchAll(/(\w+) \((\w+)\) on [^,;]*? port (\d+)/g)) ports[match[1]!] = `127.0.0.1:${match[3]}`;
  for (const name of ['PLAINTEXT', 'SASL_SSL', 'SASL_PLAINTEXT', 'SSL']) if (!ports[name]) throw new Error(`the secure broker did not report its ${name} listener: ${lastLines(fjord.server.output(), 2)}`);
  return {
    ...fjord,
    bootstrap: ports.PLAINTEXT!,
    env: { ...m.env, FJORD_SASL_SSL: ports.SASL_SSL, FJORD_SASL_PLAINTEXT: ports.SASL_PLAINTEXT, FJORD_SSL: ports.SSL, FJORD_OAUTH_TOKEN: mintToken('alice') },
  };
}

function printTable(): void {
  const rows = results.map((r) => [r.client, r.scenario, r.status, `${(r.ms / 1000).toFixed(1)}s`, r.status === 'pass' ? '' : r.note]);
  const head = ['client', 'scenario', 'result', 'time', 'note'];
  // Peer suites: one summary row, plus a row for every test that did not pass.
  const peer = new Set(clients.filter((c) => c.suite).map((c) => c.name));
  const shown: string[][] = [];
  for (const c of clients) {
    const mine = rows.filter((r) => r[0] === c.name);
    if (mine.length === 0) continue;
    if (peer.has(c.name)) {
      const n = (s: string) => mine.filter((r) => r[2] === s).length;
      shown.push([c.name, `(${mine.length} tests)`, n('FAIL') ? 'FAIL' : 'pass', '', `${n('pass')} pass, ${n('FAIL')} FAIL, ${n('xfail')} xfail, ${n('skip')} skip`]);
      shown.push(...mine.filter((r) => r[2] === 'FAIL' || r[2] === 'xfail'));
    } else shown.push(...mine);
  }
  const widths = head.map((h, i) => Math.min(i === 4 ? 110 : 60, Math.max(h.length, ...shown.map((r) => r[i]!.length))));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (c.length > widths[i]! ? c.slice(0, widths[i]! - 1) + '…' : c.padEnd(widths[i]!))).join(' | ')} |`;
  process.stdout.write(`\n${line(head)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${shown.map(line).join('\n')}\n`);
}

/** Runs one scenario program against `fjord` and records it; true when it passed. */
async function runScenario(c: Client, s: Scenario, fjord: Broker, env: NodeJS.ProcessEnv): Promise<void> {
  const topic = `conf-${c.name}-${s.name}`.replace(/[^a-zA-Z0-9._-]/g, '-');
  const sub = (a: string) => a.replaceAll('{bootstrap}', fjord.bootstrap).replaceAll('{topic}', topic);
  const [cmd, ...args] = s.cmd.map(sub);
  const r = await run(cmd!, args, { cwd: s.cwd, env: { FJORD_BOOTSTRAP: fjord.bootstrap, ...env, ...s.env }, timeoutMs: s.timeoutMs ?? 90_000, input: s.input, log: join(LOGS, `${c.name}--${s.name}.log`) });
  const skipLine = /^SKIP: (.*)$/m.exec(r.out);
  if (r.code === 3 && skipLine) { record(c.name, s.name, 'skip', r.ms, skipLine[1]!); return; }
  const failLine = /^FAIL: (.*)$/m.exec(r.out);
  const ran = r.code === 0 && !r.timedOut;
  const brokerProblem = ran && s.brokerCheck ? s.brokerCheck(fjord.output()) : null;
  const ok = ran && brokerProblem === null;
  record(c.name, s.name, ok, r.ms, ok ? '' : brokerProblem !== null ? `broker log: ${brokerProblem}` : r.timedOut ? `timed out after ${s.timeoutMs ?? 90_000} ms: ${lastLines(r.out)}` : failLine?.[1] ?? lastLines(r.out, 2));
  if (!fjord.alive()) throw new Error(`the broker exited during ${c.name}/${s.name}: ${lastLines(fjord.output(), 3)}`);
}

/** results-<broker>.json in the cache: this run's results replace those of the clients it ran. */
function resultsFile(broker: string): string { return join(CACHE, `results-${broker}.json`); }
function loadResults(broker: string): Result[] {
  return existsSync(resultsFile(broker)) ? (JSON.parse(readFileSync(resultsFile(broker), 'utf8')) as { results: Result[] }).results : [];
}
function saveResults(): void {
  // --cluster keeps its own results file, so the single node's (what --compare shows) stays as it was.
  const key = CLUSTER ? `${AGAINST}-cluster` : AGAINST;
  const ran = new Set(results.map((r) => r.client));
  const kept = loadResults(key).filter((r) => !ran.has(r.client));
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  writeFileSync(resultsFile(key), JSON.stringify({ broker: key, commit, at: new Date().toISOString(), results: [...kept, ...results] }, null, 1));
}

/**
 * `--compare`: Fjord's and Kafka's results side by side, as a Markdown table. Peer suites get a
 * summary row each, then a row for every test that did not pass on one broker or the other.
 */
function compare(): void {
  const fj = loadResults('fjord');
  const kf = loadResults('kafka');
  const key = (r: Result) => `${r.client}/${r.scenario}`;
  const fMap = new Map(fj.map((r) => [key(r), r]));
  const kMap = new Map(kf.map((r) => [key(r), r]));
  const cell = (r: Result | undefined) => (r ? (r.status === 'FAIL' ? 'FAIL' : r.status === 'xfail' ? 'fail' : r.status) : '—');
  const rows: string[][] = [];
  const worse: string[] = [];
  for (const c of clients) {
    const ids = [...new Set([...fj, ...kf].filter((r) => r.client === c.name).map(key))];
    if (ids.length === 0) continue;
    if (c.suite) {
      const count = (list: Result[]) => {
        const mine = list.filter((r) => r.client === c.name);
        const n = (st: Status) => mine.filter((r) => r.status === st).length;
        return mine.length ? `${n('pass')} pass, ${n('FAIL') + n('xfail')} fail, ${n('skip')} skip` : '—';
      };
      rows.push([c.name, `(${ids.length} tests)`, count(fj), count(kf), '']);
    }
    for (const id of ids) {
      const f = fMap.get(id);
      const k = kMap.get(id);
      if (c.suite && f?.status === 'pass' && k?.status === 'pass') continue;
      const note = f && f.status !== 'pass' ? `Fjord: ${f.note}` : k && k.status !== 'pass' ? `Kafka: ${k.note}` : '';
      rows.push([c.name, id.slice(c.name.length + 1), cell(f), cell(k), note.replaceAll('|', '\\|').slice(0, 150)]);
      if (k?.status === 'pass' && f?.status !== 'pass') worse.push(id);
    }
  }
  const head = ['client', 'scenario / test', 'Fjord', 'Kafka 4.1', 'note'];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const meta = (b: string) => {
    if (!existsSync(resultsFile(b))) return `${b}: no results`;
    const m = JSON.parse(readFileSync(resultsFile(b), 'utf8')) as { commit: string; at: string };
    return `${b}: ${m.at.slice(0, 16).replace('T', ' ')} UTC, Fjord commit ${m.commit}`;
  };
  process.stdout.write(`${meta('fjord')}; ${meta('kafka')}\n\n${line(head)}\n${line(head.map(() => '---'))}\n${rows.map(line).join('\n')}\n\n`);
  process.stdout.write(worse.length ? `Kafka passes and Fjord does not (${worse.length}):\n${worse.map((w) => `  ${w}`).join('\n')}\n` : 'no row where Kafka passes and Fjord does not\n');
}

async function main(): Promise<void> {
  if (process.argv.includes('--compare')) { compare(); return; }
  mkdirSync(LOGS, { recursive: true });
  if (process.argv.includes('--list')) {
    for (const c of clients) for (const s of c.scenarios ?? [{ name: '(suite)' }]) process.stdout.write(`${c.name}/${s.name}${allowlist.has(`${c.name}/${s.name}`) ? '  (must pass)' : ''}\n`);
    return;
  }
  const t0 = Date.now();
  for (const c of clients) {
    const scenarios = (c.scenarios ?? []).filter((s) => selected(`${c.name}/${s.name}`));
    const suitePicked = selected(c.name) || (only?.some((o) => o.startsWith(`${c.name}/`)) ?? false);
    if (c.suite ? !suitePicked : scenarios.length === 0) continue;
    process.stdout.write(`== ${c.name}\n`);
    let reason: string | null = null;
    for (const s of c.setup) reason ??= await ensure(s);
    if (!reason && c.available) reason = await c.available();
    if (!reason && c.build) reason = await c.build().then(() => null, (e: Error) => e.message);
    if (reason) {
      if (c.suite) record(c.name, '(suite)', 'skip', 0, reason);
      for (const s of scenarios) record(c.name, s.name, 'skip', 0, reason);
      continue;
    }
    const plain = scenarios.filter((s) => !s.secure);
    if (c.suite || plain.length > 0) {
      let fjord: Broker | undefined;
      try {
        fjord = await startBroker(c.name, c.serverArgs);
        if (c.suite) await c.suite(fjord.bootstrap, fjord);
        else for (const s of plain) await runScenario(c, s, fjord, {});
      } catch (err) {
        record(c.name, '(run)', false, 0, (err as Error).message);
      } finally {
        await fjord?.stop();
      }
    }
    for (const s of scenarios.filter((x) => x.secure)) {
      // --cluster runs the plain scenarios (the secure ones need a broker of their own each).
      if (CLUSTER) continue;
      if (AGAINST === 'kafka') { record(c.name, s.name, 'skip', 0, 'security scenarios run against Fjord only (its four listeners, JWKS and ACL settings)'); continue; }
      let fjord: (Fjord & { env: NodeJS.ProcessEnv }) | undefined;
      try {
        fjord = await startSecureFjord(c.name, s.name, s.secure!);
        await runScenario(c, s, fjord, fjord.env);
      } catch (err) {
        const recorded = results.some((r) => r.client === c.name && r.scenario === s.name);
        record(c.name, recorded ? `${s.name} (run)` : s.name, false, 0, (err as Error).message);
      } finally {
        await fjord?.stop();
      }
    }
  }
  if (CLUSTER) {
    for (const [id, reason] of clusterExceptions) {
      const [client, ...rest] = id.split('/');
      const picked = (!only || only.some((o) => matches(id, o))) && !skip.some((s) => matches(id, s));
      if (picked) record(client!, rest.join('/'), 'skip', 0, `not on a cluster: ${reason}`);
    }
  }
  // Allowlisted scenarios that were selected but never ran count as failures.
  for (const id of allowlist) {
    const [client, ...rest] = id.split('/');
    const scenario = rest.join('/');
    if (!selected(id) || results.some((r) => r.client === client && r.scenario === scenario)) continue;
    if (clients.some((c) => c.name === client && c.suite)) record(client!, scenario, false, 0, 'must pass but the suite did not run it');
  }
  await (await pgServer)?.stop();
  printTable();
  saveResults();
  const n = (s: Status) => results.filter((r) => r.status === s).length;
  const newPasses = results.filter((r) => r.status === 'pass' && !allowlist.has(`${r.client}/${r.scenario}`));
  process.stdout.write(`\nlogs: ${LOGS}\n`);
  if (newPasses.length) process.stdout.write(`${newPasses.length} passing scenarios are not in test/conformance/allowlist.txt yet (add them to make them required)\n`);
  process.stdout.write(`${n('xfail')} known failures outside the allowlist and ${n('skip')} not run are counted as skipped; the must-pass list has ${allowlist.size} entries\n`);
  process.stdout.write(`conformance finished in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  process.stdout.write(`${n('pass')} passed, ${n('FAIL')} failed, ${n('xfail') + n('skip')} skipped\n`);
  if (AGAINST === 'kafka') process.stdout.write('(against Apache Kafka 4.1: the allowlist is not applied; `--compare` sets these beside Fjord\'s)\n');
  process.exitCode = n('FAIL') > 0 ? 1 : 0;
}

await main();
