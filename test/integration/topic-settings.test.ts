// Topic settings honoured or refused (issue 15), driven with kafkajs against a real broker with a
// data dir: segments rolling by bytes and by time and retention by bytes and by time, per topic
// and from broker defaults, each seen on disk (segment files) and through ListOffsets (the log
// start offset moves); refusals with INVALID_CONFIG; LogAppendTime; timestamp bounds;
// min.insync.replicas; broker-side recompression.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CompressionTypes, type Admin, type Producer } from 'kafkajs';
import { Codec } from '../../src/protocol/compression.js';
import { decodeBatchRecords, iterateBatches } from '../../src/protocol/records.js';
import type { RunningBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { eventually, kafkaFor, tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { RawConnection } from '../raw-client.js';

const dir = tempDir('fjord-topic-settings-');
const dir2 = tempDir('fjord-topic-settings-defaults-');
let broker: RunningBroker;
let admin: Admin;
let producer: Producer;

before(async () => {
  broker = await withBroker({ dataDir: dir.path, retentionCheckIntervalMs: 100 });
  const kafka = kafkaFor(broker);
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
});
after(async () => {
  await producer.disconnect();
  await admin.disconnect();
  await broker.stop();
  dir.remove();
  dir2.remove();
});

const VALUE = 'x'.repeat(500); // one record: a batch of about 570 bytes

/** The partition folder's files: segments (.log) and those set aside for deletion. */
function files(dataDir: string, topic: string): { logs: string[]; deleted: string[] } {
  const names = readdirSync(join(dataDir, `${topic}-0`));
  return { logs: names.filter((n) => n.endsWith('.log')), deleted: names.filter((n) => n.endsWith('.deleted')) };
}

async function create(topic: string, configs: Record<string, string>): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }] });
}

async function sendEach(p: Producer, topic: string, n: number, timestamp?: string): Promise<void> {
  for (let i = 0; i < n; i++) await p.send({ topic, acks: -1, messages: [{ value: VALUE, timestamp }] });
}

async function low(a: Admin, topic: string): Promise<number> {
  return Number((await a.fetchTopicOffsets(topic))[0].low);
}

test('segment.bytes per topic rolls segments; retention.bytes drops the oldest whole ones (disk and ListOffsets)', async () => {
  const rolled = uniqueTopic('seg-bytes');
  await create(rolled, { 'segment.bytes': '1024', 'retention.ms': '-1' });
  await sendEach(producer, rolled, 20);
  // 20 appends of ~570 B with 1024-byte segments: one batch a segment (the report: one file).
  assert.equal(files(dir.path, rolled).logs.length, 20);
  assert.equal(await low(admin, rolled), 0);

  const bounded = uniqueTopic('ret-bytes');
  await create(bounded, { 'segment.bytes': '2048', 'retention.bytes': '3000', 'retention.ms': '-1', 'file.delete.delay.ms': '0' });
  await sendEach(producer, bounded, 20); // 3 batches a segment, 7 segments
  await eventually(async () => (await low(admin, bounded)) > 0, 15000, 'retention.bytes to move the log start');
  // Kafka's rule: the oldest segment goes while the partition stays at or above retention.bytes
  // without it. 6 segments of ~1710 B and the active one (~1140 B): 4 go, 2 and the active stay.
  await eventually(() => files(dir.path, bounded).logs.length === 3, 15000, 'old segments deleted');
  assert.equal(await low(admin, bounded), 12);
  const offsets = await admin.fetchTopicOffsets(bounded);
  assert.equal(offsets[0].high, '20');
});

test('file.delete.delay.ms: removed segments wait as *.deleted, then go', async () => {
  const t = uniqueTopic('delete-delay');
  await create(t, { 'segment.bytes': '1024', 'retention.bytes': '0', 'retention.ms': '-1', 'file.delete.delay.ms': '1500' });
  await sendEach(producer, t, 4);
  await eventually(async () => (await low(admin, t)) === 3, 15000, 'retention.bytes=0 to keep only the active segment');
  assert.ok(files(dir.path, t).deleted.some((n) => n.endsWith('.log.deleted')), 'set aside, not deleted yet');
  await eventually(() => files(dir.path, t).deleted.length === 0, 15000, 'set-aside files deleted after the delay');
  assert.deepEqual(files(dir.path, t).logs, ['00000000000000000003.log']);
});

