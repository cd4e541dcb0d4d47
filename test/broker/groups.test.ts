// Unit tests of the classic group coordinator's state machine and offset store, without network:
// a GroupCoordinator over MemoryStorage driven by method calls.
import { strict as assert } from 'node:assert';
import { test as nodeTest } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/broker/logger.js';
import { GroupCoordinator, type GroupCoordinatorOptions, type JoinGroupParams, type JoinGroupResult } from '../../src/broker/groups/coordinator.js';
import { ClassicGroup, ClassicMember, decodeSubscriptionTopics } from '../../src/broker/groups/classic-group.js';
import { ConsumerGroup, ConsumerMember } from '../../src/broker/groups/consumer-group.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { MemoryStorage } from '../../src/storage/memory.js';

/**
 * The coordinator's timers are unref'd (a broker's sockets keep the process alive); here nothing
 * else would, so each test holds a handle while it runs.
 */
function test(name: string, body: () => Promise<void>): void {
  nodeTest(name, async () => {
    const keepAlive = setInterval(() => undefined, 60000);
    try {
      await body();
    } finally {
      clearInterval(keepAlive);
    }
  });
}

/** A consumer-protocol Subscription v0: version, topics, user data (null). */
function subscription(topics: string[]): Buffer {
  const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
  parts[1].writeInt32BE(topics.length);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  return Buffer.concat(parts);
}

async function coordinator(storage = new MemoryStorage(), options: Partial<GroupCoordinatorOptions> = {}): Promise<GroupCoordinator> {
  const c = new GroupCoordinator({
    storage,
    logger: createLogger('silent'),
    initialRebalanceDelayMs: 0,
    minSessionTimeoutMs: 10,
    maxSessionTimeoutMs: 60000,
    ...options,
  });
  await c.start();
  return c;
}

function join(c: GroupCoordinator, groupId: string, p: Partial<JoinGroupParams> = {}): Promise<JoinGroupResult> {
  return c.joinGroup({
    groupId,
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10000,
    rebalanceTimeoutMs: 2000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    ...p,
  });
}

function sync(c: GroupCoordinator, groupId: string, r: JoinGroupResult, assignments: Record<string, string> = {}, instance: string | null = null) {
  return c.syncGroup({
    groupId,
    generationId: r.generationId,
    memberId: r.memberId,
    groupInstanceId: instance,
    protocolType: 'consumer',
    protocolName: r.protocolName,
    assignments: Object.entries(assignments).map(([memberId, a]) => ({ memberId, assignment: Buffer.from(a) })),
  });
}

const hb = (c: GroupCoordinator, groupId: string, r: { generationId: number; memberId: string }, instance: string | null = null) =>
  c.heartbeat({ groupId, generationId: r.generationId, memberId: r.memberId, groupInstanceId: instance });

const state = (c: GroupCoordinator, groupId: string) => c.describeGroups([groupId])[0].groupState;

/** Two members join and sync; returns their join results (leader first) once the group is Stable. */
async function stableGroupOfTwo(c: GroupCoordinator, groupId: string, p: [Partial<JoinGroupParams>, Partial<JoinGroupParams>] = [{}, {}]) {
  const [a, b] = await Promise.all([join(c, groupId, p[0]), join(c, groupId, p[1])]);
  assert.equal(a.errorCode, ErrorCode.NONE);
  assert.equal(b.errorCode, ErrorCode.NONE);
  const [leader, follower] = a.memberId === a.leader ? [a, b] : [b, a];
  const [sl, sf] = await Promise.all([
    sync(c, groupId, leader, { [leader.memberId]: 'A', [follower.memberId]: 'B' }, p[a === leader ? 0 : 1].groupInstanceId ?? null),
    sync(c, groupId, follower, {}, p[a === leader ? 1 : 0].groupInstanceId ?? null),
  ]);
  assert.equal(sl.errorCode, ErrorCode.NONE);
  assert.equal(sf.errorCode, ErrorCode.NONE);
  assert.equal(state(c, groupId), 'Stable');
  return { leader, follower };
}

