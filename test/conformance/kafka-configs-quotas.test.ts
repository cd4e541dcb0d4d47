// Apache Kafka 4.1's own `kafka-configs` (kafka.admin.ConfigCommand, which uses AlterClientQuotas /
// DescribeClientQuotas) managing Fjord's client quotas. Needs Java; slow, so not part of npm test:
//   node --import tsx --test test/conformance/kafka-configs-quotas.test.ts
// KAFKA_DIST_DIR=<dir with lib/ and config/> reuses jars already fetched; otherwise
// scripts/kafka-dist.mjs fetches them with Maven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync } from '../../scripts/kafka-dist.mjs';
import { withBroker } from '../helpers.js';

async function dist() {
  const dir = process.env.KAFKA_DIST_DIR;
  if (!dir) return ensureKafka({ quiet: true });
  return { classpath: join(dir, 'lib', '*'), toolsLog4j: join(dir, 'config', 'log4j2-tools.properties'), serverLog4j: join(dir, 'config', 'log4j2-server.properties') };
}

test('kafka-configs --alter/--describe --entity-type users/clients manages Fjord\'s quotas', { timeout: 300000 }, async () => {
  const broker = await withBroker();
  const d = await dist();
  const kc = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    runKafkaClassSync('kafka.admin.ConfigCommand', ['--bootstrap-server', broker.address, ...args], { dist: d, heap: '256M' });
  try {
    let r = await kc('--alter', '--add-config', 'producer_byte_rate=1024,consumer_byte_rate=2048', '--entity-type', 'users', '--entity-name', 'alice');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Completed updating config for user alice/);
    r = await kc('--alter', '--add-config', 'request_percentage=50', '--entity-type', 'users', '--entity-default');
    assert.equal(r.code, 0, r.stderr);
    r = await kc('--alter', '--add-config', 'producer_byte_rate=10', '--entity-type', 'users', '--entity-name', 'alice', '--entity-type', 'clients', '--entity-name', 'app');
    assert.equal(r.code, 0, r.stderr);
    r = await kc('--alter', '--delete-config', 'consumer_byte_rate', '--entity-type', 'users', '--entity-name', 'alice');
    assert.equal(r.code, 0, r.stderr);

    r = await kc('--describe', '--entity-type', 'users');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Quota configs for user-principal 'alice' are producer_byte_rate=1024\.0\n/);
    assert.match(r.stdout, /Quota configs for the default user-principal are request_percentage=50\.0/);
    r = await kc('--describe', '--entity-type', 'users', '--entity-name', 'alice', '--entity-type', 'clients', '--entity-name', 'app');
    assert.match(r.stdout, /producer_byte_rate=10\.0/);
    // Fjord's own state agrees.
    assert.equal(broker.broker.quotaStore.get({ user: 'alice' }, 'producer_byte_rate'), 1024);
    assert.equal(broker.broker.quotaStore.get({ user: 'alice' }, 'consumer_byte_rate'), undefined);
    assert.equal(broker.broker.quotaStore.get({ user: 'alice', 'client-id': 'app' }, 'producer_byte_rate'), 10);
  } finally {
    await broker.stop();
  }
});