test('segment.ms per topic rolls by time; retention.ms drops segments of old records', async () => {
  const t = uniqueTopic('seg-ms');
  await create(t, { 'segment.ms': '200', 'retention.ms': '-1' });
  await sendEach(producer, t, 1);
  await sendEach(producer, t, 1);
  assert.equal(files(dir.path, t).logs.length, 1, 'young segment kept');
  await new Promise((r) => setTimeout(r, 300));
  await sendEach(producer, t, 1);
  assert.equal(files(dir.path, t).logs.length, 2, 'rolled once the segment was older than segment.ms');

  const old = uniqueTopic('ret-ms');
  await create(old, { 'segment.bytes': '1024', 'retention.ms': '60000', 'file.delete.delay.ms': '0' });
  await sendEach(producer, old, 3, String(Date.now() - 3600_000)); // an hour old
  await sendEach(producer, old, 2); // new
  await eventually(async () => (await low(admin, old)) === 3, 15000, 'retention.ms to drop the hour-old records');
  await eventually(() => files(dir.path, old).logs.length === 2, 15000, 'their segments deleted');
});

/** A broker of its own (broker-default settings) with a connected admin and producer, for `body`; stopped after. */
async function withOwnBroker(options: Parameters<typeof withBroker>[0], body: (a: Admin, p: Producer) => Promise<void>): Promise<void> {
  const b = await withBroker(options);
  const kafka = kafkaFor(b);
  const a = kafka.admin();
  const p = kafka.producer({ retry: { retries: 0 } });
  await a.connect();
  await p.connect();
  try {
    await body(a, p);
  } finally {
    await p.disconnect();
    await a.disconnect();
    await b.stop();
  }
}

test('broker defaults (log.segment.bytes, log.retention.bytes) apply to topics without their own', async () => {
  await withOwnBroker({ dataDir: dir2.path, segmentBytes: 1024, retentionBytes: 2500, segmentDeleteDelayMs: 0, retentionCheckIntervalMs: 100 }, async (a, p) => {
    const t = uniqueTopic('broker-defaults');
    await a.createTopics({ topics: [{ topic: t }] });
    await sendEach(p, t, 10);
    // One ~570-byte batch a segment: 5 of the 10 go, leaving ~2850 B (one fewer would be under 2500).
    await eventually(async () => (await low(a, t)) === 5, 15000, 'log.retention.bytes to move the log start');
    await eventually(() => files(dir2.path, t).logs.length === 5, 15000, 'segments deleted');
    const described = await a.describeConfigs({ resources: [{ type: 2, name: t }], includeSynonyms: true });
    const byName = new Map(described.resources[0].configEntries.map((e) => [e.configName, e]));
    assert.equal(byName.get('segment.bytes')!.configValue, '1024');
    assert.equal(byName.get('retention.bytes')!.configValue, '2500');
    assert.equal(byName.get('retention.ms')!.configValue, '604800000');
    // Synonyms: the broker setting that was set, then the default under the broker's name.
    assert.deepEqual(byName.get('segment.bytes')!.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource]),
      [['log.segment.bytes', '1024', 4], ['log.segment.bytes', '1073741824', 5]]);
    assert.deepEqual(byName.get('retention.ms')!.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource]), [['log.retention.hours', '168', 5]]);
  });
});

test('broker defaults by time (log.roll.ms, log.retention.ms) roll and delete segments of topics without their own', async () => {
  const dir3 = tempDir('fjord-topic-settings-time-');
  try {
    // log.roll.ms 2 s: long enough that two sends on a loaded machine stay in one segment (200 ms was not).
    await withOwnBroker({ dataDir: dir3.path, rollMs: 2000, retentionMs: 60000, segmentDeleteDelayMs: 0, retentionCheckIntervalMs: 100 }, async (a, p) => {
      const t = uniqueTopic('roll-default');
      await a.createTopics({ topics: [{ topic: t }] });
      await sendEach(p, t, 2);
      assert.equal(files(dir3.path, t).logs.length, 1, 'young segment kept');
      await new Promise((r) => setTimeout(r, 2100));
      await sendEach(p, t, 1);
      assert.equal(files(dir3.path, t).logs.length, 2, 'rolled once the segment was older than log.roll.ms');

      const old = uniqueTopic('retention-default');
      await a.createTopics({ topics: [{ topic: old }] });
      await sendEach(p, old, 3, String(Date.now() - 3600_000)); // an hour old, past log.retention.ms
      await new Promise((r) => setTimeout(r, 2100));
      await sendEach(p, old, 2); // new: rolls the old segment first
      await eventually(async () => (await low(a, old)) === 3, 15000, 'log.retention.ms to drop the hour-old records');
      await eventually(() => files(dir3.path, old).logs.length === 1, 15000, 'their segment deleted');
    });
  } finally {
    dir3.remove();
  }
});

