// The transaction coordinator over real TCP: kafkajs' producer.transaction() (send, sendOffsets,
// commit, abort) against a real broker, and raw requests for the error codes Kafka gives (unknown
// ids, fencing per version, states, partitions that do not exist, timeouts, verify-only).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker, kafkaFor, uniqueTopic, eventually } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { Attr, controlTypeOf, ControlType, decodeRecords, BATCH_HEADER_SIZE, encodeBatch, iterateBatches } from '../../src/protocol/records.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker({ transactionAbortCheckIntervalMs: 50 }); });
after(async () => { await broker.stop(); });

let ids = 0;
const txnId = (base: string) => `${base}-${process.pid}-${ids++}`;

/** The control markers in a partition, oldest first: COMMIT/ABORT with the producer id and epoch. */
async function markers(topic: string, partition = 0): Promise<{ type: 'COMMIT' | 'ABORT'; producerId: number; producerEpoch: number }[]> {
  const log = broker.broker.storage.partition(topic, partition)!;
  const { chunks } = await log.read(0, 1 << 24, true);
  const out: { type: 'COMMIT' | 'ABORT'; producerId: number; producerEpoch: number }[] = [];
  for (const chunk of chunks) {
    for (const { header, bytes } of iterateBatches(chunk)) {
      if (!(header.attributes & Attr.CONTROL)) continue;
      const [rec] = decodeRecords(header, bytes.subarray(BATCH_HEADER_SIZE));
      out.push({ type: controlTypeOf(rec.key) === ControlType.COMMIT ? 'COMMIT' : 'ABORT', producerId: header.producerId, producerEpoch: header.producerEpoch });
    }
  }
  return out;
}

async function init(c: RawConnection, id: string, timeoutMs = 60000, version = 4): Promise<{ producerId: number; producerEpoch: number; errorCode: number }> {
  const r = await c.request(ApiKey.InitProducerId, version, { transactionalId: id, transactionTimeoutMs: timeoutMs, producerId: -1, producerEpoch: -1 });
  return { producerId: Number(r.producerId), producerEpoch: r.producerEpoch, errorCode: r.errorCode };
}

async function addPartitions(c: RawConnection, id: string, p: { producerId: number; producerEpoch: number }, topics: { name: string; partitions: number[] }[], version = 3): Promise<Message[]> {
  const r = await c.request(ApiKey.AddPartitionsToTxn, version, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: topics });
  return r.resultsByTopicV3AndBelow;
}
const codesOf = (results: Message[]) => results.flatMap((t: Message) => t.resultsByPartition.map((x: Message) => x.partitionErrorCode));

async function endTxn(c: RawConnection, id: string, p: { producerId: number; producerEpoch: number }, committed: boolean, version = 3): Promise<number> {
  const r = await c.request(ApiKey.EndTxn, version, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch, committed });
  return r.errorCode;
}

async function describe(c: RawConnection, id: string): Promise<Message> {
  const r = await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] });
  return r.transactionStates[0];
}

