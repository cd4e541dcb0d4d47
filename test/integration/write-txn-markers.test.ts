// WriteTxnMarkers (API 27) over real TCP, as `kafka-transactions abort` sends it: a hanging
// transaction the coordinator does not know is ended at the partition (the LSO moves, the range is
// reported aborted); an older epoch, a missing topic or partition get Kafka's error codes; and a
// partition of a transaction the coordinator has open makes the coordinator abort the whole
// transaction (every partition, epoch + 1, the producer fenced) rather than leave it half aborted.
// Last, a real hang with the real `fjord server`: a transaction whose coordinator entry is lost
// (the process killed, `__transaction_state` removed) holds the LSO across a restart until
// WriteTxnMarkers ends it, and the marker stays after another restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { withBroker, uniqueTopic, tempDir } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
import { startServerProcess } from '../server-process.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch, validateBatches } from '../../src/protocol/records.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker(); });
after(async () => { await broker.stop(); });

const txnBatch = (producerId: number, values: string[], baseSequence: number, producerEpoch = 0) =>
  encodeBatch({ records: values.map((value) => ({ value })), producerId, producerEpoch, baseSequence, transactional: true });

interface Marker { producerId: number; producerEpoch: number; commit: boolean; topics: { name: string; partitionIndexes: number[] }[] }

/** WriteTxnMarkers with one marker; the error codes as [topic, partition, code]. */
async function writeMarkers(c: RawConnection, m: Marker, version = 1): Promise<[string, number, number][]> {
  const r = await c.request(ApiKey.WriteTxnMarkers, version, {
    markers: [{ producerId: m.producerId, producerEpoch: m.producerEpoch, transactionResult: m.commit, topics: m.topics, coordinatorEpoch: 3 }],
  });
  assert.equal(r.markers.length, 1);
  assert.equal(Number(r.markers[0].producerId), m.producerId);
  return r.markers[0].topics.flatMap((t: Message) => t.partitions.map((p: Message) => [t.name, p.partitionIndex, p.errorCode]));
}

async function lso(c: RawConnection, topic: string, partition = 0): Promise<number> {
  const r = await c.request(ApiKey.ListOffsets, 5, {
    replicaId: -1, isolationLevel: 1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  return Number(r.topics[0].partitions[0].offset);
}

async function producers(c: RawConnection, topic: string, partition = 0): Promise<Message[]> {
  const r = await c.request(ApiKey.DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [partition] }] });
  return r.topics[0].partitions[0].activeProducers;
}

/** A real open transaction: InitProducerId with `id`, AddPartitionsToTxn v3, two records produced into each partition. */
async function openTxn(c: RawConnection, id: string, topic: string, partitions: number[]): Promise<{ producerId: number; producerEpoch: number }> {
  const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  assert.equal(init.errorCode, 0);
  const producerId = Number(init.producerId);
  const producerEpoch = init.producerEpoch as number;
  const added = await c.request(ApiKey.AddPartitionsToTxn, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: topic, partitions }] });
  assert.deepEqual(added.resultsByTopicV3AndBelow.flatMap((t: Message) => t.resultsByPartition.map((x: Message) => x.partitionErrorCode)), partitions.map(() => 0));
  for (const partition of partitions) {
    const r = await c.request(ApiKey.Produce, 9, { transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records: txnBatch(producerId, ['x', 'y'], 0, producerEpoch) }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  }
  return { producerId, producerEpoch };
}

