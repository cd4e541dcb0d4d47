// Group behaviour of Fjord's consumer on a real Fjord broker: sharing and hand-over between
// members, a mixed group with kafkajs, concurrent partitions, static membership, the range assigner.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PartitionAssigners, type Consumer } from '../../src/client/index.js';
import { withBroker, uniqueTopic, eventually, kafkaFor } from '../helpers.js';
import { fjordFor } from './client-helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker(); });
after(async () => { await broker.stop(); });

async function topicWith(partitions: number, messages: number): Promise<string> {
  const kafka = fjordFor(broker);
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('grp');
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  await admin.disconnect();
  if (messages) {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: messages }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
  }
  return topic;
}

test('two Fjord members and a kafkajs member share a topic; the rest take over when one leaves', async () => {
  const topic = await topicWith(6, 0);
  const groupId = uniqueTopic('mixed');
  const counts = new Map<string, number>();
  const count = (v: string) => counts.set(v, (counts.get(v) ?? 0) + 1);
  const fjord = fjordFor(broker);
  const members: Consumer[] = [];
  for (let i = 0; i < 2; i++) {
    const c = fjord.consumer({ groupId, heartbeatInterval: 300 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => { count(message.value!.toString()); } });
    members.push(c);
  }
  const kjs = kafkaFor(broker).consumer({ groupId, heartbeatInterval: 300 });
  let kjsAssigned: number[] = [];
  kjs.on(kjs.events.GROUP_JOIN, (e) => { kjsAssigned = e.payload.memberAssignment[topic] ?? []; });
  await kjs.connect();
  await kjs.subscribe({ topic, fromBeginning: true });
  await kjs.run({ eachMessage: async ({ message }) => { count(message.value!.toString()); } });
  await eventually(() => members.every((m) => m.assignment().length === 2) && kjsAssigned.length === 2, 30000, '2/2/2');

  const producer = fjord.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 60 }, (_, i) => ({ key: `a${i}`, value: `a${i}` })) });
  await eventually(() => counts.size === 60, 30000, '60 messages');

  await members[1].disconnect();
  await eventually(() => members[0].assignment().length === 3 && kjsAssigned.length === 3, 30000, '3/3 after a leave');
  await producer.send({ topic, messages: Array.from({ length: 60 }, (_, i) => ({ key: `b${i}`, value: `b${i}` })) });
  await eventually(() => counts.size === 120, 30000, '120 messages');
  await members[0].disconnect();
  await kjs.disconnect();
  await producer.disconnect();
  // Every message was processed, none twice (commits happened before each hand-over).
  assert.deepEqual([...counts.values()].filter((n) => n !== 1), []);
});

test('partitionsConsumedConcurrently runs partitions in parallel, each in order', async () => {
  const topic = await topicWith(4, 400);
  const consumer = fjordFor(broker).consumer({ groupId: uniqueTopic('conc') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let active = 0;
  let maxActive = 0;
  const last = new Map<number, number>();
  let n = 0;
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachMessage: async ({ partition, message }) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const o = Number(message.offset);
      assert.ok(o > (last.get(partition) ?? -1), 'in order within a partition');
      last.set(partition, o);
      await new Promise((r) => setTimeout(r, 1));
      active--;
      n++;
    },
  });
  await eventually(() => n === 400, 30000, '400 messages');
  await consumer.disconnect();
  assert.ok(maxActive > 1, `max ${maxActive} partitions at once`);
  assert.ok(maxActive <= 4);
});

