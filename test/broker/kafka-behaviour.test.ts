// Where a client notices how the broker answers, Fjord answers as Apache Kafka 4.1 does (the same
// probes run against Kafka itself in test/conformance/kafka-behaviour-kafka.test.ts):
// `__consumer_offsets` is a listed internal topic that cannot be written, deleted or grown;
// Metadata auto-creation answers with the topic (Kafka 4.1: UNKNOWN_TOPIC_OR_PARTITION first);
// CreateTopics words its errors as Kafka; zstd topics are refused to Fetch v4–9; DescribeConfigs
// has min.insync.replicas; Fjord's client leaves internal topics out of regex subscriptions; and
// OffsetForLeaderEpoch answers stay right across a restart of `fjord server` (epoch 0 kept).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';
import { Kafka as FjordKafka } from '../../src/client/index.js';
import type { RunningBroker } from '../../src/index.js';
import { eventually, kafkaFor, tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { startServerProcess } from '../server-process.js';
import * as probe from '../conformance/kafka-behaviour-probes.js';
import { RawConnection } from '../raw-client.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker(); });
after(async () => { await broker.stop(); });

test('__consumer_offsets: listed as internal (all topics and by name), one partition led here', async () => {
  const { byName, inList } = await probe.consumerOffsetsListed(broker.address);
  for (const t of [byName, inList]) {
    assert.equal(t.errorCode, ErrorCode.NONE);
    assert.equal(t.isInternal, true);
    assert.equal(t.partitions.length, 1);
    assert.deepEqual([t.partitions[0].leaderId, t.partitions[0].replicaNodes, t.partitions[0].isrNodes], [1, [1], [1]]);
    assert.notEqual(t.topicId, '00000000-0000-0000-0000-000000000000');
  }
  // v1 (the first with is_internal) lists it too; user topics stay not internal.
  const topic = uniqueTopic('internal-flag');
  await broker.broker.topics.create(topic, 1);
  const v1 = await probe.metadata(broker.address, null, false, 1);
  assert.equal(v1.topics.find((t: { name: string }) => t.name === '__consumer_offsets')?.isInternal, true);
  assert.equal(v1.topics.find((t: { name: string }) => t.name === topic)?.isInternal, false);
});

test('__transaction_state: unknown until a transaction used it, then listed as internal', async () => {
  const b = await withBroker();
  try {
    const before = (await probe.metadata(b.address, ['__transaction_state'], true)).topics[0];
    assert.deepEqual([before.errorCode, before.isInternal, before.partitions.length], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true, 0]);
    assert.ok(!(await probe.metadata(b.address, null, false)).topics.some((t: { name: string }) => t.name === '__transaction_state'));
    const producer = kafkaFor(b).producer({ transactionalId: 'kafka-behaviour-tx', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({ topic: uniqueTopic('tx-topic'), messages: [{ value: 'v' }] });
    await tx.commit();
    await producer.disconnect();
    const listed = (await probe.metadata(b.address, null, false)).topics.find((t: { name: string }) => t.name === '__transaction_state');
    assert.equal(listed?.isInternal, true);
  } finally {
    await b.stop();
  }
});

test('__consumer_offsets: Produce, CreatePartitions, CreateTopics and DeleteTopics refused; offsets survive', async () => {
  const topic = uniqueTopic('offsets-kept');
  await broker.broker.topics.create(topic, 1);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  await admin.setOffsets({ groupId: 'kept-group', topic, partitions: [{ partition: 0, offset: '7' }] });
  const got = await probe.consumerOffsetsRequests(broker.address);
  assert.deepEqual(got, {
    produce: ErrorCode.INVALID_TOPIC_EXCEPTION,
    createPartitions: ErrorCode.INVALID_REQUEST,
    createTopics: ErrorCode.TOPIC_ALREADY_EXISTS,
    createTopicsMessage: "Topic '__consumer_offsets' already exists.",
    deleteTopics: ErrorCode.TOPIC_DELETION_DISABLED,
  });
  assert.deepEqual(await admin.fetchOffsets({ groupId: 'kept-group', topics: [topic] }), [{ topic, partitions: [{ partition: 0, offset: '7', metadata: null }] }]);
  await admin.disconnect();
});

test('__consumer_offsets: ListOffsets, Fetch and OffsetForLeaderEpoch serve it as Kafka serves its internal topics', async () => {
  const topic = uniqueTopic('offsets-read');
  await broker.broker.topics.create(topic, 1);
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  await admin.setOffsets({ groupId: 'read-group', topic, partitions: [{ partition: 0, offset: '3' }] });
  await admin.disconnect();
  assert.deepEqual(await probe.consumerOffsetsReads(broker.address), { listOffsets: ErrorCode.NONE, fetch: ErrorCode.NONE });
  const end = (await probe.ask(broker.address, ApiKey.ListOffsets, 7, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: '__consumer_offsets', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
  })).topics[0].partitions[0];
  assert.ok(end.offset > 0, JSON.stringify(end));
  const ofle = (await probe.ask(broker.address, ApiKey.OffsetForLeaderEpoch, 4, {
    replicaId: -1, topics: [{ topic: '__consumer_offsets', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
  })).topics[0].partitions[0];
  assert.deepEqual([ofle.errorCode, ofle.endOffset], [0, end.offset]);
  // DescribeProducers (kafka-transactions find-hanging asks it of every partition of a broker): none.
  const producers = (await probe.ask(broker.address, ApiKey.DescribeProducers, 0, { topics: [{ name: '__consumer_offsets', partitionIndexes: [0] }] })).topics[0].partitions[0];
  assert.deepEqual([producers.errorCode, producers.activeProducers], [0, []]);
  // Partition 1 does not exist (one partition), nor a second internal log by id.
  const p1 = (await probe.ask(broker.address, ApiKey.ListOffsets, 7, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: '__consumer_offsets', partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1 }] }],
  })).topics[0].partitions[0];
  assert.equal(p1.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  // A kafkajs consumer subscribed by a regex that matches it (kafkajs does not skip internal topics,
  // on Kafka either) reads the commit record and the user topic alike.
  const producer = kafkaFor(broker).producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'user record' }] });
  await producer.disconnect();
  const consumer = kafkaFor(broker).consumer({ groupId: uniqueTopic('regex-kafkajs') });
  await consumer.connect();
  const seen = new Set<string>();
  await consumer.subscribe({ topics: [new RegExp(`^(__consumer_offsets|${topic})$`)], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ topic: t }) => { seen.add(t); } });
  await eventually(() => seen.has(topic) && seen.has('__consumer_offsets'), 20000, `both topics read: ${[...seen].join(',')}`);
  await consumer.disconnect();
});

