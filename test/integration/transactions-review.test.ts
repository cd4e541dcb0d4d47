// Adversarial cases for the transaction coordinator over real TCP (issue 12 review): fencing that
// a zombie must not undo, completions retried while requests keep arriving, topics deleted under a
// transaction, offsets of a read_committed reader, and plain vs transactional offset commits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker, uniqueTopic, eventually } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';
import { StorageError } from '../../src/storage/types.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
// A sweep interval longer than any test: completions here happen only when a request asks for them.
before(async () => { broker = await withBroker({ transactionAbortCheckIntervalMs: 600000 }); });
after(async () => { await broker.stop(); });

let ids = 0;
const txnId = (base: string) => `${base}-${process.pid}-${ids++}`;
type Pid = { producerId: number; producerEpoch: number };

async function init(c: RawConnection, id: string, current: Pid = { producerId: -1, producerEpoch: -1 }, version = 4): Promise<Pid & { errorCode: number }> {
  const r = await c.request(ApiKey.InitProducerId, version, { transactionalId: id, transactionTimeoutMs: 60000, ...current });
  return { producerId: Number(r.producerId), producerEpoch: r.producerEpoch, errorCode: r.errorCode };
}

async function addPartitions(c: RawConnection, id: string, p: Pid, topics: { name: string; partitions: number[] }[]): Promise<number[]> {
  const r = await c.request(ApiKey.AddPartitionsToTxn, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: topics });
  return r.resultsByTopicV3AndBelow.flatMap((t: Message) => t.resultsByPartition.map((x: Message) => x.partitionErrorCode));
}

async function endTxn(c: RawConnection, id: string, p: Pid, committed: boolean): Promise<number> {
  return (await c.request(ApiKey.EndTxn, 3, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch, committed })).errorCode;
}

async function describe(c: RawConnection, id: string): Promise<Message> {
  return (await c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] })).transactionStates[0];
}

async function listOffset(c: RawConnection, topic: string, timestamp: number, isolationLevel: number): Promise<number> {
  const r = await c.request(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
  const part = r.topics[0].partitions[0];
  assert.equal(part.errorCode, ErrorCode.NONE);
  return Number(part.offset);
}

async function fetchCommitted(c: RawConnection, topic: string, fetchOffset: number): Promise<Message> {
  const r = await c.request(ApiKey.Fetch, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: '',
  });
  return r.responses[0].partitions[0];
}

