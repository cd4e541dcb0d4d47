// Seed-style kafkajs programs, with only the import switched to Fjord's client, against a real
// Fjord broker over TCP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EachBatchPayload, KafkaMessage } from '../../src/client/index.js';
import { CompressionTypes } from '../../src/client/index.js';
import { withBroker, uniqueTopic, eventually } from '../helpers.js';
import { fjordFor } from './client-helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => {
  broker = await withBroker({ defaultPartitions: 3 });
});
after(async () => {
  await broker.stop();
});

test('one message, keyed messages, a batch of 100 and 50 sends in flight, all consumed by a group', async () => {
  const kafka = fjordFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('orders');
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  const producer = kafka.producer();
  await producer.connect();

  const [one] = await producer.send({ topic, messages: [{ value: 'hello fjord' }] });
  assert.equal(one.errorCode, 0);
  assert.equal(one.topicName, topic);
  assert.equal(one.baseOffset, '0');

  const keyed = await producer.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ key: `user-${i % 3}`, value: `event-${i}` })) });
  assert.ok(keyed.length >= 1);
  for (const r of keyed) assert.deepEqual(Object.keys(r).sort(), ['baseOffset', 'errorCode', 'logAppendTime', 'logStartOffset', 'partition', 'topicName']);

  await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ key: null, value: `batch-${i}` })) });
  const inflight = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic, messages: [{ value: `inflight-${i}` }] })));
  // Concurrent sends are batched together, yet each learns its own offset.
  const seenOffsets = new Set(inflight.map(([r]) => `${r.partition}:${r.baseOffset}`));
  assert.equal(seenOffsets.size, 50);

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
  const partitionOfKey = new Map<string, number>();
  for (const s of seen) {
    const key = s.message.key?.toString();
    if (!key) continue;
    if (partitionOfKey.has(key)) assert.equal(partitionOfKey.get(key), s.partition, `key ${key} moved partitions`);
    partitionOfKey.set(key, s.partition);
  }
  assert.equal(partitionOfKey.size, 3);
  const lastOffset = new Map<number, number>();
  for (const s of seen) {
    const o = Number(s.message.offset);
    if (lastOffset.has(s.partition)) assert.ok(o > lastOffset.get(s.partition)!);
    lastOffset.set(s.partition, o);
  }
  await producer.disconnect();
  await admin.disconnect();
});

test('idempotent producer with acks -1 writes each record once', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('idem');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  assert.equal(producer.isIdempotent(), true);
  for (let i = 0; i < 20; i++) {
    await producer.send({ topic, acks: -1, messages: [{ key: 'k', value: `v${i}` }, { key: 'k', value: `w${i}` }] });
  }
  // And concurrently: sequences stay in order per partition.
  await Promise.all(Array.from({ length: 40 }, (_, i) => producer.send({ topic, acks: -1, messages: [{ key: `c${i % 4}`, value: `x${i}` }] })));
  await assert.rejects(producer.send({ topic, acks: 1, messages: [{ value: 'nope' }] }), /acks -1/);
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 80);
  await admin.disconnect();
});

test('eachBatch consumer and headers/timestamps round trip', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('batches');
  const producer = kafka.producer();
  await producer.connect();
  const ts = Date.now() - 60000;
  await producer.send({
    topic,
    messages: Array.from({ length: 25 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, headers: { trace: `t${i}`, multi: ['a', 'b'] }, timestamp: String(ts + i) })),
  });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueTopic('g') });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const got: KafkaMessage[] = [];
  await consumer.run({
    eachBatch: async ({ batch, resolveOffset, heartbeat }: EachBatchPayload) => {
      assert.equal(batch.topic, topic);
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
    assert.equal(m.headers.trace!.toString(), `t${i}`);
    assert.deepEqual((m.headers.multi as Buffer[]).map(String), ['a', 'b']);
    assert.equal(m.timestamp, String(ts + i));
  }
});

test('manual commits (offset+1 and plain offset styles) and resuming a group from committed offsets', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('resume');
  const groupId = uniqueTopic('resume-group');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });

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

  const c2 = kafka.consumer({ groupId });
  await c2.connect();
  await c2.subscribe({ topic, fromBeginning: true });
  const second: string[] = [];
  await c2.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      second.push(message.value!.toString());
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