test('two members join and sync: leader gets the members, both get their assignment', async () => {
  const c = await coordinator();
  try {
    const [a, b] = await Promise.all([join(c, 'g', { clientId: 'ca' }), join(c, 'g', { clientId: 'cb' })]);
    assert.equal(a.errorCode, ErrorCode.NONE);
    assert.equal(a.generationId, 1);
    assert.equal(b.generationId, 1);
    assert.equal(a.protocolName, 'range');
    assert.equal(a.protocolType, 'consumer');
    assert.equal(a.leader, b.leader);
    assert.ok(a.memberId.startsWith('ca-') && b.memberId.startsWith('cb-'));
    const leader = a.leader === a.memberId ? a : b;
    const follower = leader === a ? b : a;
    assert.deepEqual(leader.members.map((m) => m.memberId).sort(), [a.memberId, b.memberId].sort());
    assert.deepEqual(leader.members[0].metadata, subscription(['t']));
    assert.deepEqual(follower.members, []);
    assert.equal(state(c, 'g'), 'CompletingRebalance');
    assert.equal(hb(c, 'g', follower), ErrorCode.NONE); // heartbeats between join and sync are fine

    // The follower's SyncGroup arrives first and waits for the leader's.
    let followerDone = false;
    const fs = sync(c, 'g', follower).then((r) => ((followerDone = true), r));
    await sleep(20);
    assert.equal(followerDone, false);
    const ls = await sync(c, 'g', leader, { [leader.memberId]: 'for-leader', [follower.memberId]: 'for-follower', stranger: 'x' });
    assert.equal(ls.errorCode, ErrorCode.NONE);
    assert.equal(ls.assignment.toString(), 'for-leader');
    assert.equal(ls.protocolName, 'range');
    const f = await fs;
    assert.equal(f.errorCode, ErrorCode.NONE);
    assert.equal(f.assignment.toString(), 'for-follower');
    assert.equal(state(c, 'g'), 'Stable');
    assert.equal(hb(c, 'g', leader), ErrorCode.NONE);

    const [d] = c.describeGroups(['g']);
    assert.equal(d.protocolData, 'range');
    assert.equal(d.protocolType, 'consumer');
    const described = d.members.find((m) => m.memberId === follower.memberId)!;
    assert.equal(described.clientId, follower.memberId.startsWith('ca-') ? 'ca' : 'cb');
    assert.equal(described.clientHost, '/127.0.0.1');
    assert.equal(described.memberAssignment.toString(), 'for-follower');
    assert.deepEqual(described.memberMetadata, subscription(['t']));
    // A late SyncGroup in Stable gets the stored assignment again.
    assert.equal((await sync(c, 'g', follower)).assignment.toString(), 'for-follower');
  } finally {
    await c.stop();
  }
});

