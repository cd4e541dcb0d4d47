// Fjord's admin client against a real broker: kafkajs' calls and return shapes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigResourceTypes, FjordAggregateError } from '../../src/client/index.js';
import { withBroker, uniqueTopic, eventually } from '../helpers.js';
import { fjordFor } from './client-helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker(); });
after(async () => { await broker.stop(); });

test('createTopics, listTopics, fetchTopicMetadata, fetchTopicOffsets, createPartitions, deleteTopics', async () => {
  const admin = fjordFor(broker).admin();
  await admin.connect();
  const a = uniqueTopic('admin-a');
  const b = uniqueTopic('admin-b');
  assert.equal(await admin.createTopics({ topics: [{ topic: a, numPartitions: 4 }, { topic: b }] }), true);
  assert.equal(await admin.createTopics({ topics: [{ topic: a, numPartitions: 4 }] }), false);
  const names = await admin.listTopics();
  assert.ok(names.includes(a) && names.includes(b));
  const meta = await admin.fetchTopicMetadata({ topics: [a] });
  assert.equal(meta.topics[0].name, a);
  assert.equal(meta.topics[0].partitions.length, 4);
  for (const p of meta.topics[0].partitions) {
    assert.equal(p.leader, 1);
    assert.deepEqual(p.replicas, [1]);
    assert.deepEqual(p.isr, [1]);
    assert.equal(p.partitionErrorCode, 0);
  }
  const all = await admin.fetchTopicMetadata();
  assert.ok(all.topics.some((t) => t.name === b));
  const offsets = await admin.fetchTopicOffsets(a);
  assert.equal(offsets.length, 4);
  for (const o of offsets) assert.deepEqual([o.low, o.high, o.offset], ['0', '0', '0']);

  assert.equal(await admin.createPartitions({ topicPartitions: [{ topic: b, count: 3 }] }), true);
  const metaB = await admin.fetchTopicMetadata({ topics: [b] });
  assert.equal(metaB.topics[0].partitions.length, 3);

  await admin.deleteTopics({ topics: [a, b] });
  const after = await admin.listTopics();
  assert.ok(!after.includes(a) && !after.includes(b));
  await admin.disconnect();
});

test('invalid topic names and bad partition counts: aggregate errors with Kafka error types', async () => {
  const admin = fjordFor(broker).admin();
  await admin.connect();
  const failsWith = (type: string) => (err: FjordAggregateError) => {
    assert.ok(err instanceof FjordAggregateError);
    assert.equal((err.errors[0] as { type?: string }).type, type);
    return true;
  };
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad name!' }] }), failsWith('INVALID_TOPIC_EXCEPTION'));
  await assert.rejects(admin.createTopics({ topics: [{ topic: uniqueTopic('zero'), numPartitions: 0 }] }), failsWith('INVALID_PARTITIONS'));
  await assert.rejects(admin.createTopics({ topics: [{ topic: uniqueTopic('rf'), replicationFactor: 3 }] }), failsWith('INVALID_REPLICATION_FACTOR'));
  await assert.rejects(admin.deleteTopics({ topics: [uniqueTopic('never-made')] }), (err: { type?: string }) => err.type === 'UNKNOWN_TOPIC_OR_PARTITION');
  await admin.disconnect();
});

test('fetchTopicOffsetsByTimestamp, describeConfigs, describeCluster', async () => {
  const kafka = fjordFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('ts');
  await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
  const producer = kafka.producer();
  await producer.connect();
  const base = Date.now() - 100000;
  for (let i = 0; i < 5; i++) await producer.send({ topic, messages: [{ value: `v${i}`, timestamp: String(base + i * 1000) }] });
  await producer.disconnect();
  assert.equal((await admin.fetchTopicOffsetsByTimestamp(topic, base + 2500))[0].offset, '3');
  assert.equal((await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 100000))[0].offset, '5');
  const configs = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false });
  const entries = configs.resources[0].configEntries;
  const retention = entries.find((e) => e.configName === 'retention.ms')!;
  assert.equal(retention.configValue, '3600000');
  assert.equal(retention.isDefault, false);
  assert.equal(entries.find((e) => e.configName === 'cleanup.policy')?.configValue, 'delete');
  const only = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }] });
  assert.deepEqual(only.resources[0].configEntries.map((e) => e.configName), ['cleanup.policy']);
  const cluster = await admin.describeCluster();
  assert.deepEqual(cluster.brokers.map((b) => b.nodeId), [1]);
  assert.equal(cluster.controller, 1);
  assert.equal(typeof cluster.clusterId, 'string');
  await admin.disconnect();
});

test('group admin: listGroups, describeGroups, fetchOffsets, setOffsets, resetOffsets, deleteGroups', async () => {
  const kafka = fjordFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('grp');
  const groupId = uniqueTopic('grp-g');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `x${i}`, partition: i % 2 })) });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  await consumer.run({ eachMessage: async () => { n++; } });
  await eventually(() => n === 10, 20000, 'ten messages');
  const live = await admin.describeGroups([groupId]);
  assert.equal(live.groups[0].state, 'Stable');
  assert.equal(live.groups[0].protocolType, 'consumer');
  assert.equal(live.groups[0].protocol, 'RoundRobinAssigner');
  assert.equal(live.groups[0].members.length, 1);
  await assert.rejects(admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] }), /no running instances/);
  const listed = await admin.listGroups();
  assert.ok(listed.groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'));
  await consumer.disconnect();

  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(committed, [{ topic, partitions: [{ partition: 0, offset: '5', metadata: null }, { partition: 1, offset: '5', metadata: null }] }]);

  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] });
  assert.equal((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions[0].offset, '2');
  await admin.resetOffsets({ groupId, topic, earliest: true });
  assert.deepEqual((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => p.offset), ['0', '0']);
  await admin.resetOffsets({ groupId, topic });
  assert.deepEqual((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => p.offset), ['5', '5']);

  const deleted = await admin.deleteGroups([groupId]);
  assert.deepEqual(deleted, [{ groupId, errorCode: 0 }]);
  await assert.rejects(admin.deleteGroups([groupId]), (err: FjordAggregateError) => (err.errors[0] as { type?: string }).type === 'GROUP_ID_NOT_FOUND');
  await admin.disconnect();
});
