// Share groups (KIP-932) against a real broker over TCP, with raw requests (Fjord's own codec):
// membership and its errors, share sessions and theirs, acquisition, acknowledgement (ACCEPT,
// RELEASE, REJECT, malformed ranges), the lock timeout, the delivery count limit, the in-flight
// bound, two members sharing one partition with no record delivered to both, ListGroups /
// DescribeGroups / DeleteGroups, and (through the real `fjord server` on a data dir) a restart that
// keeps acknowledged progress and hands unacknowledged records out again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { apiSchema } from '../../src/protocol/apis.js';
import { compile } from '../../src/protocol/codec.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { RawConnection, type Message } from '../raw-client.js';
import { kafkaFor, tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { startServerProcess } from '../server-process.js';

const ACCEPT = 1;
const RELEASE = 2;
const REJECT = 3;

/** One share consumer spoken raw: heartbeat, ShareFetch and ShareAcknowledge with its own session epoch. */
class RawShareMember {
  memberId = '';
  memberEpoch = 0;
  sessionEpoch = 0;
  private corr = 1;
  constructor(readonly conn: RawConnection, readonly groupId: string) {}

  static async join(port: number, groupId: string, topics: string[], memberId = ''): Promise<RawShareMember> {
    const m = new RawShareMember(await RawConnection.connect(port), groupId);
    const r = await m.heartbeat({ memberId, memberEpoch: 0, subscribedTopicNames: topics });
    assert.equal(r.errorCode, 0, r.errorMessage);
    m.memberId = r.memberId;
    m.memberEpoch = r.memberEpoch;
    return m;
  }

  heartbeat(body: Message): Promise<Message> {
    return this.conn.request(ApiKey.ShareGroupHeartbeat, 0, { groupId: this.groupId, rackId: null, subscribedTopicNames: null, ...body }, this.corr++);
  }

  /** ShareFetch at the session's epoch (which then moves on), fetching `parts` and acknowledging `acks`. */
  async fetch(parts: { topicId: string; partition: number; acks?: Message[]; fetch?: boolean }[], opts: { maxWaitMs?: number; epoch?: number; maxBytes?: number } = {}): Promise<Message> {
    const epoch = opts.epoch ?? this.sessionEpoch;
    const byTopic = new Map<string, Message[]>();
    for (const p of parts) {
      const list = byTopic.get(p.topicId) ?? [];
      list.push({ partitionIndex: p.partition, partitionMaxBytes: p.fetch === false ? 0 : 1024 * 1024, acknowledgementBatches: p.acks ?? [] });
      byTopic.set(p.topicId, list);
    }
    const r = await this.conn.request(ApiKey.ShareFetch, 0, {
      groupId: this.groupId, memberId: this.memberId, shareSessionEpoch: epoch, maxWaitMs: opts.maxWaitMs ?? 0, minBytes: 1, maxBytes: opts.maxBytes ?? 1024 * 1024,
      topics: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })), forgottenTopicsData: [],
    }, this.corr++);
    if (r.errorCode === 0 && opts.epoch === undefined) this.sessionEpoch = epoch === -1 ? 0 : epoch + 1;
    return r;
  }

  async acknowledge(topicId: string, partition: number, acks: Message[], epoch = this.sessionEpoch): Promise<Message> {
    const r = await this.conn.request(ApiKey.ShareAcknowledge, 0, {
      groupId: this.groupId, memberId: this.memberId, shareSessionEpoch: epoch, topics: [{ topicId, partitions: [{ partitionIndex: partition, acknowledgementBatches: acks }] }],
    }, this.corr++);
    if (r.errorCode === 0 && epoch === this.sessionEpoch) this.sessionEpoch = epoch === -1 ? 0 : epoch + 1;
    return r;
  }

  close(): void {
    this.conn.socket.destroy();
  }
}

/** The acquired offsets of one fetch answer, with their delivery counts. */
function acquired(r: Message): { offset: number; count: number; partition: number }[] {
  const out: { offset: number; count: number; partition: number }[] = [];
  for (const t of r.responses) {
    for (const p of t.partitions) {
      for (const a of p.acquiredRecords) for (let o = Number(a.firstOffset); o <= Number(a.lastOffset); o++) out.push({ offset: o, count: a.deliveryCount, partition: p.partitionIndex });
    }
  }
  return out;
}
const offsets = (r: Message) => acquired(r).map((a) => a.offset);
const partitionOf = (r: Message) => r.responses[0]?.partitions[0];
const ack = (first: number, last: number, type: number) => ({ firstOffset: first, lastOffset: last, acknowledgeTypes: [type] });