test('a third member joining starts a rebalance with the next generation', async () => {
  const c = await coordinator();
  try {
    const { leader, follower } = await stableGroupOfTwo(c, 'g');
    const third = join(c, 'g', { clientId: 'c3' });
    await sleep(5);
    assert.equal(state(c, 'g'), 'PreparingRebalance');
    assert.equal(hb(c, 'g', leader), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(hb(c, 'g', follower), ErrorCode.REBALANCE_IN_PROGRESS);
    // DescribeGroups hides metadata and protocol while not Stable.
    const [d] = c.describeGroups(['g']);
    assert.equal(d.protocolData, '');
    assert.equal(d.members.length, 3);
    assert.ok(d.members.every((m) => m.memberAssignment.length === 0));
    // Sync with the old generation during the rebalance.
    assert.equal((await sync(c, 'g', leader)).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    const [l2, f2, t2] = await Promise.all([
      join(c, 'g', { memberId: leader.memberId }),
      join(c, 'g', { memberId: follower.memberId }),
      third,
    ]);
    for (const r of [l2, f2, t2]) {
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.generationId, 2);
    }
    assert.equal(l2.leader, leader.memberId, 'the leader keeps its role');
    assert.equal(l2.members.length, 3);
    assert.equal(t2.members.length, 0);
    assert.equal(hb(c, 'g', leader), ErrorCode.ILLEGAL_GENERATION);
    const syncs = await Promise.all([
      sync(c, 'g', t2),
      sync(c, 'g', l2, { [l2.memberId]: '1', [f2.memberId]: '2', [t2.memberId]: '3' }),
      sync(c, 'g', f2),
    ]);
    assert.deepEqual(syncs.map((s) => s.assignment.toString()), ['3', '1', '2']);
    assert.equal(state(c, 'g'), 'Stable');
  } finally {
    await c.stop();
  }
});

test('v4+ joins: MEMBER_ID_REQUIRED hands out an id that the member joins with', async () => {
  const c = await coordinator();
  try {
    const first = await join(c, 'g', { clientId: 'kafkajs', requireKnownMemberId: true });
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(first.memberId, /^kafkajs-[0-9a-f-]{36}$/);
    assert.equal(first.generationId, -1);
    assert.equal(state(c, 'g'), 'Empty');
    const joined = await join(c, 'g', { memberId: first.memberId, requireKnownMemberId: true });
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal(joined.memberId, first.memberId);
    assert.equal(joined.leader, first.memberId);
    assert.equal(joined.generationId, 1);
    // An id the coordinator never handed out.
    const unknown = await join(c, 'g', { memberId: 'made-up', requireKnownMemberId: true });
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await join(c, 'other', { memberId: 'made-up' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // A pending id that is never used expires after the session timeout; the empty group goes with it.
    const pending = await join(c, 'p', { requireKnownMemberId: true, sessionTimeoutMs: 30 });
    assert.equal(pending.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(state(c, 'p'), 'Empty');
    await sleep(80);
    assert.equal(state(c, 'p'), 'Dead');
    assert.equal((await join(c, 'p', { memberId: pending.memberId })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  } finally {
    await c.stop();
  }
});

test('join validation: group id, session timeout, protocol type and protocols', async () => {
  const c = await coordinator(new MemoryStorage(), { minSessionTimeoutMs: 100, maxSessionTimeoutMs: 1000 });
  try {
    assert.equal((await join(c, '')).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await join(c, 'g', { sessionTimeoutMs: 99 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await join(c, 'g', { sessionTimeoutMs: 1001 })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await join(c, 'g', { sessionTimeoutMs: 500, protocolType: '' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await join(c, 'g', { sessionTimeoutMs: 500, protocols: [] })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(state(c, 'g'), 'Dead', 'a refused join leaves no group behind');
    const a = await join(c, 'g', { sessionTimeoutMs: 500 });
    assert.equal(a.errorCode, ErrorCode.NONE);
    assert.equal((await join(c, 'g', { sessionTimeoutMs: 500, protocolType: 'connect' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(
      (await join(c, 'g', { sessionTimeoutMs: 500, protocols: [{ name: 'roundrobin', metadata: Buffer.alloc(0) }] })).errorCode,
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
    );
    assert.equal(c.heartbeat({ groupId: '', generationId: 1, memberId: a.memberId, groupInstanceId: null }), ErrorCode.INVALID_GROUP_ID);
    assert.equal((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null, protocolType: 'connect', protocolName: null, assignments: [] })).errorCode,
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: 'roundrobin', assignments: [] })).errorCode,
      ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal((await c.syncGroup({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).errorCode,
      ErrorCode.NONE);
  } finally {
    await c.stop();
  }
});

test('the protocol is chosen by the members\' votes among those all support', async () => {
  const c = await coordinator();
  try {
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
    const results = await Promise.all([
      join(c, 'g', { protocols: p('a', 'b', 'c') }),
      join(c, 'g', { protocols: p('b', 'c', 'a') }),
      join(c, 'g', { protocols: p('c', 'b') }),
      join(c, 'g', { protocols: p('b', 'c') }),
    ]);
    // Candidates are b and c (a is not supported by everyone); votes: b, b, c, b.
    for (const r of results) assert.equal(r.protocolName, 'b');
    const leader = results.find((r) => r.memberId === r.leader)!;
    assert.ok(leader.members.every((m) => m.metadata.toString() === 'b'));
  } finally {
    await c.stop();
  }
});

test('a member whose session expires is removed and the group rebalances', async () => {
  const c = await coordinator();
  try {
    const { leader, follower } = await stableGroupOfTwo(c, 'g', [{ sessionTimeoutMs: 200 }, { sessionTimeoutMs: 200 }]);
    // Only the leader keeps heartbeating.
    let code: number = ErrorCode.NONE;
    const deadline = Date.now() + 3000;
    while (code === ErrorCode.NONE && Date.now() < deadline) {
      await sleep(50);
      code = hb(c, 'g', leader);
    }
    assert.equal(code, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(hb(c, 'g', follower), ErrorCode.UNKNOWN_MEMBER_ID);
    const again = await join(c, 'g', { memberId: leader.memberId, sessionTimeoutMs: 200 });
    assert.equal(again.generationId, leader.generationId + 1);
    assert.deepEqual(again.members.map((m) => m.memberId), [leader.memberId]);
  } finally {
    await c.stop();
  }
});

test('leaving triggers a rebalance; the last member leaving empties the group', async () => {
  const c = await coordinator();
  try {
    const { leader, follower } = await stableGroupOfTwo(c, 'g');
    // The leader leaves: the follower becomes leader of the next generation.
    const left = c.leaveGroup('g', [{ memberId: leader.memberId, groupInstanceId: null }, { memberId: 'nobody', groupInstanceId: null }]);
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.deepEqual(left.members.map((m) => m.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.equal(state(c, 'g'), 'PreparingRebalance');
    assert.equal(hb(c, 'g', follower), ErrorCode.REBALANCE_IN_PROGRESS);
    const again = await join(c, 'g', { memberId: follower.memberId });
    assert.equal(again.generationId, 2);
    assert.equal(again.leader, follower.memberId);
    await sync(c, 'g', again, { [follower.memberId]: 'all' });
    assert.equal(c.leaveGroup('g', [{ memberId: follower.memberId, groupInstanceId: null }]).members[0].errorCode, ErrorCode.NONE);
    assert.equal(state(c, 'g'), 'Empty');
    assert.equal(c.describeGroups(['g'])[0].protocolType, 'consumer');
    assert.equal(c.leaveGroup('missing', [{ memberId: 'x', groupInstanceId: null }]).members[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(c.leaveGroup('', []).errorCode, ErrorCode.INVALID_GROUP_ID);
    // Generation 3 was the empty one.
    const fresh = await join(c, 'g');
    assert.equal(fresh.generationId, 4);
  } finally {
    await c.stop();
  }
});

test('a member that never rejoins is dropped when the rebalance timeout ends the join phase', async () => {
  const c = await coordinator();
  try {
    const { leader, follower } = await stableGroupOfTwo(c, 'g', [{ rebalanceTimeoutMs: 150 }, { rebalanceTimeoutMs: 150 }]);
    const t0 = Date.now();
    const rejoin = await join(c, 'g', { memberId: follower.memberId, rebalanceTimeoutMs: 150, protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }] });
    assert.ok(Date.now() - t0 >= 100, 'waited for the leader');
    assert.equal(rejoin.generationId, 2);
    assert.equal(rejoin.leader, follower.memberId, 'leadership moves to a member that rejoined');
    assert.equal(rejoin.members.length, 1);
    assert.equal(hb(c, 'g', leader), ErrorCode.UNKNOWN_MEMBER_ID);
  } finally {
    await c.stop();
  }
});

test('a leader that never sends SyncGroup is removed and the rebalance restarts', async () => {
  const c = await coordinator();
  try {
    const [a, b] = await Promise.all([join(c, 'g', { rebalanceTimeoutMs: 100 }), join(c, 'g', { rebalanceTimeoutMs: 100 })]);
    const follower = a.leader === a.memberId ? b : a;
    const leader = follower === a ? b : a;
    const s = await sync(c, 'g', follower);
    assert.equal(s.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(hb(c, 'g', leader), ErrorCode.UNKNOWN_MEMBER_ID);
    const again = await join(c, 'g', { memberId: follower.memberId, rebalanceTimeoutMs: 100 });
    assert.equal(again.generationId, 2);
    assert.equal(again.leader, follower.memberId);
  } finally {
    await c.stop();
  }
});

test('stale generations and unknown members are fenced', async () => {
  const storage = new MemoryStorage();
  await storage.createTopic('t', 2, {});
  const c = await coordinator(storage);
  try {
    const { leader, follower } = await stableGroupOfTwo(c, 'g');
    const stale = { generationId: leader.generationId - 1, memberId: leader.memberId };
    assert.equal(hb(c, 'g', stale), ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await sync(c, 'g', { ...leader, generationId: stale.generationId })).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal(hb(c, 'g', { generationId: leader.generationId, memberId: 'ghost' }), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(hb(c, 'nope', leader), ErrorCode.UNKNOWN_MEMBER_ID);
    const commit = (generationId: number, memberId: string) =>
      c.commitOffsets({ groupId: 'g', generationId, memberId, groupInstanceId: null, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }] });
    assert.equal((await commit(stale.generationId, leader.memberId))[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await commit(leader.generationId, 'ghost'))[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await commit(-1, ''))[0].partitions[0].errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'simple commits only while the group has no members');
    assert.equal((await commit(leader.generationId, leader.memberId))[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.equal((await c.commitOffsets({ groupId: 'gone', generationId: 3, memberId: 'm', groupInstanceId: null, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }] }))[0].partitions[0].errorCode,
      ErrorCode.ILLEGAL_GENERATION);
    // During CompletingRebalance a member of the new generation must sync before committing.
    const third = join(c, 'g');
    const [l2] = await Promise.all([join(c, 'g', { memberId: leader.memberId }), join(c, 'g', { memberId: follower.memberId }), third]);
    assert.equal(l2.generationId, leader.generationId + 1);
    assert.equal(state(c, 'g'), 'CompletingRebalance');
    assert.equal((await commit(l2.generationId, l2.memberId))[0].partitions[0].errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
  } finally {
    await c.stop();
  }
});

test('a static member rejoining with a new member id keeps its assignment without a rebalance', async () => {
  const c = await coordinator();
  try {
    const { leader, follower } = await stableGroupOfTwo(c, 'g', [{ groupInstanceId: 'i-1' }, { groupInstanceId: 'i-2' }]);
    const followerInstance = follower.memberId.startsWith('i-1') ? 'i-1' : 'i-2';
    const leaderInstance = followerInstance === 'i-1' ? 'i-2' : 'i-1';
    assert.ok(follower.memberId.startsWith(`${followerInstance}-`));
    // Restarted follower: empty member id, same instance id and protocols.
    const back = await join(c, 'g', { groupInstanceId: followerInstance });
    assert.equal(back.errorCode, ErrorCode.NONE);
    assert.notEqual(back.memberId, follower.memberId);
    assert.equal(back.generationId, follower.generationId, 'no new generation');
    assert.equal(back.leader, leader.memberId);
    assert.deepEqual(back.members, []);
    assert.equal(state(c, 'g'), 'Stable');
    const s = await sync(c, 'g', back, {}, followerInstance);
    assert.equal(s.errorCode, ErrorCode.NONE);
    assert.equal(s.assignment.toString(), 'B');
    // The old incarnation is fenced.
    assert.equal(hb(c, 'g', follower, followerInstance), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal((await join(c, 'g', { memberId: follower.memberId, groupInstanceId: followerInstance })).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(hb(c, 'g', back, followerInstance), ErrorCode.NONE);
    assert.equal(hb(c, 'g', leader, leaderInstance), ErrorCode.NONE);
    // The static leader restarting: with v9 it is told it leads but must skip the assignment.
    const leaderBack = await join(c, 'g', { groupInstanceId: leaderInstance, supportSkippingAssignment: true });
    assert.equal(leaderBack.leader, leaderBack.memberId);
    assert.equal(leaderBack.skipAssignment, true);
    assert.equal(leaderBack.members.length, 2);
    assert.equal(state(c, 'g'), 'Stable');
    const [d] = c.describeGroups(['g']);
    assert.deepEqual(d.members.map((m) => m.groupInstanceId).sort(), ['i-1', 'i-2']);
    // Admin removal by instance id.
    const removed = c.leaveGroup('g', [{ memberId: '', groupInstanceId: followerInstance }]);
    assert.equal(removed.members[0].errorCode, ErrorCode.NONE);
    assert.equal(state(c, 'g'), 'PreparingRebalance');
  } finally {
    await c.stop();
  }
});

test('offsets: commit and fetch round trip with metadata, epochs and defaults', async () => {
  const storage = new MemoryStorage();
  await storage.createTopic('t', 3, {});
  await storage.createTopic('u', 1, {});
  const c = await coordinator(storage);
  try {
    const res = await c.commitOffsets({
      groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null,
      topics: [
        { name: 't', partitions: [
          { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 3, committedMetadata: 'hello' },
          { partitionIndex: 2, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null },
          { partitionIndex: 3, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
          { partitionIndex: 1, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: 'x'.repeat(4097) },
        ] },
        { name: 'missing', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] },
        { name: 'u', partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: 'm'.repeat(4096) }] },
      ],
    });
    assert.deepEqual(res.map((t) => t.partitions.map((p) => p.errorCode)), [
      [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.OFFSET_METADATA_TOO_LARGE],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [ErrorCode.NONE],
    ]);
    const f = c.fetchOffsets('g', [{ name: 't', partitionIndexes: [0, 1, 2] }, { name: 'never', partitionIndexes: [5] }]);
    assert.equal(f.errorCode, ErrorCode.NONE);
    assert.deepEqual(f.topics, [
      { name: 't', partitions: [
        { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 3, metadata: 'hello', errorCode: 0 },
        { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        { partitionIndex: 2, committedOffset: 7, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
      ] },
      { name: 'never', partitions: [{ partitionIndex: 5, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] },
    ]);
    const all = c.fetchOffsets('g', null);
    assert.deepEqual(all.topics.map((t) => [t.name, t.partitions.map((p) => p.committedOffset)]), [['t', [42, 7]], ['u', [0]]]);
    assert.deepEqual(c.fetchOffsets('unknown-group', null).topics, []);
    assert.equal(c.fetchOffsets('unknown-group', [{ name: 't', partitionIndexes: [0] }]).topics[0].partitions[0].committedOffset, -1);
    // The simple-commit group is listed, Empty, with no protocol type.
    assert.deepEqual(c.listGroups().groups, [{ groupId: 'g', protocolType: '', groupState: 'Empty', groupType: 'classic' }]);
    // Overwrite.
    await c.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 43, committedLeaderEpoch: 4, committedMetadata: 'again' }] }] });
    assert.equal(c.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }]).topics[0].partitions[0].metadata, 'again');
  } finally {
    await c.stop();
  }
});

test('offsets and group metadata survive a coordinator restart', async () => {
  const storage = new MemoryStorage();
  await storage.createTopic('t', 2, {});
  let c = await coordinator(storage);
  const { leader, follower } = await stableGroupOfTwo(c, 'g');
  await c.commitOffsets({ groupId: 'g', generationId: leader.generationId, memberId: leader.memberId, groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: 0, committedMetadata: 'meta' }, { partitionIndex: 1, committedOffset: 20, committedLeaderEpoch: -1, committedMetadata: null }] }] });
  await c.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 99, committedLeaderEpoch: -1, committedMetadata: 'm' }] }] });
  await c.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 100, committedLeaderEpoch: -1, committedMetadata: 'm2' }] }] });
  // An emptied group is stored as Empty.
  const [e] = await Promise.all([join(c, 'emptied')]);
  await sync(c, 'emptied', e, { [e.memberId]: 'x' });
  c.leaveGroup('emptied', [{ memberId: e.memberId, groupInstanceId: null }]);
  await c.stop();

  c = await coordinator(storage);
  try {
    const f = c.fetchOffsets('g', null);
    assert.deepEqual(f.topics, [{ name: 't', partitions: [
      { partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: 0, metadata: 'meta', errorCode: 0 },
      { partitionIndex: 1, committedOffset: 20, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
    ] }]);
    assert.equal(c.fetchOffsets('simple', null).topics[0].partitions[0].committedOffset, 100);
    assert.equal(c.fetchOffsets('simple', null).topics[0].partitions[0].metadata, 'm2');
    // The group comes back Stable with its members, who can carry on heartbeating.
    const [d] = c.describeGroups(['g']);
    assert.equal(d.groupState, 'Stable');
    assert.equal(d.protocolData, 'range');
    assert.equal(d.members.length, 2);
    assert.equal(d.members.find((m) => m.memberId === follower.memberId)!.memberAssignment.toString(), 'B');
    assert.equal(hb(c, 'g', follower), ErrorCode.NONE);
    assert.equal((await sync(c, 'g', leader)).assignment.toString(), 'A');
    const [de] = c.describeGroups(['emptied']);
    assert.equal(de.groupState, 'Empty');
    assert.equal(de.protocolType, 'consumer');
    assert.deepEqual(c.listGroups(['empty']).groups.map((g) => g.groupId).sort(), ['emptied', 'simple']);
    // A new member joining the restored group makes the next generation.
    const newcomer = join(c, 'g');
    const [l2] = await Promise.all([join(c, 'g', { memberId: leader.memberId }), join(c, 'g', { memberId: follower.memberId }), newcomer]);
    assert.equal(l2.generationId, leader.generationId + 1);
  } finally {
    await c.stop();
  }
});

