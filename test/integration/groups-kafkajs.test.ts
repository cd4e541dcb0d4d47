// kafkajs consumer groups against a real Fjord broker: partitions shared out and re-shared as
// members come and go, committed offsets, and the admin group APIs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AssignerProtocol, type Consumer } from 'kafkajs';
import { kafkaFor, withBroker, uniqueTopic, eventually } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => {
  broker = await withBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 1000 });
});
after(async () => {
  await broker.stop();
});

test('3 consumers share 6 partitions 2/2/2, a 4th joins, one leaves; offsets are committed', async () => {
  const kafka = kafkaFor(broker, 'groups-test');
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('shared');
  const groupId = uniqueTopic('group');
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: 60 }, (_, i) => ({ partition: i % 6, value: `m-${i}` })),
  });

  const assignments = new Map<Consumer, number[]>();
  const seen = new Set<string>();
  const start = async (): Promise<Consumer> => {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 100, rebalanceTimeout: 10000 });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      assignments.set(consumer, [...(e.payload.memberAssignment[topic] ?? [])].sort());
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { seen.add(message.value!.toString()); } });
    return consumer;
  };
  const shares = (members: Consumer[]) => members.map((c) => assignments.get(c)?.length ?? 0).sort();
  const covered = (members: Consumer[]) => new Set(members.flatMap((c) => assignments.get(c) ?? [])).size;

  const consumers = [await start(), await start(), await start()];
  await eventually(() => shares(consumers).join() === '2,2,2' && covered(consumers) === 6, 20000, '2/2/2 assignment');
  await eventually(() => seen.size === 60, 20000, 'all 60 messages');

  const fourth = await start();
  const four = [...consumers, fourth];
  await eventually(() => shares(four).join() === '1,1,2,2' && covered(four) === 6, 20000, '2/2/1/1 assignment');

  const described = await admin.describeGroups([groupId]);
  const group = described.groups[0];
  assert.equal(group.state, 'Stable');
  assert.equal(group.protocolType, 'consumer');
  assert.equal(group.members.length, 4);
  const decoded = group.members.map((m) => AssignerProtocol.MemberAssignment.decode(m.memberAssignment)!.assignment[topic] ?? []);
  assert.equal(new Set(decoded.flat()).size, 6);
  assert.ok(group.members.every((m) => m.clientId === 'groups-test' && m.clientHost.length > 0));

  await consumers[0].disconnect();
  const rest = [consumers[1], consumers[2], fourth];
  await eventually(() => shares(rest).join() === '2,2,2' && covered(rest) === 6, 20000, '2/2/2 after one left');

  // Everything consumed has been committed: the committed offsets reach the end of every partition.
  await eventually(async () => {
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets[0].partitions.every((p) => p.offset === '10');
  }, 20000, 'committed offsets at 10');

  const listed = await admin.listGroups();
  assert.ok(listed.groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'));
  await assert.rejects(admin.deleteGroups([groupId]), 'a live group cannot be deleted');

  await Promise.all(rest.map((c) => c.disconnect()));
  await eventually(async () => (await admin.describeGroups([groupId])).groups[0].state === 'Empty', 10000, 'empty group');
  await admin.deleteGroups([groupId]);
  assert.equal((await admin.describeGroups([groupId])).groups[0].state, 'Dead');
  const after = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.ok(after[0].partitions.every((p) => p.offset === '-1'));

  await producer.disconnect();
  await admin.disconnect();
});

test('admin offset management on a group without members (simple commits)', async () => {
  const kafka = kafkaFor(broker, 'groups-admin');
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('admin-offsets');
  const groupId = uniqueTopic('admin-group');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '7' }] });
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(offsets[0].partitions.map((p) => [p.partition, p.offset]).sort(), [[0, '5'], [1, '7']]);
  await admin.resetOffsets({ groupId, topic, earliest: true });
  const reset = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.deepEqual(reset[0].partitions.map((p) => p.offset), ['0', '0']);
  await admin.deleteGroups([groupId]);
  await admin.disconnect();
});
