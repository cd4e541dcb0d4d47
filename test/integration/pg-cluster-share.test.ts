// A `fjord server` in cluster mode (PostgreSQL) has no share-group coordinator yet (docs/cluster.md,
// Limits): it leaves the share-group APIs out of ApiVersions, so clients see a broker without share
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

const { skip, pg: server } = await pgForTestFile('postgres cluster share-group integration');

const servers: ServerProcess[] = [];
killServersAfterFile(() => servers);

const SHARE_APIS = [76, 77, 78, 79, 90, 91, 92];

describe('share groups on a cluster', skip ? { skip } : {}, () => {
  test('not advertised, refused clearly, the connection kept', async () => {
    assert.ok(server);
    servers.push(await startServerProcess(['--storage', `${server.url}?schema=it_cluster_share`, '--node-id', '1']));
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