test('Metadata auto-creation: the topic in the creating answer (Kafka 4.1: UNKNOWN_TOPIC_OR_PARTITION first); allowAutoTopicCreation=false creates nothing', async () => {
  for (const version of [12, 4]) {
    const topic = uniqueTopic(`auto-v${version}`);
    assert.deepEqual(await probe.autoCreation(broker.address, topic, version), {
      first: { errorCode: ErrorCode.NONE, partitions: 1, isInternal: false },
      later: { errorCode: ErrorCode.NONE, partitions: 1 },
      notAllowed: [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    });
    assert.ok(broker.broker.storage.topic(topic));
    assert.equal(broker.broker.storage.topic(`${topic}-off`), undefined);
  }
  // v0–3 have no flag: they always auto-create.
  const old = await probe.autoCreation(broker.address, uniqueTopic('auto-v3'), 3);
  assert.deepEqual(old.notAllowed, [ErrorCode.NONE, ErrorCode.NONE]);
});

test('auto-creation still works for clients: kafkajs and Fjord\'s client produce to a new topic and read it back', async () => {
  const a = uniqueTopic('auto-kafkajs');
  const producer = kafkaFor(broker).producer();
  await producer.connect();
  await producer.send({ topic: a, messages: [{ value: 'from kafkajs' }] });
  await producer.disconnect();
  const b = uniqueTopic('auto-fjord');
  const fjord = new FjordKafka({ brokers: [broker.address], clientId: 'kafka-behaviour' });
  const p2 = fjord.producer();
  await p2.connect();
  await p2.send({ topic: b, messages: [{ value: 'from fjord' }] });
  await p2.disconnect();
  for (const [topic, value] of [[a, 'from kafkajs'], [b, 'from fjord']]) {
    assert.equal(await broker.broker.storage.partition(topic, 0)?.logEndOffset(), 1, `${topic}: ${value}`);
  }
});

test('CreateTopics error messages are worded as Kafka 4.1 words them', async () => {
  const topic = uniqueTopic('errs');
  assert.deepEqual(await probe.createTopicsErrors(broker.address, topic), {
    exists: { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, errorMessage: `Topic '${topic}' already exists.` },
    replicationFactor3: { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, errorMessage: 'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered.' },
    replicationFactor0: { errorCode: ErrorCode.INVALID_REPLICATION_FACTOR, errorMessage: 'Replication factor must be larger than 0, or -1 to use the default value.' },
    partitions0: { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Number of partitions was set to an invalid non-positive value.' },
    partitionsNegative: { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Number of partitions was set to an invalid non-positive value.' },
    badName: { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: `Topic name is invalid: '${topic}?bad' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'` },
  });
});

test('replica assignments: one node takes those naming only itself (one replica each), refuses another broker', async () => {
  const conn = await RawConnection.connect(broker.port);
  try {
    const node = broker.broker.nodeId;
    const topic = uniqueTopic('assigned');
    let r = await conn.request(ApiKey.CreateTopics, 4, {
      topics: [{ name: topic, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [node] }, { partitionIndex: 1, brokerIds: [node] }], configs: [] }],
      timeoutMs: 10000, validateOnly: false,
    });
    assert.equal(r.topics[0].errorCode, ErrorCode.NONE);
    assert.equal(broker.broker.storage.topic(topic)?.partitionCount, 2);
    r = await conn.request(ApiKey.CreatePartitions, 3, { topics: [{ name: topic, count: 3, assignments: [{ brokerIds: [node + 1] }] }], timeoutMs: 10000, validateOnly: false });
    assert.deepEqual(r.results.map((x: { errorCode: number; errorMessage: string }) => [x.errorCode, x.errorMessage]), [[ErrorCode.INVALID_REPLICA_ASSIGNMENT, `this cluster has one broker, id ${node}`]]);
    r = await conn.request(ApiKey.CreatePartitions, 3, { topics: [{ name: topic, count: 3, assignments: [{ brokerIds: [node] }] }], timeoutMs: 10000, validateOnly: false });
    assert.deepEqual(r.results.map((x: { errorCode: number }) => x.errorCode), [ErrorCode.NONE]);
  } finally {
    conn.close();
  }
});

test('Fetch v4–9 of a topic with compression.type=zstd: UNSUPPORTED_COMPRESSION_TYPE; v10 reads it; zstd batches elsewhere are served', async () => {
  assert.deepEqual(await probe.zstdFetch(broker.address, uniqueTopic('zstd')), {
    'zstd-v9': ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    'zstd-v10': ErrorCode.NONE,
    'producer-v9': ErrorCode.NONE,
    'producer-v10': ErrorCode.NONE,
  });
});

test('DescribeConfigs reports min.insync.replicas for a topic and for the broker', async () => {
  const topic = uniqueTopic('mir');
  await broker.broker.topics.create(topic, 1);
  const got = await probe.minInsyncReplicas(broker.address, topic, '1') as Record<string, { errorCode: number; value: string }>;
  assert.deepEqual([got.topic!.errorCode, got.topic!.value, got.broker!.errorCode, got.broker!.value], [0, '1', 0, '1']);
});

test('Fjord\'s client: a regex subscription leaves __consumer_offsets out', async () => {
  const topic = uniqueTopic('regex-all');
  await broker.broker.topics.create(topic, 1);
  const fjord = new FjordKafka({ brokers: [broker.address], clientId: 'kafka-behaviour-regex' });
  const consumer = fjord.consumer({ groupId: uniqueTopic('regex-group') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [/.*/] });
    const subscribed = (consumer as unknown as { topics: Map<string, unknown> }).topics;
    assert.ok(subscribed.has(topic));
    assert.ok(!subscribed.has('__consumer_offsets'), [...subscribed.keys()].join(','));
  } finally {
    await consumer.disconnect();
  }
});

