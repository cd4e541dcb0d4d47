// Old message formats and compression against a real broker: raw Produce v0–2 (message sets,
// compressed wrappers) read back with Fetch v0–4; kcat (librdkafka) with every codec, in both the
// current and the pre-0.10 protocol; kafka-node 5.0.0 producing gzip/snappy and consuming.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { withBroker, uniqueTopic } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { Codec, compressSync } from '../../src/protocol/compression.js';
import { encodeMessage, parseMessageSet, type LegacyMessage } from '../../src/protocol/legacy.js';
import { Attr, decodeBatchRecords, encodeBatch, encodeBatchCompressed, iterateBatches, validateBatches } from '../../src/protocol/records.js';
import type { RunningBroker } from '../../src/index.js';

const require = createRequire(import.meta.url);

let broker: RunningBroker;
before(async () => {
  broker = await withBroker({ host: ['127.0.0.1', '::1'], advertisedHost: 'localhost' });
});
after(async () => { await broker.stop(); });

const b = (s: string) => Buffer.from(s);

async function connect(): Promise<RawConnection> {
  return RawConnection.connect(broker.port);
}

let correlation = 1;
async function produce(c: RawConnection, version: number, topic: string, records: Buffer, partition = 0): Promise<{ errorCode: number; baseOffset: number; logAppendTimeMs: number }> {
  const body = await c.request(ApiKey.Produce, version, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  }, correlation++);
  return body.responses[0].partitionResponses[0];
}

async function fetchRaw(c: RawConnection, version: number, topic: string, fetchOffset: number, partitionMaxBytes = 1 << 20, partition = 0): Promise<{ errorCode: number; highWatermark: number; records: Buffer }> {
  const body = await c.request(ApiKey.Fetch, version, {
    replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 10 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition, fetchOffset, partitionMaxBytes, currentLeaderEpoch: -1, logStartOffset: -1 }] }],
    forgottenTopicsData: [], rackId: '',
  }, correlation++);
  const p = body.responses[0].partitions[0];
  return { errorCode: p.errorCode, highWatermark: p.highWatermark, records: p.records ?? Buffer.alloc(0) };
}

/** Fetch v4+: the stored v2 batches' codecs and their records. */
async function fetchBatches(c: RawConnection, topic: string, partition = 0) {
  const { records } = await fetchRaw(c, 4, topic, 0, 10 << 20, partition);
  const codecs: number[] = [];
  const recs: { offset: number; key: string | null; value: string | null; timestamp: number }[] = [];
  for (const { header, bytes } of iterateBatches(records)) {
    codecs.push(header.attributes & Attr.COMPRESSION_MASK);
    for (const r of await decodeBatchRecords(bytes, header)) {
      recs.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp });
    }
  }
  return { codecs, recs };
}

const view = (ms: LegacyMessage[]) => ms.map((m) => [m.offset, m.key?.toString() ?? null, m.value?.toString() ?? null]);

function xerialSnappy(data: Buffer): Buffer {
  const z = compressSync(Codec.snappy, data);
  const len = Buffer.alloc(4);
  len.writeInt32BE(z.length);
  return Buffer.concat([Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]), len, z]);
}

