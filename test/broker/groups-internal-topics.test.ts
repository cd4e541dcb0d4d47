// Kafka's internal topics meet KIP-848 subscriptions, against a real broker over TCP (raw requests):
// Kafka's group coordinator resolves a member's regex (and names) over every topic of its metadata,
// `__consumer_offsets` included, so a regex matching it gets it assigned; the member then fetches it
// by the topic id Metadata gave it and may commit offsets for it. Its other protections stay:
// Produce and DeleteTopics are still refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';
import { RawConnection, type Message } from '../raw-client.js';
import { uniqueTopic, withBroker } from '../helpers.js';

const OFFSETS = '__consumer_offsets';

const heartbeat = (c: RawConnection, group: string, extra: Message) => c.request(ApiKey.ConsumerGroupHeartbeat, 1, {
  groupId: group, memberId: '', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 30000,
  subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [], ...extra,
});

test('a KIP-848 regex matching __consumer_offsets gets it assigned; Fetch by its id serves it; produce and delete stay refused', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const c = await RawConnection.connect(broker.port);
  try {
    const user = uniqueTopic('orders');
    let r: Message = await c.request(ApiKey.CreateTopics, 7, { topics: [{ name: user, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    assert.equal(r.topics[0].errorCode, ErrorCode.NONE);
    // A simple commit puts a record into the offsets log, so that it has something to fetch.
    r = await c.request(ApiKey.OffsetCommit, 8, {
      groupId: 'simple', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: user, partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(r.topics[0].partitions[0].errorCode, ErrorCode.NONE);

    r = await c.request(ApiKey.Metadata, 12, { topics: [{ name: OFFSETS }, { name: user }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const ids = new Map<string, string>(r.topics.map((t: Message) => [t.name, t.topicId]));
    assert.equal(r.topics.find((t: Message) => t.name === OFFSETS).isInternal, true);
    const offsetsId = ids.get(OFFSETS)!;

    // The regex matches both the user topic and the internal one: both are assigned, by id.
    r = await heartbeat(c, 'g-regex', { subscribedTopicRegex: `__consumer_.*|${user}` });
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage);
    assert.equal(r.memberEpoch, 1);
    const assigned = (r.assignment.topicPartitions as Message[]).map((t) => [t.topicId, t.partitions]).sort();
    assert.deepEqual(assigned, [[ids.get(user), [0]], [offsetsId, [0]]].sort());
    const member = { memberId: r.memberId as string, epoch: r.memberEpoch as number };

    // A subscription by name gets it too (Kafka resolves names over the same topics).
    r = await heartbeat(c, 'g-names', { subscribedTopicNames: [OFFSETS] });
    assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage);
    assert.deepEqual(r.assignment.topicPartitions.map((t: Message) => [t.topicId, t.partitions]), [[offsetsId, [0]]]);

    // Fetch v13+ by the internal topic's id serves its log (the commit above is in it).
    r = await c.request(ApiKey.Fetch, 16, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topicId: offsetsId, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const part = r.responses[0].partitions[0];
    assert.equal(r.responses[0].topicId, offsetsId);
    assert.equal(part.errorCode, ErrorCode.NONE);
    assert.ok(part.highWatermark > 0);
    assert.ok(part.records && part.records.length > 0, 'records of the offsets log');

    // The member may commit its position in the internal topic, as on Kafka.
    r = await c.request(ApiKey.OffsetCommit, 9, {
      groupId: 'g-regex', generationIdOrMemberEpoch: member.epoch, memberId: member.memberId, groupInstanceId: null,
      topics: [{ name: OFFSETS, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(r.topics[0].partitions[0].errorCode, ErrorCode.NONE);

    // Still the broker's own: Produce refused, DeleteTopics refused, the log unchanged.
    r = await c.request(ApiKey.Produce, 9, {
      transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: OFFSETS, partitionData: [{ index: 0, records: encodeBatch({ records: [{ value: 'v' }] }) }] }],
    });
    assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    r = await c.request(ApiKey.DeleteTopics, 6, { topics: [{ name: OFFSETS, topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 5000 });
    assert.equal(r.responses[0].errorCode, ErrorCode.TOPIC_DELETION_DISABLED);
    r = await c.request(ApiKey.Metadata, 12, { topics: [{ name: OFFSETS }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(r.topics[0].errorCode, ErrorCode.NONE);
    assert.equal(r.topics[0].topicId, offsetsId);
  } finally {
    c.socket.destroy();
    await broker.stop();
  }
});