async function produce(address: string, topic: string, count: number, partition = 0): Promise<void> {
  const producer = kafkaFor({ address }).producer();
  await producer.connect();
  // One batch per send: the records of a batch are handed out together.
  for (let i = 0; i < count; i++) await producer.send({ topic, messages: [{ partition, value: `v${i}` }] });
  await producer.disconnect();
}

test('share-group membership: join, epochs, errors, describe, list, leave, delete', { timeout: 60000 }, async () => {
  const broker = await withBroker({ groupShareHeartbeatIntervalMs: 1234 });
  const topic = uniqueTopic('share-m');
  await broker.broker.createTopic(topic, 3);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const conn = await RawConnection.connect(broker.port);
  try {
    const hb = (body: Message) => conn.request(ApiKey.ShareGroupHeartbeat, 0, { groupId: 'g1', rackId: null, subscribedTopicNames: null, ...body });
    // Joining needs a subscription; an empty group id is refused.
    assert.equal((await hb({ memberId: '', memberEpoch: 0 })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await hb({ groupId: '', memberId: '', memberEpoch: 0, subscribedTopicNames: [topic] })).errorCode, ErrorCode.INVALID_REQUEST);
    const a = await hb({ memberId: '', memberEpoch: 0, subscribedTopicNames: [topic] });
    assert.equal(a.errorCode, 0);
    assert.ok(a.memberId.length > 0, 'the coordinator made a member id');
    assert.equal(a.memberEpoch, 1);
    assert.equal(a.heartbeatIntervalMs, 1234);
    assert.deepEqual(a.assignment.topicPartitions, [{ topicId, partitions: [0, 1, 2] }]);
    // Unknown member, wrong epoch.
    assert.equal((await hb({ memberId: 'nobody', memberEpoch: 1 })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await hb({ memberId: a.memberId, memberEpoch: 7 })).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    // A second member (its own id) bumps the group epoch; the partitions are spread over the two
    // (members in id order: the made id is hex, so before "member-b").
    const b = await hb({ memberId: 'member-b', memberEpoch: 0, subscribedTopicNames: [topic] });
    assert.deepEqual([b.memberId, b.memberEpoch], ['member-b', 2]);
    assert.deepEqual(b.assignment.topicPartitions, [{ topicId, partitions: [1] }]);
    const a2 = await hb({ memberId: a.memberId, memberEpoch: 1 });
    assert.deepEqual([a2.errorCode, a2.memberEpoch], [0, 2]);
    assert.deepEqual(a2.assignment.topicPartitions, [{ topicId, partitions: [0, 2] }]);
    // More members than partitions: a member gets one, shared with another.
    const small = uniqueTopic('share-m1');
    await broker.broker.createTopic(small, 1);
    const s1 = await hb({ groupId: 'g-small', memberId: 's1', memberEpoch: 0, subscribedTopicNames: [small] });
    const s2 = await hb({ groupId: 'g-small', memberId: 's2', memberEpoch: 0, subscribedTopicNames: [small] });
    assert.deepEqual([s1.assignment.topicPartitions[0].partitions, s2.assignment.topicPartitions[0].partitions], [[0], [0]]);
    // Unchanged: no assignment in the answer.
    const a3 = await hb({ memberId: a.memberId, memberEpoch: 2 });
    assert.deepEqual([a3.errorCode, a3.memberEpoch, a3.assignment], [0, 2, null]);

    let d = await conn.request(ApiKey.ShareGroupDescribe, 0, { groupIds: ['g1', 'nope'], includeAuthorizedOperations: true });
    const g = d.groups[0];
    assert.deepEqual([g.errorCode, g.groupState, g.groupEpoch, g.assignmentEpoch, g.assignorName], [0, 'Stable', 2, 2, 'simple']);
    assert.deepEqual(g.members.map((m: Message) => m.memberId).sort(), [a.memberId, 'member-b'].sort());
    const described = g.members.find((m: Message) => m.memberId === 'member-b');
    assert.deepEqual(described.assignment.topicPartitions, [{ topicId, topicName: topic, partitions: [1] }]);
    assert.ok(g.authorizedOperations > 0);
    assert.equal(d.groups[1].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    const listed = await conn.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] });
    assert.deepEqual(listed.groups.map((x: Message) => [x.groupId, x.groupType, x.protocolType, x.groupState]), [['g1', 'share', 'share', 'Stable'], ['g-small', 'share', 'share', 'Stable']]);
    const consumerOnly = await conn.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
    assert.ok(!consumerOnly.groups.some((x: Message) => x.groupId === 'g1'));

    // A group with members is not deleted; after both leave it is.
    let del = await conn.request(ApiKey.DeleteGroups, 2, { groupsNames: ['g1'] });
    assert.deepEqual(del.results.map((x: Message) => [x.groupId, x.errorCode]), [['g1', ErrorCode.NON_EMPTY_GROUP]]);
    const leftA = await hb({ memberId: a.memberId, memberEpoch: -1 });
    assert.deepEqual([leftA.errorCode, leftA.memberEpoch], [0, -1]);
    assert.equal((await hb({ memberId: 'member-b', memberEpoch: -1 })).errorCode, 0);
    d = await conn.request(ApiKey.ShareGroupDescribe, 0, { groupIds: ['g1'], includeAuthorizedOperations: false });
    assert.deepEqual([d.groups[0].groupState, d.groups[0].members.length], ['Empty', 0]);
    del = await conn.request(ApiKey.DeleteGroups, 2, { groupsNames: ['g1'] });
    assert.deepEqual(del.results.map((x: Message) => [x.groupId, x.errorCode]), [['g1', 0]]);
    d = await conn.request(ApiKey.ShareGroupDescribe, 0, { groupIds: ['g1'], includeAuthorizedOperations: false });
    assert.equal(d.groups[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND);

    // The id of a classic group is not a share group's.
    const kafka = kafkaFor(broker);
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: 'classic-1', topic, partitions: [{ partition: 0, offset: '0' }] });
    await admin.disconnect();
    const clash = await conn.request(ApiKey.ShareGroupHeartbeat, 0, { groupId: 'classic-1', memberId: '', memberEpoch: 0, rackId: null, subscribedTopicNames: [topic] });
    assert.equal(clash.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  } finally {
    conn.socket.destroy();
    await broker.stop();
  }
});