test('raw Produce v0, v1, v2 (message sets, gzip and xerial-snappy wrappers) read back with Fetch v0–4', async () => {
  const topic = uniqueTopic('legacy-raw');
  await broker.broker.topics.create(topic, 1);
  const c = await connect();
  const before = Date.now();

  // v0: two plain magic-0 messages.
  const r0 = await produce(c, 0, topic, Buffer.concat([
    encodeMessage({ offset: 0, magic: 0, key: b('k0'), value: b('v0') }),
    encodeMessage({ offset: 0, magic: 0, key: null, value: b('v1') }),
  ]));
  assert.deepEqual([r0.errorCode, r0.baseOffset], [0, 0]);

  // v1: a gzip wrapper (magic 0) whose inner offsets are all zero.
  const inner0 = [2, 3, 4].map((i) => encodeMessage({ offset: 0, magic: 0, key: b(`k${i}`), value: b(`v${i}`) }));
  const r1 = await produce(c, 1, topic, encodeMessage({ offset: 0, magic: 0, attributes: Codec.gzip, value: gzipSync(Buffer.concat(inner0)) }));
  assert.deepEqual([r1.errorCode, r1.baseOffset], [0, 2]);

  // v2: a xerial-snappy wrapper (magic 1, relative inner offsets) followed by a plain v1 message.
  const inner1 = [5, 6, 7].map((i, rel) => encodeMessage({ offset: rel, magic: 1, timestamp: 1_600_000_000_000 + i, key: b(`k${i}`), value: b(`v${i}`) }));
  const r2 = await produce(c, 2, topic, Buffer.concat([
    encodeMessage({ offset: 2, magic: 1, attributes: Codec.snappy, timestamp: 1_600_000_000_007, value: xerialSnappy(Buffer.concat(inner1)) }),
    encodeMessage({ offset: 0, magic: 1, timestamp: 1_600_000_000_008, key: null, value: b('v8') }),
  ]));
  assert.deepEqual([r2.errorCode, r2.baseOffset, r2.logAppendTimeMs], [0, 5, -1]);

  const want = [[0, 'k0', 'v0'], [1, null, 'v1'], [2, 'k2', 'v2'], [3, 'k3', 'v3'], [4, 'k4', 'v4'], [5, 'k5', 'v5'], [6, 'k6', 'v6'], [7, 'k7', 'v7'], [8, null, 'v8']];
  for (const version of [0, 1, 2, 3]) {
    const f = await fetchRaw(c, version, topic, 0);
    assert.equal(f.errorCode, 0);
    assert.equal(f.highWatermark, 9);
    const ms = parseMessageSet(f.records, false);
    assert.deepEqual(view(ms), want, `Fetch v${version}`);
    assert.ok(ms.every((m) => m.magic === (version <= 1 ? 0 : 1) && (m.attributes & 7) === 0), `Fetch v${version} magic and no compression`);
    if (version >= 2) {
      assert.ok(ms.slice(0, 5).every((m) => m.timestamp >= before && m.timestamp <= Date.now()), 'v0 messages got broker time');
      assert.deepEqual(ms.slice(5).map((m) => m.timestamp), [5, 6, 7, 8].map((i) => 1_600_000_000_000 + i));
    }
  }
  // Starting inside a converted batch returns messages from that offset on.
  assert.deepEqual(view(parseMessageSet((await fetchRaw(c, 2, topic, 3)).records, false)).map((m) => m[0]), [3, 4, 5, 6, 7, 8]);
  // A small partition limit yields whole messages only (and at least one).
  const small = await fetchRaw(c, 0, topic, 0, 60);
  assert.ok(small.records.length <= 60);
  assert.deepEqual(view(parseMessageSet(small.records, false)).map((m) => m[0]), [0, 1]);
  assert.equal(parseMessageSet((await fetchRaw(c, 0, topic, 0, 5)).records, false).length, 1);
  // Fetch v4 sees the stored v2 batches: the producers' codecs were kept.
  const stored = await fetchBatches(c, topic);
  assert.deepEqual(stored.codecs, [Codec.none, Codec.gzip, Codec.snappy]);
  assert.deepEqual(stored.recs.map((r) => [r.offset, r.key, r.value]), want);
  // ListOffsets v0 (old format) agrees.
  const lo = await c.request(ApiKey.ListOffsets, 0, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1, maxNumOffsets: 1 }] }] }, correlation++);
  assert.deepEqual(lo.topics[0].partitions[0].oldStyleOffsets, [9]);
  c.close();
});

