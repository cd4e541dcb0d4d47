// Legacy message sets (magic 0 and 1): parsing, CRC checks, compressed wrappers with relative and
// zero inner offsets, and conversion to and from RecordBatch v2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { crc32 } from '@node-rs/crc32';
import { batchesToMessageSet, encodeMessage, messageSetToBatches, parseMessageSet, type LegacyMessage } from '../../src/protocol/legacy.js';
import { compressSync, Codec } from '../../src/protocol/compression.js';
import { Attr, InvalidRecordError, decodeBatchRecords, encodeBatch, encodeBatchCompressed, validateBatches, writeInt64 } from '../../src/protocol/records.js';

const require = createRequire(import.meta.url);
const snappy = require('snappy') as typeof import('snappy');

const NOW = 1_750_000_000_000;
const b = (s: string) => Buffer.from(s);
const isCode = (code: number) => (e: unknown) => e instanceof InvalidRecordError && e.errorCode === code;

async function recordsOf(batch: Buffer) {
  return (await decodeBatchRecords(batch)).map((r) => ({ offset: r.offset, ts: r.timestamp, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null }));
}

function wrapper(magic: 0 | 1, codec: number, inner: Buffer[], opts: { offset?: number; timestamp?: number; xerial?: boolean } = {}): Buffer {
  const set = Buffer.concat(inner);
  let value: Buffer;
  if (codec === Codec.snappy && opts.xerial) {
    const z = snappy.compressSync(set);
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const len = Buffer.alloc(4);
    len.writeInt32BE(z.length);
    value = Buffer.concat([header, len, z]);
  } else {
    value = compressSync(codec, set);
  }
  return encodeMessage({ offset: opts.offset ?? 0, magic, attributes: codec, timestamp: opts.timestamp ?? NOW, key: null, value });
}

test('v0 messages: keys, values, nulls; broker time stands in for the missing timestamp', async () => {
  const set = Buffer.concat([
    encodeMessage({ offset: 0, magic: 0, key: b('k0'), value: b('v0') }),
    encodeMessage({ offset: 0, magic: 0, key: null, value: b('v1') }),
    encodeMessage({ offset: 0, magic: 0, key: b('k2'), value: null }),
  ]);
  const c = await messageSetToBatches(set, { now: NOW });
  assert.equal(c.count, 3);
  assert.equal(c.magic, 0);
  assert.equal(c.codec, 0);
  assert.equal(c.headers.length, 1);
  assert.deepEqual(validateBatches(c.bytes).map((h) => h.recordCount), [3]);
  assert.deepEqual(await recordsOf(c.bytes), [
    { offset: 0, ts: NOW, key: 'k0', value: 'v0' },
    { offset: 1, ts: NOW, key: null, value: 'v1' },
    { offset: 2, ts: NOW, key: 'k2', value: null },
  ]);
});

test('v1 messages keep their timestamps (-1 becomes broker time)', async () => {
  const set = Buffer.concat([
    encodeMessage({ offset: 0, magic: 1, timestamp: 1000, key: b('a'), value: b('1') }),
    encodeMessage({ offset: 1, magic: 1, timestamp: 5000, key: b('b'), value: b('2') }),
    encodeMessage({ offset: 2, magic: 1, timestamp: -1, key: b('c'), value: b('3') }),
  ]);
  const c = await messageSetToBatches(set, { now: NOW });
  assert.equal(c.magic, 1);
  assert.deepEqual((await recordsOf(c.bytes)).map((r) => r.ts), [1000, 5000, NOW]);
  assert.equal(c.headers[0].maxTimestamp, NOW);
});

