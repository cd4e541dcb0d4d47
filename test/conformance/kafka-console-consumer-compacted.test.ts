// Apache Kafka 4.1's own console consumer (org.apache.kafka.tools.consumer.ConsoleConsumer) reads a
// compacted Fjord topic after the log cleaner ran: the latest value of every key, at the offsets
// it was written at, tombstoned keys gone (issue 15). Needs Java; slow, so not part of npm test:
//   node --import tsx --test test/conformance/kafka-console-consumer-compacted.test.ts
// KAFKA_DIST_DIR=<dir with lib/ and config/> reuses jars already fetched; otherwise
// scripts/kafka-dist.mjs fetches them with Maven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync } from '../../scripts/kafka-dist.mjs';
import { kafkaFor, tempDir, withBroker } from '../helpers.js';

async function dist() {
  const dir = process.env.KAFKA_DIST_DIR;
  if (!dir) return ensureKafka({ quiet: true });
  return { classpath: join(dir, 'lib', '*'), toolsLog4j: join(dir, 'config', 'log4j2-tools.properties'), serverLog4j: join(dir, 'config', 'log4j2-server.properties') };
}

test('kafka-console-consumer reads the latest value per key of a compacted topic after cleaning', { timeout: 300000 }, async () => {
  const dir = tempDir();
  // The cleaner's timer never fires during the test: the pass is run by hand, once the data is in.
  const broker = await withBroker({ dataDir: dir.path, segmentBytes: 4096, logCleanerBackoffMs: 3_600_000 });
  const d = await dist();
  const kafka = kafkaFor(broker);
  const producer = kafka.producer();
  try {
    const topic = 'compacted';
    await broker.broker.topics.create(topic, 1, { 'cleanup.policy': 'compact', 'delete.retention.ms': '0', 'min.cleanable.dirty.ratio': '0.01' });
    await producer.connect();
    const latest = new Map<string, { offset: number; value: string | null }>();
    let offset = 0;
    const send = async (messages: { key: string; value: string | null }[]) => {
      await producer.send({ topic, messages });
      for (const m of messages) latest.set(m.key, { offset: offset++, value: m.value });
    };
    await send([{ key: 'once', value: 'written once, in the first segment' }]);
    for (let round = 0; round < 30; round++) {
      // Round 20 deletes k0 and k1 (tombstones); later rounds never write them again.
      await send(Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: round === 20 && k < 2 ? null : round > 20 && k < 2 ? `skip` : `v${round}-k${k}-${'x'.repeat(60)}` })).filter((m) => m.value !== 'skip'));
    }
    const cleaned = await broker.broker.cleaner.runOnce();
    const r = cleaned.get(`${topic}-0`);
    assert.ok(r && r.recordsOut < r.recordsIn, `a pass cleaned ${topic}-0: ${JSON.stringify(r)}`);
    const end = offset;
    // Survivors: every key's latest record below the active segment, and all records from there on.
    const log = broker.broker.storage.partition(topic, 0)!;
    const read = await log.read(0, 1 << 30, false);
    const { iterateBatches } = await import('../../src/protocol/records.js');
    let survivors = 0;
    for (const { header } of iterateBatches(Buffer.concat(read.chunks))) survivors += header.recordCount;
    assert.ok(survivors < end / 2, `${survivors} of ${end} records left`);

    const out: { code: number; stdout: string; stderr: string } = await runKafkaClassSync('console-consumer', [
      '--bootstrap-server', broker.address, '--topic', topic, '--from-beginning', '--max-messages', String(survivors), '--timeout-ms', '60000',
      '--property', 'print.key=true', '--property', 'print.offset=true', '--property', 'key.separator=|',
    ], { dist: d, heap: '256M' });
    assert.equal(out.code, 0, out.stderr);
    const got = new Map<string, { offset: number; value: string | null }>();
    const lines = out.stdout.split('\n').filter((l) => l.startsWith('Offset:'));
    assert.equal(lines.length, survivors, out.stdout);
    for (const line of lines) {
      const [o, key, value] = line.split('|');
      got.set(key, { offset: Number(o.slice('Offset:'.length)), value: value === 'null' ? null : value });
    }
    const expected = new Map([...latest].filter(([, v]) => v.value !== null));
    assert.deepEqual(got, expected);
    assert.ok(!got.has('k0') && !got.has('k1'), 'tombstoned keys are gone');
    assert.deepEqual(got.get('once'), { offset: 0, value: 'written once, in the first segment' }, 'a key written once keeps its record at offset 0');
  } finally {
    await producer.disconnect().catch(() => undefined);
    await broker.stop();
    dir.remove();
  }
});