async function produceTxn(c: RawConnection, id: string, p: Pid, topic: string, seq: number, value: string): Promise<number> {
  const records = encodeBatch({ records: [{ value }], producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: seq, transactional: true });
  const r = await c.request(ApiKey.Produce, 7, { transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return r.responses[0].partitionResponses[0].errorCode;
}

test('KIP-360: a producer fenced by a new InitProducerId cannot come back by presenting its old epoch', async () => {
  const topic = uniqueTopic('txn-review-unfence');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const id = txnId('unfence');
  const zombie = await init(c, id);
  assert.equal(zombie.errorCode, ErrorCode.NONE);
  // The new producer initializes while the old one has no transaction open (nothing to abort).
  const live = await init(c, id);
  assert.equal(live.producerEpoch, zombie.producerEpoch + 1);
  assert.deepEqual(await addPartitions(c, id, live, [{ name: topic, partitions: [0] }]), [ErrorCode.NONE]);

  // The zombie asks for an epoch bump with its own id and epoch (what librdkafka and Java do after
  // an abortable error). Kafka forgets the previous epoch when a new producer initializes, so this is fenced.
  const back = await init(c, id, zombie);
  assert.equal(back.errorCode, ErrorCode.PRODUCER_FENCED);
  assert.equal((await init(c, id, zombie, 3)).errorCode, ErrorCode.INVALID_PRODUCER_EPOCH, 'v3 has no PRODUCER_FENCED');
  // The live producer's transaction was not touched.
  assert.equal((await describe(c, id)).transactionState, 'Ongoing');
  assert.equal(await endTxn(c, id, live, true), ErrorCode.NONE);

  // A producer bumping its own epoch (KIP-360) still works, and a retry of that bump is answered again.
  const bumped = await init(c, id, live);
  assert.equal(bumped.errorCode, ErrorCode.NONE);
  assert.equal(bumped.producerEpoch, live.producerEpoch + 1);
  const retried = await init(c, id, live);
  assert.equal(retried.errorCode, ErrorCode.NONE);
  assert.deepEqual(await addPartitions(c, id, retried, [{ name: topic, partitions: [0] }]), [ErrorCode.NONE]);
  assert.equal(await endTxn(c, id, retried, false), ErrorCode.NONE);
  c.close();
});

test('completions retried by requests run one at a time: a late one cannot put back the epoch a newer InitProducerId replaced', async () => {
  const topic = uniqueTopic('txn-review-complete');
  await broker.broker.topics.create(topic, 1);
  const log = broker.broker.storage.partition(topic, 0)!;
  const write = log.writeTxnMarker.bind(log);
  // Marker writes: the first fails (the commit is decided but not completed), later ones wait at a gate.
  let failNext = true;
  let gated = true;
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  log.writeTxnMarker = async (marker, options) => {
    if (failNext) {
      failNext = false;
      throw new StorageError('injected marker write failure');
    }
    inFlight++;
    try {
      if (gated) await new Promise<void>((resolve) => waiting.push(resolve));
      return await write(marker, options);
    } finally {
      inFlight--;
    }
  };
  const c = await RawConnection.connect(broker.port);
  const c2 = await RawConnection.connect(broker.port);
  const id = txnId('complete');
  try {
    const p = await init(c, id);
    assert.deepEqual(await addPartitions(c, id, p, [{ name: topic, partitions: [0] }]), [ErrorCode.NONE]);
    assert.equal(await produceTxn(c, id, p, topic, 0, 'a'), ErrorCode.NONE);
    assert.equal(await endTxn(c, id, p, true), ErrorCode.NONE, 'the outcome is on disk; completing it is retried');
    assert.equal((await describe(c, id)).transactionState, 'PrepareCommit');

    // A new producer's InitProducerId finds the completion pending: CONCURRENT_TRANSACTIONS (and a completion starts).
    assert.equal((await init(c, id)).errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    await eventually(() => waiting.length >= 1, 10000, 'a completion writing its marker');
    // Its retry, while that completion is still writing.
    const retry = init(c2, id);
    await Promise.race([retry, new Promise((r) => setTimeout(r, 300))]);
    // The first completion finishes; the producer keeps retrying until it gets an epoch.
    waiting.shift()!();
    let got = await retry;
    for (let i = 0; got.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS && i < 50; i++) got = await init(c, id);
    assert.equal(got.errorCode, ErrorCode.NONE);
    // Let every other completion finish.
    gated = false;
    while (waiting.length) waiting.shift()!();
    await eventually(() => inFlight === 0, 10000, 'marker writes to finish');
    await new Promise((r) => setTimeout(r, 300));
    const d = await describe(c, id);
    assert.equal(d.transactionState, 'Empty');
    assert.equal(d.producerEpoch, got.producerEpoch, 'the epoch handed out last is the current one');
    assert.deepEqual(await addPartitions(c, id, got, [{ name: topic, partitions: [0] }]), [ErrorCode.NONE]);
    assert.equal(await endTxn(c, id, got, false), ErrorCode.NONE);
  } finally {
    gated = false;
    while (waiting.length) waiting.shift()!();
    c.close();
    c2.close();
  }
});

test('a topic deleted in the middle of a transaction: EndTxn completes, the other partitions get their markers', async () => {
  const gone = uniqueTopic('txn-review-gone');
  const kept = uniqueTopic('txn-review-kept');
  await broker.broker.topics.create(gone, 1);
  await broker.broker.topics.create(kept, 1);
  const c = await RawConnection.connect(broker.port);
  const id = txnId('gone');
  const p = await init(c, id);
  assert.deepEqual(await addPartitions(c, id, p, [{ name: gone, partitions: [0] }, { name: kept, partitions: [0] }]), [ErrorCode.NONE, ErrorCode.NONE]);
  assert.equal(await produceTxn(c, id, p, gone, 0, 'x'), ErrorCode.NONE);
  assert.equal(await produceTxn(c, id, p, kept, 0, 'y'), ErrorCode.NONE);
  const del = await c.request(ApiKey.DeleteTopics, 4, { topicNames: [gone], timeoutMs: 5000 });
  assert.equal(del.responses[0].errorCode, ErrorCode.NONE);
  assert.equal(await endTxn(c, id, p, true), ErrorCode.NONE);
  assert.equal((await describe(c, id)).transactionState, 'CompleteCommit');
  assert.equal(await listOffset(c, kept, -1, 1), 2, 'data + marker: the LSO is the log end');
  const f = await fetchCommitted(c, kept, 0);
  assert.equal(Number(f.lastStableOffset), 2);
  assert.deepEqual(f.abortedTransactions, []);
  // The next transaction goes on normally.
  assert.deepEqual(await addPartitions(c, id, p, [{ name: kept, partitions: [0] }]), [ErrorCode.NONE]);
  assert.equal(await endTxn(c, id, p, false), ErrorCode.NONE);
  c.close();
});

test('DeleteRecords past the first offset of an open transaction: the LSO is the log start until the transaction ends', async () => {
  const topic = uniqueTopic('txn-review-delrec');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const id = txnId('delrec');
  const p = await init(c, id);
  assert.deepEqual(await addPartitions(c, id, p, [{ name: topic, partitions: [0] }]), [ErrorCode.NONE]);
  assert.equal(await produceTxn(c, id, p, topic, 0, 'a'), ErrorCode.NONE); // 0
  assert.equal(await produceTxn(c, id, p, topic, 1, 'b'), ErrorCode.NONE); // 1
  const dr = await c.request(ApiKey.DeleteRecords, 1, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 1 }] }], timeoutMs: 5000 });
  assert.equal(dr.topics[0].partitions[0].errorCode, ErrorCode.NONE);
  assert.equal(await listOffset(c, topic, -1, 1), 1);
  let f = await fetchCommitted(c, topic, 1);
  assert.equal(f.errorCode, ErrorCode.NONE);
  assert.equal(Number(f.lastStableOffset), 1);
  assert.equal(f.records.length ?? 0, 0, 'nothing of the open transaction is served');
  assert.equal(await endTxn(c, id, p, false), ErrorCode.NONE); // marker at 2
  f = await fetchCommitted(c, topic, 1);
  assert.equal(Number(f.lastStableOffset), 3);
  assert.deepEqual(f.abortedTransactions.map((a: Message) => [Number(a.producerId), Number(a.firstOffset)]), [[p.producerId, 0]], 'the aborted range that began below the log start');
  c.close();
});