test('a hanging transaction the coordinator does not know is aborted at the partition; bad input gets error codes', async () => {
  const topic = uniqueTopic('wtm-hang');
  await broker.broker.topics.create(topic, 1);
  const log = broker.broker.storage.partition(topic, 0)!;
  const c = await RawConnection.connect(broker.port);
  // A transactional batch no coordinator knows of (as after a lost coordinator entry): it hangs.
  const batch = txnBatch(7001, ['h1', 'h2'], 0, 2);
  await log.append(batch, validateBatches(batch), { sync: true });
  assert.equal(await lso(c, topic), 0, 'the open transaction holds the LSO');
  const [p] = await producers(c, topic);
  assert.equal(Number(p!.producerId), 7001);
  assert.equal(Number(p!.currentTxnStartOffset), 0);

  // Missing topic and partition, and the offsets log (internal here, not a topic); an epoch older
  // than the producer's (nothing written).
  const missing = [{ name: 'no-such-topic-wtm', partitionIndexes: [0] }, { name: topic, partitionIndexes: [5] }, { name: '__consumer_offsets', partitionIndexes: [0] }];
  assert.deepEqual(await writeMarkers(c, { producerId: 7001, producerEpoch: 2, commit: false, topics: missing }),
    [['no-such-topic-wtm', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [topic, 5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], ['__consumer_offsets', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
  assert.deepEqual(await writeMarkers(c, { producerId: 7001, producerEpoch: 1, commit: false, topics: [{ name: topic, partitionIndexes: [0] }] }, 0),
    [[topic, 0, ErrorCode.INVALID_PRODUCER_EPOCH]]);
  assert.equal(log.logEndOffset(), 2, 'nothing written for the refused marker');
  assert.equal(await lso(c, topic), 0);

  // The abort kafka-transactions sends (v0, not flexible, here): the LSO moves past the marker.
  assert.deepEqual(await writeMarkers(c, { producerId: 7001, producerEpoch: 2, commit: false, topics: [{ name: topic, partitionIndexes: [0] }] }, 0), [[topic, 0, ErrorCode.NONE]]);
  assert.equal(log.logEndOffset(), 3);
  assert.equal(await lso(c, topic), 3);
  assert.deepEqual(log.abortedTransactions(0, 3), [{ producerId: 7001, firstOffset: 0 }]);
  const [after] = await producers(c, topic);
  assert.equal(Number(after!.currentTxnStartOffset), -1);
  assert.equal(after!.coordinatorEpoch, 3, 'the coordinator epoch of the request is kept');
  // A second marker for a transaction already ended is harmless.
  assert.deepEqual(await writeMarkers(c, { producerId: 7001, producerEpoch: 2, commit: false, topics: [{ name: topic, partitionIndexes: [0] }] }), [[topic, 0, ErrorCode.NONE]]);
  c.close();
});

test('a partition of a transaction the coordinator has open: the coordinator aborts the whole transaction', async () => {
  const topic = uniqueTopic('wtm-open');
  await broker.broker.topics.create(topic, 2);
  const c = await RawConnection.connect(broker.port);
  const id = `wtm-${process.pid}`;
  const { producerId, producerEpoch } = await openTxn(c, id, topic, [0, 1]);
  assert.equal(await lso(c, topic, 0), 0);
  assert.equal(await lso(c, topic, 1), 0);

  // A COMMIT marker for it is refused: only EndTxn commits a transaction the coordinator owns.
  assert.deepEqual(await writeMarkers(c, { producerId, producerEpoch, commit: true, topics: [{ name: topic, partitionIndexes: [0] }] }), [[topic, 0, ErrorCode.INVALID_TXN_STATE]]);
  assert.equal(await lso(c, topic, 0), 0);

  // ABORT for partition 0 only: both partitions end aborted, the producer is fenced.
  assert.deepEqual(await writeMarkers(c, { producerId, producerEpoch, commit: false, topics: [{ name: topic, partitionIndexes: [0] }] }), [[topic, 0, ErrorCode.NONE]]);
  assert.equal(await lso(c, topic, 0), 3);
  assert.equal(await lso(c, topic, 1), 3, 'the other partition of the transaction is aborted too');
  for (const partition of [0, 1]) {
    assert.deepEqual(broker.broker.storage.partition(topic, partition)!.abortedTransactions(0, 3), [{ producerId, firstOffset: 0 }]);
  }
  const d = await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] });
  assert.equal(d.transactionStates[0].transactionState, 'CompleteAbort');
  assert.equal(d.transactionStates[0].producerEpoch, producerEpoch + 1);
  const end = await c.request(ApiKey.EndTxn, 3, { transactionalId: id, producerId, producerEpoch, committed: true });
  assert.equal(end.errorCode, ErrorCode.PRODUCER_FENCED, 'the old producer cannot commit afterwards');
  c.close();
});

test('a transaction whose coordinator entry is lost hangs across a restart until WriteTxnMarkers aborts it (real fjord server)', async () => {
  const dir = tempDir('fjord-wtm-');
  const topic = 'hang';
  let server = await startServerProcess(['--data-dir', dir.path]);
  try {
    let c = await RawConnection.connect(server.port);
    const created = await c.request(ApiKey.CreateTopics, 4, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const { producerId, producerEpoch } = await openTxn(c, 'lost', topic, [0]);
    c.close();
    server.child.kill('SIGKILL');
    await server.exited;
    rmSync(join(dir.path, '__internal', '__transaction_state'), { recursive: true, force: true });

    server = await startServerProcess(['--data-dir', dir.path]);
    c = await RawConnection.connect(server.port);
    const listed = await c.request(ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [] });
    assert.deepEqual(listed.transactionStates, [], 'the coordinator knows no transaction');
    assert.equal(await lso(c, topic), 0, 'the partition still has the transaction open: it hangs');
    const [p] = await producers(c, topic);
    assert.equal(Number(p!.producerId), producerId);
    assert.equal(Number(p!.currentTxnStartOffset), 0);
    assert.deepEqual(await writeMarkers(c, { producerId, producerEpoch: p!.producerEpoch as number, commit: false, topics: [{ name: topic, partitionIndexes: [0] }] }), [[topic, 0, ErrorCode.NONE]]);
    assert.equal(p!.producerEpoch, producerEpoch);
    assert.equal(await lso(c, topic), 3);
    c.close();
    server.child.kill('SIGTERM');
    await server.exited;

    server = await startServerProcess(['--data-dir', dir.path]);
    c = await RawConnection.connect(server.port);
    assert.equal(await lso(c, topic), 3, 'the abort is durable');
    assert.equal(Number((await producers(c, topic))[0]!.currentTxnStartOffset), -1);
    c.close();
  } finally {
    server.child.kill('SIGKILL');
    await server.exited;
    dir.remove();
  }
});