test('kafkajs transaction: send + sendOffsets + commit makes records and offsets visible; abort drops the offsets', async () => {
  const topic = uniqueTopic('txn-kafkajs');
  const groupId = `g-${topic}`;
  await broker.broker.topics.create(topic, 2);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer({ transactionalId: txnId('kafkajs'), maxInFlightRequests: 1, idempotent: true });
  await producer.connect();
  try {
    const txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }] });
    await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '5' }] }] });

    // Pending: invisible to OffsetFetch, UNSTABLE_OFFSET_COMMIT with requireStable (v7+).
    const c = await RawConnection.connect(broker.port);
    const stable = await c.request(ApiKey.OffsetFetch, 7, { groupId, topics: [{ name: topic, partitionIndexes: [0] }], requireStable: true });
    assert.equal(stable.topics[0].partitions[0].errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
    const before = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.equal(before[0].partitions.find((p) => p.partition === 0)!.offset, '-1');

    await txn.commit();
    const after = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.equal(after[0].partitions.find((p) => p.partition === 0)!.offset, '5');
    const stableAfter = await c.request(ApiKey.OffsetFetch, 7, { groupId, topics: [{ name: topic, partitionIndexes: [0] }], requireStable: true });
    assert.equal(stableAfter.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.deepEqual((await markers(topic, 0)).map((m) => m.type), ['COMMIT']);
    assert.deepEqual((await markers(topic, 1)).map((m) => m.type), ['COMMIT']);

    const txn2 = await producer.transaction();
    await txn2.send({ topic, messages: [{ value: 'c', partition: 0 }] });
    await txn2.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '9' }] }] });
    await txn2.abort();
    const afterAbort = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.equal(afterAbort[0].partitions.find((p) => p.partition === 0)!.offset, '5');
    assert.deepEqual((await markers(topic, 0)).map((m) => m.type), ['COMMIT', 'ABORT']);
    assert.deepEqual((await markers(topic, 1)).map((m) => m.type), ['COMMIT'], 'only partitions of the transaction get markers');
    c.close();
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('error codes: unknown id, empty transaction, states after abort, missing partitions, transactional produce outside a transaction, timeout too large', async () => {
  const topic = uniqueTopic('txn-errors');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const id = txnId('errors');

  assert.equal(await endTxn(c, 'no-such-txn-id', { producerId: 123, producerEpoch: 0 }, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal((await init(c, id, 900001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  const p = await init(c, id);
  assert.equal(p.errorCode, ErrorCode.NONE);
  assert.equal(p.producerEpoch, 0);
  assert.equal(await endTxn(c, id, { producerId: p.producerId + 1, producerEpoch: 0 }, true), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  assert.equal(await endTxn(c, id, p, true), ErrorCode.INVALID_TXN_STATE, 'EndTxn with no transaction open');

  // A partition that does not exist: that one UNKNOWN_TOPIC_OR_PARTITION, the rest not attempted.
  const missing = await addPartitions(c, id, p, [{ name: topic, partitions: [0, 7] }, { name: 'no-such-topic-txn', partitions: [0] }]);
  assert.deepEqual(codesOf(missing), [ErrorCode.OPERATION_NOT_ATTEMPTED, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
  assert.equal((await describe(c, id)).transactionState, 'Empty');

  // A transactional batch for a partition not in the transaction.
  const batch = (seq: number) => encodeBatch({ records: [{ value: 'x' }], producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: seq, transactional: true });
  const produce = async (seq: number) => (await c.request(ApiKey.Produce, 7, {
    transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch(seq) }] }],
  })).responses[0].partitionResponses[0].errorCode;
  assert.equal(await produce(0), ErrorCode.INVALID_TXN_STATE);

  assert.deepEqual(codesOf(await addPartitions(c, id, p, [{ name: topic, partitions: [0] }])), [ErrorCode.NONE]);
  assert.equal(await produce(0), ErrorCode.NONE);
  const described = await describe(c, id);
  assert.equal(described.transactionState, 'Ongoing');
  assert.deepEqual(described.topics, [{ topic, partitions: [0] }]);
  assert.ok(Number(described.transactionStartTimeMs) > 0);

  assert.equal(await endTxn(c, id, p, false), ErrorCode.NONE);
  assert.equal(await endTxn(c, id, p, false), ErrorCode.NONE, 'a retried abort succeeds');
  assert.equal(await endTxn(c, id, p, true), ErrorCode.INVALID_TXN_STATE, 'commit after abort');
  assert.equal((await describe(c, id)).transactionState, 'CompleteAbort');
  assert.equal(await produce(1), ErrorCode.INVALID_TXN_STATE, 'produce after the abort, before a new AddPartitions');
  // As in Kafka, AddPartitions after an abort starts the next transaction.
  assert.deepEqual(codesOf(await addPartitions(c, id, p, [{ name: topic, partitions: [0] }])), [ErrorCode.NONE]);
  assert.equal((await describe(c, id)).transactionState, 'Ongoing');
  assert.equal(await endTxn(c, id, p, true), ErrorCode.NONE);
  assert.deepEqual((await markers(topic)).map((m) => m.type), ['ABORT', 'COMMIT']);

  const unknown = await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['never-seen-txn'] });
  assert.equal(unknown.transactionStates[0].errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  c.close();
});

test('zombie fencing: a second InitProducerId aborts the open transaction and fences the old producer (code per version)', async () => {
  const topic = uniqueTopic('txn-zombie');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const id = txnId('zombie');
  const old = await init(c, id);
  assert.deepEqual(codesOf(await addPartitions(c, id, old, [{ name: topic, partitions: [0] }])), [ErrorCode.NONE]);

  const fresh = await init(c, id);
  assert.equal(fresh.errorCode, ErrorCode.NONE);
  assert.equal(fresh.producerId, old.producerId);
  assert.equal(fresh.producerEpoch, old.producerEpoch + 2, 'epoch + 1 for the abort, + 1 for the new producer');
  assert.deepEqual(await markers(topic), [{ type: 'ABORT', producerId: old.producerId, producerEpoch: old.producerEpoch + 1 }]);
  assert.equal((await describe(c, id)).transactionState, 'Empty');

  assert.deepEqual(codesOf(await addPartitions(c, id, old, [{ name: topic, partitions: [0] }], 3)), [ErrorCode.PRODUCER_FENCED]);
  assert.deepEqual(codesOf(await addPartitions(c, id, old, [{ name: topic, partitions: [0] }], 1)), [ErrorCode.INVALID_PRODUCER_EPOCH]);
  assert.equal(await endTxn(c, id, old, true, 3), ErrorCode.PRODUCER_FENCED);
  assert.equal(await endTxn(c, id, old, true, 1), ErrorCode.INVALID_PRODUCER_EPOCH);
  const offsets = await c.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: id, producerId: old.producerId, producerEpoch: old.producerEpoch, groupId: 'g' });
  assert.equal(offsets.errorCode, ErrorCode.PRODUCER_FENCED);
  // KIP-360: InitProducerId presenting an epoch that is neither the current nor the previous one.
  const stale = await c.request(ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60000, producerId: old.producerId, producerEpoch: old.producerEpoch });
  assert.equal(stale.errorCode, ErrorCode.PRODUCER_FENCED);
  const staleV3 = await c.request(ApiKey.InitProducerId, 3, { transactionalId: id, transactionTimeoutMs: 60000, producerId: old.producerId, producerEpoch: old.producerEpoch });
  assert.equal(staleV3.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  // The new producer works.
  assert.deepEqual(codesOf(await addPartitions(c, id, fresh, [{ name: topic, partitions: [0] }])), [ErrorCode.NONE]);
  assert.equal(await endTxn(c, id, fresh, true), ErrorCode.NONE);
  c.close();
});

test('zombie fencing with kafkajs: the old producer cannot commit once a new one initialized the id', async () => {
  const topic = uniqueTopic('txn-zombie-kafkajs');
  await broker.broker.topics.create(topic, 1);
  const id = txnId('zombie-kafkajs');
  const kafka = kafkaFor(broker);
  const first = kafka.producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true, retry: { retries: 1, initialRetryTime: 20 } });
  const second = kafka.producer({ transactionalId: id, maxInFlightRequests: 1, idempotent: true });
  await first.connect();
  try {
    const t1 = await first.transaction();
    await t1.send({ topic, messages: [{ value: 'zombie' }] });
    await second.connect();
    const t2 = await second.transaction();
    await t2.send({ topic, messages: [{ value: 'live' }] });
    await assert.rejects(t1.commit());
    await t2.commit();
    assert.deepEqual((await markers(topic)).map((m) => m.type), ['ABORT', 'COMMIT']);
  } finally {
    await first.disconnect();
    await second.disconnect();
  }
});