test('compressed wrappers: gzip v1 with relative inner offsets, snappy v0 with zero offsets (raw and xerial), lz4', async () => {
  const innerV1 = [0, 1, 2, 3].map((i) => encodeMessage({ offset: i, magic: 1, timestamp: 2000 + i, key: b(`k${i}`), value: b(`gz${i}`) }));
  const innerV0 = [0, 1, 2].map((i) => encodeMessage({ offset: 0, magic: 0, key: null, value: b(`sn${i}`) }));
  const cases: [string, Buffer, number, string[]][] = [
    ['gzip v1', wrapper(1, Codec.gzip, innerV1, { offset: 3, timestamp: 2003 }), Codec.gzip, ['gz0', 'gz1', 'gz2', 'gz3']],
    ['snappy v0 raw', wrapper(0, Codec.snappy, innerV0), Codec.snappy, ['sn0', 'sn1', 'sn2']],
    ['snappy v0 xerial', wrapper(0, Codec.snappy, innerV0, { xerial: true }), Codec.snappy, ['sn0', 'sn1', 'sn2']],
    ['gzip v0', wrapper(0, Codec.gzip, innerV0), Codec.gzip, ['sn0', 'sn1', 'sn2']],
    ['lz4 v1', wrapper(1, Codec.lz4, innerV1), Codec.lz4, ['gz0', 'gz1', 'gz2', 'gz3']],
  ];
  for (const [name, set, codec, values] of cases) {
    const c = await messageSetToBatches(set, { now: NOW });
    assert.equal(c.codec, codec, name);
    assert.equal(c.headers[0].attributes & Attr.COMPRESSION_MASK, codec, `${name}: the batch keeps the producer's codec`);
    assert.equal(c.count, values.length, name);
    const recs = await recordsOf(c.bytes);
    assert.deepEqual(recs.map((r) => r.value), values, name);
    assert.deepEqual(recs.map((r) => r.offset), values.map((_, i) => i), name);
  }
  const gz = await recordsOf((await messageSetToBatches(cases[0][1])).bytes);
  assert.deepEqual(gz.map((r) => [r.key, r.ts]), [['k0', 2000], ['k1', 2001], ['k2', 2002], ['k3', 2003]]);
});

test('uncompressed messages and wrappers mixed in one set keep their order', async () => {
  const set = Buffer.concat([
    encodeMessage({ offset: 0, magic: 1, timestamp: 1, value: b('plain-1') }),
    wrapper(1, Codec.gzip, [0, 1].map((i) => encodeMessage({ offset: i, magic: 1, timestamp: 2, value: b(`wrapped-${i}`) }))),
    encodeMessage({ offset: 0, magic: 1, timestamp: 3, value: b('plain-2') }),
  ]);
  const c = await messageSetToBatches(set, { now: NOW });
  assert.deepEqual((await recordsOf(c.bytes)).map((r) => r.value), ['plain-1', 'wrapped-0', 'wrapped-1', 'plain-2']);
  assert.equal(c.codec, Codec.gzip);
});

// Produce v1 record sets captured from librdkafka 2.0.2 with broker.version.fallback=0.9.0.1
// (message format v0): one wrapper, three inner messages k1/k2/"" with "hello " × 30, "world " × 30,
// "no key " × 20. The lz4 one carries Kafka's legacy frame header checksum.
const LIBRDKAFKA_V0_LZ4 = '0000000000000000000000821a1b224a0003ffffffff0000007404224d1860401a650000001600010051c48f67eb410f00df026b31000000b468656c6c6f2006009b01c000b0000001000000c4296c47240d004000026b32d0006f776f726c642006009b01c000b00000020000009aede5a7110d000102008f8c6e6f206b65792007006d50206b65792000000000';
const LIBRDKAFKA_V0_SNAPPY = '00000000000000000000007c8fff8aeb0002ffffffff0000006ec6040000190110c48f67eb41050f30026b31000000b468656c6c6f20fe0600fe0600b6060005c028000001000000c4296c4724051008026b3201d014776f726c6420fe0600fe0600b6060005c0280000020000009aede5a7110d102400008c6e6f206b657920fe0700fe07000507';

