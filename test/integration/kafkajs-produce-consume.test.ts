// The kafkajs programs of a typical tutorial, unchanged, against a real Fjord broker over TCP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { kafkaFor, withBroker, uniqueTopic, eventually } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => {
  broker = await withBroker({ defaultPartitions: 3 });
});
after(async () => {
  await broker.stop();
});

test('produce one message, keyed messages, a batch of 100 and many sends in flight; consume them all', async () => {
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('orders');
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  const producer = kafka.producer();
  await producer.connect();

  const one = await producer.send({ topic, messages: [{ value: 'hello fjord' }] });
  assert.equal(one[0].errorCode, 0);

  const keyed = await producer.send({
    topic,
    messages: Array.from({ length: 30 }, (_, i) => ({ key: `user-${i % 3}`, value: `event-${i}` })),
  });
  assert.ok(keyed.length >= 1);

  await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ key: null, value: `batch-${i}` })) });

  // Many sends in flight at once, not awaited one by one.
  await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic, messages: [{ value: `inflight-${i}` }] })));

  const offsets = await admin.fetchTopicOffsets(topic);
  const total = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  assert.equal(total, 1 + 30 + 100 + 50);

  const consumer = kafka.consumer({ groupId: uniqueTopic('group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: { partition: number; message: KafkaMessage }[] = [];
  await consumer.run({ eachMessage: async ({ partition, message }) => { seen.push({ partition, message }); } });
  await eventually(() => seen.length >= total, 20000, `${total} messages`);
  await consumer.disconnect();

  assert.equal(seen.length, total);
  const values = new Set(seen.map((s) => s.message.value!.toString()));
  assert.ok(values.has('hello fjord'));
  for (let i = 0; i < 100; i++) assert.ok(values.has(`batch-${i}`));
  for (let i = 0; i < 50; i++) assert.ok(values.has(`inflight-${i}`));
  // The same key always lands in the same partition.
  const partitionOfKey = new Map<string, number>();
  for (const s of seen) {
    const key = s.message.key?.toString();
    if (!key) continue;
    if (partitionOfKey.has(key)) assert.equal(partitionOfKey.get(key), s.partition, `key ${key} moved partitions`);
    partitionOfKey.set(key, s.partition);
  }
  assert.equal(partitionOfKey.size, 3);
  // Offsets within a partition are strictly increasing as delivered.
  const lastOffset = new Map<number, bigint>();
  for (const s of seen) {
    const o = BigInt(s.message.offset);
    if (lastOffset.has(s.partition)) assert.ok(o > lastOffset.get(s.partition)!);
    lastOffset.set(s.partition, o);
  }
  await producer.disconnect();
  await admin.disconnect();
});

test('idempotent producer with acks -1 writes each record once', async () => {
  const kafka = kafkaFor(broker);
  const topic = uniqueTopic('idem');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < 20; i++) {
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: `v${i}` }, { key: 'k', value: `w${i}` }] });
  }
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 40);
  await admin.disconnect();
});

test('eachBatch consumer and headers/timestamps round trip', async () => {
  const kafka = kafkaFor(broker);
  const topic = uniqueTopic('batches');
  const producer = kafka.producer();
  await producer.connect();
  const ts = Date.now() - 60000;
  await producer.send({
    topic,
    messages: Array.from({ length: 25 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { trace: `t${i}` }, timestamp: String(ts + i) })),
  });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueTopic('g') });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const got: KafkaMessage[] = [];
  await consumer.run({
    eachBatch: async ({ batch, resolveOffset, heartbeat }: EachBatchPayload) => {
      for (const m of batch.messages) {
        got.push(m);
        resolveOffset(m.offset);
      }
      await heartbeat();
    },
  });
  await eventually(() => got.length >= 25, 20000, '25 messages');
  await consumer.disconnect();
  assert.equal(new Set(got.map((m) => m.value!.toString())).size, 25);
  for (const m of got) {
    const i = Number(m.value!.toString().slice(1));
    assert.equal(m.key!.toString(), `k${i}`);
    assert.equal(m.headers!.trace!.toString(), `t${i}`);
    assert.equal(m.timestamp, String(ts + i));
  }
});

test('manual commits (offset+1 and plain offset styles) and resuming a group from committed offsets', async () => {
  const kafka = kafkaFor(broker);
  const topic = uniqueTopic('resume');
  const groupId = uniqueTopic('resume-group');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });

  // First run: read 5 messages, commit offset+1 of the 5th by hand, with autoCommit off.
  const c1 = kafka.consumer({ groupId });
  await c1.connect();
  await c1.subscribe({ topic, fromBeginning: true });
  const first: string[] = [];
  await c1.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      if (first.length >= 5) return;
      first.push(message.value!.toString());
      if (first.length === 5) await c1.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  await eventually(() => first.length === 5, 20000, 'first five');
  await c1.disconnect();
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.equal(committed[0].partitions[0].offset, '5');

  // Second run resumes at 5.
  const c2 = kafka.consumer({ groupId });
  await c2.connect();
  await c2.subscribe({ topic, fromBeginning: true });
  const second: string[] = [];
  await c2.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      second.push(message.value!.toString());
      // The "plain offset" style some programs use: commit the offset just processed.
      await c2.commitOffsets([{ topic, partition, offset: message.offset }]);
    },
  });
  await eventually(() => second.length === 5, 20000, 'remaining five');
  await c2.disconnect();
  assert.deepEqual(second, ['m5', 'm6', 'm7', 'm8', 'm9']);
  const after2 = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.equal(after2[0].partitions[0].offset, '9');

  const groups = await admin.describeGroups([groupId]);
  assert.equal(groups.groups[0].groupId, groupId);
  assert.equal(groups.groups[0].state, 'Empty');
  await producer.disconnect();
  await admin.disconnect();
});
