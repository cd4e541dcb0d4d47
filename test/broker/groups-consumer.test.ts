// Unit tests of KIP-848 consumer groups (ConsumerGroupHeartbeat / ConsumerGroupDescribe): member
// epochs, target assignment, revoke-before-assign reconciliation, leaving, static members, fencing,
// the uniform and range assignors, and how consumer groups meet classic groups and offsets.
import { strict as assert } from 'node:assert';
import { test as nodeTest } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/broker/logger.js';
import {
  GroupCoordinator,
  type ConsumerGroupHeartbeatParams,
  type ConsumerGroupHeartbeatResult,
  type GroupCoordinatorOptions,
} from '../../src/broker/groups/coordinator.js';
import { ConsumerMember, rangeAssign, uniformAssign, type TopicPartitions } from '../../src/broker/groups/consumer-group.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { apiSchema } from '../../src/protocol/apis.js';
import { compile } from '../../src/protocol/codec.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';

/** The coordinator's timers are unref'd; hold the process open while a test runs. */
function test(name: string, body: () => void | Promise<void>): void {
  nodeTest(name, async () => {
    const keepAlive = setInterval(() => undefined, 60000);
    try {
      await body();
    } finally {
      clearInterval(keepAlive);
    }
  });
}

async function setup(options: Partial<GroupCoordinatorOptions> = {}, topics: [string, number][] = [['t', 4]]) {
  const storage = new MemoryStorage();
  for (const [name, n] of topics) await storage.createTopic(name, n, {});
  const c = new GroupCoordinator({
    storage, logger: createLogger('silent'), initialRebalanceDelayMs: 0, minSessionTimeoutMs: 10, maxSessionTimeoutMs: 60000,
    consumerHeartbeatIntervalMs: 100, ...options,
  });
  await c.start();
  const id = (name: string) => storage.topic(name)!.topicId;
  return { c, storage, id };
}

type Hb = Partial<ConsumerGroupHeartbeatParams> & { memberId: string; memberEpoch: number };

function hb(c: GroupCoordinator, p: Hb): ConsumerGroupHeartbeatResult {
  return c.consumerGroupHeartbeat({
    groupId: 'g', instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null,
    subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, clientId: 'client', clientHost: '/127.0.0.1', ...p,
  });
}

function joinHb(c: GroupCoordinator, memberId: string, extra: Partial<ConsumerGroupHeartbeatParams> = {}) {
  return hb(c, { memberId, memberEpoch: 0, rebalanceTimeoutMs: 5000, subscribedTopicNames: ['t'], topicPartitions: [], ...extra });
}

const parts = (r: ConsumerGroupHeartbeatResult) => (r.assignment ?? []).flatMap((t) => t.partitions.map((p) => `${t.topicName}-${p}`)).sort();
const owned = (topicId: string, partitions: number[]) => [{ topicId, partitions }];

test('join, then a second member: partitions move only after the first one revoked them', async () => {
  const { c, id } = await setup();
  try {
    const a1 = joinHb(c, 'a');
    assert.equal(a1.errorCode, ErrorCode.NONE);
    assert.equal(a1.memberId, 'a');
    assert.equal(a1.memberEpoch, 1);
    assert.equal(a1.heartbeatIntervalMs, 100);
    assert.deepEqual(parts(a1), ['t-0', 't-1', 't-2', 't-3']);
    assert.equal(c.consumerGroupDescribe(['g'])[0].groupState, 'Stable');

    // b joins: epoch 2; its target partitions are still held by a, so it gets nothing yet.
    const b1 = joinHb(c, 'b');
    assert.equal(b1.memberEpoch, 2);
    assert.deepEqual(parts(b1), []);
    assert.equal(c.consumerGroupDescribe(['g'])[0].groupState, 'Reconciling');
    // a still owns all four: it is told to keep two (it stays at epoch 1 until it revoked).
    const a2 = hb(c, { memberId: 'a', memberEpoch: 1, topicPartitions: owned(id('t'), [0, 1, 2, 3]) });
    assert.equal(a2.memberEpoch, 1);
    const kept = parts(a2);
    assert.equal(kept.length, 2);
    // b asks again before a let go: still nothing.
    assert.deepEqual(parts(hb(c, { memberId: 'b', memberEpoch: 2, topicPartitions: [] })), []);
    // a acknowledges the revocation: it moves to epoch 2.
    const keptNums = kept.map((x) => Number(x.split('-')[1]));
    const a3 = hb(c, { memberId: 'a', memberEpoch: 1, topicPartitions: owned(id('t'), keptNums) });
    assert.equal(a3.memberEpoch, 2);
    // Now b gets the other two.
    const b2 = hb(c, { memberId: 'b', memberEpoch: 2, topicPartitions: [] });
    assert.equal(b2.memberEpoch, 2);
    assert.deepEqual([...parts(b2), ...kept].sort(), ['t-0', 't-1', 't-2', 't-3']);
    assert.equal(parts(b2).length, 2);
    const d = c.consumerGroupDescribe(['g'])[0];
    assert.equal(d.groupState, 'Stable');
    assert.equal(d.groupEpoch, 2);
    assert.equal(d.assignmentEpoch, 2);
    assert.equal(d.assignorName, 'uniform');
    assert.deepEqual(d.members.map((m) => m.memberEpoch), [2, 2]);
    // A heartbeat with nothing new gets no assignment (null = unchanged).
    assert.equal(hb(c, { memberId: 'b', memberEpoch: 2 }).assignment, null);
  } finally {
    await c.stop();
  }
});