test('message sets written by librdkafka (v0 lz4 with the legacy header checksum, v0 snappy) convert', async () => {
  for (const [hex, codec] of [[LIBRDKAFKA_V0_LZ4, Codec.lz4], [LIBRDKAFKA_V0_SNAPPY, Codec.snappy]] as const) {
    const c = await messageSetToBatches(Buffer.from(hex, 'hex'), { now: NOW });
    assert.equal(c.codec, codec);
    assert.deepEqual(await recordsOf(c.bytes), [
      { offset: 0, ts: NOW, key: 'k1', value: 'hello '.repeat(30) },
      { offset: 1, ts: NOW, key: 'k2', value: 'world '.repeat(30) },
      { offset: 2, ts: NOW, key: '', value: 'no key '.repeat(20) },
    ]);
  }
});

test('a bad CRC, a bad magic or malformed fields are CORRUPT_MESSAGE', async () => {
  const good = encodeMessage({ offset: 0, magic: 1, timestamp: 5, key: b('key'), value: b('value') });
  const badCrc = Buffer.from(good);
  badCrc[badCrc.length - 1] ^= 1;
  await assert.rejects(messageSetToBatches(Buffer.concat([good, badCrc])), isCode(2));
  const badCrcField = Buffer.from(good);
  badCrcField[12] ^= 1;
  await assert.rejects(messageSetToBatches(badCrcField), isCode(2));

  const reCrc = (m: Buffer) => { m.writeUInt32BE(crc32(m.subarray(16)), 12); return m; };
  const magic2 = reCrc(Buffer.from(good).fill(2, 16, 17));
  await assert.rejects(messageSetToBatches(magic2), isCode(2));
  const keyTooLong = Buffer.from(good);
  keyTooLong.writeInt32BE(1000, 26); // key length
  await assert.rejects(messageSetToBatches(reCrc(keyTooLong)), isCode(2));
  const tooSmall = Buffer.from(good);
  tooSmall.writeInt32BE(5, 8);
  await assert.rejects(messageSetToBatches(tooSmall), isCode(2));
  const trailing = Buffer.concat([good, Buffer.from([1, 2])]);
  trailing.writeInt32BE(trailing.length - 12, 8);
  await assert.rejects(messageSetToBatches(reCrc(trailing)), isCode(2));
});

test('compressed wrappers: bad payloads, nesting, magic mismatch, zstd and unknown codecs are refused', async () => {
  const inner = encodeMessage({ offset: 0, magic: 1, timestamp: 1, value: b('x') });
  // Garbage where gzip data should be.
  const junk = encodeMessage({ offset: 0, magic: 1, attributes: Codec.gzip, timestamp: 1, value: b('not gzip at all') });
  await assert.rejects(messageSetToBatches(junk), isCode(2));
  // A wrapper whose inner set is truncated.
  const truncatedInner = encodeMessage({ offset: 0, magic: 1, attributes: Codec.gzip, timestamp: 1, value: gzipSync(inner.subarray(0, inner.length - 1)) });
  await assert.rejects(messageSetToBatches(truncatedInner), isCode(2));
  // Nested compression and a v0 message inside a v1 wrapper.
  await assert.rejects(messageSetToBatches(wrapper(1, Codec.gzip, [wrapper(1, Codec.gzip, [inner])])), isCode(2));
  await assert.rejects(messageSetToBatches(wrapper(1, Codec.gzip, [encodeMessage({ offset: 0, magic: 0, value: b('v0') })])), isCode(2));
  // An empty wrapper and a wrapper without a value.
  await assert.rejects(messageSetToBatches(wrapper(1, Codec.gzip, [])), isCode(2));
  await assert.rejects(messageSetToBatches(encodeMessage({ offset: 0, magic: 0, attributes: Codec.gzip, value: null })), isCode(2));
  // zstd is not allowed before message format v2; ids 5–7 are unknown.
  for (const codec of [4, 5, 7]) {
    await assert.rejects(messageSetToBatches(encodeMessage({ offset: 0, magic: 1, attributes: codec, timestamp: 1, value: b('zz') })), isCode(76), `codec ${codec}`);
  }
  // A decompression bomb stops at the limit, which counts every wrapper of the set: MESSAGE_TOO_LARGE.
  const bomb = encodeMessage({ offset: 0, magic: 0, attributes: Codec.gzip, value: gzipSync(Buffer.alloc(10_000_000)) });
  await assert.rejects(messageSetToBatches(bomb, { maxDecompressedBytes: 1_000_000 }), isCode(10));
  const fill = encodeMessage({ offset: 0, magic: 0, value: Buffer.alloc(400_000) });
  const third = wrapper(0, Codec.gzip, [fill]);
  const converted = await messageSetToBatches(Buffer.concat([third, third]), { maxDecompressedBytes: 1_000_000 });
  assert.equal(converted.decompressedBytes, 2 * fill.length);
  await assert.rejects(messageSetToBatches(Buffer.concat([third, third, third]), { maxDecompressedBytes: 1_000_000 }), isCode(10));
  for (const codec of [Codec.snappy, Codec.lz4]) {
    const w = wrapper(0, codec, [encodeMessage({ offset: 0, magic: 0, value: Buffer.alloc(2_000_000) })]);
    await assert.rejects(messageSetToBatches(w, { maxDecompressedBytes: 1_000_000 }), isCode(10), `codec ${codec}`);
  }
});

