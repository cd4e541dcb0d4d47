// Restart recovery of the transaction coordinator with the real `fjord server`: the process is
// killed (SIGKILL, through the test-only FJORD_TEST_CRASH_AT=txn-after-prepare) right after
// PrepareCommit is on disk and before any marker; after a restart the transaction is complete,
// its COMMIT markers are in both partitions and its offsets are the group's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { tempDir } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { Attr, BATCH_HEADER_SIZE, ControlType, controlTypeOf, decodeRecords, iterateBatches } from '../../src/protocol/records.js';

const client = (address: string) =>
  new Kafka({ clientId: 'txn-recovery', brokers: [address], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 2 } });

/** Starts the server with FJORD_TEST_CRASH_AT set for that child only. */
async function startCrashing(args: string[]): Promise<ServerProcess> {
  const saved = process.env.FJORD_TEST_CRASH_AT;
  process.env.FJORD_TEST_CRASH_AT = 'txn-after-prepare';
  try {
    return await startServerProcess(args);
  } finally {
    if (saved === undefined) delete process.env.FJORD_TEST_CRASH_AT;
    else process.env.FJORD_TEST_CRASH_AT = saved;
  }
}

/** Data and control records of a partition, read with read_uncommitted Fetch. */
async function readPartition(c: RawConnection, topic: string, partition: number): Promise<string[]> {
  const r = await c.request(ApiKey.Fetch, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: '',
  });
  const p: Message = r.responses[0].partitions[0];
  assert.equal(p.errorCode, ErrorCode.NONE);
  const out: string[] = [];
  const records: Buffer = Array.isArray(p.records) ? Buffer.concat(p.records) : p.records ?? Buffer.alloc(0);
  for (const { header, bytes } of iterateBatches(records)) {
    for (const rec of decodeRecords(header, bytes.subarray(BATCH_HEADER_SIZE))) {
      if (header.attributes & Attr.CONTROL) out.push(controlTypeOf(rec.key) === ControlType.COMMIT ? 'COMMIT' : 'ABORT');
      else out.push(rec.value!.toString());
    }
  }
  return out;
}

test('kill -9 between PrepareCommit and the markers: after restart the transaction is committed, markers and offsets in place', async () => {
  const dir = tempDir();
  let server: ServerProcess | undefined;
  try {
    server = await startCrashing(['--data-dir', dir.path]);
    const kafka = client(server.address);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'out', numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer({ transactionalId: 'recovering', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic: 'out', messages: [{ value: 'p0', partition: 0 }, { value: 'p1', partition: 1 }] });
    await txn.sendOffsets({ consumerGroupId: 'pipeline', topics: [{ topic: 'out', partitions: [{ partition: 0, offset: '42' }] }] });
    const committing = txn.commit().then(() => 'answered', () => 'failed');
    const exit = await server.exited;
    assert.equal(exit.signal, 'SIGKILL', server.output());
    assert.match(server.output(), /FJORD_TEST_CRASH_AT=txn-after-prepare/);
    assert.equal(await committing, 'failed', 'the commit was never answered');
    await producer.disconnect().catch(() => undefined);

    server = await startServerProcess(['--data-dir', dir.path]);
    assert.match(server.output(), /completing PrepareCommit found at start/);
    const c = await RawConnection.connect(server.port);
    const described = await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['recovering'] });
    assert.equal(described.transactionStates[0].transactionState, 'CompleteCommit');
    assert.deepEqual(await readPartition(c, 'out', 0), ['p0', 'COMMIT']);
    assert.deepEqual(await readPartition(c, 'out', 1), ['p1', 'COMMIT']);
    const offsets = await c.request(ApiKey.OffsetFetch, 7, { groupId: 'pipeline', topics: [{ name: 'out', partitionIndexes: [0] }], requireStable: true });
    assert.equal(offsets.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.equal(Number(offsets.topics[0].partitions[0].committedOffset), 42);
    c.close();

    // The id carries on: a new producer gets a bumped epoch and commits.
    const again = client(server.address).producer({ transactionalId: 'recovering', maxInFlightRequests: 1, idempotent: true });
    await again.connect();
    const t2 = await again.transaction();
    await t2.send({ topic: 'out', messages: [{ value: 'next', partition: 0 }] });
    await t2.commit();
    await again.disconnect();
    const c2 = await RawConnection.connect(server.port);
    assert.deepEqual(await readPartition(c2, 'out', 0), ['p0', 'COMMIT', 'next', 'COMMIT']);
    c2.close();
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    dir.remove();
  }
});
