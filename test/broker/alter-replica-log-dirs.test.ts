// AlterReplicaLogDirs against a real broker over TCP (raw requests): the one log dir DescribeLogDirs
// names is the only destination (nothing moves, no error); any other path, a relative one, a topic or
// partition the broker does not have get Kafka 4.1's error codes; ALTER on the cluster is required.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { RawConnection, type Message } from '../raw-client.js';
import { kafkaFor, tempDir, uniqueTopic, withBroker } from '../helpers.js';

const outcomes = (r: Message) => r.results.flatMap((t: Message) => t.partitions.map((p: Message) => [t.topicName, p.partitionIndex, p.errorCode]));

test('AlterReplicaLogDirs: the one log dir is where every replica already is', { timeout: 60000 }, async () => {
  const dir = tempDir();
  const broker = await withBroker({ dataDir: dir.path });
  const conn = await RawConnection.connect(broker.port);
  const admin = kafkaFor(broker).admin();
  try {
    await admin.connect();
    const t = uniqueTopic('arld');
    await admin.createTopics({ topics: [{ topic: t, numPartitions: 2 }] });
    const logDir = (await conn.request(ApiKey.DescribeLogDirs, 4, { topics: null })).results[0].logDir;
    assert.equal(logDir, dir.path);

    for (const version of [0, 1, 2]) {
      const r = await conn.request(ApiKey.AlterReplicaLogDirs, version, {
        dirs: [
          { path: logDir, topics: [{ name: t, partitions: [0, 9] }, { name: 'nope-arld', partitions: [0] }] },
          { path: `${logDir}-elsewhere`, topics: [{ name: t, partitions: [1] }] },
          { path: 'relative/dir', topics: [{ name: 'nope-arld', partitions: [1] }] },
        ],
      });
      assert.deepEqual(outcomes(r), [
        [t, 0, ErrorCode.NONE],
        [t, 9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        [t, 1, ErrorCode.LOG_DIR_NOT_FOUND],
        ['nope-arld', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['nope-arld', 1, ErrorCode.LOG_DIR_NOT_FOUND],
      ], `v${version}`);
    }
    // Nothing moved: DescribeLogDirs still lists both partitions in the one dir, none of them future.
    const after = (await conn.request(ApiKey.DescribeLogDirs, 4, { topics: [{ topic: t, partitions: [0, 1] }] })).results;
    assert.deepEqual(after.map((d: Message) => [d.logDir, d.topics[0].partitions.map((p: Message) => [p.partitionIndex, p.isFutureKey])]), [[logDir, [[0, false], [1, false]]]]);
    const versions = (await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' })).apiKeys.find((k: Message) => k.apiKey === ApiKey.AlterReplicaLogDirs);
    assert.deepEqual([versions?.minVersion, versions?.maxVersion], [0, 2]);
  } finally {
    conn.socket.destroy();
    await admin.disconnect();
    await broker.stop();
    dir.remove();
  }
});

test('AlterReplicaLogDirs without ALTER on the cluster: CLUSTER_AUTHORIZATION_FAILED on every partition', { timeout: 30000 }, async () => {
  const broker = await withBroker({ authorizerClassName: 'fjord', superUsers: [], allowEveryoneIfNoAclFound: false });
  const conn = await RawConnection.connect(broker.port);
  try {
    const r = await conn.request(ApiKey.AlterReplicaLogDirs, 2, { dirs: [{ path: '/x', topics: [{ name: 't', partitions: [0, 1] }] }] });
    assert.deepEqual(outcomes(r), [['t', 0, ErrorCode.CLUSTER_AUTHORIZATION_FAILED], ['t', 1, ErrorCode.CLUSTER_AUTHORIZATION_FAILED]]);
  } finally {
    conn.socket.destroy();
    await broker.stop();
  }
});