test('a truncated trailing message is ignored; a set with no whole message is refused', async () => {
  const m1 = encodeMessage({ offset: 0, magic: 0, value: b('one') });
  const m2 = encodeMessage({ offset: 1, magic: 0, value: b('two') });
  for (const cut of [1, 5, 12, 13, m2.length - 1]) {
    const c = await messageSetToBatches(Buffer.concat([m1, m2.subarray(0, cut)]));
    assert.deepEqual((await recordsOf(c.bytes)).map((r) => r.value), ['one'], `cut at ${cut}`);
  }
  await assert.rejects(messageSetToBatches(m2.subarray(0, m2.length - 1)), isCode(2));
  await assert.rejects(messageSetToBatches(Buffer.alloc(0)), isCode(2));
  // The parser used on fetch results has the same leniency; inside wrappers it is strict.
  assert.equal(parseMessageSet(Buffer.concat([m1, m2.subarray(0, 20)]), true).length, 1);
  assert.throws(() => parseMessageSet(Buffer.concat([m1, m2.subarray(0, 20)]), false), isCode(2));
});

test('largestMessage reports the biggest message as sent (what max.message.bytes limits)', async () => {
  const small = encodeMessage({ offset: 0, magic: 0, value: b('s') });
  const big = encodeMessage({ offset: 0, magic: 0, value: Buffer.alloc(5000, 1) });
  assert.equal((await messageSetToBatches(Buffer.concat([small, big, small]))).largestMessage, big.length);
});

// --- v2 batches → message sets (Fetch v0–3) -----------------------------------------------------

async function storedLog(): Promise<Buffer[]> {
  const at = (batch: Buffer, offset: number) => { writeInt64(batch, 0, offset); return batch; };
  return [
    Buffer.concat([
      at(encodeBatch({ records: [{ key: 'a', value: 'v0', timestamp: 100 }, { key: null, value: 'v1', timestamp: 101 }] }), 0),
      at(await encodeBatchCompressed({ records: [{ key: 'c', value: 'v2', timestamp: 102 }, { key: 'd', value: null, timestamp: 103, headers: { h: 'dropped' } }] }, Codec.gzip), 2),
    ]),
    Buffer.concat([
      at(encodeBatch({ records: [{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 6, 0, 0, 0]) }], control: true }), 4),
      at(await encodeBatchCompressed({ records: [{ key: 'e', value: 'v5', timestamp: 105 }, { key: 'f', value: 'v6', timestamp: 106 }] }, Codec.zstd), 5),
      at(await encodeBatchCompressed({ records: [{ key: 'g', value: 'v7', timestamp: 107 }] }, Codec.lz4), 7),
    ]),
  ];
}

