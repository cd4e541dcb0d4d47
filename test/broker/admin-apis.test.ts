// The admin APIs of issue 16 against a real broker over TCP (raw requests, Fjord's own codec):
// DescribeTopicPartitions (paging, errors, authorized operations), DescribeLogDirs (the data dir's
// path, partition sizes from storage, statfs), ElectLeaders, Alter/ListPartitionReassignments,
// DescribeQuorum, ApiVersions features, GetTelemetrySubscriptions / PushTelemetry; then the
// authorization answers on a broker with ACLs on and no ACL for the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statfsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ApiKey } from '../../src/protocol/apis.js';
import { ZERO_UUID } from '../../src/protocol/codec.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { telemetryOf } from '../../src/broker/handlers/telemetry.js';
import { RawConnection, type Message } from '../raw-client.js';
import { kafkaFor, tempDir, uniqueTopic, withBroker } from '../helpers.js';

test('admin APIs of one node: true answers from the broker state', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const broker = await withBroker({ dataDir: dir.path, telemetryMaxBytes: 100 });
  const conn = await RawConnection.connect(broker.port);
  const kafka = kafkaFor(broker);
  const admin = kafka.admin();
  const node = broker.broker.nodeId;
  const producer = kafka.producer();
  try {
    await admin.connect();
    const a = uniqueTopic('a-dtp');
    const b = uniqueTopic('b-dtp');
    await admin.createTopics({ topics: [{ topic: a, numPartitions: 3 }, { topic: b, numPartitions: 2 }] });
    await producer.connect();
    await producer.send({ topic: a, messages: [{ partition: 1, value: 'x'.repeat(1000) }] });

    // DescribeTopicPartitions: a page of 4 partitions ends inside b; the cursor gives the rest.
    let r: Message = await conn.request(ApiKey.DescribeTopicPartitions, 0, { topics: [{ name: b }, { name: a }, { name: 'nope-dtp' }], responsePartitionLimit: 4, cursor: null });
    assert.deepEqual(r.topics.map((t: Message) => [t.name, t.errorCode, t.partitions.map((p: Message) => p.partitionIndex)]), [[a, 0, [0, 1, 2]], [b, 0, [0]]]);
    assert.deepEqual(r.nextCursor, { topicName: b, partitionIndex: 1 });
    const p0 = r.topics[0].partitions[0];
    assert.deepEqual([p0.leaderId, p0.leaderEpoch, p0.replicaNodes, p0.isrNodes, p0.eligibleLeaderReplicas, p0.offlineReplicas], [node, 0, [node], [node], [], []]);
    assert.notEqual(r.topics[0].topicId, ZERO_UUID);
    assert.ok(r.topics[0].topicAuthorizedOperations > 0);
    r = await conn.request(ApiKey.DescribeTopicPartitions, 0, { topics: [{ name: b }, { name: a }, { name: 'nope-dtp' }], responsePartitionLimit: 4, cursor: r.nextCursor });
    assert.deepEqual(r.topics.map((t: Message) => [t.name, t.errorCode, t.partitions.map((p: Message) => p.partitionIndex)]), [[b, 0, [1]], ['nope-dtp', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, []]]);
    assert.equal(r.nextCursor, null);
    // Every topic (empty list); a cursor topic not requested is INVALID_REQUEST.
    r = await conn.request(ApiKey.DescribeTopicPartitions, 0, { topics: [], responsePartitionLimit: 2000, cursor: null });
    assert.ok([a, b].every((n) => r.topics.some((t: Message) => t.name === n)));
    r = await conn.request(ApiKey.DescribeTopicPartitions, 0, { topics: [{ name: a }], responsePartitionLimit: 10, cursor: { topicName: b, partitionIndex: 0 } });
    assert.deepEqual(r.topics.map((t: Message) => [t.name, t.errorCode]), [[a, ErrorCode.INVALID_REQUEST]]);

    // DescribeLogDirs: the data dir, partition a-1 holds the bytes produced, the others none.
    r = await conn.request(ApiKey.DescribeLogDirs, 4, { topics: null });
    assert.equal(r.errorCode, 0);
    assert.equal(r.results.length, 1);
    const ld = r.results[0];
    assert.equal(ld.logDir, dir.path);
    const fs = statfsSync(dir.path);
    assert.equal(ld.totalBytes, fs.blocks * fs.bsize);
    assert.ok(ld.usableBytes > 0 && ld.usableBytes <= ld.totalBytes);
    const sizes = Object.fromEntries(ld.topics.filter((t: Message) => t.name === a).flatMap((t: Message) => t.partitions.map((p: Message) => [p.partitionIndex, p.partitionSize])));
    assert.ok(sizes[1] > 1000, `a-1 holds the produced batch: ${JSON.stringify(sizes)}`);
    assert.equal(sizes[0], 0);
    r = await conn.request(ApiKey.DescribeLogDirs, 1, { topics: [{ topic: b, partitions: [1, 7] }, { topic: 'nope-dtp', partitions: [0] }] });
    assert.deepEqual(r.results[0].topics, [{ name: b, partitions: [{ partitionIndex: 1, partitionSize: 0, offsetLag: 0, isFutureKey: false }] }]);

    // ElectLeaders: named partitions need no election; every partition (null) lists none.
    r = await conn.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: a, partitions: [0, 9] }], timeoutMs: 1000 });
    assert.deepEqual(r.replicaElectionResults[0].partitionResult.map((p: Message) => [p.partitionId, p.errorCode]), [[0, ErrorCode.ELECTION_NOT_NEEDED], [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    r = await conn.request(ApiKey.ElectLeaders, 2, { electionType: 1, topicPartitions: null, timeoutMs: 1000 });
    assert.deepEqual([r.errorCode, r.replicaElectionResults], [0, []]);

    // Reassignments: to this broker completes; another broker, a cancel, empty lists are refused.
    r = await conn.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 1000,
      topics: [{ name: a, partitions: [{ partitionIndex: 0, replicas: [node] }, { partitionIndex: 1, replicas: [node + 4] }, { partitionIndex: 2, replicas: null }, { partitionIndex: 3, replicas: [node] }] }],
    });
    assert.deepEqual(r.responses[0].partitions.map((p: Message) => [p.partitionIndex, p.errorCode]),
      [[0, 0], [1, ErrorCode.INVALID_REPLICA_ASSIGNMENT], [2, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS], [3, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    r = await conn.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
    assert.deepEqual([r.errorCode, r.topics], [0, []]);

    // DescribeQuorum: one voter, this node, leading.
    r = await conn.request(ApiKey.DescribeQuorum, 2, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] });
    const q = r.topics[0].partitions[0];
    assert.deepEqual([r.errorCode, q.errorCode, q.leaderId, q.currentVoters.map((v: Message) => v.replicaId), q.observers], [0, 0, node, [node], []]);
    assert.deepEqual(r.nodes, [{ nodeId: node, listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: broker.port }] }]);

    // ApiVersions: v4 lists every feature; v3 leaves out those whose minimum is 0.
    r = await conn.request(ApiKey.ApiVersions, 4, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    assert.ok(r.supportedFeatures.some((f: Message) => f.name === 'kraft.version' && f.minVersion === 0));
    assert.deepEqual(r.finalizedFeatures.map((f: Message) => [f.name, f.maxVersionLevel]).sort(), [['group.version', 1], ['metadata.version', 27]]);
    assert.ok(!r.finalizedFeatures.some((f: Message) => f.name === 'transaction.version'), 'no TV2: EndTxn v5 is not served');
    r = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    assert.deepEqual(r.supportedFeatures.map((f: Message) => f.name), ['metadata.version']);
    for (const key of [35, 43, 45, 46, 55, 71, 72, 74, 75]) assert.ok(r.apiKeys.some((k: Message) => k.apiKey === key), `API ${key} advertised`);

    // Telemetry: an instance id is handed out; pushes are kept (latest per instance) up to telemetry.max.bytes.
    r = await conn.request(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId: ZERO_UUID });
    assert.equal(r.errorCode, 0);
    assert.notEqual(r.clientInstanceId, ZERO_UUID);
    assert.deepEqual([r.requestedMetrics, r.telemetryMaxBytes], [[], 100]);
    const id = randomUUID();
    const push = (metrics: Buffer, subscriptionId = r.subscriptionId) => conn.request(ApiKey.PushTelemetry, 0, { clientInstanceId: id, subscriptionId, terminating: false, compressionType: 0, metrics });
    assert.equal((await push(Buffer.from('one'))).errorCode, 0);
    assert.equal((await push(Buffer.from('two'))).errorCode, 0);
    assert.equal((await push(Buffer.alloc(101))).errorCode, ErrorCode.TELEMETRY_TOO_LARGE);
    assert.equal((await push(Buffer.from('x'), 999)).errorCode, ErrorCode.UNKNOWN_SUBSCRIPTION_ID);
    assert.equal(telemetryOf(broker.broker).get(id)?.metrics.toString(), 'two');
    r = await conn.request(ApiKey.ListClientMetricsResources, 0, {});
    assert.deepEqual([r.errorCode, r.clientMetricsResources], [0, []]);
  } finally {
    conn.socket.destroy();
    await producer.disconnect();
    await admin.disconnect();
    await broker.stop();
    dir.remove();
  }
});

