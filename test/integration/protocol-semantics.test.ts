// Broker semantics checked with exact requests over TCP: idempotent producer de-duplication,
// Fetch long-polling and byte limits, Metadata auto-creation rules, LogAppendTime, leader epochs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker, uniqueTopic, tempDir } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch, iterateBatches, decodeRecords, BATCH_HEADER_SIZE } from '../../src/protocol/records.js';
import { startBroker, type RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker(); });
after(async () => { await broker.stop(); });

const produceBody = (topic: string, records: Buffer, acks = -1, partition = 0) => ({
  transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
});
const partitionResult = (res: any) => res.responses[0].partitionResponses[0];
const fetchBody = (topic: string, fetchOffset: number, opts: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {}) => ({
  replicaId: -1, maxWaitMs: opts.maxWaitMs ?? 0, minBytes: opts.minBytes ?? 1, maxBytes: opts.maxBytes ?? 1 << 20, isolationLevel: 0,
  sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: opts.partitionMaxBytes ?? 1 << 20 }] }],
  forgottenTopicsData: [], rackId: '',
});

test('idempotent producer: duplicates get their original offset, gaps and unknown producers are refused', async () => {
  const topic = uniqueTopic('idem-raw');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const init = await c.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 });
  assert.equal(init.errorCode, 0);
  const pid = init.producerId;
  const batch = (seq: number, n = 2, epoch = 0, producerId = pid) =>
    encodeBatch({ producerId, producerEpoch: epoch, baseSequence: seq, records: Array.from({ length: n }, (_, i) => ({ value: `s${seq + i}` })) });

  let r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch(0))));
  assert.deepEqual([r.errorCode, r.baseOffset], [0, 0]);
  r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch(2))));
  assert.deepEqual([r.errorCode, r.baseOffset], [0, 2]);
  // A retry of either of the last batches: same offset, nothing written twice.
  r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch(0))));
  assert.deepEqual([r.errorCode, r.baseOffset], [0, 0]);
  r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch(2))));
  assert.deepEqual([r.errorCode, r.baseOffset], [0, 2]);
  // A gap.
  r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch(9))));
  assert.equal(r.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  // A producer id this partition has never seen, not starting at 0.
  r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch(5, 1, 0, pid + 12345))));
  assert.equal(r.errorCode, ErrorCode.UNKNOWN_PRODUCER_ID);
  // A bumped epoch restarts at 0; the old epoch is then fenced.
  r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch(0, 1, 1))));
  assert.deepEqual([r.errorCode, r.baseOffset], [0, 4]);
  r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch(4, 1, 0))));
  assert.equal(r.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);

  const end = await c.request(ApiKey.ListOffsets, 1, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1 }] }] });
  assert.equal(end.topics[0].partitions[0].offset, 5);
  c.close();
});

test('idempotent producer state survives a restart of a file-backed broker', async () => {
  const dir = tempDir();
  try {
    let b = await startBroker({ dataDir: dir.path, logLevel: 'silent' });
    const topic = 'idem-restart';
    await b.broker.topics.create(topic, 1);
    let c = await RawConnection.connect(b.port);
    const pid = (await c.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 })).producerId;
    const batch = encodeBatch({ producerId: pid, producerEpoch: 0, baseSequence: 0, records: [{ value: 'once' }] });
    assert.equal(partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, batch))).baseOffset, 0);
    c.close();
    await b.stop();
    b = await startBroker({ dataDir: dir.path, logLevel: 'silent' });
    c = await RawConnection.connect(b.port);
    const again = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, encodeBatch({ producerId: pid, producerEpoch: 0, baseSequence: 0, records: [{ value: 'once' }] }))));
    assert.deepEqual([again.errorCode, again.baseOffset], [0, 0]);
    const pid2 = (await c.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 })).producerId;
    assert.notEqual(pid2, pid, 'producer ids are not reused after a restart');
    c.close();
    await b.stop();
  } finally {
    dir.remove();
  }
});

test('Fetch long-polls until data arrives or maxWaitMs passes', async () => {
  const topic = uniqueTopic('poll');
  await broker.broker.topics.create(topic, 1);
  const consumer = await RawConnection.connect(broker.port);
  const producer = await RawConnection.connect(broker.port);
  let t0 = Date.now();
  const empty = await consumer.request(ApiKey.Fetch, 11, fetchBody(topic, 0, { maxWaitMs: 300 }));
  const waited = Date.now() - t0;
  assert.ok(waited >= 250, `returned after ${waited} ms`);
  const p = empty.responses[0].partitions[0];
  assert.deepEqual([p.errorCode, p.highWatermark, p.lastStableOffset, p.logStartOffset, p.records.length], [0, 0, 0, 0, 0]);

  t0 = Date.now();
  const pending = consumer.request(ApiKey.Fetch, 11, fetchBody(topic, 0, { maxWaitMs: 10000 }), 2);
  await new Promise((r) => setTimeout(r, 100));
  await producer.request(ApiKey.Produce, 7, produceBody(topic, encodeBatch({ records: [{ value: 'wake up' }] })));
  const woke = await pending;
  assert.ok(Date.now() - t0 < 5000, 'the fetch was woken by the produce');
  const [b] = [...iterateBatches(woke.responses[0].partitions[0].records)];
  assert.equal(decodeRecords(b.header, b.bytes.subarray(BATCH_HEADER_SIZE))[0].value!.toString(), 'wake up');
  consumer.close();
  producer.close();
});