test('share sessions: epochs, unknown session, unknown member, acknowledgement errors', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-s');
  await broker.broker.createTopic(topic, 1);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const m = await RawShareMember.join(broker.port, 'gs', [topic]);
  try {
    const p0 = [{ topicId, partition: 0 }];
    // Not a member: UNKNOWN_MEMBER_ID. No session yet: SHARE_SESSION_NOT_FOUND.
    const stranger = new RawShareMember(m.conn, 'gs');
    stranger.memberId = 'stranger';
    assert.equal((await stranger.fetch(p0)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await m.fetch(p0, { epoch: 3 })).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
    assert.equal((await m.acknowledge(topicId, 0, [ack(0, 0, ACCEPT)], 1)).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
    // Opening with acknowledgements is refused; ShareAcknowledge cannot open a session.
    assert.equal((await m.fetch([{ topicId, partition: 0, acks: [ack(0, 0, ACCEPT)] }], { epoch: 0 })).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await m.acknowledge(topicId, 0, [ack(0, 0, ACCEPT)], 0)).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
    // Open (epoch 0; the share-partition starts at the log end), then the epoch must follow.
    let r = await m.fetch(p0);
    assert.equal(r.errorCode, 0);
    assert.equal(m.sessionEpoch, 1);
    assert.equal((await m.fetch(p0, { epoch: 5 })).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
    assert.equal((await m.fetch(p0, { epoch: -2 })).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);

    await produce(broker.address, topic, 5);
    r = await m.fetch(p0);
    assert.deepEqual(offsets(r), [0, 1, 2, 3, 4]);
    assert.ok(acquired(r).every((a) => a.count === 1));
    assert.ok(partitionOf(r).records.length > 0, 'the batches holding the records come along');

    // Malformed acknowledgements: INVALID_REQUEST for the partition, nothing applied.
    const bad: Message[][] = [
      [ack(0, 2, ACCEPT), ack(2, 3, ACCEPT)], // overlap
      [ack(3, 3, ACCEPT), ack(0, 0, ACCEPT)], // out of order
      [ack(2, 1, ACCEPT)], // not a range
      [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [1, 1] }], // two types for three offsets
      [ack(0, 0, 9)], // no such type
    ];
    for (const acks of bad) {
      const res = await m.acknowledge(topicId, 0, acks);
      assert.equal(res.errorCode, 0);
      assert.equal(partitionOf(res).errorCode, ErrorCode.INVALID_REQUEST, JSON.stringify(acks));
    }
    // Offsets not acquired (past what was handed out): INVALID_RECORD_STATE.
    let res = await m.acknowledge(topicId, 0, [ack(3, 9, ACCEPT)]);
    assert.equal(partitionOf(res).errorCode, ErrorCode.INVALID_RECORD_STATE);
    // Per-offset types: accept 0, reject 1, release 2; then 3-4 accepted piggy-backed on a fetch.
    res = await m.acknowledge(topicId, 0, [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [ACCEPT, REJECT, RELEASE] }]);
    assert.equal(partitionOf(res).errorCode, 0);
    // Acknowledging an offset twice: it is no longer acquired.
    res = await m.acknowledge(topicId, 0, [ack(0, 0, ACCEPT)]);
    assert.equal(partitionOf(res).errorCode, ErrorCode.INVALID_RECORD_STATE);
    r = await m.fetch([{ topicId, partition: 0, acks: [ack(3, 4, ACCEPT)] }]);
    assert.equal(partitionOf(r).acknowledgeErrorCode, 0);
    // The released offset 2 comes again, delivered a second time.
    assert.deepEqual(acquired(r).map((a) => [a.offset, a.count]), [[2, 2]]);
    const state = broker.broker.shares.partitionState('gs', topicId, 0)!;
    assert.deepEqual([state.spso, state.speo, state.acquired], [2, 5, 1]);
    // Unknown topic id / partition.
    r = await m.fetch([{ topicId: '8f2a9a4c-0000-4000-8000-000000000001', partition: 0 }, { topicId, partition: 9 }]);
    const errs = r.responses.flatMap((t: Message) => t.partitions.map((p: Message) => p.errorCode)).sort();
    assert.deepEqual(errs, [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID].sort());
    // Closing (epoch -1) applies its acknowledgements and releases the rest; fetching in it is refused.
    assert.equal((await m.fetch(p0, { epoch: -1 })).errorCode, ErrorCode.INVALID_REQUEST);
    res = await m.acknowledge(topicId, 0, [ack(2, 2, ACCEPT)], -1);
    assert.equal(partitionOf(res).errorCode, 0);
    assert.equal(broker.broker.shares.partitionState('gs', topicId, 0)!.spso, 5);
    assert.equal((await m.fetch(p0, { epoch: 1 })).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
  } finally {
    m.close();
    await broker.stop();
  }
});

test('share-partition: lock timeout re-delivers, the delivery count limit archives, in-flight records are bounded', { timeout: 60000 }, async () => {
  const broker = await withBroker({ groupShareRecordLockDurationMs: 1000, groupShareDeliveryCountLimit: 2, groupSharePartitionMaxRecordLocks: 100 });
  const topic = uniqueTopic('share-l');
  await broker.broker.createTopic(topic, 1);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const a = await RawShareMember.join(broker.port, 'gl', [topic]);
  const b = await RawShareMember.join(broker.port, 'gl', [topic]);
  try {
    const p0 = [{ topicId, partition: 0 }];
    await a.fetch(p0);
    await b.fetch(p0);
    await produce(broker.address, topic, 3);
    let r = await a.fetch(p0);
    assert.deepEqual(offsets(r), [0, 1, 2]);
    // b gets nothing while a holds them; after the lock runs out (1 s) b gets them, delivery 2.
    r = await b.fetch(p0, { maxWaitMs: 200 });
    assert.deepEqual(offsets(r), []);
    r = await b.fetch(p0, { maxWaitMs: 5000 });
    assert.deepEqual(acquired(r).map((x) => [x.offset, x.count]), [[0, 2], [1, 2], [2, 2]]);
    // a's lock is gone: its acknowledgement is refused.
    const late = await a.acknowledge(topicId, 0, [ack(0, 0, ACCEPT)]);
    assert.equal(partitionOf(late).errorCode, ErrorCode.INVALID_RECORD_STATE);
    // Released at the limit (2 deliveries): archived, never delivered again; the SPSO moves past.
    const rel = await b.acknowledge(topicId, 0, [ack(0, 2, RELEASE)]);
    assert.equal(partitionOf(rel).errorCode, 0);
    const st = broker.broker.shares.partitionState('gl', topicId, 0)!;
    assert.deepEqual([st.spso, st.speo], [3, 3]);
    r = await a.fetch(p0, { maxWaitMs: 100 });
    assert.deepEqual(offsets(r), []);

    // At most 100 records in flight: 150 produced, 100 handed out; more after the first are done.
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 150 }, (_, i) => ({ partition: 0, value: `m${i}` })) });
    await producer.disconnect();
    // The 150 records are one batch: it is handed out whole but only the first 100 offsets are acquired.
    r = await a.fetch(p0);
    assert.deepEqual([offsets(r)[0], offsets(r).length], [3, 100]);
    r = await b.fetch(p0, { maxWaitMs: 100 });
    assert.deepEqual(offsets(r), []);
    await a.acknowledge(topicId, 0, [ack(3, 12, ACCEPT)]);
    r = await b.fetch(p0);
    assert.deepEqual([offsets(r)[0], offsets(r).length], [103, 10]);
  } finally {
    a.close();
    b.close();
    await broker.stop();
  }
});