test('admin APIs without ACLs for the client: Kafka\'s authorization errors', { timeout: 30000 }, async () => {
  const broker = await withBroker({ authorizerClassName: 'fjord', superUsers: [], allowEveryoneIfNoAclFound: false });
  const conn = await RawConnection.connect(broker.port);
  try {
    let r: Message = await conn.request(ApiKey.DescribeTopicPartitions, 0, { topics: [{ name: 'secret' }], responsePartitionLimit: 10, cursor: null });
    assert.deepEqual(r.topics.map((t: Message) => [t.name, t.errorCode]), [['secret', ErrorCode.TOPIC_AUTHORIZATION_FAILED]]);
    r = await conn.request(ApiKey.DescribeLogDirs, 4, { topics: null });
    assert.deepEqual([r.errorCode, r.results], [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, []]);
    r = await conn.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0] }], timeoutMs: 1000 });
    assert.deepEqual([r.errorCode, r.replicaElectionResults[0].partitionResult[0].errorCode], [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]);
    r = await conn.request(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 1000, topics: [] });
    assert.equal(r.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    r = await conn.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
    assert.equal(r.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    r = await conn.request(ApiKey.DescribeQuorum, 2, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(r.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    r = await conn.request(ApiKey.ListClientMetricsResources, 0, {});
    assert.equal(r.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  } finally {
    conn.socket.destroy();
    await broker.stop();
  }
});
