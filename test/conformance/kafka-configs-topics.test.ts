// Apache Kafka 4.1's own `kafka-configs --describe --all` on a Fjord topic: every topic setting
// is listed with a value (issue 15). Needs Java; slow, so not part of npm test:
//   node --import tsx --test test/conformance/kafka-configs-topics.test.ts
// KAFKA_DIST_DIR=<dir with lib/ and config/> reuses jars already fetched; otherwise
// scripts/kafka-dist.mjs fetches them with Maven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync } from '../../scripts/kafka-dist.mjs';
import { TOPIC_SETTINGS } from '../../src/broker/settings.js';
import { withBroker } from '../helpers.js';

async function dist() {
  const dir = process.env.KAFKA_DIST_DIR;
  if (!dir) return ensureKafka({ quiet: true });
  return { classpath: join(dir, 'lib', '*'), toolsLog4j: join(dir, 'config', 'log4j2-tools.properties'), serverLog4j: join(dir, 'config', 'log4j2-server.properties') };
}

test('kafka-configs --describe --all --entity-type topics shows every topic setting with a value', { timeout: 300000 }, async () => {
  const broker = await withBroker({ segmentBytes: 1048576 });
  const d = await dist();
  const kc = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    runKafkaClassSync('kafka.admin.ConfigCommand', ['--bootstrap-server', broker.address, ...args], { dist: d, heap: '256M' });
  try {
    await broker.broker.topics.create('described', 1, { 'retention.ms': '60000' });
    const r = await kc('--describe', '--all', '--entity-type', 'topics', '--entity-name', 'described');
    assert.equal(r.code, 0, r.stderr);
    const lines = new Map<string, string>();
    for (const m of r.stdout.matchAll(/^\s+([a-z0-9.]+)=(\S*) sensitive=false synonyms=\{(.*)\}$/gm)) lines.set(m[1], `${m[2]} {${m[3]}}`);
    for (const name of Object.keys(TOPIC_SETTINGS)) assert.ok(lines.has(name), `${name} missing from:\n${r.stdout}`);
    assert.match(lines.get('retention.ms')!, /^60000 \{DYNAMIC_TOPIC_CONFIG:retention.ms=60000, DEFAULT_CONFIG:log.retention.hours=168\}/);
    assert.match(lines.get('segment.bytes')!, /^1048576 \{STATIC_BROKER_CONFIG:log.segment.bytes=1048576, DEFAULT_CONFIG:log.segment.bytes=1073741824\}/);
    assert.match(lines.get('preallocate')!, /^false /);
  } finally {
    await broker.stop();
  }
});