test('static membership: a member that returns with its instance id gets its partitions back without a rebalance', async () => {
  const topic = await topicWith(4, 0);
  const groupId = uniqueTopic('static');
  const kafka = fjordFor(broker);
  const make = async (instance: string) => {
    const c = kafka.consumer({ groupId, groupInstanceId: instance, heartbeatInterval: 300, sessionTimeout: 10000 });
    await c.connect();
    await c.subscribe({ topic });
    await c.run({ eachMessage: async () => undefined });
    return c;
  };
  const a = await make('instance-a');
  const b = await make('instance-b');
  await eventually(() => a.assignment().length === 2 && b.assignment().length === 2, 30000, '2/2');
  const before = b.assignment();
  let aJoins = 0;
  a.on(a.events.GROUP_JOIN, () => { aJoins++; });
  // A static member does not send LeaveGroup on disconnect: its partitions wait for it.
  await b.disconnect();
  const b2 = await make('instance-b');
  await eventually(() => b2.assignment().length === 2, 30000, 'b back');
  assert.deepEqual(b2.assignment(), before);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(aJoins, 0, 'the other member did not rebalance');
  await a.disconnect();
  await b2.disconnect();
});

test('the range assigner gives contiguous ranges', async () => {
  const topic = await topicWith(5, 0);
  const groupId = uniqueTopic('range');
  const kafka = fjordFor(broker);
  const members: Consumer[] = [];
  for (let i = 0; i < 2; i++) {
    const c = kafka.consumer({ groupId, partitionAssigners: [PartitionAssigners.range], heartbeatInterval: 300 });
    await c.connect();
    await c.subscribe({ topic });
    await c.run({ eachMessage: async () => undefined });
    members.push(c);
  }
  await eventually(() => members[0].assignment().length + members[1].assignment().length === 5 && members.every((m) => m.assignment().length > 0), 30000, 'assigned');
  // The member first by id gets 0-2, the other 3-4.
  const sets = members.map((m) => m.assignment().map((a) => a.partition).sort()).sort((x, y) => y.length - x.length);
  assert.deepEqual(sets, [[0, 1, 2], [3, 4]]);
  const admin = kafka.admin();
  await admin.connect();
  const { groups } = await admin.describeGroups([groupId]);
  await admin.disconnect();
  assert.equal(groups[0].protocol, 'range');
  for (const m of members) await m.disconnect();
});

test('cooperative-sticky: members keep their partitions when another joins, and none is owned twice', async () => {
  const topic = await topicWith(6, 0);
  const groupId = uniqueTopic('coop');
  const kafka = fjordFor(broker);
  const members: Consumer[] = [];
  const make = async () => {
    const c = kafka.consumer({ groupId, partitionAssigners: [PartitionAssigners.cooperativeSticky], heartbeatInterval: 300 });
    await c.connect();
    await c.subscribe({ topic });
    await c.run({ eachMessage: async () => undefined });
    members.push(c);
    return c;
  };
  const parts = (c: Consumer) => c.assignment().map((a) => a.partition).sort();
  const a = await make();
  const b = await make();
  await eventually(() => parts(a).length === 3 && parts(b).length === 3, 30000, '3/3');
  const aBefore = parts(a);
  const bBefore = parts(b);
  const c = await make();
  await eventually(() => members.every((m) => parts(m).length === 2), 30000, '2/2/2');
  // Sticky: each old member kept two of its three partitions.
  assert.equal(parts(a).filter((p) => aBefore.includes(p)).length, 2);
  assert.equal(parts(b).filter((p) => bBefore.includes(p)).length, 2);
  assert.equal(new Set([...parts(a), ...parts(b), ...parts(c)]).size, 6);
  for (const m of members) await m.disconnect();
});

