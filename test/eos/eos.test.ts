// Exactly-once pipelines under kill -9 (issue 12, "Must show"). A real `fjord server` child on a temp
// data dir; an input topic (3 partitions) of N records with unique values; per client a
// consume-transform-produce pipeline process (pipeline-node.ts for kafkajs and Fjord's client,
// java/ EosPipeline for kafka-clients, pipeline.py for confluent-kafka-python) reading it into its
// own output topic (3 partitions) with its own group and a transactional id kept across restarts.
// Case 1 kills each pipeline with SIGKILL K times (half of the kills a random 200-1500 ms after the
// process starts, half that long after its first commit, so they land in start-up and in the
// stream of transactions), restarts it, then lets it finish (its group's committed offsets reach
// the input's end). Case 2 kills the BROKER with SIGKILL a few times while one pipeline runs and
// restarts it on the same port and data dir. After each: the output, read (a) raw with
// read_uncommitted and resolved through the COMMIT/ABORT markers and (b) by a kafkajs consumer with
// read_committed, holds every input value exactly once (`out:<value>`) and nothing else.
// Not in `npm test`: `npm run test:eos`. Env: FJORD_EOS_SEED (replay), FJORD_EOS_RECORDS (N, 3000),
// FJORD_EOS_KILLS (K, 8), FJORD_EOS_BROKER_KILLS (3), FJORD_EOS_CLIENTS (kafkajs,fjord,java,python),
// FJORD_EOS_BROKER_KILL_CLIENTS (fjord,kafkajs), FJORD_EOS_PAUSE_MS (25: the pause inside each transaction).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { tempDir } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { Attr, BATCH_HEADER_SIZE, ControlType, controlTypeOf, decodeRecords, iterateBatches } from '../../src/protocol/records.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const javaProject = join(here, 'java');
const javaJar = join(javaProject, 'target', 'eos-pipeline.jar');

const envInt = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const SEED = envInt('FJORD_EOS_SEED', Date.now() % 1_000_000_007);
const RECORDS = envInt('FJORD_EOS_RECORDS', 3000);
const KILLS = envInt('FJORD_EOS_KILLS', 8);
const BROKER_KILLS = envInt('FJORD_EOS_BROKER_KILLS', 3);
const CLIENTS = (process.env.FJORD_EOS_CLIENTS ?? 'kafkajs,fjord,java,python').split(',').filter(Boolean);
const BROKER_KILL_CLIENTS = (process.env.FJORD_EOS_BROKER_KILL_CLIENTS ?? 'fjord,kafkajs').split(',').filter(Boolean);
/** A pause inside each transaction (the "transform"), so kills land in open transactions. */
const PAUSE_MS = envInt('FJORD_EOS_PAUSE_MS', 25);
const PARTITIONS = 3;
const SERVER_ARGS = ['--group-min-session-timeout-ms', '1000', '--group-initial-rebalance-delay-ms', '0'];

/** mulberry32: the kill schedule is a function of the seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const log = (line: string) => console.log(`[eos] ${line}`);
log(`seed ${SEED} (replay the schedule with FJORD_EOS_SEED=${SEED}); records ${RECORDS}, pipeline kills ${KILLS}, broker kills ${BROKER_KILLS}`);

// ---------------------------------------------------------------------------------------------
// The pipeline processes.

type ClientName = 'kafkajs' | 'fjord' | 'java' | 'python';

function pipelineCommand(client: ClientName, args: string[]): [string, string[]] {
  switch (client) {
    case 'kafkajs':
    case 'fjord':
      return [process.execPath, ['--import', 'tsx', join(here, 'pipeline-node.ts'), client, ...args]];
    case 'java':
      return ['java', ['-cp', `${javaJar}:${join(javaProject, 'target', 'lib', '*')}`, 'fjord.EosPipeline', ...args]];
    case 'python':
      return ['python3', [join(here, 'pipeline.py'), ...args]];
  }
}

/** One life of a pipeline process: its progress lines and its end. */
class PipelineLife {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  commits = 0;
  committedRecords = 0;
  aborts = 0;
  err = '';
  readonly startedAt = Date.now();
  /** How long this life took to its first commit (start-up, group join, offsets). */
  firstCommitMs = -1;
  private buf = '';
  private firstCommit!: () => void;
  readonly committedOnce = new Promise<void>((r) => (this.firstCommit = r));

