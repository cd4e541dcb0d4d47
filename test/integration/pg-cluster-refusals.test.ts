// What a `fjord server` in cluster mode (PostgreSQL) refuses clearly rather than ignore (docs/cluster.md,
// Limits). Manual replica assignments (CreateTopics, CreatePartitions): the cluster places leaders
// itself, so even an assignment naming only this broker is INVALID_REPLICA_ASSIGNMENT (it was taken
// and then not honoured). Share groups: no share-group coordinator yet, so it leaves their APIs out
// of ApiVersions, so clients see a broker without share
// groups (franz-go and Kafka's share consumer skip or refuse clearly) instead of APIs answering
// COORDINATOR_NOT_AVAILABLE forever; a share-group config change gets COORDINATOR_NOT_AVAILABLE for
// its resource, and the connection keeps serving (it was closed by a thrown error before).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { pgForTestFile, killServersAfterFile } from '../pg-test-file.js';
import { RawConnection, type Message } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';

const { skip, pg: server } = await pgForTestFile('postgres cluster refusals integration');

const servers: ServerProcess[] = [];
killServersAfterFile(() => servers);

const SHARE_APIS = [76, 77, 78, 79, 90, 91, 92];

describe('what a cluster refuses', skip ? { skip } : {}, () => {
  test('manual replica assignments, even naming this broker only: INVALID_REPLICA_ASSIGNMENT', async () => {
    assert.ok(server);
    servers.push(await startServerProcess(['--storage', `${server.url}?schema=it_cluster_refusals`, '--node-id', '1']));
    const conn = await RawConnection.connect(Number(servers[0]!.address.split(':')[1]));
    try {
      let r = await conn.request(ApiKey.CreateTopics, 4, {
        topics: [{ name: 'assigned', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 1, brokerIds: [1] }], configs: [] }],
        timeoutMs: 10000, validateOnly: false,
      });
      assert.equal(r.topics[0].errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT);
      assert.match(r.topics[0].errorMessage, /places partition leaders itself/);
      r = await conn.request(ApiKey.CreateTopics, 4, { topics: [{ name: 'counted', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false });
      assert.equal(r.topics[0].errorCode, ErrorCode.NONE);
      r = await conn.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'counted', count: 3, assignments: [{ brokerIds: [1] }] }], timeoutMs: 10000, validateOnly: false });
      assert.deepEqual(r.results.map((x: Message) => x.errorCode), [ErrorCode.INVALID_REPLICA_ASSIGNMENT]);
    } finally {
      conn.close();
    }
  });

  test('share groups: not advertised, refused clearly, the connection kept', async () => {
    assert.ok(server);
    const port = Number(servers[0]!.address.split(':')[1]);
    const conn = await RawConnection.connect(port);
    try {
      const versions = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
      const keys = (versions.apiKeys as Message[]).map((k) => k.apiKey as number);
      assert.deepEqual(SHARE_APIS.filter((k) => keys.includes(k)), [], 'no share-group API advertised');
      assert.ok(keys.includes(ApiKey.ConsumerGroupHeartbeat) && keys.includes(ApiKey.IncrementalAlterConfigs));

      const altered = await conn.request(ApiKey.IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 32, resourceName: 'sg', configs: [{ name: 'share.auto.offset.reset', configOperation: 0, value: 'earliest' }] }],
        validateOnly: false,
      });
      assert.deepEqual(altered.responses.map((r: Message) => r.errorCode), [ErrorCode.COORDINATOR_NOT_AVAILABLE]);
      // Still serving on the same connection.
      const md = await conn.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
      assert.equal(md.brokers.length, 1);

      // A share-group request anyway: the connection is closed, as for any API not advertised.
      conn.write(RawConnection.frame(ApiKey.ShareGroupHeartbeat, 1, 7, { groupId: 'sg', memberId: 'm', memberEpoch: 0, rackId: null, subscribedTopicNames: ['t'] }));
      await conn.closed;
    } finally {
      conn.close();
    }
  });
});