test('leaving with epoch -1 frees the partitions for the others', async () => {
  const { c, id } = await setup();
  try {
    joinHb(c, 'a');
    joinHb(c, 'b');
    const a = hb(c, { memberId: 'a', memberEpoch: 1, topicPartitions: owned(id('t'), [0, 1, 2, 3]) });
    hb(c, { memberId: 'a', memberEpoch: 1, topicPartitions: owned(id('t'), a.assignment![0].partitions) });
    hb(c, { memberId: 'b', memberEpoch: 2, topicPartitions: [] });
    const left = hb(c, { memberId: 'a', memberEpoch: -1 });
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.equal(left.memberEpoch, -1);
    const b = hb(c, { memberId: 'b', memberEpoch: 2, topicPartitions: owned(id('t'), [2, 3]) });
    assert.equal(b.memberEpoch, 3);
    assert.equal(parts(b).length, 4);
    assert.equal(hb(c, { memberId: 'a', memberEpoch: 2 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    hb(c, { memberId: 'b', memberEpoch: -1 });
    assert.equal(c.consumerGroupDescribe(['g'])[0].groupState, 'Empty');
    assert.deepEqual(c.listGroups([], ['consumer']).groups, [{ groupId: 'g', protocolType: 'consumer', groupState: 'Empty', groupType: 'consumer' }]);
  } finally {
    await c.stop();
  }
});

test('request validation and epoch fencing', async () => {
  const { c, id } = await setup();
  try {
    assert.equal(hb(c, { memberId: 'a', memberEpoch: 0, rebalanceTimeoutMs: 5000, subscribedTopicNames: ['t'], topicPartitions: null }).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(hb(c, { memberId: 'a', memberEpoch: 0, subscribedTopicNames: ['t'], topicPartitions: [] }).errorCode, ErrorCode.INVALID_REQUEST, 'rebalance timeout required');
    assert.equal(hb(c, { memberId: 'a', memberEpoch: 0, rebalanceTimeoutMs: 5000, topicPartitions: [] }).errorCode, ErrorCode.INVALID_REQUEST, 'subscription required');
    assert.equal(hb(c, { memberId: '', memberEpoch: 3 }).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(hb(c, { memberId: 'a', memberEpoch: -3 }).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(hb(c, { memberId: 'a', memberEpoch: 0, groupId: '' }).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(joinHb(c, 'a', { serverAssignor: 'sticky' }).errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
    assert.equal(joinHb(c, 'a', { subscribedTopicNames: null, subscribedTopicRegex: '(' }).errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
    const gen = joinHb(c, '', {});
    assert.match(gen.memberId!, /^[0-9a-f-]{36}$/, 'the coordinator makes a member id when none is given');
    const a = joinHb(c, 'a');
    assert.equal(a.memberEpoch, 2);
    assert.equal(hb(c, { memberId: 'a', memberEpoch: 3 }).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal(hb(c, { memberId: 'nobody', memberEpoch: 1 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // The previous epoch is accepted when the owned partitions are a subset of the assignment (a lost response).
    const cur = hb(c, { memberId: 'a', memberEpoch: 2, topicPartitions: [] });
    assert.equal(cur.errorCode, ErrorCode.NONE);
    assert.equal(hb(c, { memberId: 'a', memberEpoch: 1, topicPartitions: owned(id('t'), [9]) }).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    // Unknown group for a heartbeat: the member must rejoin.
    assert.equal(hb(c, { groupId: 'other', memberId: 'a', memberEpoch: 4 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  } finally {
    await c.stop();
  }
});

test('a member whose session expires is removed; one that does not revoke in time is fenced', async () => {
  const { c, id } = await setup({ consumerSessionTimeoutMs: 200 });
  try {
    joinHb(c, 'a', { rebalanceTimeoutMs: 150 });
    joinHb(c, 'b', { rebalanceTimeoutMs: 150 });
    // a is asked to revoke but never acknowledges; b keeps heartbeating.
    hb(c, { memberId: 'a', memberEpoch: 1, topicPartitions: owned(id('t'), [0, 1, 2, 3]) });
    for (let i = 0; i < 6; i++) {
      await sleep(50);
      hb(c, { memberId: 'b', memberEpoch: 2, topicPartitions: [] });
    }
    const b = c.consumerGroupDescribe(['g'])[0].members;
    assert.deepEqual(b.map((m) => [m.memberId, m.assignment.topicPartitions[0]?.partitions.length]), [['b', 4]], 'b got everything after a was fenced');
    assert.equal(hb(c, { memberId: 'a', memberEpoch: 1 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // Now b goes silent: its session expires.
    await sleep(350);
    assert.equal(c.consumerGroupDescribe(['g'])[0].members.length, 0);
    assert.equal(c.consumerGroupDescribe(['g'])[0].groupState, 'Empty');
  } finally {
    await c.stop();
  }
});

test('static members: -2 keeps the partitions, a restarted instance takes them over, duplicates are refused', async () => {
  const { c, id } = await setup();
  try {
    const a = joinHb(c, 'a1', { instanceId: 'A' });
    joinHb(c, 'b', {});
    const a2 = hb(c, { memberId: 'a1', memberEpoch: 1, instanceId: 'A', topicPartitions: owned(id('t'), [0, 1, 2, 3]) });
    const keep = a2.assignment![0].partitions;
    const a3 = hb(c, { memberId: 'a1', memberEpoch: 1, topicPartitions: owned(id('t'), keep) });
    assert.equal(a3.memberEpoch, 2);
    assert.equal(a.memberEpoch, 1);
    assert.equal(joinHb(c, 'a-dup', { instanceId: 'A' }).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
    assert.equal(hb(c, { memberId: 'b', memberEpoch: 2, instanceId: 'A' }).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const left = hb(c, { memberId: 'a1', memberEpoch: -2, instanceId: 'A' });
    assert.equal(left.memberEpoch, -2);
    const groupEpoch = c.consumerGroupDescribe(['g'])[0].groupEpoch;
    // Back under a new member id: same partitions, same epoch, no new group epoch.
    const back = joinHb(c, 'a2', { instanceId: 'A' });
    assert.equal(back.errorCode, ErrorCode.NONE);
    assert.equal(back.memberId, 'a2');
    assert.equal(back.memberEpoch, 2);
    assert.deepEqual(back.assignment![0].partitions, keep);
    assert.equal(c.consumerGroupDescribe(['g'])[0].groupEpoch, groupEpoch);
    assert.equal(hb(c, { memberId: 'a1', memberEpoch: 2 }).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // A static member leaving for good (-1).
    assert.equal(hb(c, { memberId: 'a2', memberEpoch: -1, instanceId: 'A' }).errorCode, ErrorCode.NONE);
    assert.equal(c.consumerGroupDescribe(['g'])[0].members.length, 1);
  } finally {
    await c.stop();
  }
});

test('regex subscriptions follow topics as they are created', async () => {
  const { c, storage } = await setup({}, [['rx-a', 2], ['other', 2]]);
  try {
    const a = joinHb(c, 'a', { subscribedTopicNames: null, subscribedTopicRegex: 'rx-.*' });
    assert.deepEqual(parts(a), ['rx-a-0', 'rx-a-1']);
    await storage.createTopic('rx-b', 1, {});
    const a2 = hb(c, { memberId: 'a', memberEpoch: 1, topicPartitions: [] });
    assert.equal(a2.memberEpoch, 2, 'a new matching topic bumps the group epoch');
    assert.deepEqual(parts(a2), ['rx-a-0', 'rx-a-1', 'rx-b-0']);
    assert.equal(c.consumerGroupDescribe(['g'])[0].members[0].subscribedTopicRegex, 'rx-.*');
  } finally {
    await c.stop();
  }
});

test('assignors: uniform balances and sticks, range gives contiguous ranges', () => {
  const member = (id: string, topics: string[]) => Object.assign(new ConsumerMember(id), { subscribedTopicNames: topics });
  const topics = [{ name: 't', topicId: 'x', partitionCount: 6 }, { name: 'u', topicId: 'y', partitionCount: 3 }];
  const count = (m: Map<string, TopicPartitions>, id: string) => [...(m.get(id)?.values() ?? [])].reduce((n, s) => n + s.size, 0);
  const three = [member('a', ['t', 'u']), member('b', ['t', 'u']), member('c', ['t', 'u'])];
  const u1 = uniformAssign({ members: three, topics, current: new Map() });
  assert.deepEqual(['a', 'b', 'c'].map((id) => count(u1, id)), [3, 3, 3]);
  // A fourth member: the others keep what they can.
  const four = [...three, member('d', ['t', 'u'])];
  const u2 = uniformAssign({ members: four, topics, current: u1 });
  assert.deepEqual(['a', 'b', 'c', 'd'].map((id) => count(u2, id)).sort(), [2, 2, 2, 3]);
  let moved = 0;
  for (const id of ['a', 'b', 'c']) for (const [t, s] of u2.get(id)!) for (const p of s) if (!u1.get(id)!.get(t)?.has(p)) moved++;
  assert.equal(moved, 0, 'existing members only lose partitions');
  // Different subscriptions: only subscribers get a topic's partitions.
  const mixed = uniformAssign({ members: [member('a', ['t']), member('b', ['u'])], topics, current: new Map() });
  assert.deepEqual([...mixed.get('a')!.keys()], ['t']);
  assert.deepEqual([...mixed.get('b')!.keys()], ['u']);
  const r = rangeAssign({ members: [member('b', ['t']), member('a', ['t']), member('c', ['t'])], topics: [{ name: 't', topicId: 'x', partitionCount: 7 }], current: new Map() });
  assert.deepEqual([...r.get('a')!.get('t')!], [0, 1, 2]);
  assert.deepEqual([...r.get('b')!.get('t')!], [3, 4]);
  assert.deepEqual([...r.get('c')!.get('t')!], [5, 6]);
});

test('the group uses the assignor most members ask for', async () => {
  const { c } = await setup({}, [['t', 5]]);
  try {
    joinHb(c, 'a', { serverAssignor: 'range' });
    joinHb(c, 'b', { serverAssignor: 'range' });
    assert.equal(c.consumerGroupDescribe(['g'])[0].assignorName, 'range');
    const target = c.consumerGroupDescribe(['g'])[0].members.map((m) => m.targetAssignment.topicPartitions[0].partitions);
    assert.deepEqual(target.sort((x, y) => x[0] - y[0]), [[0, 1, 2], [3, 4]]);
  } finally {
    await c.stop();
  }
});

test('classic and consumer groups with one id do not mix; offsets carry over an empty group', async () => {
  const { c } = await setup();
  try {
    // A classic group with a member: ConsumerGroupHeartbeat is refused.
    const join = c.joinGroup({
      groupId: 'classic', memberId: '', groupInstanceId: null, clientId: 'x', clientHost: 'h', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 1000,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], requireKnownMemberId: false, supportSkippingAssignment: false,
    });
    const j = await join;
    assert.equal(hb(c, { groupId: 'classic', memberId: 'm', memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: ['t'], topicPartitions: [] }).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal(c.consumerGroupDescribe(['classic'])[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    c.leaveGroup('classic', [{ memberId: j.memberId, groupInstanceId: null }]);
    // A consumer group with members: JoinGroup is refused.
    joinHb(c, 'a');
    const refused = await c.joinGroup({
      groupId: 'g', memberId: '', groupInstanceId: null, clientId: 'x', clientHost: 'h', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 1000,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], requireKnownMemberId: true, supportSkippingAssignment: false,
    });
    assert.equal(refused.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // DescribeGroups answers for classic groups only; ListGroups tells the types apart.
    assert.deepEqual(c.describeGroups(['g']).map((d) => [d.errorCode, d.groupState, d.members.length]), [[ErrorCode.NONE, 'Dead', 0]]);
    assert.deepEqual(c.listGroups([], ['classic']).groups.map((g) => g.groupId), ['classic']);
    assert.deepEqual(c.listGroups([], ['Consumer']).groups.map((g) => [g.groupId, g.groupState]), [['g', 'Stable']]);
    assert.deepEqual(c.listGroups(['stable']).groups.map((g) => g.groupId), ['g']);
    assert.equal((await c.deleteGroups(['g']))[0].errorCode, ErrorCode.NON_EMPTY_GROUP);

    // Offsets committed with the member epoch (OffsetCommit v9).
    const commit = (memberId: string, generationId: number, apiVersion = 9) => c.commitOffsets({
      groupId: 'g', apiVersion, generationId, memberId, groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: 'meta' }] }],
    }).then((r) => r[0].partitions[0].errorCode);
    assert.equal(await commit('a', 1), ErrorCode.NONE);
    assert.equal(await commit('a', 0), ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal(await commit('a', 5), ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal(await commit('zz', 1), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(await commit('a', 1, 8), ErrorCode.UNSUPPORTED_VERSION);
    assert.equal(await commit('', -1), ErrorCode.UNKNOWN_MEMBER_ID, 'no simple commits while it has members');
    assert.equal(c.fetchOffsets('g', null, false, { memberId: 'a', memberEpoch: 0 }).errorCode, ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal(c.fetchOffsets('g', null, false, { memberId: 'a', memberEpoch: 1 }).topics[0].partitions[0].metadata, 'meta');
    // Empty: it becomes a classic group for a classic member, keeping its offsets.
    hb(c, { memberId: 'a', memberEpoch: -1 });
    const classic = await c.joinGroup({
      groupId: 'g', memberId: '', groupInstanceId: null, clientId: 'x', clientHost: 'h', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 1000,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], requireKnownMemberId: false, supportSkippingAssignment: false,
    });
    assert.equal(classic.errorCode, ErrorCode.NONE);
    assert.equal(c.listGroups().groups.find((g) => g.groupId === 'g')!.groupType, 'classic');
    assert.equal(c.fetchOffsets('g', null).topics[0].partitions[0].committedOffset, 42);
    // A commit with a generation to a group that does not exist: v9 says GROUP_ID_NOT_FOUND.
    const gone = await c.commitOffsets({ groupId: 'nope', apiVersion: 9, generationId: 3, memberId: 'm', groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] });
    assert.equal(gone[0].partitions[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  } finally {
    await c.stop();
  }
});

test('codec: the nullable Assignment struct of ConsumerGroupHeartbeat responses round-trips', () => {
  const schema = apiSchema(68)!.response;
  for (const version of [0, 1]) {
    for (const assignment of [null, { topicPartitions: [{ topicId: '4f9ba722-b0c4-4927-9c3e-12c6b1bd6196', partitions: [0, 3] }] }]) {
      const w = new Writer();
      compile(schema, version).encode(w, { throttleTimeMs: 0, errorCode: 0, errorMessage: null, memberId: 'm', memberEpoch: 3, heartbeatIntervalMs: 500, assignment });
      const bytes = w.finish();
      const back = compile(schema, version).decode(new Reader(bytes));
      assert.deepEqual(back.assignment, assignment);
      assert.equal(back.memberEpoch, 3);
    }
  }
  // The marker byte is there: -1 for null.
  const w = new Writer();
  compile(schema, 0).encode(w, { throttleTimeMs: 0, errorCode: 0, errorMessage: null, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null });
  const bytes = w.finish();
  assert.equal(bytes.readInt8(bytes.length - 2), -1);
});