test('v2 batches (any codec, including zstd) are served to Fetch v0–3 decompressed', async () => {
  const topic = uniqueTopic('legacy-down');
  await broker.broker.topics.create(topic, 1);
  const c = await connect();
  const values: string[] = [];
  for (const codec of [Codec.none, Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    const records = [0, 1].map((i) => ({ key: `c${codec}-${i}`, value: `codec ${codec} record ${i} `.repeat(10) }));
    values.push(...records.map((r) => r.value));
    const r = await produce(c, 7, topic, await encodeBatchCompressed({ records }, codec));
    assert.equal(r.errorCode, 0, `codec ${codec}`);
  }
  // A control batch (clients may not write one: it goes straight to the log) is never shown to old clients.
  const control = encodeBatch({ records: [{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }], control: true });
  const log = broker.broker.storage.partition(topic, 0)!;
  await log.append(control, validateBatches(control), { sync: false });
  const after = await encodeBatchCompressed({ records: [{ key: 'last', value: 'after the marker' }] }, Codec.lz4);
  assert.equal((await produce(c, 7, topic, after)).errorCode, 0);
  values.push('after the marker');
  for (const version of [0, 3]) {
    const ms = parseMessageSet((await fetchRaw(c, version, topic, 0)).records, false);
    assert.deepEqual(ms.map((m) => m.value!.toString()), values);
    assert.deepEqual(ms.map((m) => m.offset), [...values.slice(0, -1).map((_, i) => i), values.length]);
  }
  c.close();
});

test('refused over the wire: bad CRC, zstd or unknown codecs, wrong format for the version, oversized messages', async () => {
  const topic = uniqueTopic('legacy-bad');
  await broker.broker.topics.create(topic, 1, { 'max.message.bytes': '2000' });
  const c = await connect();
  const good = encodeMessage({ offset: 0, magic: 1, timestamp: 1, value: b('fine') });
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1] ^= 0x01;
  assert.equal((await produce(c, 2, topic, Buffer.concat([good, badCrc]))).errorCode, ErrorCode.CORRUPT_MESSAGE);
  // zstd wrappers do not exist before message format v2.
  assert.equal((await produce(c, 1, topic, encodeMessage({ offset: 0, magic: 0, attributes: Codec.zstd, value: b('zz') }))).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  // v2 batch with codec id 5–7: refused, never stored.
  for (const codec of [5, 7]) {
    assert.equal((await produce(c, 7, topic, encodeBatch({ records: [{ value: 'x' }], attributes: codec }))).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  }
  // zstd needs Produce v7+.
  const zstdBatch = await encodeBatchCompressed({ records: [{ value: 'z' }] }, Codec.zstd);
  assert.equal((await produce(c, 6, topic, zstdBatch)).errorCode, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  // A v2 batch in Produce v2, a message set in Produce v3.
  assert.equal((await produce(c, 2, topic, encodeBatch({ records: [{ value: 'x' }] }))).errorCode, ErrorCode.CORRUPT_MESSAGE);
  assert.equal((await produce(c, 3, topic, good)).errorCode, ErrorCode.CORRUPT_MESSAGE);
  // max.message.bytes limits each message as sent, not the converted whole.
  assert.equal((await produce(c, 0, topic, encodeMessage({ offset: 0, magic: 0, value: Buffer.alloc(2500, 1) }))).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  const many = Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeMessage({ offset: 0, magic: 0, value: Buffer.alloc(500, i) })));
  const ok = await produce(c, 0, topic, many);
  assert.deepEqual([ok.errorCode, ok.baseOffset], [0, 0]);
  // Nothing refused was stored: the log holds exactly those 20 messages.
  assert.equal((await fetchRaw(c, 4, topic, 0)).highWatermark, 20);
  assert.equal((await produce(c, 7, topic, zstdBatch)).errorCode, 0);
  c.close();
});

// ---------------------------------------------------------------------------------------------
// kcat (librdkafka 2.x)

const hasKcat = spawnSync('kcat', ['-V']).status === 0;
const noKcat = hasKcat ? false : 'kcat is not installed';

function kcat(args: string[], input?: string): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve) => {
    const child = spawn('kcat', ['-b', `localhost:${broker.port}`, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status });
    });
    child.stdin.end(input ?? '');
  });
}

/** librdkafka in its pre-0.10 mode: no ApiVersions, Produce v1 / Fetch v1, message format v0. */
const OLD_PROTOCOL = ['-X', 'api.version.request=false', '-X', 'broker.version.fallback=0.9.0.1'];

test('kcat -z gzip|snappy|lz4|zstd produces and consumes back, current and pre-0.10 protocol', { skip: noKcat }, async () => {
  const lines = Array.from({ length: 120 }, (_, i) => `key${i % 9}:value ${i} ${'abc'.repeat(i % 40)}`);
  const input = lines.join('\n') + '\n';
  const cases = [
    ...(['gzip', 'snappy', 'lz4', 'zstd'] as const).map((z) => ({ z, old: false })),
    ...(['gzip', 'snappy', 'lz4'] as const).map((z) => ({ z, old: true })),
  ];
  const codecOf = { gzip: Codec.gzip, snappy: Codec.snappy, lz4: Codec.lz4, zstd: Codec.zstd };
  const c = await connect();
  await Promise.all(cases.map(async ({ z, old }) => {
    const topic = uniqueTopic(`kcat-${z}${old ? '-old' : ''}`);
    await broker.broker.topics.create(topic, 1);
    const extra = old ? OLD_PROTOCOL : [];
    // A long linger gathers the lines into few batches; librdkafka still sends a batch uncompressed
    // when compressing it would not make it smaller.
    const p = await kcat(['-P', '-t', topic, '-p', '0', '-K', ':', '-z', z, '-X', 'linger.ms=200', ...extra], input);
    assert.equal(p.status, 0, `${z} ${old}: ${p.stderr}`);
    const stored = await fetchBatches(c, topic);
    assert.equal(stored.recs.length, lines.length, `${z} old=${old}: records stored`);
    const ok = stored.codecs.includes(codecOf[z]) && stored.codecs.every((x) => x === codecOf[z] || x === Codec.none);
    assert.ok(ok, `${z} old=${old}: stored codecs ${stored.codecs}`);
    const got = await kcat(['-C', '-t', topic, '-e', '-q', '-f', '%o %k:%s\\n', ...extra]);
    assert.equal(got.status, 0, got.stderr);
    assert.deepEqual(got.stdout.trim().split('\n'), lines.map((l, i) => `${i} ${l}`), `${z} old=${old}: consumed`);
  }));
  c.close();
});

