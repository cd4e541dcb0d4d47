// Fjord's share consumer (src/client/share-consumer.ts) against a real broker: two consumers in one
// share group split a topic's records with every record accepted once; a handler that throws gets
// its message again (delivery 2); an explicit REJECT is never delivered again; disconnect leaves
// the group and closes the sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from '../../src/index.js';
import { uniqueTopic, withBroker } from '../helpers.js';

test('share consumer: two members, each record once; a throw releases, REJECT archives', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-client');
  await broker.broker.createTopic(topic, 2);
  const kafka = new Kafka({ clientId: 'share-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
  const a = kafka.shareConsumer({ groupId: 'jobs', maxWaitTimeInMs: 100 });
  const b = kafka.shareConsumer({ groupId: 'jobs', maxWaitTimeInMs: 100 });
  const producer = kafka.producer();
  try {
    await a.connect();
    await b.connect();
    await a.subscribe({ topics: [topic] });
    await b.subscribe({ topics: [topic] });
    // Open the sessions (the share-partitions start at the log end), then produce.
    assert.deepEqual(await a.poll(), []);
    assert.deepEqual(await b.poll(), []);
    await producer.connect();
    for (let i = 0; i < 40; i++) await producer.send({ topic, messages: [{ partition: i % 2, value: `job-${i}` }] });

    const accepted = new Map<string, number>();
    const deliveries: Record<string, number[]> = {};
    let threw = false;
    const handler = (who: string) => async ({ message, deliveryCount, acknowledge }: { message: { value: Buffer | null }; deliveryCount: number; acknowledge(t: 'ACCEPT' | 'RELEASE' | 'REJECT'): void }) => {
      const v = message.value!.toString();
      (deliveries[v] ??= []).push(deliveryCount);
      if (v === 'job-5' && !threw) {
        threw = true;
        throw new Error(`${who} fails once`);
      }
      if (v === 'job-9') {
        acknowledge('REJECT');
        return;
      }
      accepted.set(v, (accepted.get(v) ?? 0) + 1);
    };
    const runs = [a.run({ eachMessage: handler('a') }), b.run({ eachMessage: handler('b') })];
    const deadline = Date.now() + 20000;
    while (accepted.size < 39 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    a.stop();
    b.stop();
    await Promise.all(runs);
    assert.equal(accepted.size, 39);
    assert.ok([...accepted.values()].every((n) => n === 1), 'no record accepted twice');
    assert.deepEqual(deliveries['job-5'], [1, 2], 'the message whose handler threw came again');
    assert.deepEqual(deliveries['job-9'], [1], 'a rejected message is not delivered again');
    assert.ok(!accepted.has('job-9'));
  } finally {
    await producer.disconnect();
    await a.disconnect();
    await b.disconnect();
  }
  // Both left: the group is Empty, and what they accepted is done.
  const [g] = broker.broker.shares.describe(['jobs']);
  assert.deepEqual([g.groupState, g.members.length], ['Empty', 0]);
  const id = broker.broker.storage.topic(topic)!.topicId;
  assert.deepEqual([0, 1].map((p) => broker.broker.shares.partitionState('jobs', id, p)!.spso), [20, 20]);
  await broker.stop();
});

test('share consumer speaks v1: a poll acquires at most 500 records (MaxRecords), the rest comes next', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-client-max');
  await broker.broker.createTopic(topic, 1);
  const kafka = new Kafka({ clientId: 'share-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
  const share = kafka.shareConsumer({ groupId: 'bulk', maxWaitTimeInMs: 100 });
  const producer = kafka.producer();
  try {
    await share.connect();
    await share.subscribe({ topics: [topic] });
    assert.deepEqual(await share.poll(), []);
    await producer.connect();
    // One stored batch of 600 records: v0 (no MaxRecords) would hand all of it out at once.
    await producer.send({ topic, messages: Array.from({ length: 600 }, (_, i) => ({ value: `r${i}` })) });
    const first = await share.poll();
    assert.equal(first.length, 500);
    for (const m of first) share.acknowledge(m);
    const second = await share.poll();
    assert.deepEqual(second.map((m) => Number(m.message.offset)), Array.from({ length: 100 }, (_, i) => 500 + i));
    for (const m of second) share.acknowledge(m);
    await share.commit();
    const id = broker.broker.storage.topic(topic)!.topicId;
    assert.equal(broker.broker.shares.partitionState('bulk', id, 0)!.spso, 600);
  } finally {
    await producer.disconnect();
    await share.disconnect();
    await broker.stop();
  }
});
