// kafkajs consumer groups against a real Fjord broker: partitions shared out and re-shared as
// members come and go, committed offsets, and the admin group APIs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AssignerProtocol, type Consumer } from 'kafkajs';
import { kafkaFor, withBroker, uniqueTopic, eventually } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
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
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 100, rebalanceTimeout: 10000, maxWaitTimeInMs: 100 });
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

test('group APIs over the wire at old and new versions', async () => {
  const kafka = kafkaFor(broker, 'groups-admin');
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('wire');
  const groupId = uniqueTopic('wire-group');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  const conn = await RawConnection.connect(broker.port);
  try {
    // OffsetCommit v0: a simple commit (no generation, no member).
    const c0 = await conn.request(ApiKey.OffsetCommit, 0, {
      groupId, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 5, committedMetadata: 'v0' }, { partitionIndex: 9, committedOffset: 1, committedMetadata: null }] }],
    });
    assert.deepEqual(c0.topics[0].partitions.map((p: Message) => p.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    // OffsetCommit v8 (flexible) with a leader epoch.
    const c8 = await conn.request(ApiKey.OffsetCommit, 8, {
      groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: topic, partitions: [{ partitionIndex: 1, committedOffset: 7, committedLeaderEpoch: 0, committedMetadata: 'v8' }] }],
    });
    assert.equal(c8.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    // OffsetFetch v1: per-partition answers, no top-level error.
    const f1 = await conn.request(ApiKey.OffsetFetch, 1, { groupId, topics: [{ name: topic, partitionIndexes: [0, 1] }] });
    assert.deepEqual(f1.topics[0].partitions.map((p: Message) => [p.committedOffset, p.metadata]), [[5, 'v0'], [7, 'v8']]);
    // OffsetFetch v5: null topics = all, leader epochs.
    const f5 = await conn.request(ApiKey.OffsetFetch, 5, { groupId, topics: null });
    assert.equal(f5.errorCode, ErrorCode.NONE);
    assert.deepEqual(f5.topics[0].partitions.map((p: Message) => p.committedLeaderEpoch), [-1, 0]);
    // OffsetFetch v8: several groups at once.
    const f8 = await conn.request(ApiKey.OffsetFetch, 8, {
      groups: [{ groupId, topics: null }, { groupId: 'no-such-group', topics: [{ name: topic, partitionIndexes: [0] }] }], requireStable: true,
    });
    assert.equal(f8.groups[0].topics[0].partitions.length, 2);
    assert.equal(f8.groups[1].topics[0].partitions[0].committedOffset, -1);
    assert.equal(f8.groups[1].topics[0].partitions[0].metadata, '');
    // ListGroups v4 with a state filter, DescribeGroups v0 and v5.
    const l4 = await conn.request(ApiKey.ListGroups, 4, { statesFilter: ['Empty'] });
    assert.ok(l4.groups.some((g: Message) => g.groupId === groupId && g.groupState === 'Empty' && g.protocolType === ''));
    const d0 = await conn.request(ApiKey.DescribeGroups, 0, { groups: [groupId, 'no-such-group'] });
    assert.deepEqual(d0.groups.map((g: Message) => [g.errorCode, g.groupState]), [[0, 'Empty'], [0, 'Dead']]);
    const d5 = await conn.request(ApiKey.DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: true });
    assert.equal(d5.groups[0].authorizedOperations, (1 << 3) | (1 << 6) | (1 << 8));
    // JoinGroup v0 (no rebalance timeout, no MEMBER_ID_REQUIRED), SyncGroup v0, Heartbeat v0, LeaveGroup v0.
    const j0 = await conn.request(ApiKey.JoinGroup, 0, {
      groupId, sessionTimeoutMs: 6000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics: [topic], userData: Buffer.alloc(0) }) }],
    });
    assert.equal(j0.errorCode, ErrorCode.NONE);
    assert.equal(j0.leader, j0.memberId);
    assert.equal(j0.members.length, 1);
    const s0 = await conn.request(ApiKey.SyncGroup, 0, { groupId, generationId: j0.generationId, memberId: j0.memberId, assignments: [{ memberId: j0.memberId, assignment: Buffer.from('mine') }] });
    assert.equal(s0.assignment.toString(), 'mine');
    assert.equal((await conn.request(ApiKey.Heartbeat, 0, { groupId, generationId: j0.generationId, memberId: j0.memberId })).errorCode, ErrorCode.NONE);
    // JoinGroup v4 and v9: MEMBER_ID_REQUIRED first.
    const j4 = await conn.request(ApiKey.JoinGroup, 9, {
      groupId: groupId + '-b', sessionTimeoutMs: 6000, rebalanceTimeoutMs: 1000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null,
    });
    assert.equal(j4.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.match(j4.memberId, /^raw-/);
    // DeleteGroups of a live group; OffsetDelete of a topic it subscribes to.
    const del = await conn.request(ApiKey.DeleteGroups, 0, { groupsNames: [groupId, 'no-such-group'] });
    assert.deepEqual(del.results.map((r: Message) => r.errorCode), [ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND]);
    const od = await conn.request(ApiKey.OffsetDelete, 0, { groupId, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(od.topics[0].partitions[0].errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
    const lv = await conn.request(ApiKey.LeaveGroup, 0, { groupId, memberId: j0.memberId });
    assert.equal(lv.errorCode, ErrorCode.NONE);
    const lv3 = await conn.request(ApiKey.LeaveGroup, 3, { groupId, members: [{ memberId: 'gone', groupInstanceId: null }] });
    assert.deepEqual(lv3.members.map((m: Message) => m.errorCode), [ErrorCode.UNKNOWN_MEMBER_ID]);
    const od2 = await conn.request(ApiKey.OffsetDelete, 0, { groupId, topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(od2.errorCode, ErrorCode.NONE);
    assert.equal(od2.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    const del2 = await conn.request(ApiKey.DeleteGroups, 2, { groupsNames: [groupId] });
    assert.equal(del2.results[0].errorCode, ErrorCode.NONE);
  } finally {
    conn.close();
  }
  // kafkajs' admin.setOffsets joins the group as a consumer to commit.
  const other = uniqueTopic('admin-group');
  await admin.setOffsets({ groupId: other, topic, partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '7' }] });
  const offsets = await admin.fetchOffsets({ groupId: other, topics: [topic] });
  assert.deepEqual(offsets[0].partitions.map((p) => [p.partition, p.offset]).sort(), [[0, '5'], [1, '7']]);
  await admin.deleteGroups([other]);
  await admin.disconnect();
});
