// Open files stay bounded whatever the number of partitions (--max-open-files), through the real
// `fjord server` process and real TCP: a few hundred partitions with several segments each,
// produced to and fetched from in random order; the process's open descriptors (/proc/<pid>/fd)
// stay under the limit plus a small constant, every record reads back, also after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tempDir } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { decodeRecords, encodeBatch, iterateBatches } from '../../src/protocol/records.js';

const PARTITIONS = 300;
const LIMIT = 32;
/** Descriptors besides segment files: stdio, the event loop's, the lock file, the listener, a connection, and short-lived index / snapshot writes. */
const SLACK = 40;

const openFds = (pid: number) => {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
};

// mulberry32: a small seeded generator, so a failure can be replayed.
let seed = 11;
const rand = (n: number) => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
};
const shuffled = (n: number) => {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rand(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};

const fetchBody = (partitions: number[]) => ({
  replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 64 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic: 'many', partitions: partitions.map((partition) => ({ partition, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 })) }],
  forgottenTopicsData: [], rackId: '',
});

function values(records: Buffer | Buffer[] | null): string[] {
  const out: string[] = [];
  for (const chunk of records === null ? [] : Array.isArray(records) ? records : [records]) {
    for (const { header, bytes } of iterateBatches(chunk)) {
      for (const r of decodeRecords(header, bytes.subarray(61))) out.push(r.value?.toString() ?? '');
    }
  }
  return out;
}

/** Samples the server's descriptor count while `work` runs; returns the most seen. */
async function watchFds(server: ServerProcess, work: () => Promise<void>): Promise<number> {
  const pid = server.child.pid!;
  let most = openFds(pid);
  const timer = setInterval(() => (most = Math.max(most, openFds(pid))), 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(most, openFds(pid));
}

test('a few hundred partitions in random order keep the broker within --max-open-files; every record reads back, after a restart too', { skip: !existsSync('/proc/self/fd') && 'needs /proc' }, async () => {
  const dir = tempDir();
  const args = ['--data-dir', dir.path, '--max-open-files', String(LIMIT), '--log-segment-bytes', '2048'];
  let server = await startServerProcess(args);
  try {
    let c = await RawConnection.connect(server.port);
    // Before any partition exists: what the process holds besides segment files.
    const base = openFds(server.child.pid!);
    const created = await c.request(ApiKey.CreateTopics, 4, {
      topics: [{ name: 'many', numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 30000, validateOnly: false,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);

    const want = new Map<number, string[]>();
    const produceRound = async (round: number) => {
      // A random half of the partitions, in random order, one batch each (acks=-1: fsynced).
      const parts = shuffled(PARTITIONS).slice(0, PARTITIONS / 2);
      const partitionData = parts.map((index) => {
        const vs = [`${index}:${round}:a`.padEnd(200, '.'), `${index}:${round}:b`];
        want.set(index, [...(want.get(index) ?? []), ...vs]);
        return { index, records: encodeBatch({ records: vs.map((value) => ({ value })) }) };
      });
      const res = await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 'many', partitionData }] });
      for (const p of res.responses[0].partitionResponses) assert.equal(p.errorCode, ErrorCode.NONE, `produce to ${p.index}`);
    };
    const fetchAll = async () => {
      const order = shuffled(PARTITIONS);
      for (let i = 0; i < order.length; i += 50) {
        const parts = order.slice(i, i + 50);
        const res = await c.request(ApiKey.Fetch, 12, fetchBody(parts));
        for (const p of res.responses[0].partitions) {
          assert.equal(p.errorCode, ErrorCode.NONE, `fetch from ${p.partitionIndex}`);
          assert.deepEqual(values(p.records), want.get(p.partitionIndex) ?? [], `partition ${p.partitionIndex}`);
        }
      }
    };

    const most = await watchFds(server, async () => {
      for (let round = 0; round < 24; round++) await produceRound(round);
      await fetchAll();
    });
    assert.ok(most <= base + LIMIT + SLACK, `at most ${base} + ${LIMIT} + ${SLACK} descriptors, saw ${most}`);
    const segments = readdirSync(dir.path).filter((n) => n.startsWith('many-')).map((n) => readdirSync(`${dir.path}/${n}`).filter((f) => f.endsWith('.log')).length);
    assert.ok(segments.filter((n) => n >= 2).length > PARTITIONS / 2, `most partitions have older segments too (${segments.join(' ')})`);

    c.close();
    server.child.kill('SIGTERM');
    assert.equal((await server.exited).code, 0, server.output());

    server = await startServerProcess(args);
    c = await RawConnection.connect(server.port);
    const most2 = await watchFds(server, async () => {
      await fetchAll(); // from disk only now: the tail cache starts empty
      for (let round = 24; round < 28; round++) await produceRound(round);
      await fetchAll();
    });
    assert.ok(most2 <= base + LIMIT + SLACK, `after a restart: at most ${base} + ${LIMIT} + ${SLACK} descriptors, saw ${most2}`);
    c.close();
    server.child.kill('SIGTERM');
    assert.equal((await server.exited).code, 0, server.output());
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
    dir.remove();
  }
});