test('ListOffsets by timestamp in read_committed finds nothing at or past the LSO (as Kafka)', async () => {
  const topic = uniqueTopic('txn-review-lo-ts');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const id = txnId('lo-ts');
  const p = await init(c, id);
  assert.deepEqual(await addPartitions(c, id, p, [{ name: topic, partitions: [0] }]), [ErrorCode.NONE]);
  assert.equal(await produceTxn(c, id, p, topic, 0, 'open'), ErrorCode.NONE); // 0, open
  assert.equal(await listOffset(c, topic, 0, 0), 0, 'read_uncommitted finds it');
  assert.equal(await listOffset(c, topic, 0, 1), -1, 'read_committed: the only match is past the LSO');
  assert.equal(await listOffset(c, topic, -3, 1), -1, 'max timestamp too');
  assert.equal(await endTxn(c, id, p, true), ErrorCode.NONE);
  assert.equal(await listOffset(c, topic, 0, 1), 0);
  c.close();
});

test('a partition whose producer epoch moved past the transaction (a client writing with a newer epoch of that id) does not wedge EndTxn', async () => {
  const topic = uniqueTopic('txn-review-wedge');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const id = txnId('wedge');
  const p = await init(c, id);
  // InitProducerId without a transactional id always hands out a new id (as Kafka), never this one.
  const other = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: p.producerId, producerEpoch: p.producerEpoch });
  assert.equal(other.errorCode, ErrorCode.NONE);
  assert.notEqual(other.producerId, p.producerId);
  // A client that forges a newer epoch of the transactional producer's id in a plain idempotent batch.
  const idem = encodeBatch({ records: [{ value: 'idem' }], producerId: p.producerId, producerEpoch: p.producerEpoch + 3, baseSequence: 0 });
  const r = await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: idem }] }] });
  assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);

  assert.deepEqual(await addPartitions(c, id, p, [{ name: topic, partitions: [0] }]), [ErrorCode.NONE]);
  assert.equal(await produceTxn(c, id, p, topic, 0, 'txn'), ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(await endTxn(c, id, p, false), ErrorCode.NONE);
  // Nothing of this transaction is open on the partition, so its marker there has nothing to end.
  assert.equal((await describe(c, id)).transactionState, 'CompleteAbort');
  const next = await init(c, id);
  assert.equal(next.errorCode, ErrorCode.NONE);
  assert.equal(await listOffset(c, topic, -1, 1), await listOffset(c, topic, -1, 0), 'nothing holds the LSO');
  c.close();
});