test('auto-commit on disconnect: a second consumer of the group starts after what the first processed', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('autocommit');
  const groupId = uniqueTopic('ac-group');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ value: `a${i}` })) });
  const c1 = kafka.consumer({ groupId });
  await c1.connect();
  await c1.subscribe({ topic, fromBeginning: true });
  let n1 = 0;
  await c1.run({ autoCommitInterval: 60000, eachMessage: async () => { n1++; } });
  await eventually(() => n1 === 20, 20000, 'twenty');
  await c1.disconnect();
  await producer.send({ topic, messages: [{ value: 'late' }] });
  const c2 = kafka.consumer({ groupId });
  await c2.connect();
  await c2.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  await c2.run({ eachMessage: async ({ message }) => { got.push(message.value!.toString()); } });
  await eventually(() => got.length >= 1, 20000, 'the late message');
  await new Promise((r) => setTimeout(r, 200));
  await c2.disconnect();
  assert.deepEqual(got, ['late']);
  await producer.disconnect();
});

test('every compression codec round-trips, and sendBatch spans topics', async () => {
  const kafka = fjordFor(broker);
  const topics = [uniqueTopic('codec-a'), uniqueTopic('codec-b')];
  const producer = kafka.producer();
  await producer.connect();
  const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD];
  for (const compression of codecs) {
    const result = await producer.sendBatch({
      compression,
      topicMessages: topics.map((topic) => ({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 5}`, value: `codec${compression}-${i}-${'x'.repeat(100)}` })) })),
    });
    assert.ok(result.some((r) => r.topicName === topics[0]) && result.some((r) => r.topicName === topics[1]));
  }
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueTopic('codecs') });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const values: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value!.toString()); } });
  await eventually(() => values.length >= 500, 20000, '500 messages');
  await consumer.disconnect();
  for (const c of codecs) assert.equal(values.filter((v) => v.startsWith(`codec${c}-`)).length, 100, `codec ${c}`);
});

test('async iterator: for await over messages(), leaving the loop stops and commits', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('iter');
  const groupId = uniqueTopic('iter-group');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 30 }, (_, i) => ({ value: `i${i}` })) });
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  for await (const { message } of consumer.messages()) {
    got.push(message.value!.toString());
    if (got.length === 10) break;
  }
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `i${i}`));
  await consumer.disconnect();
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  // Leaving the loop counts the message in hand as processed; the next one was never handed out.
  assert.equal(committed.partitions[0].offset, '10');
  await admin.disconnect();
  await producer.disconnect();
});

test('seek, pause and resume', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('seek');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `s${i}` })) });
  const consumer = kafka.consumer({ groupId: uniqueTopic('seek-group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  let sought = false;
  await consumer.run({
    eachMessage: async ({ message }) => {
      got.push(message.value!.toString());
      if (message.offset === '4' && !sought) {
        sought = true;
        consumer.seek({ topic, partition: 0, offset: '8' });
      }
    },
  });
  await eventually(() => got.includes('s9'), 20000, 's9');
  assert.deepEqual(got, ['s0', 's1', 's2', 's3', 's4', 's8', 's9']);
  consumer.pause([{ topic }]);
  assert.deepEqual(consumer.paused(), [{ topic, partitions: [0] }]);
  await producer.send({ topic, messages: [{ value: 'while-paused' }] });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!got.includes('while-paused'));
  consumer.resume([{ topic }]);
  await eventually(() => got.includes('while-paused'), 20000, 'message after resume');
  await consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
});

test('a failing eachMessage is retried from the same message', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('retry');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `r${i}` })) });
  const consumer = kafka.consumer({ groupId: uniqueTopic('retry-group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  let failedOnce = false;
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.offset === '2' && !failedOnce) {
        failedOnce = true;
        throw new Error('transient failure');
      }
      got.push(message.value!.toString());
    },
  });
  await eventually(() => got.length >= 5, 20000, 'all five');
  await consumer.disconnect();
  assert.deepEqual(got, ['r0', 'r1', 'r2', 'r3', 'r4']);
  await producer.disconnect();
});

test('instrumentation events: connect, group join, commit, disconnect', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('events');
  const producer = kafka.producer();
  const producerEvents: string[] = [];
  producer.on(producer.events.CONNECT, (e) => producerEvents.push(e.type));
  producer.on(producer.events.DISCONNECT, (e) => producerEvents.push(e.type));
  const requests: string[] = [];
  const remove = producer.on(producer.events.REQUEST, (e) => requests.push(e.payload.apiName));
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'e' }] });
  remove();
  await producer.disconnect();
  assert.deepEqual(producerEvents, ['producer.connect', 'producer.disconnect']);
  assert.ok(requests.includes('Produce'), requests.join(','));
  assert.throws(() => producer.on('producer.nope', () => undefined), /Event name/);

  const consumer = kafka.consumer({ groupId: uniqueTopic('ev-group') });
  const seen: { type: string; payload: any }[] = [];
  for (const name of [consumer.events.CONNECT, consumer.events.GROUP_JOIN, consumer.events.COMMIT_OFFSETS, consumer.events.FETCH, consumer.events.START_BATCH_PROCESS, consumer.events.STOP, consumer.events.DISCONNECT]) {
    consumer.on(name, (e) => seen.push(e));
  }
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  await consumer.run({ eachMessage: async () => { n++; } });
  await eventually(() => n === 1 && seen.some((e) => e.type === 'consumer.commit_offsets'), 20000, 'a commit');
  await consumer.disconnect();
  const types = new Set(seen.map((e) => e.type));
  for (const t of ['consumer.connect', 'consumer.group_join', 'consumer.commit_offsets', 'consumer.fetch', 'consumer.start_batch_process', 'consumer.stop', 'consumer.disconnect']) assert.ok(types.has(t), t);
  const join = seen.find((e) => e.type === 'consumer.group_join')!;
  assert.equal(join.payload.isLeader, true);
  assert.deepEqual(join.payload.memberAssignment, { [topic]: [0, 1, 2] });
});

test('concurrent compressed sends to one partition keep their order', async () => {
  const kafka = fjordFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('order');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  // Sends of different sizes, so their compression finishes out of order.
  await Promise.all(Array.from({ length: 40 }, (_, i) => producer.send({
    topic, compression: CompressionTypes.GZIP,
    messages: Array.from({ length: i % 2 ? 2000 : 5 }, (_, j) => ({ value: `${i}:${j}` })),
  })));
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: uniqueTopic('order-group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => { got.push(message.value!.toString()); } });
  await eventually(() => got.length >= 20 * 2000 + 20 * 5, 30000, 'all messages');
  await consumer.disconnect();
  await admin.disconnect();
  const sendOrder = got.map((v) => Number(v.split(':')[0]));
  for (let i = 1; i < sendOrder.length; i++) assert.ok(sendOrder[i] >= sendOrder[i - 1], `send ${sendOrder[i]} after ${sendOrder[i - 1]}`);
});

test('acks 0 and acks 1: fire-and-forget sends arrive; leader-only acks report offsets', async () => {
  const kafka = fjordFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('acks');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  const [zero] = await producer.send({ topic, acks: 0, messages: Array.from({ length: 10 }, (_, i) => ({ value: `z${i}` })) });
  assert.equal(zero.errorCode, 0);
  assert.equal(zero.baseOffset, '-1');
  await eventually(async () => Number((await admin.fetchTopicOffsets(topic))[0].high) === 10, 10000, 'acks 0 messages');
  const [one] = await producer.send({ topic, acks: 1, messages: [{ value: 'o' }] });
  assert.equal(one.baseOffset, '10');
  await producer.disconnect();
  await admin.disconnect();
});

test('producer backpressure: unawaited sends beyond maxQueuedBytes wait for acknowledgements', async () => {
  const kafka = fjordFor(broker);
  const topic = uniqueTopic('bp');
  const producer = kafka.producer({ maxQueuedBytes: 200_000, maxInFlightRequests: 1 });
  let produceRequests = 0;
  producer.on(producer.events.REQUEST, (e) => { if (e.payload.apiName === 'Produce') produceRequests++; });
  await producer.connect();
  const value = 'x'.repeat(10_000);
  let settled = 0;
  const sends = Array.from({ length: 200 }, () => producer.send({ topic, messages: [{ value }] }).then(() => { settled++; }));
  await Promise.all(sends);
  assert.equal(settled, 200);
  // At most ~20 messages of 10 kB were queued at a time, so they left in many requests.
  assert.ok(produceRequests >= 10, `${produceRequests} produce requests`);
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), 200);
  await admin.disconnect();
});