test('a protocol switch keeps the offsets and the generation, live and across restarts', async () => {
  const storage = new MemoryStorage();
  await storage.createTopic('t', 2, {});
  const commitAt = (c: GroupCoordinator, partitionIndex: number, committedOffset: number, member: { generationId: number; memberId: string }, apiVersion?: number) =>
    c.commitOffsets({ groupId: 'g', apiVersion, generationId: member.generationId, memberId: member.memberId, groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex, committedOffset, committedLeaderEpoch: -1, committedMetadata: null }] }] })
      .then((r) => r[0].partitions[0].errorCode);
  const consumerHb = (c: GroupCoordinator, memberId: string, memberEpoch: number) => c.consumerGroupHeartbeat({
    groupId: 'g', memberId, memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: memberEpoch === 0 ? 5000 : -1,
    subscribedTopicNames: memberEpoch === 0 ? ['t'] : null, subscribedTopicRegex: null, serverAssignor: null,
    topicPartitions: memberEpoch === 0 ? [] : null, clientId: 'client', clientHost: '/127.0.0.1',
  });
  const committed = (c: GroupCoordinator) => c.fetchOffsets('g', null).topics.flatMap((t) => t.partitions.map((x) => `${t.name}-${x.partitionIndex}@${x.committedOffset}`));
  const listed = (c: GroupCoordinator) => c.listGroups().groups.filter((g) => g.groupId === 'g').map((g) => [g.groupType, g.groupState, g.protocolType]);

  // Classic: generation 1, a commit, then the last member leaves (generation 2, Empty, stored).
  let c = await coordinator(storage);
  const a = await join(c, 'g');
  assert.equal((await sync(c, 'g', a, { [a.memberId]: 'A' })).errorCode, ErrorCode.NONE);
  assert.equal(await commitAt(c, 0, 10, a), ErrorCode.NONE);
  c.leaveGroup('g', [{ memberId: a.memberId, groupInstanceId: null }]);
  assert.deepEqual(listed(c), [['classic', 'Empty', 'consumer']]);

  // The Empty classic group becomes a consumer group, keeps its offset and commits another.
  const m = consumerHb(c, 'm', 0);
  assert.equal(m.errorCode, ErrorCode.NONE);
  assert.deepEqual(listed(c), [['consumer', 'Stable', 'consumer']]);
  assert.equal(await commitAt(c, 1, 20, { generationId: m.memberEpoch, memberId: 'm' }, 9), ErrorCode.NONE);
  assert.deepEqual(committed(c), ['t-0@10', 't-1@20']);
  assert.equal(consumerHb(c, 'm', -1).errorCode, ErrorCode.NONE);
  assert.deepEqual(listed(c), [['consumer', 'Empty', 'consumer']]);
  await c.stop();

  // After a restart (consumer membership is not stored) it is the Empty classic group of generation 2, with both offsets.
  c = await coordinator(storage);
  try {
    assert.deepEqual(listed(c), [['classic', 'Empty', 'consumer']]);
    assert.deepEqual(committed(c), ['t-0@10', 't-1@20']);
    // Consumer again, then classic again live: the generation goes on from 2.
    assert.equal(consumerHb(c, 'n', 0).errorCode, ErrorCode.NONE);
    assert.equal(consumerHb(c, 'n', -1).errorCode, ErrorCode.NONE);
    const b = await join(c, 'g');
    assert.equal(b.errorCode, ErrorCode.NONE);
    assert.equal(b.generationId, 3);
    assert.deepEqual(listed(c), [['classic', 'CompletingRebalance', 'consumer']]);
    assert.deepEqual(committed(c), ['t-0@10', 't-1@20']);
    assert.equal((await sync(c, 'g', b, { [b.memberId]: 'B' })).errorCode, ErrorCode.NONE);
    assert.equal(await commitAt(c, 0, 11, b), ErrorCode.NONE);
  } finally {
    await c.stop();
  }

  // And the stored state is what memory held: generation 3 Stable, the offsets as committed last.
  c = await coordinator(storage);
  try {
    assert.deepEqual(listed(c), [['classic', 'Stable', 'consumer']]);
    assert.deepEqual(committed(c), ['t-0@11', 't-1@20']);
    assert.equal(c.describeGroups(['g'])[0].members[0].memberAssignment.toString(), 'B');
    // Deleting the group removes offsets and metadata for good, whichever protocol wrote them.
    c.leaveGroup('g', [{ memberId: c.describeGroups(['g'])[0].members[0].memberId, groupInstanceId: null }]);
    assert.equal((await c.deleteGroups(['g']))[0].errorCode, ErrorCode.NONE);
  } finally {
    await c.stop();
  }
  c = await coordinator(storage);
  try {
    assert.deepEqual(listed(c), []);
    assert.deepEqual(committed(c), []);
  } finally {
    await c.stop();
  }
});