test('Fetch honours partition and response byte limits but always returns one whole batch', async () => {
  const topic = uniqueTopic('limits');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const big = 'x'.repeat(1000);
  for (let i = 0; i < 10; i++) await c.request(ApiKey.Produce, 7, produceBody(topic, encodeBatch({ records: [{ value: big }, { value: big }] })), 10 + i);
  const batchSize = encodeBatch({ records: [{ value: big }, { value: big }] }).length;
  const countBatches = (res: any) => [...iterateBatches(res.responses[0].partitions[0].records)].length;

  assert.equal(countBatches(await c.request(ApiKey.Fetch, 11, fetchBody(topic, 0, { partitionMaxBytes: batchSize * 3 + 10 }))), 3);
  assert.equal(countBatches(await c.request(ApiKey.Fetch, 11, fetchBody(topic, 0, { maxBytes: batchSize * 2 + 10 }))), 2);
  // Smaller than one batch: still one batch, so the consumer makes progress.
  assert.equal(countBatches(await c.request(ApiKey.Fetch, 11, fetchBody(topic, 0, { partitionMaxBytes: 10 }))), 1);
  // Starting inside a batch returns that whole batch.
  const mid = await c.request(ApiKey.Fetch, 11, fetchBody(topic, 5, { partitionMaxBytes: 10 }));
  assert.equal([...iterateBatches(mid.responses[0].partitions[0].records)][0].header.baseOffset, 4);
  // Out of range.
  const oor = await c.request(ApiKey.Fetch, 11, fetchBody(topic, 999));
  assert.equal(oor.responses[0].partitions[0].errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  c.close();
});

test('Metadata auto-creation: implicit before v4, only when allowed from v4', async () => {
  const c = await RawConnection.connect(broker.port);
  const t4 = uniqueTopic('auto-v4');
  const v4no = await c.request(ApiKey.Metadata, 4, { topics: [{ name: t4 }], allowAutoTopicCreation: false });
  assert.equal(v4no.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(broker.broker.storage.topic(t4), undefined);
  const v4yes = await c.request(ApiKey.Metadata, 4, { topics: [{ name: t4 }], allowAutoTopicCreation: true });
  assert.equal(v4yes.topics[0].errorCode, 0);
  const t1 = uniqueTopic('auto-v1');
  const v1 = await c.request(ApiKey.Metadata, 1, { topics: [{ name: t1 }] });
  assert.equal(v1.topics[0].errorCode, 0);
  // v1+: an empty list means no topics; v0: all topics.
  assert.equal((await c.request(ApiKey.Metadata, 1, { topics: [] })).topics.length, 0);
  assert.ok((await c.request(ApiKey.Metadata, 0, { topics: [] })).topics.length >= 2);
  const v12 = await c.request(ApiKey.Metadata, 12, { topics: [{ name: t1, topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  assert.notEqual(v12.topics[0].topicId, '00000000-0000-0000-0000-000000000000');
  assert.equal(v12.controllerId, 1);
  assert.equal(v12.clusterId, broker.broker.clusterId);
  assert.equal(v12.topics[0].partitions[0].leaderEpoch, 0);
  const bad = await c.request(ApiKey.Metadata, 4, { topics: [{ name: 'no/slashes' }], allowAutoTopicCreation: true });
  assert.equal(bad.topics[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  c.close();
});

test('auto-creation can be switched off', async () => {
  const b = await startBroker({ autoCreateTopics: false, logLevel: 'silent' });
  const c = await RawConnection.connect(b.port);
  const res = await c.request(ApiKey.Metadata, 1, { topics: [{ name: 'nope' }] });
  assert.equal(res.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  c.close();
  await b.stop();
});

test('LogAppendTime topics stamp the broker time; CreateTime topics keep the producer time', async () => {
  const c = await RawConnection.connect(broker.port);
  const lat = uniqueTopic('lat');
  await broker.broker.topics.create(lat, 1, { 'message.timestamp.type': 'LogAppendTime' });
  const old = 1_000_000;
  const before = Date.now();
  const r = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(lat, encodeBatch({ records: [{ value: 'a', timestamp: old }] }))));
  assert.ok(r.logAppendTimeMs >= before);
  const f = await c.request(ApiKey.Fetch, 11, fetchBody(lat, 0));
  const [b] = [...iterateBatches(f.responses[0].partitions[0].records)];
  assert.ok(decodeRecords(b.header, b.bytes.subarray(BATCH_HEADER_SIZE))[0].timestamp >= before);

  const ct = uniqueTopic('ct');
  await broker.broker.topics.create(ct, 1);
  const r2 = partitionResult(await c.request(ApiKey.Produce, 7, produceBody(ct, encodeBatch({ records: [{ value: 'a', timestamp: old }] }))));
  assert.equal(r2.logAppendTimeMs, -1);
  const f2 = await c.request(ApiKey.Fetch, 11, fetchBody(ct, 0));
  const [b2] = [...iterateBatches(f2.responses[0].partitions[0].records)];
  assert.equal(decodeRecords(b2.header, b2.bytes.subarray(BATCH_HEADER_SIZE))[0].timestamp, old);
  c.close();
});

test('OffsetForLeaderEpoch and DescribeCluster describe the single node', async () => {
  const topic = uniqueTopic('epoch');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  await c.request(ApiKey.Produce, 7, produceBody(topic, encodeBatch({ records: [{ value: 'a' }, { value: 'b' }] })));
  const e = await c.request(ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }] });
  assert.deepEqual([e.topics[0].partitions[0].errorCode, e.topics[0].partitions[0].leaderEpoch, e.topics[0].partitions[0].endOffset], [0, 0, 2]);
  const d = await c.request(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
  assert.deepEqual([d.errorCode, d.controllerId, d.brokers.length, d.brokers[0].port], [0, 1, 1, broker.port]);
  c.close();
});

test('Produce: unknown partition, invalid acks and oversized batches get their error codes', async () => {
  const topic = uniqueTopic('errs');
  await broker.broker.topics.create(topic, 1, { 'max.message.bytes': '2000' });
  const c = await RawConnection.connect(broker.port);
  const small = encodeBatch({ records: [{ value: 'ok' }] });
  assert.equal(partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, small, -1, 5))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  assert.equal(partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, small, 2))).errorCode, ErrorCode.INVALID_REQUIRED_ACKS);
  const big = encodeBatch({ records: [{ value: 'y'.repeat(5000) }] });
  assert.equal(partitionResult(await c.request(ApiKey.Produce, 7, produceBody(topic, big))).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  c.close();
});

test('IncrementalAlterConfigs: SET, DELETE and APPEND', async () => {
  const topic = uniqueTopic('incr');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const alter = (configs: object[]) => c.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 2, resourceName: topic, configs }], validateOnly: false });
  assert.equal((await alter([{ name: 'retention.ms', configOperation: 0, value: '5000' }])).responses[0].errorCode, 0);
  assert.equal(broker.broker.storage.topic(topic)!.configs['retention.ms'], '5000');
  assert.equal((await alter([{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }])).responses[0].errorCode, 0);
  assert.equal(broker.broker.storage.topic(topic)!.configs['cleanup.policy'], 'delete,compact');
  assert.equal((await alter([{ name: 'retention.ms', configOperation: 1, value: null }])).responses[0].errorCode, 0);
  assert.equal(broker.broker.storage.topic(topic)!.configs['retention.ms'], undefined);
  assert.equal((await alter([{ name: 'segment.bytes', configOperation: 0, value: 'big' }])).responses[0].errorCode, ErrorCode.INVALID_CONFIG);
  c.close();
});