  constructor(client: ClientName, args: string[]) {
    const [cmd, argv] = pipelineCommand(client, args);
    this.child = spawn(cmd, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.child.stderr!.on('data', (d) => (this.err = (this.err + d).slice(-4000)));
    this.child.stdout!.on('data', (d) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (line.startsWith('c ')) {
          this.commits++;
          this.committedRecords += Number(line.slice(2));
          if (this.commits === 1) this.firstCommitMs = Date.now() - this.startedAt;
          this.firstCommit();
        } else if (line === 'a') this.aborts++;
      }
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}

interface Stats { kills: number; restarts: number; selfExits: number; commits: number; aborts: number; firstCommitMs: number[] }

/** A pipeline instance (one transactional id, one group) across its process lives. */
class Pipeline {
  life: PipelineLife | null = null;
  readonly stats: Stats = { kills: 0, restarts: 0, selfExits: 0, commits: 0, aborts: 0, firstCommitMs: [] };
  private lives = 0;

  constructor(readonly client: ClientName, private bootstrap: () => string, readonly input: string, readonly output: string, readonly group: string, readonly txnId: string) {}

  start(): PipelineLife {
    if (this.lives++ > 0) this.stats.restarts++;
    const life = new PipelineLife(this.client, [this.bootstrap(), this.input, this.output, this.group, this.txnId, String(PAUSE_MS)]);
    this.life = life;
    void life.exited.then((e) => {
      this.stats.commits += life.commits;
      this.stats.aborts += life.aborts;
      if (life.firstCommitMs >= 0) this.stats.firstCommitMs.push(life.firstCommitMs);
      if (e.signal !== 'SIGKILL') {
        this.stats.selfExits++;
        log(`${this.client}: pipeline exited by itself (${e.code ?? e.signal}): ${life.err.trim().split('\n').slice(-3).join(' | ')}`);
      }
    });
    return life;
  }

  /** Restarts the process if it ended by itself. */
  ensureRunning(): void {
    if (!this.life || !this.life.running) this.start();
  }

  async kill(): Promise<void> {
    if (!this.life) return;
    this.stats.kills++;
    await this.life.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// Broker, topics and checks.

let dir: ReturnType<typeof tempDir>;
let server: ServerProcess;
let input = 'eos-input';
const inputValues: string[] = [];
let javaSkip: string | false = false;
let pythonSkip: string | false = false;

function admin(address: string) {
  return new Kafka({ clientId: 'eos-driver', brokers: [address], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 10 } });
}

async function produceInput(address: string, topic: string, count: number): Promise<string[]> {
  const kafka = admin(address);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const values: string[] = [];
  for (let i = 0; i < count; i += 25) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + 25); j++) {
      values.push(`v${j}`);
      messages.push({ key: `k${j}`, value: `v${j}` });
    }
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();
  return values;
}

async function createTopics(address: string, topics: string[]): Promise<void> {
  const a = admin(address).admin();
  await a.connect();
  await a.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  await a.disconnect();
}

/** Whether the group's committed offsets reached the input's end on every partition. */
async function caughtUp(address: string, group: string, topic: string): Promise<boolean> {
  const a = admin(address).admin();
  try {
    await a.connect();
    const ends = new Map((await a.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]));
    const committed = (await a.fetchOffsets({ groupId: group, topics: [topic] }))[0].partitions;
    return committed.length === ends.size && committed.every((p) => Number(p.offset) === ends.get(p.partition));
  } catch {
    return false;
  } finally {
    await a.disconnect().catch(() => undefined);
  }
}

interface RawScan { committed: string[]; abortedTxns: number; abortedRecords: number; pending: number }

/**
 * Reads every partition of `topic` with read_uncommitted Fetch and resolves transactional batches
 * through the markers: a producer's batches in a partition belong to the transaction its next
 * COMMIT or ABORT marker there ends.
 */
async function rawScan(port: number, topic: string): Promise<RawScan> {
  const c = await RawConnection.connect(port);
  const out: RawScan = { committed: [], abortedTxns: 0, abortedRecords: 0, pending: 0 };
  try {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const open = new Map<number, string[]>();
      let offset = 0;
      for (;;) {
        const r = await c.request(ApiKey.Fetch, 11, {
          replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 4 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, logStartOffset: -1, partitionMaxBytes: 4 << 20 }] }],
          forgottenTopicsData: [], rackId: '',
        });
        const p: Message = r.responses[0].partitions[0];
        assert.equal(p.errorCode, ErrorCode.NONE);
        const records: Buffer = Array.isArray(p.records) ? Buffer.concat(p.records) : p.records ?? Buffer.alloc(0);
        const before = offset;
        for (const { header, bytes } of iterateBatches(records)) {
          if (header.baseOffset + header.lastOffsetDelta < offset) continue;
          offset = header.baseOffset + header.lastOffsetDelta + 1;
          const recs = decodeRecords(header, bytes.subarray(BATCH_HEADER_SIZE));
          if (header.attributes & Attr.CONTROL) {
            const pendingValues = open.get(header.producerId) ?? [];
            open.delete(header.producerId);
            if (controlTypeOf(recs[0].key) === ControlType.COMMIT) out.committed.push(...pendingValues);
            else { out.abortedTxns++; out.abortedRecords += pendingValues.length; }
          } else if (header.attributes & Attr.TRANSACTIONAL) {
            const list = open.get(header.producerId) ?? [];
            list.push(...recs.map((x) => x.value!.toString()));
            open.set(header.producerId, list);
          } else out.committed.push(...recs.map((x) => x.value!.toString()));
        }
        if (offset >= Number(p.highWatermark) || offset === before) break;
      }
      for (const list of open.values()) out.pending += list.length;
    }
  } finally {
    c.close();
  }
  return out;
}