test('DeleteGroups: unknown, non-empty and empty groups', async () => {
  const storage = new MemoryStorage();
  await storage.createTopic('t', 1, {});
  let c = await coordinator(storage);
  const commit = (groupId: string) => c.commitOffsets({ groupId, generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }] });
  await commit('empty');
  await stableGroupOfTwo(c, 'busy');
  const r = await c.deleteGroups(['empty', 'busy', 'unknown', 'empty']);
  assert.deepEqual(r, [
    { groupId: 'empty', errorCode: ErrorCode.NONE },
    { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
    { groupId: 'unknown', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
  ]);
  assert.equal(c.describeGroups(['empty'])[0].groupState, 'Dead');
  assert.equal(c.fetchOffsets('empty', [{ name: 't', partitionIndexes: [0] }]).topics[0].partitions[0].committedOffset, -1);
  assert.deepEqual((await c.deleteGroups(['empty']))[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  await c.stop();
  c = await coordinator(storage);
  try {
    assert.equal(c.describeGroups(['empty'])[0].groupState, 'Dead', 'stays deleted after a restart');
    assert.deepEqual(c.fetchOffsets('empty', null).topics, []);
    // A group can be used again after deletion.
    await commit('empty');
    assert.equal(c.fetchOffsets('empty', null).topics[0].partitions[0].committedOffset, 5);
  } finally {
    await c.stop();
  }
});

test('DeleteGroups while a commit is being written: the group stays deleted after a restart', async () => {
  // The commit's record lands in the log before the deletion's; the deletion must tombstone it
  // too, or a replay brings the group and its offset back.
  const storage = new MemoryStorage();
  await storage.createTopic('t', 1, {});
  let c = await coordinator(storage);
  const committing = c.commitOffsets({ groupId: 'racing', generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null }] }] });
  const deleted = await c.deleteGroups(['racing']);
  assert.deepEqual(deleted, [{ groupId: 'racing', errorCode: ErrorCode.NONE }]);
  await committing;
  assert.deepEqual(c.fetchOffsets('racing', null).topics, [], 'gone now');
  await c.stop();
  c = await coordinator(storage);
  try {
    assert.deepEqual(c.fetchOffsets('racing', null).topics, [], 'and after a replay');
    assert.equal(c.describeGroups(['racing'])[0].groupState, 'Dead');
  } finally {
    await c.stop();
  }
});