test('ListOffsets by timestamp finds the first record at or after it, inside a batch', async () => {
  const topic = uniqueTopic('ts-exact');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const base = 1_700_000_000_000;
  const batch = encodeBatch({ records: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, timestamp: base + i * 1000 })) });
  await c.request(ApiKey.Produce, 7, produceBody(topic, batch));
  const lookup = async (timestamp: number) =>
    (await c.request(ApiKey.ListOffsets, 4, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] })).topics[0].partitions[0];
  const mid = await lookup(base + 4500);
  assert.deepEqual([mid.offset, mid.timestamp], [5, base + 5000]);
  const first = await lookup(base - 1);
  assert.deepEqual([first.offset, first.timestamp], [0, base]);
  const none = await lookup(base + 100000);
  assert.equal(none.offset, -1);
  c.close();
});

test('two CreatePartitions racing on one topic: one grows it, the other gets INVALID_PARTITIONS, the connection stays', async () => {
  // The file engine checks the count again under its catalog lock; the loser used to throw out of
  // the handler and close the connection.
  const dir = tempDir();
  const b = await startBroker({ dataDir: dir.path, logLevel: 'silent' });
  try {
    const topic = uniqueTopic('race-grow');
    await b.broker.topics.create(topic, 1);
    const c = await RawConnection.connect(b.port);
    const grow = (count: number) => c.request(ApiKey.CreatePartitions, 1, { topics: [{ name: topic, count, assignments: null }], timeoutMs: 5000, validateOnly: false });
    const answers = await Promise.all([grow(5), grow(4)]);
    const codes = answers.map((a) => a.results[0].errorCode).sort();
    assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.INVALID_PARTITIONS]);
    assert.equal(b.broker.storage.topic(topic)!.partitionCount, 5);
    const meta = await c.request(ApiKey.Metadata, 1, { topics: [{ name: topic }] });
    assert.equal(meta.topics[0].partitions.length, 5, 'the same connection still answers');
    c.close();
  } finally {
    await b.stop();
    dir.remove();
  }
});