test('two members share a partition: every record goes to exactly one of them', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-two');
  await broker.broker.createTopic(topic, 2);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const members = [await RawShareMember.join(broker.port, 'g2', [topic]), await RawShareMember.join(broker.port, 'g2', [topic])];
  try {
    const parts = [{ topicId, partition: 0 }, { topicId, partition: 1 }];
    for (const m of members) await m.fetch(parts);
    await Promise.all([produce(broker.address, topic, 60, 0), produce(broker.address, topic, 60, 1)]);
    const seen = new Map<string, number>();
    const by = [0, 0];
    // Both fetch concurrently (a few batches at a time) and accept what they got with their next fetch, until all 120 are done.
    await Promise.all(members.map(async (m, i) => {
      let pending: { topicId: string; partition: number; acks: Message[] }[] = [];
      for (let round = 0; round < 200 && seen.size < 120; round++) {
        const r = await m.fetch([...parts.map((p) => ({ ...p, acks: pending.find((x) => x.partition === p.partition)?.acks ?? [] }))], { maxWaitMs: 50, maxBytes: 300 });
        assert.equal(r.errorCode, 0);
        pending = [];
        for (const p of [0, 1]) {
          const got = acquired(r).filter((x) => x.partition === p);
          for (const x of got) {
            const key = `${p}:${x.offset}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
            by[i]++;
          }
          if (got.length > 0) pending.push({ topicId, partition: p, acks: got.map((x) => ack(x.offset, x.offset, ACCEPT)) });
        }
      }
      if (pending.length > 0) await m.fetch(pending.map((x) => ({ ...x, fetch: false })));
    }));
    assert.equal(seen.size, 120);
    assert.ok([...seen.values()].every((n) => n === 1), 'no record was delivered twice');
    // A few small batches per fetch (maxBytes 300): both members got a share.
    assert.ok(by[0] > 0 && by[1] > 0, `both members consumed: ${by.join(' + ')}`);
    for (const p of [0, 1]) assert.equal(broker.broker.shares.partitionState('g2', topicId, p)!.spso, 60);
  } finally {
    for (const m of members) m.close();
    await broker.stop();
  }
});

test('share-partition state survives a restart of `fjord server`: acknowledged stays done, unacknowledged comes again', { timeout: 90000 }, async () => {
  const dir = tempDir();
  let server = await startServerProcess(['--data-dir', dir.path]);
  const topic = uniqueTopic('share-r');
  try {
    const admin = kafkaFor(server).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const conn0 = await RawConnection.connect(server.port);
    const md = await conn0.request(ApiKey.Metadata, 12, { topics: [{ topicId: null, name: topic }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    conn0.socket.destroy();
    const id: string = md.topics[0].topicId;
    let m = await RawShareMember.join(server.port, 'gr', [topic]);
    await m.fetch([{ topicId: id, partition: 0 }]);
    await produce(server.address, topic, 6);
    let r = await m.fetch([{ topicId: id, partition: 0 }]);
    assert.deepEqual(offsets(r), [0, 1, 2, 3, 4, 5]);
    // 0-1 accepted, 3 rejected, 2 released; 4-5 stay acquired when the broker stops.
    await m.acknowledge(id, 0, [{ firstOffset: 0, lastOffset: 3, acknowledgeTypes: [ACCEPT, ACCEPT, RELEASE, REJECT] }]);
    m.close();
    server.child.kill('SIGTERM');
    await server.exited;

    server = await startServerProcess(['--data-dir', dir.path]);
    m = await RawShareMember.join(server.port, 'gr', [topic]);
    r = await m.fetch([{ topicId: id, partition: 0 }]);
    // 2 (released) and 4-5 (handed out, never acknowledged) come again, each on its second
    // delivery (the state written with the acknowledgement counted 4-5's first); 0, 1 and 3 do not.
    assert.deepEqual(acquired(r).map((x) => [x.offset, x.count]), [[2, 2], [4, 2], [5, 2]]);
    const d = await m.conn.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] });
    assert.deepEqual(d.groups.map((g: Message) => g.groupId), ['gr']);
    m.close();
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    dir.remove();
  }
});

test('share-group configs: share.auto.offset.reset, share.isolation.level, share.record.lock.duration.ms; unknown ones refused', { timeout: 60000 }, async () => {
  const broker = await withBroker({ groupShareSessionTimeoutMs: 3000 });
  const topic = uniqueTopic('share-c');
  await broker.broker.createTopic(topic, 1);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const conn = await RawConnection.connect(broker.port);
  const GROUP = 32;
  const SET = 0;
  const alter = (groupId: string, configs: [string, string][]) => conn.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: GROUP, resourceName: groupId, configs: configs.map(([name, value]) => ({ name, configOperation: SET, value })) }], validateOnly: false,
  });
  const members: RawShareMember[] = [];
  try {
    // Unknown names and bad values: INVALID_CONFIG, nothing kept.
    for (const bad of [[['consumer.session.timeout.ms', '10000']], [['share.auto.offset.reset', 'by_duration:PT1H']], [['share.record.lock.duration.ms', '5']], [['share.isolation.level', 'read_sometimes']]] as [string, string][][]) {
      const r = await alter('gc', bad);
      assert.equal(r.responses[0].errorCode, ErrorCode.INVALID_CONFIG, JSON.stringify(bad));
    }
    let d = await conn.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: GROUP, resourceName: 'gc', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    assert.deepEqual(d.results[0].configs.map((c: Message) => [c.name, c.value, c.configSource]), [
      ['share.auto.offset.reset', 'latest', 5], ['share.record.lock.duration.ms', '30000', 5], ['share.isolation.level', 'read_uncommitted', 5],
    ]);
    const set = await alter('gc', [['share.auto.offset.reset', 'earliest'], ['share.isolation.level', 'read_committed'], ['share.record.lock.duration.ms', '1000']]);
    assert.equal(set.responses[0].errorCode, 0);
    d = await conn.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: GROUP, resourceName: 'gc', configurationKeys: ['share.auto.offset.reset'] }], includeSynonyms: false, includeDocumentation: false });
    assert.deepEqual(d.results[0].configs.map((c: Message) => [c.name, c.value, c.configSource]), [['share.auto.offset.reset', 'earliest', 8]]);

    // Records from before the group existed: earliest hands them out. A transaction aborted, one
    // committed, one still open: only the committed records and the plain ones, nothing past the open one.
    const kafka = kafkaFor(broker);
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({ topic, messages: [{ partition: 0, value: 'before-1' }, { partition: 0, value: 'before-2' }] }); // offsets 0-1
    const txp = kafka.producer({ transactionalId: `tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
    await txp.connect();
    let txn = await txp.transaction();
    await txn.send({ topic, messages: [{ partition: 0, value: 'aborted' }] }); // 2, marker 3
    await txn.abort();
    txn = await txp.transaction();
    await txn.send({ topic, messages: [{ partition: 0, value: 'committed' }] }); // 4, marker 5
    await txn.commit();
    txn = await txp.transaction();
    await txn.send({ topic, messages: [{ partition: 0, value: 'open' }] }); // 6
    await plain.send({ topic, messages: [{ partition: 0, value: 'after-open' }] }); // 7

    const a = await RawShareMember.join(broker.port, 'gc', [topic]);
    members.push(a);
    let r = await a.fetch([{ topicId, partition: 0 }]);
    assert.deepEqual(offsets(r), [0, 1, 4]);
    await txn.commit(); // 6 committed, marker 8: now 6 and 7 are stable
    r = await a.fetch([{ topicId, partition: 0 }], { maxWaitMs: 2000 });
    assert.deepEqual(offsets(r), [6, 7]);
    await txp.disconnect();
    await plain.disconnect();

    // The group's lock (1 s) applies: a's records come to b after it runs out.
    const b = await RawShareMember.join(broker.port, 'gc', [topic]);
    members.push(b);
    // (a took 0-4 and 6-7 in two fetches: their locks may run out in two steps.)
    const second: [number, number][] = [];
    for (let i = 0; i < 3 && second.length < 5; i++) {
      r = await b.fetch([{ topicId, partition: 0 }], { maxWaitMs: 5000 });
      second.push(...acquired(r).map((x): [number, number] => [x.offset, x.count]));
    }
    assert.deepEqual(second, [[0, 2], [1, 2], [4, 2], [6, 2], [7, 2]]);

    // A member that stops heartbeating is removed after group.share.session.timeout.ms (3 s here):
    // what it held is released at once, long before its lock (now 60 s) would run out.
    await alter('gc', [['share.record.lock.duration.ms', '60000']]);
    const released = await b.acknowledge(topicId, 0, [ack(0, 1, RELEASE), ack(4, 4, RELEASE), ack(6, 7, RELEASE)]);
    assert.equal(partitionOf(released).errorCode, 0);
    const c = await RawShareMember.join(broker.port, 'gc', [topic]);
    members.push(c);
    const held = acquired(await c.fetch([{ topicId, partition: 0 }], { maxWaitMs: 2000 }));
    assert.ok(held.length > 0);
    // b keeps heartbeating, c does not: c is removed, b gets what c held.
    const start = Date.now();
    let again: number[] = [];
    while (Date.now() - start < 10000 && again.length === 0) {
      const hb = await b.heartbeat({ memberId: b.memberId, memberEpoch: b.memberEpoch });
      assert.equal(hb.errorCode, 0, hb.errorMessage);
      b.memberEpoch = hb.memberEpoch;
      again = offsets(await b.fetch([{ topicId, partition: 0 }], { maxWaitMs: 200 }));
    }
    assert.deepEqual(again, held.map((x) => x.offset));
    const gone = await c.heartbeat({ memberId: c.memberId, memberEpoch: c.memberEpoch });
    assert.equal(gone.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  } finally {
    for (const m of members) m.close();
    conn.socket.destroy();
    await broker.stop();
  }
});

test('a ShareFetch waiting for records is answered when the broker stops', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-stop');
  await broker.broker.createTopic(topic, 1);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const m = await RawShareMember.join(broker.port, 'gstop', [topic]);
  try {
    await m.fetch([{ topicId, partition: 0 }]);
    // Waits up to 60 s for records that never come; the stop must answer it, not cut it off.
    const parked = m.fetch([{ topicId, partition: 0 }], { maxWaitMs: 60000 });
    await new Promise((r) => setTimeout(r, 200));
    const stopped = broker.stop();
    const r = await parked;
    assert.equal(r.errorCode, 0);
    assert.deepEqual(offsets(r), []);
    await stopped;
  } finally {
    m.close();
  }
});

test('v1 (Kafka 4.1): heartbeat, describe, ShareFetch with MaxRecords/BatchSize/AcquisitionLockTimeoutMs, ShareAcknowledge, closing', { timeout: 60000 }, async () => {
  const broker = await withBroker({ groupShareRecordLockDurationMs: 7000 });
  const topic = uniqueTopic('share-v1');
  await broker.broker.createTopic(topic, 1);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const conn = await RawConnection.connect(broker.port);
  try {
    const versions = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'share-test', clientSoftwareVersion: '1' });
    // ShareFetch / ShareAcknowledge go on to v2 (Kafka 4.2; test/broker/share-v2.test.ts).
    for (const [key, max] of [[ApiKey.ShareGroupHeartbeat, 1], [ApiKey.ShareGroupDescribe, 1], [ApiKey.ShareFetch, 2], [ApiKey.ShareAcknowledge, 2]]) {
      const row = versions.apiKeys.find((a: Message) => a.apiKey === key);
      assert.deepEqual([row?.minVersion, row?.maxVersion], [0, max], `API ${key}`);
    }
    // Kafka 4.1 clients make their own member id.
    const hb = await conn.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'gv1', memberId: 'm-v1', memberEpoch: 0, rackId: null, subscribedTopicNames: [topic] });
    assert.deepEqual([hb.errorCode, hb.memberId, hb.memberEpoch], [0, 'm-v1', 1]);
    assert.deepEqual(hb.assignment.topicPartitions, [{ topicId, partitions: [0] }]);
    const d = await conn.request(ApiKey.ShareGroupDescribe, 1, { groupIds: ['gv1'], includeAuthorizedOperations: false });
    assert.deepEqual([d.groups[0].groupState, d.groups[0].members.map((m: Message) => m.memberId)], ['Stable', ['m-v1']]);

    const fetch = (epoch: number, maxRecords: number, batchSize: number, acks: Message[] = []) => conn.request(ApiKey.ShareFetch, 1, {
      groupId: 'gv1', memberId: 'm-v1', shareSessionEpoch: epoch, maxWaitMs: 0, minBytes: 1, maxBytes: 1024 * 1024, maxRecords, batchSize,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: acks }] }], forgottenTopicsData: [],
    });
    // Opening: nothing yet. v1 has no null records: an empty partition answers no bytes.
    let r = await fetch(0, 100, 100);
    assert.deepEqual([r.errorCode, r.acquisitionLockTimeoutMs], [0, 7000]);
    assert.equal(partitionOf(r).records.length, 0);
    // Ten records in one stored batch: MaxRecords 4 hands out part of it, in entries of BatchSize 3.
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
    await producer.disconnect();
    r = await fetch(1, 4, 3);
    assert.equal(r.errorCode, 0);
    assert.deepEqual(partitionOf(r).acquiredRecords.map((a: Message) => [Number(a.firstOffset), Number(a.lastOffset), a.deliveryCount]), [[0, 2, 1], [3, 3, 1]]);
    assert.ok(partitionOf(r).records.length > 0);
    // MaxRecords 0 acquires nothing (the acknowledgements still apply).
    r = await fetch(2, 0, 3, [ack(0, 1, ACCEPT)]);
    assert.deepEqual([r.errorCode, partitionOf(r).acknowledgeErrorCode, offsets(r)], [0, 0, []]);
    // The rest of the batch.
    r = await fetch(3, 100, 100);
    assert.deepEqual(offsets(r), [4, 5, 6, 7, 8, 9]);
    // ShareAcknowledge v1, then a closing ShareFetch v1 (epoch -1) acknowledging without fetching.
    const a = await conn.request(ApiKey.ShareAcknowledge, 1, {
      groupId: 'gv1', memberId: 'm-v1', shareSessionEpoch: 4, topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [ack(2, 5, ACCEPT)] }] }],
    });
    assert.deepEqual([a.errorCode, a.responses[0].partitions[0].errorCode], [0, 0]);
    r = await fetch(-1, 100, 100, [ack(6, 9, REJECT)]);
    assert.deepEqual([r.errorCode, partitionOf(r).acknowledgeErrorCode, offsets(r)], [0, 0, []]);
    const state = broker.broker.shares.partitionState('gv1', topicId, 0);
    assert.deepEqual([state?.spso, state?.acquired], [10, 0]);
  } finally {
    conn.socket.destroy();
    await broker.stop();
  }
});