test('OffsetDelete: subscribed topics are protected while the group is live', async () => {
  const storage = new MemoryStorage();
  await storage.createTopic('t', 2, {});
  await storage.createTopic('other', 1, {});
  const c = await coordinator(storage);
  try {
    const { leader } = await stableGroupOfTwo(c, 'g');
    await c.commitOffsets({ groupId: 'g', generationId: leader.generationId, memberId: leader.memberId, groupInstanceId: null,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] },
        { name: 'other', partitions: [{ partitionIndex: 0, committedOffset: 2, committedLeaderEpoch: -1, committedMetadata: null }] },
      ] });
    const r = await c.deleteOffsets('g', [{ name: 't', partitions: [0] }, { name: 'other', partitions: [0] }, { name: 'nope', partitions: [0] }]);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(r.topics.map((t) => t.partitions[0].errorCode), [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.deepEqual(c.fetchOffsets('g', null).topics.map((t) => t.name), ['t']);
    assert.equal((await c.deleteOffsets('missing', [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.equal((await c.deleteOffsets('', [])).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.deepEqual(decodeSubscriptionTopics(subscription(['a', 'bb'])), ['a', 'bb']);
    assert.equal(decodeSubscriptionTopics(Buffer.from('junk')), null);
  } finally {
    await c.stop();
  }
});

test('ListGroups filters by state and type', async () => {
  const c = await coordinator();
  try {
    await stableGroupOfTwo(c, 'a');
    const pending = join(c, 'b');
    await pending;
    assert.equal(state(c, 'b'), 'CompletingRebalance');
    assert.deepEqual(c.listGroups().groups.map((g) => g.groupId).sort(), ['a', 'b']);
    assert.deepEqual(c.listGroups(['Stable']).groups.map((g) => g.groupId), ['a']);
    assert.deepEqual(c.listGroups(['completingrebalance']).groups.map((g) => g.groupId), ['b']);
    assert.deepEqual(c.listGroups([], ['consumer']).groups, []);
    assert.equal(c.listGroups([], ['Classic']).groups.length, 2);
  } finally {
    await c.stop();
  }
});

test('the initial rebalance delay waits for more members, bounded by the rebalance timeout', async () => {
  const c = await coordinator(new MemoryStorage(), { initialRebalanceDelayMs: 100 });
  try {
    const t0 = Date.now();
    const a = join(c, 'g', { rebalanceTimeoutMs: 1000 });
    await sleep(60);
    const b = join(c, 'g', { rebalanceTimeoutMs: 1000 });
    const [ra, rb] = await Promise.all([a, b]);
    const took = Date.now() - t0;
    assert.equal(ra.generationId, 1);
    assert.equal(rb.generationId, 1);
    assert.ok(took >= 190, `the delay was extended once (took ${took} ms)`);
    assert.equal((ra.leader === ra.memberId ? ra : rb).members.length, 2);
  } finally {
    await c.stop();
  }
});

test('stop() answers parked requests and leaves no timers behind', async () => {
  const c = await coordinator(new MemoryStorage(), { initialRebalanceDelayMs: 60000 });
  const parked = join(c, 'g', { rebalanceTimeoutMs: 120000 });
  await sleep(5);
  await c.stop();
  assert.equal((await parked).errorCode, ErrorCode.NOT_COORDINATOR);
  assert.equal((await join(c, 'g')).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
});

test('the offsets log is compacted and still replays to the same state', async () => {
  const storage = new MemoryStorage();
  await storage.createTopic('t', 10, {});
  let c = await coordinator(storage);
  const partitions = Array.from({ length: 10 }, (_, i) => i);
  for (let round = 1; round <= 1300; round++) {
    await c.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 't', partitions: partitions.map((p) => ({ partitionIndex: p, committedOffset: round * 100 + p, committedLeaderEpoch: -1, committedMetadata: `r${round}` })) }] });
  }
  await sleep(20);
  const log = await storage.internalLog('__consumer_offsets');
  assert.ok(log.logStartOffset() > 0, 'old records were deleted');
  assert.ok(log.logEndOffset() - log.logStartOffset() < 13000);
  await c.stop();
  c = await coordinator(storage);
  try {
    const f = c.fetchOffsets('g', null);
    assert.deepEqual(f.topics[0].partitions.map((p) => p.committedOffset), partitions.map((p) => 130000 + p));
    assert.ok(f.topics[0].partitions.every((p) => p.metadata === 'r1300'));
  } finally {
    await c.stop();
  }
});

test('offset retention: Empty groups and simple commits lose their offsets; live groups keep theirs', async () => {
  const storage = new MemoryStorage();
  await storage.createTopic('t', 2, {});
  const c = await coordinator(storage, { offsetsRetentionMs: 300, offsetsRetentionCheckIntervalMs: 50 });
  const commit = (groupId: string, r: { generationId: number; memberId: string } = { generationId: -1, memberId: '' }, offset = 5) =>
    c.commitOffsets({ groupId, generationId: r.generationId, memberId: r.memberId, groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: 'm' }] }] });
  const committed = (groupId: string) => c.fetchOffsets(groupId, [{ name: 't', partitionIndexes: [0] }]).topics[0].partitions[0].committedOffset;
  try {
    await commit('simple');
    const { leader, follower } = await stableGroupOfTwo(c, 'live');
    await commit('live', leader);
    const solo = await join(c, 'emptied');
    await sync(c, 'emptied', solo, { [solo.memberId]: 'x' });
    await commit('emptied', solo);
    c.leaveGroup('emptied', [{ memberId: solo.memberId, groupInstanceId: null }]);
    assert.equal(state(c, 'emptied'), 'Empty');
    const t0 = Date.now();
    // Keep the live group alive past the retention time.
    while (Date.now() - t0 < 700) {
      await sleep(50);
      hb(c, 'live', leader);
      hb(c, 'live', follower);
    }
    assert.equal(committed('simple'), -1, 'a simple commit expires after the retention time');
    assert.equal(committed('emptied'), -1, 'an Empty group loses its offsets');
    assert.equal(committed('live'), 5, 'a Stable group keeps its offsets');
    const listed = c.listGroups().groups.map((g) => g.groupId).sort();
    assert.deepEqual(listed, ['live'], 'Empty groups left without offsets are removed');
  } finally {
    await c.stop();
  }
});