test('OffsetForLeaderEpoch across a restart of `fjord server`: epoch 0 kept, its end offset follows the log', async () => {
  const dir = tempDir();
  const topic = uniqueTopic('ofle');
  const ask = async (address: string, leaderEpoch: number, currentLeaderEpoch = -1) =>
    (await probe.ask(address, ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] })).topics[0].partitions[0];
  const produce = async (address: string, n: number) => {
    const r = await probe.ask(address, ApiKey.Produce, 9, {
      transactionalId: null, acks: -1, timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeBatch({ records: Array.from({ length: n }, (_, i) => ({ value: `r${i}` })) }) }] }],
    });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, 0);
  };
  let server = await startServerProcess(['--data-dir', dir.path]);
  try {
    await probe.ask(server.address, ApiKey.CreateTopics, 7, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    await produce(server.address, 5);
    assert.deepEqual(await ask(server.address, 0), { errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 5 });
    server.child.kill('SIGTERM');
    await server.exited;
    server = await startServerProcess(['--data-dir', dir.path]);
    // Same epoch after the restart (one node keeps its leadership), Metadata says so too.
    const md = (await probe.metadata(server.address, [topic], false)).topics[0];
    assert.equal(md.partitions[0].leaderEpoch, 0);
    assert.deepEqual(await ask(server.address, 0, 0), { errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 5 });
    await produce(server.address, 3);
    assert.deepEqual(await ask(server.address, 0), { errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 8 });
    // An epoch past the leader's: UNDEFINED (-1/-1); a client ahead of the leader: UNKNOWN_LEADER_EPOCH.
    assert.deepEqual(await ask(server.address, 3), { errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1 });
    assert.equal((await ask(server.address, 0, 2)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    dir.remove();
  }
});