/** Everything a kafkajs read_committed consumer reads from `topic`, once it has `expected` values and 1.5 s pass without more. */
async function readCommitted(address: string, topic: string, expected: number): Promise<string[]> {
  const consumer = admin(address).consumer({ groupId: `eos-check-${topic}`, readUncommitted: false, sessionTimeout: 6000, heartbeatInterval: 500 });
  const got: string[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => { got.push(message.value!.toString()); last = Date.now(); } });
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline && !(got.length >= expected && Date.now() - last > 1500)) await sleep(100);
  await consumer.disconnect();
  return got;
}

/** Every input value exactly once as `out:<value>`, nothing else. */
function exactlyOnce(what: string, values: string[]): void {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([v, n]) => `${v}×${n}`);
  const missing = inputValues.filter((v) => !counts.has(`out:${v}`));
  const wanted = new Set(inputValues.map((v) => `out:${v}`));
  const foreign = [...counts.keys()].filter((v) => !wanted.has(v));
  assert.deepEqual({ duplicated: duplicated.slice(0, 20), missing: missing.slice(0, 20), foreign: foreign.slice(0, 20) },
    { duplicated: [], missing: [], foreign: [] },
    `${what}: ${duplicated.length} duplicated, ${missing.length} missing, ${foreign.length} foreign (seed ${SEED})`);
  assert.equal(values.length, inputValues.length);
}

async function checkOutput(client: string, port: number, address: string, output: string): Promise<RawScan> {
  const scan = await rawScan(port, output);
  log(`${client}: ${output} read raw: ${scan.committed.length} committed records, ${scan.abortedTxns} aborted transactions (${scan.abortedRecords} records), ${scan.pending} records in open transactions`);
  exactlyOnce(`${client}: committed records of ${output} (read_uncommitted, resolved through the markers)`, scan.committed);
  assert.equal(scan.pending, 0, `${client}: transactions still open in ${output}`);
  const seen = await readCommitted(address, output, scan.committed.length);
  exactlyOnce(`${client}: ${output} through a kafkajs read_committed consumer`, seen);
  return scan;
}

async function finish(p: Pipeline, address: () => string): Promise<void> {
  const deadline = Date.now() + 180000;
  while (!(await caughtUp(address(), p.group, p.input))) {
    if (Date.now() > deadline) throw new Error(`${p.client}: the pipeline did not finish the input in 180 s (seed ${SEED})\n${p.life?.err ?? ''}`);
    p.ensureRunning();
    await sleep(500);
  }
}

const report = (client: string, s: Stats, scan: RawScan, ms: number, extra = '') =>
  log(`${client}: ${extra}kills ${s.kills}, restarts ${s.restarts}, self-exits ${s.selfExits}, commits ${s.commits}, aborts seen by the pipeline ${s.aborts}, ` +
    `aborted transactions in the output ${scan.abortedTxns} (${scan.abortedRecords} records), ${scan.committed.length} committed records, each input once; ` +
    `start to first commit ${s.firstCommitMs.length ? `${(Math.min(...s.firstCommitMs) / 1000).toFixed(1)}-${(Math.max(...s.firstCommitMs) / 1000).toFixed(1)} s` : 'n/a'}; ${(ms / 1000).toFixed(1)} s in all`);

before(async () => {
  dir = tempDir('fjord-eos-');
  server = await startServerProcess(['--data-dir', dir.path, ...SERVER_ARGS]);
  input = `eos-input-${SEED}`;
  await createTopics(server.address, [input]);
  inputValues.push(...(await produceInput(server.address, input, RECORDS)));
  if (CLIENTS.includes('java')) {
    if (spawnSync('java', ['-version']).status !== 0) javaSkip = 'java is not installed';
    else if (!existsSync(javaJar) || [join(javaProject, 'pom.xml'), join(javaProject, 'src/main/java/fjord/EosPipeline.java')].some((f) => statSync(f).mtimeMs > statSync(javaJar).mtimeMs)) {
      const built = spawnSync('mvn', ['-q', '-B', '-DskipTests', 'package'], { cwd: javaProject, encoding: 'utf8' });
      if (built.status !== 0) javaSkip = `building the Java pipeline failed (mvn): ${(built.stdout + built.stderr).slice(-2000)}`;
    }
  }
  if (CLIENTS.includes('python') && spawnSync('python3', ['-c', 'import confluent_kafka']).status !== 0) {
    pythonSkip = 'confluent-kafka is not installed for python3 (pip install confluent-kafka)';
  }
});