test('ShareFetch v1 records are never null on the wire (non-nullable from v1; Kafka 4.1 refuses null), v0 keeps null', () => {
  const schema = apiSchema(ApiKey.ShareFetch)!.response;
  const partition = { partitionIndex: 0, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null, acknowledgeErrorCode: 0, acknowledgeErrorMessage: null, currentLeader: { leaderId: 1, leaderEpoch: 0 }, records: null, acquiredRecords: [] };
  const body = { throttleTimeMs: 0, errorCode: 0, errorMessage: null, acquisitionLockTimeoutMs: 30000, responses: [{ topicId: '00000000-0000-0000-0000-000000000001', partitions: [partition] }], nodeEndpoints: [] };
  const roundTrip = (version: number) => {
    const w = new Writer();
    compile(schema, version).encode(w, body);
    return compile(schema, version).decode(new Reader(w.finish())) as Message;
  };
  const v1 = roundTrip(1);
  assert.deepEqual([Buffer.isBuffer(v1.responses[0].partitions[0].records), v1.responses[0].partitions[0].records.length, v1.acquisitionLockTimeoutMs], [true, 0, 30000]);
  const v0 = roundTrip(0);
  assert.deepEqual([v0.responses[0].partitions[0].records, v0.acquisitionLockTimeoutMs], [null, 0]); // not in v0: its default
});