test('offsets.retention.minutes and group.consumer.* are broker settings with CLI flags', async () => {
  const { serverConfig } = await import('../../src/cli/app.js');
  const { Broker } = await import('../../src/broker/broker.js');
  const parsed = serverConfig(['--offsets-retention-minutes', '5', '--group-consumer-session-timeout-ms', '10000', '--group-consumer-heartbeat-interval-ms', '1000'], {});
  assert.notEqual(parsed, 'help');
  const cfg = parsed as Exclude<typeof parsed, 'help'>;
  assert.equal(cfg.offsetsRetentionMinutes, 5);
  assert.equal(serverConfig([], { FJORD_OFFSETS_RETENTION_MINUTES: '9' }) !== 'help' && (serverConfig([], { FJORD_OFFSETS_RETENTION_MINUTES: '9' }) as typeof cfg).offsetsRetentionMinutes, 9);
  assert.throws(() => serverConfig(['--offsets-retention-minutes', '0'], {}));
  const b = new Broker({ ...cfg, dataDir: 'memory', logLevel: 'silent' });
  assert.equal(b.groups.options.offsetsRetentionMs, 5 * 60 * 1000);
  assert.equal(b.groups.options.consumerSessionTimeoutMs, 10000);
  assert.equal(b.groups.options.consumerHeartbeatIntervalMs, 1000);
  assert.equal(new Broker({ dataDir: 'memory', logLevel: 'silent' }).groups.options.offsetsRetentionMs, 7 * 24 * 3600 * 1000);
});