test('cooperative-sticky assigner: a partition changing hands is withheld for one round', async () => {
  const { AssignerProtocol } = await import('../../src/client/index.js');
  const assigner = PartitionAssigners.cooperativeSticky({ cluster: { findTopicPartitionMetadata: () => [0, 1, 2, 3].map((partitionId) => ({ partitionId })) }, groupId: 'g' });
  const meta = (owned: number[]) => AssignerProtocol.MemberMetadata.encode({ version: 2, topics: ['t'], ownedPartitions: [{ topic: 't', partitions: owned }], generationId: 3 });
  // "a" owns everything; "b" is new. Two partitions must move to b, but not in this round.
  const plan = await assigner.assign({ members: [{ memberId: 'a', memberMetadata: meta([0, 1, 2, 3]) }, { memberId: 'b', memberMetadata: meta([]) }], topics: ['t'] });
  const got = Object.fromEntries(plan.map((p) => [p.memberId, AssignerProtocol.MemberAssignment.decode(p.memberAssignment)!.assignment.t ?? []]));
  assert.equal(got.a.length, 2);
  assert.deepEqual(got.b, []);
  // Next round: a no longer owns what it gave up; b gets it.
  const plan2 = await assigner.assign({ members: [{ memberId: 'a', memberMetadata: meta(got.a) }, { memberId: 'b', memberMetadata: meta([]) }], topics: ['t'] });
  const got2 = Object.fromEntries(plan2.map((p) => [p.memberId, AssignerProtocol.MemberAssignment.decode(p.memberAssignment)!.assignment.t ?? []]));
  assert.deepEqual(got2.a, got.a);
  assert.deepEqual([...got2.b].sort(), [0, 1, 2, 3].filter((p) => !got.a.includes(p)));
});

test('KIP-848 consumer protocol: members share and hand over without a group-wide stop; commits by member epoch', async () => {
  const topic = await topicWith(4, 40);
  const groupId = uniqueTopic('kip848');
  const kafka = fjordFor(broker);
  const counts = new Map<string, number>();
  const make = async () => {
    const c = kafka.consumer({ groupId, groupProtocol: 'consumer' });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => { counts.set(message.value!.toString(), (counts.get(message.value!.toString()) ?? 0) + 1); } });
    return c;
  };
  const a = await make();
  await eventually(() => counts.size === 40, 30000, 'first 40');
  const b = await make();
  await eventually(() => a.assignment().length === 2 && b.assignment().length === 2, 30000, '2/2');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ key: `n${i}`, value: `n${i}` })) });
  await eventually(() => counts.size === 80, 30000, '80');
  await b.disconnect();
  await eventually(() => a.assignment().length === 4, 30000, 'a takes over');
  await producer.send({ topic, messages: Array.from({ length: 40 }, (_, i) => ({ key: `m${i}`, value: `m${i}` })) });
  await eventually(() => counts.size === 120, 30000, '120');
  await a.disconnect();
  await producer.disconnect();
  assert.deepEqual([...counts.values()].filter((n) => n !== 1), []);
  const admin = kafka.admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.equal(committed.partitions.reduce((n, p) => n + Number(p.offset), 0), 120);
  await admin.disconnect();
});

test('disconnect while the member waits in JoinGroup returns at once', async () => {
  const topic = await topicWith(2, 0);
  const groupId = uniqueTopic('abort');
  const kafka = fjordFor(broker);
  let release!: () => void;
  const slow = new Promise<void>((r) => { release = r; });
  // b holds on to a message, so it cannot rejoin when c arrives: a waits in JoinGroup for it.
  const a = kafka.consumer({ groupId, heartbeatInterval: 200, rebalanceTimeout: 30000 });
  const b = kafka.consumer({ groupId, heartbeatInterval: 200, rebalanceTimeout: 30000 });
  for (const c of [a, b]) {
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
  }
  await a.run({ eachMessage: async () => undefined });
  let bBusy = false;
  await b.run({ eachMessage: async () => { bBusy = true; await slow; } });
  await eventually(() => a.assignment().length === 1 && b.assignment().length === 1, 30000, '1/1');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'p0', partition: 0 }, { value: 'p1', partition: 1 }] });
  await producer.disconnect();
  await eventually(() => bBusy, 30000, 'b busy');
  let aRebalancing = false;
  a.on(a.events.REBALANCING, () => { aRebalancing = true; });
  const c = kafka.consumer({ groupId, rebalanceTimeout: 30000 });
  await c.connect();
  await c.subscribe({ topic });
  const cRun = c.run({ eachMessage: async () => undefined });
  await eventually(() => aRebalancing, 30000, 'a rejoining');
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  await a.disconnect();
  assert.ok(Date.now() - started < 3000, `disconnect took ${Date.now() - started} ms`);
  release();
  await cRun;
  await b.disconnect();
  await c.disconnect();
});
