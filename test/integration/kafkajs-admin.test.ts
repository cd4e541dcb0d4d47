// kafkajs admin calls against a real broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaFor, withBroker, uniqueTopic } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker(); });
after(async () => { await broker.stop(); });

test('createTopics, listTopics, fetchTopicMetadata, fetchTopicOffsets, deleteTopics', async () => {
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const a = uniqueTopic('admin-a');
  const b = uniqueTopic('admin-b');
  assert.equal(await admin.createTopics({ topics: [{ topic: a, numPartitions: 4 }, { topic: b }] }), true);
  // Creating an existing topic is not an error for kafkajs (returns false).
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
  }
  const offsets = await admin.fetchTopicOffsets(a);
  assert.equal(offsets.length, 4);
  for (const o of offsets) assert.deepEqual([o.low, o.high, o.offset], ['0', '0', '0']);

  await admin.createPartitions({ topicPartitions: [{ topic: b, count: 3 }] });
  const metaB = await admin.fetchTopicMetadata({ topics: [b] });
  assert.equal(metaB.topics[0].partitions.length, 3);

  await admin.deleteTopics({ topics: [a, b] });
  const after = await admin.listTopics();
  assert.ok(!after.includes(a) && !after.includes(b));
  await admin.disconnect();
});

test('invalid topic names and bad partition counts get Kafka errors', async () => {
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  const failsWith = (type: string) => (err: { errors?: { type: string }[] }) => {
    assert.equal(err.errors?.[0]?.type, type);
    return true;
  };
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad name!' }] }), failsWith('INVALID_TOPIC_EXCEPTION'));
  await assert.rejects(admin.createTopics({ topics: [{ topic: uniqueTopic('zero'), numPartitions: 0 }] }), failsWith('INVALID_PARTITIONS'));
  await assert.rejects(admin.createTopics({ topics: [{ topic: 'x'.repeat(250) }] }), failsWith('INVALID_TOPIC_EXCEPTION'));
  await assert.rejects(admin.createTopics({ topics: [{ topic: uniqueTopic('rf'), replicationFactor: 3 }] }), failsWith('INVALID_REPLICATION_FACTOR'));
  await admin.disconnect();
});

test('fetchTopicOffsetsByTimestamp and describeConfigs', async () => {
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('ts');
  await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
  const producer = kafka.producer();
  await producer.connect();
  const base = Date.now() - 100000;
  for (let i = 0; i < 5; i++) await producer.send({ topic, messages: [{ value: `v${i}`, timestamp: String(base + i * 1000) }] });
  await producer.disconnect();
  const at = await admin.fetchTopicOffsetsByTimestamp(topic, base + 2500);
  assert.equal(at[0].offset, '3');
  const none = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 100000);
  assert.equal(none[0].offset, '5'); // kafkajs maps "no such offset" to the end
  const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic }], includeSynonyms: false });
  const entries = configs.resources[0].configEntries;
  assert.equal(entries.find((e) => e.configName === 'retention.ms')?.configValue, '3600000');
  assert.equal(entries.find((e) => e.configName === 'cleanup.policy')?.configValue, 'delete');
  await admin.disconnect();
});

test('deleteTopicRecords moves the low watermark', async () => {
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('trim');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) });
  await producer.disconnect();
  // kafkajs looks the leader up in its metadata cache before refreshing it (with Apache Kafka too),
  // so the topic must be known to this admin client first.
  await admin.fetchTopicOffsets(topic);
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
  const [o] = await admin.fetchTopicOffsets(topic);
  assert.deepEqual([o.low, o.high], ['4', '10']);
  await admin.disconnect();
});

test('alterConfigs changes topic configs that describeConfigs then reports; bad values are refused', async () => {
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  const topic = uniqueTopic('alter');
  await admin.createTopics({ topics: [{ topic }] });
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: '1234' }] }] });
  const described = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false });
  assert.equal(described.resources[0].configEntries[0].configValue, '1234');
  assert.equal(described.resources[0].configEntries[0].isDefault, false);
  await assert.rejects(admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }));
  await assert.rejects(admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: [{ name: 'no.such.config', value: '1' }] }] }));
  await admin.disconnect();
});