after(async () => {
  if (server) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  dir?.remove();
});

for (const client of ['kafkajs', 'fjord', 'java', 'python'] as const) {
  test(`${client}: consume-transform-produce pipeline killed -9 ${KILLS} times; every input record exactly once in the output (read_committed)`, { timeout: 600000 }, async (t) => {
    if (!CLIENTS.includes(client)) return t.skip('not in FJORD_EOS_CLIENTS');
    if (client === 'java' && javaSkip) { log(`java: skipped: ${javaSkip}`); return t.skip(javaSkip); }
    if (client === 'python' && pythonSkip) { log(`python: skipped: ${pythonSkip}`); return t.skip(pythonSkip); }
    const started = Date.now();
    const random = rng(SEED ^ client.length * 7919 ^ client.charCodeAt(0));
    const output = `eos-out-${client}-${SEED}`;
    await createTopics(server.address, [output]);
    const p = new Pipeline(client, () => server.address, input, output, `eos-group-${client}-${SEED}`, `eos-txn-${client}-${SEED}`);
    try {
      for (let k = 0; k < KILLS; k++) {
        const life = p.start();
        const delay = 200 + Math.floor(random() * 1300);
        // Half the kills count from the first commit of this life (mid-stream), half from the start.
        if (random() < 0.5) await Promise.race([life.committedOnce, life.exited, sleep(30000)]);
        await sleep(delay);
        await p.kill();
      }
      p.start();
      await finish(p, () => server.address);
      await p.kill();
      p.stats.kills--; // the last one only stops a finished pipeline
    } finally {
      await p.life?.kill();
    }
    const scan = await checkOutput(client, server.port, server.address, output);
    report(client, p.stats, scan, Date.now() - started);
  });
}

for (const client of ['fjord', 'kafkajs'] as const) {
  test(`${client}: the broker killed -9 ${BROKER_KILLS} times under a running pipeline; every input record exactly once in the output (read_committed)`, { timeout: 600000 }, async (t) => {
    if (!BROKER_KILL_CLIENTS.includes(client)) return t.skip('not in FJORD_EOS_BROKER_KILL_CLIENTS');
    const started = Date.now();
    const random = rng(SEED ^ 0x5bd1e995 ^ client.charCodeAt(0));
    const bdir = tempDir('fjord-eos-broker-');
    let b = await startServerProcess(['--data-dir', bdir.path, ...SERVER_ARGS]);
    const port = b.port;
    const output = `eos-out-${client}-${SEED}`;
    const group = `eos-group-${client}-${SEED}`;
    let brokerKills = 0;
    const p = new Pipeline(client, () => b.address, input, output, group, `eos-txn-${client}-${SEED}`);
    try {
      await createTopics(b.address, [input, output]);
      await produceInput(b.address, input, RECORDS);
      const life = p.start();
      await Promise.race([life.committedOnce, sleep(30000)]);
      for (let k = 0; k < BROKER_KILLS; k++) {
        await sleep(200 + Math.floor(random() * 1300));
        b.child.kill('SIGKILL');
        await b.exited;
        brokerKills++;
        await sleep(Math.floor(random() * 1000));
        b = await startServerProcess(['--data-dir', bdir.path, ...SERVER_ARGS, '--port', String(port)]);
        // Wait for progress after the restart (restarting the pipeline if it gave up), then kill again.
        const before = p.stats.commits + (p.life?.commits ?? 0);
        const deadline = Date.now() + 60000;
        while (p.stats.commits + (p.life?.commits ?? 0) === before && Date.now() < deadline && !(await caughtUp(b.address, group, input))) {
          p.ensureRunning();
          await sleep(200);
        }
      }
      await finish(p, () => b.address);
      await p.life?.kill();
      p.stats.kills = 0;
      const scan = await checkOutput(client, b.port, b.address, output);
      report(client, p.stats, scan, Date.now() - started, `broker kills ${brokerKills}, pipeline `);
    } finally {
      await p.life?.kill();
      b.child.kill('SIGKILL');
      await b.exited;
      bdir.remove();
    }
  });
}