test('a transaction open past its timeout is aborted by the broker with an epoch bump', async () => {
  const topic = uniqueTopic('txn-timeout');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const id = txnId('timeout');
  const p = await init(c, id, 200);
  assert.deepEqual(codesOf(await addPartitions(c, id, p, [{ name: topic, partitions: [0] }])), [ErrorCode.NONE]);
  await eventually(async () => (await describe(c, id)).transactionState === 'CompleteAbort', 10000, 'the timed-out transaction to be aborted');
  const d = await describe(c, id);
  assert.equal(d.producerEpoch, p.producerEpoch + 1);
  assert.deepEqual(await markers(topic), [{ type: 'ABORT', producerId: p.producerId, producerEpoch: p.producerEpoch + 1 }]);
  assert.equal(await endTxn(c, id, p, true), ErrorCode.PRODUCER_FENCED);
  c.close();
});

test('AddPartitionsToTxn v4+: batched transactions and verifyOnly', async () => {
  const topic = uniqueTopic('txn-verify');
  await broker.broker.topics.create(topic, 2);
  const c = await RawConnection.connect(broker.port);
  const a = txnId('verify-a');
  const b = txnId('verify-b');
  const pa = await init(c, a);
  const pb = await init(c, b);
  const added = await c.request(ApiKey.AddPartitionsToTxn, 4, {
    transactions: [
      { transactionalId: a, producerId: pa.producerId, producerEpoch: pa.producerEpoch, verifyOnly: false, topics: [{ name: topic, partitions: [0] }] },
      { transactionalId: b, producerId: pb.producerId, producerEpoch: pb.producerEpoch + 5, verifyOnly: false, topics: [{ name: topic, partitions: [1] }] },
    ],
  });
  assert.equal(added.errorCode, ErrorCode.NONE);
  assert.deepEqual(added.resultsByTransaction.map((t: Message) => [t.transactionalId, codesOf(t.topicResults)]), [[a, [ErrorCode.NONE]], [b, [ErrorCode.PRODUCER_FENCED]]]);
  const verified = await c.request(ApiKey.AddPartitionsToTxn, 5, {
    transactions: [{ transactionalId: a, producerId: pa.producerId, producerEpoch: pa.producerEpoch, verifyOnly: true, topics: [{ name: topic, partitions: [0, 1] }] }],
  });
  assert.deepEqual(codesOf(verified.resultsByTransaction[0].topicResults), [ErrorCode.NONE, ErrorCode.INVALID_TXN_STATE]);
  assert.deepEqual((await describe(c, a)).topics, [{ topic, partitions: [0] }], 'verifyOnly adds nothing');

  const listed = await c.request(ApiKey.ListTransactions, 1, { stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [pa.producerId, pb.producerId], durationFilter: -1 });
  assert.deepEqual(listed.unknownStateFilters, ['Bogus']);
  assert.deepEqual(listed.transactionStates.map((t: Message) => [t.transactionalId, t.transactionState]), [[a, 'Ongoing']]);
  const old = await c.request(ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [pa.producerId], durationFilter: 3_600_000 });
  assert.deepEqual(old.transactionStates, [], 'not open for an hour');
  const all = await c.request(ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [pa.producerId, pb.producerId] });
  assert.deepEqual(all.transactionStates.map((t: Message) => t.transactionalId).sort(), [a, b].sort());
  assert.equal(await endTxn(c, a, pa, false), ErrorCode.NONE);
  c.close();
});