// ---------------------------------------------------------------------------------------------
// kafka-node 5.0.0 (ApiVersions v0 with a 500 ms deadline, Metadata v1, Produce v2, Fetch v2,
// ListOffsets v0, message format v0/v1 only).

type KafkaNode = any;

/**
 * kafka-node's snappy codec calls `snappy.compress(buf, callback)`, the snappy@6 API. The project
 * has snappy@7 (promise API, no build step) and package.json's overrides give it to kafka-node as
 * well, so the codec is adapted here; the bytes sent are the same raw snappy block either way.
 */
function kafkaNode(): KafkaNode {
  const kafka = require('kafka-node');
  const snappyCodec = require('kafka-node/lib/codec/snappy');
  const snappy = require('snappy') as typeof import('snappy');
  snappyCodec.encode = (buf: Buffer, cb: (err: Error | null, out?: Buffer) => void) => {
    snappy.compress(buf).then((out) => cb(null, out), (err: Error) => cb(err));
  };
  return kafka;
}

const cb = <T>(fn: (done: (err: unknown, value?: T) => void) => void): Promise<T> =>
  new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

test('kafka-node 5.0.0: Producer with attributes 0/1/2 (none, gzip, snappy) and keys; Consumer reads every message', async () => {
  const kafka = kafkaNode();
  const topic = uniqueTopic('kafka-node');
  await broker.broker.topics.create(topic, 2);
  const client = new kafka.KafkaClient({ kafkaHost: `127.0.0.1:${broker.port}`, connectTimeout: 5000, requestTimeout: 10000 });
  const errors: unknown[] = [];
  client.on('error', (e: unknown) => errors.push(e));
  try {
    const producer = new kafka.Producer(client, { requireAcks: -1 });
    producer.on('error', (e: unknown) => errors.push(e));
    await new Promise((resolve) => producer.on('ready', resolve));
    const expected: [number, string | null, string][] = [];
    for (const attributes of [0, 1, 2]) {
      const messages = [
        new kafka.KeyedMessage(`key-${attributes}-a`, `value ${attributes} a`),
        new kafka.KeyedMessage(`key-${attributes}-b`, `value ${attributes} b`),
        `unkeyed ${attributes}`,
      ];
      const res = await cb<Record<string, Record<string, number>>>((done) => producer.send([{ topic, partition: 1, attributes, messages }], done));
      assert.equal(res[topic]['1'], attributes * 3, `attributes ${attributes}: base offset`);
      expected.push(
        [attributes * 3, `key-${attributes}-a`, `value ${attributes} a`],
        [attributes * 3 + 1, `key-${attributes}-b`, `value ${attributes} b`],
        [attributes * 3 + 2, null, `unkeyed ${attributes}`],
      );
    }
    // The broker kept the producer's codecs.
    const c = await connect();
    const stored = await fetchBatches(c, topic, 1);
    c.close();
    assert.deepEqual(stored.codecs, [Codec.none, Codec.gzip, Codec.snappy]);

    const consumer = new kafka.Consumer(client, [{ topic, partition: 1, offset: 0 }], {
      autoCommit: false, fromOffset: true, encoding: 'utf8', keyEncoding: 'utf8', fetchMaxWaitMs: 100,
    });
    consumer.on('error', (e: unknown) => errors.push(e));
    const got: [number, string | null, string][] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${got.length} of 9 messages consumed`)), 15000);
      consumer.on('message', (m: { offset: number; key: string | null; value: string }) => {
        got.push([m.offset, m.key, m.value]);
        if (got.length === 9) { clearTimeout(timer); resolve(); }
      });
    });
    assert.deepEqual(got, expected);
    // ListOffsets v0 through kafka-node's Offset helper.
    const offset = new kafka.Offset(client);
    const latest = await cb<Record<string, Record<string, number>>>((done) => offset.fetchLatestOffsets([topic], done));
    assert.deepEqual(latest[topic], { 0: 0, 1: 9 });
    await cb((done) => consumer.close(true, done));
    assert.deepEqual(errors, []);
  } finally {
    await cb((done) => client.close(done));
  }
});