test('refused settings: INVALID_CONFIG with the reason, on CreateTopics and AlterConfigs', async () => {
  const t = uniqueTopic('refused');
  for (const [name, value, why] of [['preallocate', 'true', /preallocate=true is not supported/], ['remote.storage.enable', 'true', /tiered storage/], ['flush.messages', '1', /fsync is broker-wide/]] as const) {
    await assert.rejects(create(t, { [name]: value }), (err: { errors?: { type: string; message: string }[] }) => {
      assert.equal(err.errors?.[0]?.type, 'INVALID_CONFIG', name);
      return true;
    });
    // kafkajs shows its own text; the broker's reason is in the CreateTopics answer itself.
    const c = await RawConnection.connect(broker.port);
    try {
      const res = await c.request(ApiKey.CreateTopics, 5, {
        topics: [{ name: t, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name, value }] }], timeoutMs: 5000, validateOnly: false,
      });
      assert.equal(res.topics[0].errorCode, ErrorCode.INVALID_CONFIG, name);
      assert.match(res.topics[0].errorMessage ?? '', why, name);
    } finally {
      c.close();
    }
  }
  await create(t, { preallocate: 'false' });
  await assert.rejects(admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: t, configEntries: [{ name: 'local.retention.ms', value: '1000' }] }] }),
    (err: Error) => /INVALID_CONFIG|tiered storage/i.test(`${err.message} ${(err as { type?: string }).type}`));
  const broker2Topic = broker.broker.storage.topic(t)!;
  assert.deepEqual(broker2Topic.configs, { preallocate: 'false' });
});

test('message.timestamp.type=LogAppendTime stamps the broker time; before/after.max.ms refuse far timestamps', async () => {
  const t = uniqueTopic('log-append');
  await create(t, { 'message.timestamp.type': 'LogAppendTime' });
  const sent = Date.now();
  const [meta] = await producer.send({ topic: t, acks: -1, messages: [{ value: 'v', timestamp: '1000' }] });
  assert.ok(Number(meta.logAppendTime) >= sent - 1000, `logAppendTime ${meta.logAppendTime}`);

  const bounded = uniqueTopic('ts-bounds');
  await create(bounded, { 'message.timestamp.before.max.ms': '60000', 'message.timestamp.after.max.ms': '60000' });
  await producer.send({ topic: bounded, acks: -1, messages: [{ value: 'now' }] });
  for (const ts of [Date.now() - 3600_000, Date.now() + 3600_000]) {
    await assert.rejects(producer.send({ topic: bounded, acks: -1, messages: [{ value: 'far', timestamp: String(ts) }] }), /timestamp|INVALID_TIMESTAMP/i);
  }
  assert.equal((await admin.fetchTopicOffsets(bounded))[0].high, '1');
});

test('min.insync.replicas=2: acks=all gets NOT_ENOUGH_REPLICAS (one replica), acks=1 succeeds', async () => {
  const t = uniqueTopic('min-isr');
  await create(t, { 'min.insync.replicas': '2' });
  await assert.rejects(producer.send({ topic: t, acks: -1, messages: [{ value: 'all' }] }), (err: Error) => {
    assert.match(`${err.message} ${(err as { type?: string }).type ?? ''} ${String((err as { cause?: unknown }).cause ?? '')}`, /NOT_ENOUGH_REPLICAS|in-sync replicas/i);
    return true;
  });
  const [meta] = await producer.send({ topic: t, acks: 1, messages: [{ value: 'one' }] });
  assert.equal(meta.errorCode, 0);
  assert.equal((await admin.fetchTopicOffsets(t))[0].high, '1');
});

test('compression.type=zstd: a gzip batch is stored (and fetched) as zstd with the same records', async () => {
  const t = uniqueTopic('recompress');
  await create(t, { 'compression.type': 'zstd' });
  await producer.send({ topic: t, acks: -1, compression: CompressionTypes.GZIP, messages: [{ key: 'k1', value: 'one' }, { key: 'k2', value: 'two' }] });
  const log = broker.broker.storage.partition(t, 0)!;
  const read = await log.read(0, 1 << 20, true);
  const batches = [...iterateBatches(Buffer.concat(read.chunks))];
  assert.equal(batches.length, 1);
  assert.equal(batches[0].header.attributes & 7, Codec.zstd);
  const records = await decodeBatchRecords(batches[0].bytes, batches[0].header);
  assert.deepEqual(records.map((r) => [r.key?.toString(), r.value?.toString()]), [['k1', 'one'], ['k2', 'two']]);
  // uncompressed: the batch is stored without compression.
  const plain = uniqueTopic('decompress');
  await create(plain, { 'compression.type': 'uncompressed' });
  await producer.send({ topic: plain, acks: -1, compression: CompressionTypes.GZIP, messages: [{ value: 'a' }] });
  const [b] = [...iterateBatches(Buffer.concat((await broker.broker.storage.partition(plain, 0)!.read(0, 1 << 20, true)).chunks))];
  assert.equal(b.header.attributes & 7, Codec.none);
});
