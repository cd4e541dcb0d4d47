// cleanup.policy=compact on an engine without a log cleaner (PostgreSQL): refused with
// INVALID_CONFIG and a message saying why, on CreateTopics and on config alters (AlterConfigs and
// IncrementalAlterConfigs), through the real `fjord server --storage postgres://`, kafkajs and raw requests; a
// delete-policy topic on the same broker is unaffected. The memory engine still only warns.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { Kafka as FjordKafka } from '../../src/client/index.js';
import { startServerProcess } from '../server-process.js';
import { pgForTestFile } from '../pg-test-file.js';
import { withBroker } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';

const { skip, pg } = await pgForTestFile('postgres compaction test');

const INVALID_CONFIG = 40;
const NOT_COMPACTED = /cleanup\.policy=.*compact.* not supported: the postgres storage engine does not compact topics/;

describe('PostgreSQL engine: compaction refused', skip ? { skip } : {}, () => {
  test('CreateTopics and config alters with cleanup.policy containing compact get INVALID_CONFIG', async () => {
    assert.ok(pg);
    const server = await startServerProcess(['--storage', `${pg.url}?schema=it_compact_refused`]);
    try {
      const kafka = new Kafka({ clientId: 'pg-compact', brokers: [server.address], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
      const admin = kafka.admin();
      await admin.connect();
      for (const value of ['compact', 'compact,delete', 'delete,compact']) {
        await assert.rejects(
          admin.createTopics({ topics: [{ topic: `c-${value.replace(',', '-')}`, configEntries: [{ name: 'cleanup.policy', value }] }] }),
          (err: Error & { errors?: { type: string; message: string }[] }) => {
            const e = err.errors?.[0] ?? (err as unknown as { type: string; message: string });
            assert.equal(e.type, 'INVALID_CONFIG', JSON.stringify(e));
            return true;
          },
          value,
        );
      }
      assert.deepEqual((await admin.listTopics()).filter((t) => t.startsWith('c-')), []);
      assert.equal(await admin.createTopics({ topics: [{ topic: 'plain', configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }] }), true);
      await admin.disconnect();

      // AlterConfigs through Fjord's client: the code and the broker's message.
      const fjord = new FjordKafka({ brokers: [server.address], logLevel: 0, retry: { retries: 0 } });
      const fa = fjord.admin();
      await fa.connect();
      await assert.rejects(fa.alterConfigs({ resources: [{ type: 2, name: 'plain', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }), (err: Error & { code?: number }) => {
        assert.equal(err.code, INVALID_CONFIG);
        assert.match(err.message, NOT_COMPACTED);
        return true;
      });
      const cfg = await fa.describeConfigs({ resources: [{ type: 2, name: 'plain', configNames: ['cleanup.policy'] }] });
      assert.equal(cfg.resources[0].configEntries[0].configValue, 'delete', 'the refused alter changed nothing');
      await fa.disconnect();
      // IncrementalAlterConfigs (what Kafka's kafka-configs sends): APPEND compact to the policy.
      const raw = await RawConnection.connect(server.port);
      const incr = await raw.request(ApiKey.IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 2, resourceName: 'plain', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }] }], validateOnly: false,
      });
      assert.equal(incr.responses[0].errorCode, INVALID_CONFIG);
      assert.match(incr.responses[0].errorMessage, NOT_COMPACTED);
      raw.close();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});

test('memory engine: cleanup.policy=compact is accepted with a warning (nothing it holds outlives the process)', async () => {
  const broker = await withBroker();
  try {
    const fjord = new FjordKafka({ brokers: [broker.address], logLevel: 0 });
    const admin = fjord.admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: 'mem-compact', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }), true);
    await admin.disconnect();
  } finally {
    await broker.stop();
  }
});
