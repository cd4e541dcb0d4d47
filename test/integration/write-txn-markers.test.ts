// WriteTxnMarkers (API 27) over real TCP, as `kafka-transactions abort` sends it: a hanging
// transaction the coordinator does not know is ended at the partition (the LSO moves, the range is
// reported aborted); an older epoch, a missing topic or partition get Kafka's error codes; and a
// partition of a transaction the coordinator has open makes the coordinator abort the whole
// transaction (every partition, epoch + 1, the producer fenced) rather than leave it half aborted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker, uniqueTopic } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
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
  const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  assert.equal(init.errorCode, 0);
  const producerId = Number(init.producerId);
  const producerEpoch = init.producerEpoch as number;
  const added = await c.request(ApiKey.AddPartitionsToTxn, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch, v3AndBelowTopics: [{ name: topic, partitions: [0, 1] }] });
  assert.deepEqual(added.resultsByTopicV3AndBelow.flatMap((t: Message) => t.resultsByPartition.map((x: Message) => x.partitionErrorCode)), [0, 0]);
  for (const partition of [0, 1]) {
    const r = await c.request(ApiKey.Produce, 9, { transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records: txnBatch(producerId, ['x', 'y'], 0, producerEpoch) }] }] });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  }
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