nodeTest('group state changes assert where they may happen', () => {
  const g = new ClassicGroup('g');
  const timers = { schedule: () => null, cancel: () => null };
  const member = new ClassicMember('m1', null, 'c', 'h', 1000, 1000, 'consumer', [{ name: 'range', metadata: Buffer.alloc(0) }]);
  assert.throws(() => g.completeRebalance(new Map()), /assertion: group g cannot complete a rebalance in Empty/);
  assert.throws(() => g.initNextGeneration(), /assertion: group g ends a join phase in Empty/);
  g.addNewMember(timers, member);
  assert.throws(() => g.addMember(member), /already has member m1/);
  assert.equal(g.startRebalance(0), true);
  assert.throws(() => g.startRebalance(0), /cannot rebalance from PreparingRebalance/);
  assert.throws(() => g.markDead(timers), /cannot be deleted in PreparingRebalance/);
  assert.throws(() => ConsumerGroup.replacing('g', g), /is not an empty classic group/);
  g.initNextGeneration();
  assert.equal(g.state, 'CompletingRebalance');
  assert.equal(member.isNew, false);
  g.completeRebalance(new Map([['m1', Buffer.from('a')]]));
  assert.equal(g.state, 'Stable');
  assert.deepEqual(member.assignment, Buffer.from('a'));
  assert.throws(() => g.undoDead(), /was not deleted/);

  const cg = new ConsumerGroup('g');
  const stranger = new ConsumerMember('x');
  assert.throws(() => cg.resetMember(stranger), /member x is not in the group/);
  assert.throws(() => cg.reconcileMember(stranger, null), /member x is not in the group/);
  cg.addMember(stranger);
  assert.throws(() => cg.addMember(stranger), /member x joined twice/);
  cg.assignmentEpoch = 1; // not reachable through the methods: the target would be ahead of the group
  assert.throws(() => cg.updateTargetAssignment([]), /assignment epoch 1 is ahead of group epoch 0/);
});
