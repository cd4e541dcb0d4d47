// The share-group admin APIs (DescribeShareGroupOffsets 90, AlterShareGroupOffsets 91,
// DeleteShareGroupOffsets 92, v0 as Kafka 4.1's Admin sends them) against a real broker over TCP
// with raw requests, the altered start offset surviving a `fjord server` restart, and the refusal of
// a classic JoinGroup, a ConsumerGroupHeartbeat and an OffsetCommit that use a share group's id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/apis.js';
import { ZERO_UUID } from '../../src/protocol/codec.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { RawConnection, type Message } from '../raw-client.js';
import { kafkaFor, tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { startServerProcess } from '../server-process.js';

const ACCEPT = 1;

/** A raw share member: join, one ShareFetch session. */
async function joinAndFetch(conn: RawConnection, groupId: string, topic: string, topicId: string, partitions: number[]): Promise<{ memberId: string; fetched: Message }> {
  const hb = await conn.request(ApiKey.ShareGroupHeartbeat, 1, { groupId, memberId: `m-${groupId}`, memberEpoch: 0, rackId: null, subscribedTopicNames: [topic] });
  assert.equal(hb.errorCode, 0, hb.errorMessage);
  const fetched = await conn.request(ApiKey.ShareFetch, 1, {
    groupId, memberId: hb.memberId, shareSessionEpoch: 0, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, maxRecords: 500, batchSize: 500,
    topics: [{ topicId, partitions: partitions.map((p) => ({ partitionIndex: p, acknowledgementBatches: [] })) }], forgottenTopicsData: [],
  });
  assert.equal(fetched.errorCode, 0, fetched.errorMessage);
  return { memberId: hb.memberId, fetched };
}

const describe = (conn: RawConnection, groupId: string, topics: Message[] | null = null) =>
  conn.request(ApiKey.DescribeShareGroupOffsets, 0, { groups: [{ groupId, topics }] });
/** partition → start offset, from a one-group describe answer. */
const startOffsets = (r: Message) => Object.fromEntries(r.groups[0].topics.flatMap((t: Message) => t.partitions.map((p: Message) => [`${t.topicName}:${p.partitionIndex}`, Number(p.startOffset)])));
const alter = (conn: RawConnection, groupId: string, topics: { topicName: string; partitions: { partitionIndex: number; startOffset: number }[] }[]) =>
  conn.request(ApiKey.AlterShareGroupOffsets, 0, { groupId, topics });
const remove = (conn: RawConnection, groupId: string, topicNames: string[]) =>
  conn.request(ApiKey.DeleteShareGroupOffsets, 0, { groupId, topics: topicNames.map((topicName) => ({ topicName })) });

test('DescribeShareGroupOffsets / AlterShareGroupOffsets / DeleteShareGroupOffsets v0: true start offsets, alter and delete only while Empty', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-o');
  await broker.broker.createTopic(topic, 2);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const producer = kafkaFor(broker).producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `a${i}` })) });
  await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 1, value: `b${i}` })) });
  await producer.disconnect();
  const conn = await RawConnection.connect(broker.port);
  try {
    const versions = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    for (const key of [90, 91, 92]) {
      const v = versions.apiKeys.find((a: Message) => a.apiKey === key);
      assert.deepEqual([v?.minVersion, v?.maxVersion], [0, 0], `API ${key} offered at v0`);
    }
    // A group that does not exist: no error (as Kafka 4.1), nothing, or -1 for named partitions.
    let d = await describe(conn, 'share-o');
    assert.deepEqual([d.groups[0].errorCode, d.groups[0].topics], [0, []]);
    d = await describe(conn, 'share-o', [{ topicName: topic, partitions: [0] }, { topicName: 'no-such-topic', partitions: [0] }]);
    assert.deepEqual(d.groups[0].topics.map((t: Message) => [t.topicName, t.topicId, t.partitions.map((p: Message) => [p.partitionIndex, Number(p.startOffset), p.errorCode])]),
      [[topic, topicId, [[0, -1, 0]]], ['no-such-topic', ZERO_UUID, [[0, -1, 0]]]]);
    assert.deepEqual([(await remove(conn, 'share-o', [topic])).errorCode], [ErrorCode.GROUP_ID_NOT_FOUND]);

    // earliest, so the member gets everything; accepting all of partition 0 and 2 of partition 1.
    await conn.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 32, resourceName: 'share-o', configs: [{ name: 'share.auto.offset.reset', configOperation: 0, value: 'earliest' }] }], validateOnly: false });
    const { memberId, fetched } = await joinAndFetch(conn, 'share-o', topic, topicId, [0, 1]);
    assert.equal(fetched.responses[0].partitions.length, 2);
    const acked = await conn.request(ApiKey.ShareAcknowledge, 1, {
      groupId: 'share-o', memberId, shareSessionEpoch: 1,
      topics: [{ topicId, partitions: [
        { partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 9, acknowledgeTypes: [ACCEPT] }] },
        { partitionIndex: 1, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 1, acknowledgeTypes: [ACCEPT] }] },
      ] }],
    });
    assert.deepEqual(acked.responses[0].partitions.map((p: Message) => p.errorCode), [0, 0]);
    d = await describe(conn, 'share-o');
    assert.deepEqual(startOffsets(d), { [`${topic}:0`]: 10, [`${topic}:1`]: 2 });
    assert.deepEqual(d.groups[0].topics[0].partitions.map((p: Message) => p.leaderEpoch), [0, 0]);
    d = await describe(conn, 'share-o', [{ topicName: topic, partitions: [1, 7] }]);
    assert.deepEqual(startOffsets(d), { [`${topic}:1`]: 2, [`${topic}:7`]: -1 });

    // With a member: neither alter nor delete.
    let a = await alter(conn, 'share-o', [{ topicName: topic, partitions: [{ partitionIndex: 0, startOffset: 3 }] }]);
    assert.deepEqual([a.errorCode, a.errorMessage, a.responses], [ErrorCode.NON_EMPTY_GROUP, 'The group is not empty.', []]);
    assert.equal((await remove(conn, 'share-o', [topic])).errorCode, ErrorCode.NON_EMPTY_GROUP);
    assert.equal((await conn.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'share-o', memberId, memberEpoch: -1, rackId: null, subscribedTopicNames: null })).errorCode, 0);

    // Empty: partition 0 back to 3, per-partition errors for the rest.
    a = await alter(conn, 'share-o', [
      { topicName: topic, partitions: [{ partitionIndex: 0, startOffset: 3 }, { partitionIndex: 9, startOffset: 3 }, { partitionIndex: 1, startOffset: -5 }] },
      { topicName: 'no-such-topic', partitions: [{ partitionIndex: 0, startOffset: 1 }] },
    ]);
    assert.equal(a.errorCode, 0);
    assert.deepEqual(a.responses.map((t: Message) => [t.topicName, t.topicId, t.partitions.map((p: Message) => [p.partitionIndex, p.errorCode])]), [
      [topic, topicId, [[0, 0], [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [1, ErrorCode.INVALID_REQUEST]]],
      ['no-such-topic', ZERO_UUID, [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    assert.deepEqual(startOffsets(await describe(conn, 'share-o')), { [`${topic}:0`]: 3, [`${topic}:1`]: 2 });
    // The next member is handed partition 0 from offset 3 (its records are available again).
    const again = await joinAndFetch(conn, 'share-o', topic, topicId, [0]);
    const first = again.fetched.responses[0].partitions[0].acquiredRecords.map((r: Message) => Number(r.firstOffset));
    assert.equal(Math.min(...first), 3);
    await conn.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'share-o', memberId: again.memberId, memberEpoch: -1, rackId: null, subscribedTopicNames: null });

    // Delete: an unknown topic, then the topic, then it again (nothing left to delete).
    let r = await remove(conn, 'share-o', ['no-such-topic', topic]);
    assert.deepEqual([r.errorCode, r.responses.map((t: Message) => [t.topicName, t.errorCode])], [0, [['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [topic, 0]]]);
    assert.deepEqual((await describe(conn, 'share-o')).groups[0].topics, []);
    r = await remove(conn, 'share-o', [topic]);
    assert.deepEqual(r.responses.map((t: Message) => [t.topicName, t.errorCode, t.errorMessage]), [[topic, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'There is no offset information to delete.']]);

    // Alter on an id not in use makes an Empty share group; on a classic group's id it is refused.
    a = await alter(conn, 'share-fresh', [{ topicName: topic, partitions: [{ partitionIndex: 1, startOffset: 4 }] }]);
    assert.equal(a.errorCode, 0);
    assert.deepEqual(startOffsets(await describe(conn, 'share-fresh')), { [`${topic}:1`]: 4 });
    const sd = await conn.request(ApiKey.ShareGroupDescribe, 1, { groupIds: ['share-fresh'], includeAuthorizedOperations: false });
    assert.deepEqual([sd.groups[0].errorCode, sd.groups[0].groupState], [0, 'Empty']);
    const admin = kafkaFor(broker).admin();
    await admin.connect();
    await admin.setOffsets({ groupId: 'classic-o', topic, partitions: [{ partition: 0, offset: '0' }] });
    await admin.disconnect();
    a = await alter(conn, 'classic-o', [{ topicName: topic, partitions: [{ partitionIndex: 0, startOffset: 1 }] }]);
    assert.equal(a.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  } finally {
    conn.socket.destroy();
    await broker.stop();
  }
});

test('an altered share-partition start offset survives a restart of `fjord server`', { timeout: 90000 }, async () => {
  const dir = tempDir();
  let server = await startServerProcess(['--data-dir', dir.path]);
  const topic = uniqueTopic('share-or');
  try {
    const admin = kafkaFor(server).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    let conn = await RawConnection.connect(server.port);
    assert.equal((await alter(conn, 'share-r', [{ topicName: topic, partitions: [{ partitionIndex: 0, startOffset: 7 }] }])).responses[0].partitions[0].errorCode, 0);
    conn.socket.destroy();
    server.child.kill('SIGTERM');
    await server.exited;

    server = await startServerProcess(['--data-dir', dir.path]);
    conn = await RawConnection.connect(server.port);
    assert.deepEqual(startOffsets(await describe(conn, 'share-r')), { [`${topic}:0`]: 7 });
    conn.socket.destroy();
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    dir.remove();
  }
});

test("a share group's id is refused to JoinGroup, ConsumerGroupHeartbeat and OffsetCommit (as Kafka 4.1)", { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-x');
  await broker.broker.createTopic(topic, 1);
  const conn = await RawConnection.connect(broker.port);
  try {
    const hb = await conn.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'share-x', memberId: 'm1', memberEpoch: 0, rackId: null, subscribedTopicNames: [topic] });
    assert.equal(hb.errorCode, 0);
    const join = await conn.request(ApiKey.JoinGroup, 9, {
      groupId: 'share-x', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null,
    });
    assert.equal(join.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const cg = await conn.request(ApiKey.ConsumerGroupHeartbeat, 0, {
      groupId: 'share-x', memberId: 'c1', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 10000,
      subscribedTopicNames: [topic], serverAssignor: null, topicPartitions: [],
    });
    assert.deepEqual([cg.errorCode, cg.errorMessage], [ErrorCode.GROUP_ID_NOT_FOUND, 'Group share-x is not a consumer group.']);
    for (const version of [2, 9]) {
      const commit = await conn.request(ApiKey.OffsetCommit, version, {
        groupId: 'share-x', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: '' }] }],
      });
      assert.equal(commit.topics[0].partitions[0].errorCode, ErrorCode.GROUP_ID_NOT_FOUND, `OffsetCommit v${version}`);
    }
    // The share group is still only a share group.
    const listed = await conn.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    assert.deepEqual(listed.groups.filter((g: Message) => g.groupId === 'share-x').map((g: Message) => g.groupType), ['share']);
  } finally {
    conn.socket.destroy();
    await broker.stop();
  }
});
