// The partition-log side of transactions over real TCP: read_committed Fetch stops at the last
// stable offset and reports aborted transactions, ListOffsets LATEST is the LSO for it, Produce
// refuses malformed transactional input, DescribeProducers, and Fetch v0-3 never carries control
// batches. Produce refuses a transactional batch unless the coordinator has its producer in an open
// transaction with the partition added (KIP-890 part 1), so the tests not about Produce append
// their crafted transactional batches and markers straight through storage (the coordinator's
// path) and read over TCP; the Produce tests open their transactions through the coordinator
// (InitProducerId with a transactional id, AddPartitionsToTxn). Last: kill -9 of a real
// `fjord server` mid-transaction keeps LSO and ranges.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker, uniqueTopic, tempDir } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
import { startServerProcess } from '../server-process.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch, encodeControlBatch, iterateBatches, validateBatches } from '../../src/protocol/records.js';
import { parseMessageSet } from '../../src/protocol/legacy.js';
import { createStorage } from '../../src/storage/engines.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker(); });
after(async () => { await broker.stop(); });

const txnBatch = (producerId: number, values: string[], baseSequence: number, producerEpoch = 0) =>
  encodeBatch({ records: values.map((value) => ({ value })), producerId, producerEpoch, baseSequence, transactional: true });

/** Appends crafted batches to partition 0 through storage, as no Produce would take them without a coordinator transaction. */
async function appendDirect(topic: string, records: Buffer): Promise<number> {
  const r = await broker.broker.storage.partition(topic, 0)!.append(records, validateBatches(records), { sync: true });
  return r.baseOffset;
}

let ids = 0;
const txnId = (base: string) => `${base}-${process.pid}-${ids++}`;

interface Producer { producerId: number; producerEpoch: number }

/** InitProducerId with a transactional id, then AddPartitionsToTxn v3 for partition 0 of `topic`: a real open transaction. */
async function openTxn(c: RawConnection, id: string, topic: string): Promise<Producer> {
  const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  assert.equal(init.errorCode, 0);
  const p = { producerId: Number(init.producerId), producerEpoch: init.producerEpoch as number };
  const added = await c.request(ApiKey.AddPartitionsToTxn, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }] });
  assert.deepEqual(added.resultsByTopicV3AndBelow.flatMap((t: Message) => t.resultsByPartition.map((x: Message) => x.partitionErrorCode)), [0]);
  return p;
}

