// A measurement, not a test: a `fjord server` child with many partitions (default 100,000, in
// one topic created through CreateTopics), each produced to once (acks=-1) and fetched once;
// prints the server's open descriptors and RSS after each step, and the same after a restart.
// Figures go in docs/limits.md.
//
//   npx tsx scripts/measure-partitions.ts [--partitions 100000] [--max-open-files 1024]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { apiSchema } from '../src/protocol/apis.js';
import { compile } from '../src/protocol/codec.js';
import { readResponseHeader } from '../src/protocol/header.js';
import { Reader } from '../src/protocol/primitives.js';
import { ApiKey } from '../src/protocol/apis.js';
import { encodeBatch, iterateBatches } from '../src/protocol/records.js';
import { RawConnection, type Message } from '../test/raw-client.js';

const { values: opts } = parseArgs({ options: { partitions: { type: 'string', default: '100000' }, 'max-open-files': { type: 'string', default: '1024' } } });
const N = Number(opts.partitions);
const CHUNK = 5000;
const root = join(import.meta.dirname, '..');

function start(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--initial-old-space-size=256', '--import', 'tsx', join(root, 'src/cli/main.ts'), 'server', '--host', '127.0.0.1', '--port', '0',
    '--data-dir', dir, '--max-partitions', String(N), '--max-open-files', opts['max-open-files']!], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const check = (d: Buffer) => {
      out += d;
      const m = /listening on .* port (\d+)/.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.on('exit', () => reject(new Error(`server exited:\n${out}`)));
  });
}

let correlation = 1;
async function call(c: RawConnection, apiKey: number, version: number, body: Message): Promise<Message> {
  const id = correlation++;
  c.write(RawConnection.frame(apiKey, version, id, body));
  const r = new Reader(await c.nextFrame(30 * 60_000));
  if (readResponseHeader(r, apiKey, version) !== id) throw new Error('correlation mismatch');
  return compile(apiSchema(apiKey)!.response, version).decode(r);
}

function usage(pid: number): string {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  return `RSS ${rss.toFixed(0)} MiB, ${fds} open descriptors`;
}

async function step(what: string, pid: number, fn: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  await fn();
  console.log(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s; ${usage(pid)}`);
}

const chunks = (): number[][] => Array.from({ length: Math.ceil(N / CHUNK) }, (_, i) => Array.from({ length: Math.min(CHUNK, N - i * CHUNK) }, (_, j) => i * CHUNK + j));

async function fetchAll(c: RawConnection): Promise<number> {
  let batches = 0;
  for (const parts of chunks()) {
    const res = await call(c, ApiKey.Fetch, 12, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'wide', partitions: parts.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 4096 })) }],
      forgottenTopicsData: [], rackId: '',
    });
    for (const p of res.responses[0].partitions) {
      if (p.errorCode !== 0) throw new Error(`fetch ${p.partitionIndex}: error ${p.errorCode}`);
      for (const chunk of p.records === null ? [] : Array.isArray(p.records) ? p.records : [p.records]) batches += [...iterateBatches(chunk as Buffer)].length;
    }
  }
  return batches;
}

const dir = mkdtempSync(join(tmpdir(), 'fjord-partitions-'));
try {
  let s = await start(dir);
  let c = await RawConnection.connect(s.port);
  const pid = s.child.pid!;
  console.log(`${N} partitions, --max-open-files ${opts['max-open-files']}, data in ${dir}`);
  console.log(`started: ${usage(pid)}`);
  await step(`CreateTopics, 1 topic x ${N} partitions`, pid, async () => {
    const r = await call(c, ApiKey.CreateTopics, 4, { topics: [{ name: 'wide', numPartitions: N, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30 * 60_000, validateOnly: false });
    if (r.topics[0].errorCode !== 0) throw new Error(`CreateTopics: error ${r.topics[0].errorCode} ${r.topics[0].errorMessage}`);
  });
  await step('Produce, one 100-byte record to each partition (acks=-1)', pid, async () => {
    const records = encodeBatch({ records: [{ value: 'x'.repeat(100) }] });
    for (const parts of chunks()) {
      const r = await call(c, ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 60_000, topicData: [{ name: 'wide', partitionData: parts.map((index) => ({ index, records })) }] });
      for (const p of r.responses[0].partitionResponses) if (p.errorCode !== 0) throw new Error(`produce ${p.index}: error ${p.errorCode}`);
    }
  });
  let got = 0;
  await step('Fetch every partition from offset 0', pid, async () => {
    got = await fetchAll(c);
  });
  if (got !== N) throw new Error(`fetched ${got} batches of ${N}`);
  c.close();
  const t0 = performance.now();
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.once('exit', r));
  console.log(`clean stop: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const t1 = performance.now();
  s = await start(dir);
  c = await RawConnection.connect(s.port);
  // The port is bound before storage opens; a Metadata answer means recovery is done.
  await call(c, ApiKey.Metadata, 9, { topics: [{ name: 'wide' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  console.log(`restart (recovery of ${N} partitions): ${((performance.now() - t1) / 1000).toFixed(1)} s; ${usage(s.child.pid!)}`);
  await step('Fetch every partition from offset 0 (from disk)', s.child.pid!, async () => {
    got = await fetchAll(c);
  });
  if (got !== N) throw new Error(`fetched ${got} batches of ${N} after the restart`);
  c.close();
  s.child.kill('SIGTERM');
  await new Promise((r) => s.child.once('exit', r));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