const summary = (ms: LegacyMessage[]) => ms.map((m) => [m.offset, m.magic, m.timestamp, m.key?.toString() ?? null, m.value?.toString() ?? null]);

test('batchesToMessageSet: magic 0 and 1, absolute offsets, uncompressed, control batches skipped', async () => {
  const chunks = await storedLog();
  const v1 = parseMessageSet(await batchesToMessageSet(chunks, 1), false);
  assert.deepEqual(summary(v1), [
    [0, 1, 100, 'a', 'v0'], [1, 1, 101, null, 'v1'], [2, 1, 102, 'c', 'v2'], [3, 1, 103, 'd', null],
    [5, 1, 105, 'e', 'v5'], [6, 1, 106, 'f', 'v6'], [7, 1, 107, 'g', 'v7'],
  ]);
  assert.ok(v1.every((m) => m.attributes === 0));
  const v0 = parseMessageSet(await batchesToMessageSet(chunks, 0), false);
  assert.deepEqual(v0.map((m) => [m.offset, m.magic, m.timestamp]), [[0, 0, -1], [1, 0, -1], [2, 0, -1], [3, 0, -1], [5, 0, -1], [6, 0, -1], [7, 0, -1]]);
  // An empty input gives an empty set.
  assert.equal((await batchesToMessageSet([], 0)).length, 0);
});

test('batchesToMessageSet: starts at the fetch offset inside a batch and stops at whole messages', async () => {
  const chunks = await storedLog();
  const from3 = parseMessageSet(await batchesToMessageSet(chunks, 1, { fetchOffset: 3 }), false);
  assert.deepEqual(from3.map((m) => m.offset), [3, 5, 6, 7]);
  const one = encodeMessage({ offset: 0, magic: 1, timestamp: 100, key: b('a'), value: b('v0') }).length;
  const limited = await batchesToMessageSet(chunks, 1, { maxBytes: one * 2 + 5 });
  assert.deepEqual(parseMessageSet(limited, false).map((m) => m.offset), [0, 1]);
  // The first message always comes, even past the limit, unless told otherwise.
  assert.equal(parseMessageSet(await batchesToMessageSet(chunks, 1, { maxBytes: 1 }), false).length, 1);
  assert.equal((await batchesToMessageSet(chunks, 1, { maxBytes: 1, minOneMessage: false })).length, 0);
});

test('LogAppendTime batches become v1 messages with the timestamp-type bit and the append time', async () => {
  const batch = encodeBatch({ records: [{ value: 'x', timestamp: 5 }] });
  batch.writeInt16BE(batch.readInt16BE(21) | Attr.LOG_APPEND_TIME, 21);
  writeInt64(batch, 35, 777_000); // maxTimestamp = append time (CRC not needed for this test)
  const [m] = parseMessageSet(await batchesToMessageSet([batch], 1), false);
  assert.equal(m.attributes, 0x08);
  assert.equal(m.timestamp, 777_000);
});

test('round trip: message set → v2 batch → message set gives the same messages', async () => {
  const original = [0, 1, 2, 3, 4].map((i) => encodeMessage({ offset: i, magic: 1, timestamp: 10_000 + i, key: i % 2 ? b(`k${i}`) : null, value: b(`value-${i}`) }));
  for (const set of [Buffer.concat(original), wrapper(1, Codec.snappy, original), wrapper(1, Codec.gzip, original)]) {
    const c = await messageSetToBatches(set);
    const back = await batchesToMessageSet([c.bytes], 1);
    assert.ok(back.equals(Buffer.concat(original)));
  }
});