async function produce(c: RawConnection, topic: string, records: Buffer): Promise<Message> {
  const r = await c.request(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return r.responses[0].partitionResponses[0];
}

const fetchBody = (topic: string, fetchOffset: number, isolationLevel: number, maxWaitMs = 0) => ({
  replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
  forgottenTopicsData: [], rackId: '',
});

async function fetchPart(c: RawConnection, topic: string, fetchOffset: number, isolationLevel: number, version = 11): Promise<Message> {
  const r = await c.request(ApiKey.Fetch, version, fetchBody(topic, fetchOffset, isolationLevel), version);
  return r.responses[0].partitions[0];
}

/** Offsets of the data records (control batches left out) in a v4+ answer. */
function dataBases(p: Message): number[] {
  const buf = Buffer.concat(p.records ? (Array.isArray(p.records) ? p.records : [p.records]) : []);
  return [...iterateBatches(buf)].filter((b) => !(b.header.attributes & 0x20)).map((b) => b.header.baseOffset);
}

async function latest(c: RawConnection, topic: string, isolationLevel: number): Promise<number> {
  const r = await c.request(ApiKey.ListOffsets, 5, {
    replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  return Number(r.topics[0].partitions[0].offset);
}

test('read_committed Fetch and ListOffsets stop at the LSO; aborted transactions are reported', async () => {
  const topic = uniqueTopic('txn-fetch');
  await broker.broker.topics.create(topic, 1);
  const log = broker.broker.storage.partition(topic, 0)!;
  const c = await RawConnection.connect(broker.port);
  const A = 4001, B = 4002;
  assert.equal(await appendDirect(topic, txnBatch(A, ['a1', 'a2'], 0)), 0); // 0-1
  assert.equal((await produce(c, topic, encodeBatch({ records: [{ value: 'plain' }] }))).errorCode, 0); // 2
  assert.equal(await appendDirect(topic, txnBatch(B, ['b1'], 0)), 3); // 3

  let p = await fetchPart(c, topic, 0, 1);
  assert.equal(p.errorCode, 0);
  assert.equal(Number(p.highWatermark), 4);
  assert.equal(Number(p.lastStableOffset), 0);
  assert.deepEqual(dataBases(p), [], 'nothing is stable yet');
  assert.deepEqual(p.abortedTransactions, []);
  p = await fetchPart(c, topic, 0, 0);
  assert.deepEqual(dataBases(p), [0, 2, 3], 'read_uncommitted sees everything');
  assert.equal(Number(p.lastStableOffset), 0, 'every answer carries the LSO');
  assert.equal(p.abortedTransactions, null);
  assert.equal(await latest(c, topic, 1), 0);
  assert.equal(await latest(c, topic, 0), 4);

  await log.writeTxnMarker({ producerId: A, producerEpoch: 0, commit: true, coordinatorEpoch: 0 }, { sync: true }); // 4
  p = await fetchPart(c, topic, 0, 1);
  assert.equal(Number(p.lastStableOffset), 3);
  assert.deepEqual(dataBases(p), [0, 2], 'whole batches below the LSO only');
  assert.equal(await latest(c, topic, 1), 3);

  await log.writeTxnMarker({ producerId: B, producerEpoch: 0, commit: false, coordinatorEpoch: 0 }, { sync: true }); // 5
  p = await fetchPart(c, topic, 0, 1);
  assert.equal(Number(p.lastStableOffset), 6);
  assert.deepEqual(dataBases(p), [0, 2, 3]);
  assert.deepEqual(p.abortedTransactions.map((a: Message) => [Number(a.producerId), Number(a.firstOffset)]), [[B, 3]]);
  p = await fetchPart(c, topic, 0, 1, 4);
  assert.deepEqual(p.abortedTransactions.map((a: Message) => [Number(a.producerId), Number(a.firstOffset)]), [[B, 3]], 'v4 too');
  p = await fetchPart(c, topic, 6, 1);
  assert.deepEqual(p.abortedTransactions, [], 'nothing returned, nothing aborted in range');

  // A long poll in read_committed is answered when the LSO moves, not while the transaction is open.
  assert.equal(await appendDirect(topic, txnBatch(A, ['a3'], 2)), 6); // 6
  const c2 = await RawConnection.connect(broker.port);
  c2.write(RawConnection.frame(ApiKey.Fetch, 11, 9, fetchBody(topic, 6, 1, 60_000)));
  const answer = c2.response(ApiKey.Fetch, 11);
  let answered = false;
  void answer.then(() => { answered = true; });
  assert.equal(await appendDirect(topic, txnBatch(A, ['a4'], 3)), 7); // 7: inside the open transaction
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(answered, false, 'an append inside the open transaction must not answer it');
  await log.writeTxnMarker({ producerId: A, producerEpoch: 0, commit: true, coordinatorEpoch: 0 }, { sync: true }); // 8
  const woke = (await answer).body.responses[0].partitions[0];
  assert.equal(Number(woke.lastStableOffset), 9);
  assert.deepEqual(dataBases(woke), [6, 7]);
  c.socket.destroy();
  c2.socket.destroy();
});

test('Produce: control batches, transactional batches without a producer or a transaction, plain batches inside a transaction, fenced epochs', async () => {
  const topic = uniqueTopic('txn-produce');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const control = encodeControlBatch({ producerId: 77, producerEpoch: 0, commit: true, coordinatorEpoch: 0 });
  assert.equal((await produce(c, topic, control)).errorCode, ErrorCode.INVALID_RECORD);
  const noProducer = encodeBatch({ records: [{ value: 'x' }], transactional: true });
  assert.equal((await produce(c, topic, noProducer)).errorCode, ErrorCode.INVALID_RECORD);
  const noSequence = encodeBatch({ records: [{ value: 'x' }], transactional: true, producerId: 77, producerEpoch: 0, baseSequence: -1 });
  assert.equal((await produce(c, topic, noSequence)).errorCode, ErrorCode.INVALID_RECORD);
  // A well-formed transactional batch whose producer has no transaction with the coordinator.
  assert.equal((await produce(c, topic, txnBatch(77, ['t'], 0))).errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(broker.broker.storage.partition(topic, 0)!.logEndOffset(), 0, 'nothing was written');

  const id = txnId('produce');
  const p = await openTxn(c, id, topic);
  assert.equal((await produce(c, topic, txnBatch(p.producerId, ['t'], 0, p.producerEpoch))).errorCode, 0);
  const plainSameProducer = encodeBatch({ records: [{ value: 'p' }], producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: 1 });
  assert.equal((await produce(c, topic, plainSameProducer)).errorCode, ErrorCode.INVALID_TXN_STATE);
  // A fenced epoch: a second InitProducerId aborts the open transaction with an abort marker at the
  // bumped epoch; the old epoch is refused after it, transactional or plain.
  const fresh = await c.request(ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
  assert.equal(fresh.errorCode, 0);
  assert.equal(fresh.producerEpoch, p.producerEpoch + 2);
  assert.equal(broker.broker.storage.partition(topic, 0)!.txnFirstOffset(p.producerId), -1, 'the abort marker ended the transaction in the log');
  assert.equal((await produce(c, topic, txnBatch(p.producerId, ['zombie'], 1, p.producerEpoch))).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal((await produce(c, topic, plainSameProducer)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  c.socket.destroy();
});

test('DescribeProducers v0: epochs, sequences, coordinator epoch, open transaction start; unknown partitions', async () => {
  const topic = uniqueTopic('txn-describe');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  assert.equal((await produce(c, topic, encodeBatch({ records: [{ value: 'x' }] }))).errorCode, 0); // 0
  assert.equal(await appendDirect(topic, txnBatch(501, ['a', 'b'], 0, 3)), 1); // 1-2
  assert.equal(await appendDirect(topic, txnBatch(502, ['c'], 0)), 3); // 3
  await broker.broker.storage.partition(topic, 0)!.writeTxnMarker({ producerId: 502, producerEpoch: 0, commit: true, coordinatorEpoch: 9 }, { sync: false });
  const r = await c.request(ApiKey.DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [0, 5] }, { name: 'no-such-topic', partitionIndexes: [0] }] });
  const [p0, p5] = r.topics[0].partitions;
  assert.equal(p0.errorCode, 0);
  const rows = p0.activeProducers.map((s: Message) => [Number(s.producerId), s.producerEpoch, s.lastSequence, s.coordinatorEpoch, Number(s.currentTxnStartOffset)])
    .sort((x: number[], y: number[]) => x[0] - y[0]);
  assert.deepEqual(rows, [[501, 3, 1, -1, 1], [502, 0, 0, 9, -1]]);
  assert.ok(p0.activeProducers.every((s: Message) => Number(s.lastTimestamp) > 0));
  assert.equal(p5.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(r.topics[1].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  c.socket.destroy();
});

test('Fetch v0-3 (down-converted message sets) carry no control batches', async () => {
  const topic = uniqueTopic('txn-legacy');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  assert.equal(await appendDirect(topic, txnBatch(601, ['a'], 0)), 0); // 0
  await broker.broker.storage.partition(topic, 0)!.writeTxnMarker({ producerId: 601, producerEpoch: 0, commit: true, coordinatorEpoch: 0 }, { sync: false }); // 1
  assert.equal((await produce(c, topic, encodeBatch({ records: [{ value: 'b' }] }))).errorCode, 0); // 2
  for (const version of [0, 1, 2, 3]) {
    const p = await fetchPart(c, topic, 0, 0, version);
    const msgs = parseMessageSet(Buffer.concat(Array.isArray(p.records) ? p.records : [p.records]), true);
    assert.deepEqual(msgs.map((m) => [m.offset, m.value?.toString()]), [[0, 'a'], [2, 'b']], `Fetch v${version}`);
  }
  c.socket.destroy();
});

test('kill -9 of a real fjord server mid-transaction: LSO and aborted ranges are the same after restart', async () => {
  const dir = tempDir();
  try {
    // Transactions ended through storage (the coordinator's path), on the same data dir.
    const s = createStorage(`file:${dir.path}`, { flush: 'always', segmentBytes: 2048, segmentMs: 3_600_000, indexIntervalBytes: 256 }, () => undefined);
    await s.open();
    await s.createTopic('txk', 1, {});
    const log = s.partition('txk', 0)!;
    const append = (b: Buffer) => log.append(b, validateBatches(b), { sync: true });
    for (let i = 0; i < 6; i++) {
      await append(txnBatch(700, [`x${i}`.padEnd(200, '.')], i));
      await append(encodeBatch({ records: [{ value: `plain${i}` }] }));
      await log.writeTxnMarker({ producerId: 700, producerEpoch: 0, commit: i % 2 === 0, coordinatorEpoch: 0 }, { sync: true });
    }
    await s.close();

    let server = await startServerProcess(['--data-dir', dir.path]);
    let c = await RawConnection.connect(server.port);
    // Mid-transaction: two transactions opened through the coordinator write and never end.
    const first = await openTxn(c, txnId('kill-1'), 'txk');
    const second = await openTxn(c, txnId('kill-2'), 'txk');
    assert.equal((await produce(c, 'txk', txnBatch(first.producerId, ['open-1'], 0, first.producerEpoch))).errorCode, 0); // 18
    assert.equal((await produce(c, 'txk', encodeBatch({ records: [{ value: 'after' }] }))).errorCode, 0); // 19
    assert.equal((await produce(c, 'txk', txnBatch(second.producerId, ['open-2'], 0, second.producerEpoch))).errorCode, 0); // 20
    const before = await fetchPart(c, 'txk', 0, 1);
    const lso = Number(before.lastStableOffset);
    assert.equal(lso, 18, 'the first open transaction starts at 18');
    assert.equal(before.abortedTransactions.length, 3);
    c.socket.destroy();
    server.child.kill('SIGKILL');
    await server.exited;

    server = await startServerProcess(['--data-dir', dir.path]);
    c = await RawConnection.connect(server.port);
    const after = await fetchPart(c, 'txk', 0, 1);
    assert.equal(Number(after.lastStableOffset), lso);
    assert.deepEqual(after.abortedTransactions, before.abortedTransactions);
    assert.deepEqual(dataBases(after), dataBases(before));
    assert.equal(await latest(c, 'txk', 1), lso);
    assert.equal(Number(after.highWatermark), 21);
    // The first producer is still in its transaction: a plain batch from it is refused.
    const plain = encodeBatch({ records: [{ value: 'p' }], producerId: first.producerId, producerEpoch: first.producerEpoch, baseSequence: 1 });
    assert.equal((await produce(c, 'txk', plain)).errorCode, ErrorCode.INVALID_TXN_STATE);
    c.socket.destroy();
    server.child.kill('SIGKILL');
    await server.exited;
  } finally {
    dir.remove();
  }
});
