// Compression codecs: round trips, the framings real clients send (xerial snappy, LZ4 frames as
// written by Java and librdkafka, Kafka's legacy LZ4 header checksum), limits and typed errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  Codec, CompressionError, DecompressedTooLargeError, UnsupportedCompressionError, compress, compressSync, decompress, decompressSync,
  isXerialSnappy, lz4FrameBound, repairLegacyLz4Header, xxh32, zstdFrameBound,
} from '../../src/protocol/compression.js';
import {
  Attr, InvalidRecordError, decodeBatchRecords, encodeBatch, encodeBatchCompressed, encodeBatchCompressedSync, readBatchHeader, validateBatches,
} from '../../src/protocol/records.js';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const snappy = require('snappy') as typeof import('snappy');

const samples: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('x'),
  Buffer.from('hello kafka '.repeat(5000)),
  randomBytes(100_000), // incompressible
  Buffer.concat([randomBytes(70_000), Buffer.alloc(200_000, 7)]), // several LZ4 blocks, mixed
];

test('every codec round-trips (async)', async () => {
  for (const codec of [Codec.none, Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    for (const s of samples) {
      const z = await compress(codec, s);
      assert.ok((await decompress(codec, z)).equals(s), `codec ${codec}, ${s.length} bytes`);
    }
  }
  const text = samples[2];
  for (const codec of [Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    assert.ok((await compress(codec, text)).length < text.length / 10, `codec ${codec} compresses`);
  }
});

test('codecs 0–3 round-trip synchronously and across the sync/async APIs; zstd has no sync form', async () => {
  for (const codec of [Codec.none, Codec.gzip, Codec.snappy, Codec.lz4]) {
    for (const s of samples) {
      assert.ok(decompressSync(codec, compressSync(codec, s)).equals(s));
      assert.ok(decompressSync(codec, await compress(codec, s)).equals(s));
      assert.ok((await decompress(codec, compressSync(codec, s))).equals(s));
    }
  }
  assert.throws(() => compressSync(Codec.zstd, Buffer.from('x')), UnsupportedCompressionError);
  assert.throws(() => decompressSync(Codec.zstd, Buffer.from('x')), UnsupportedCompressionError);
});

test('unknown codecs throw UnsupportedCompressionError carrying UNSUPPORTED_COMPRESSION_TYPE', async () => {
  for (const codec of [5, 6, 7, -1, 1.5]) {
    await assert.rejects(compress(codec, Buffer.from('x')), (e: unknown) => e instanceof UnsupportedCompressionError && e.errorCode === 76 && e.codec === codec);
    await assert.rejects(decompress(codec, Buffer.from('x')), UnsupportedCompressionError);
    assert.throws(() => decompressSync(codec, Buffer.from('x')), UnsupportedCompressionError);
  }
});

test('garbage input throws CompressionError (CORRUPT_MESSAGE) for every codec', async () => {
  const junk = Buffer.from('definitely not compressed data, just text');
  for (const codec of [Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    await assert.rejects(decompress(codec, junk), (e: unknown) => e instanceof CompressionError && e.errorCode === 2, `codec ${codec}`);
  }
  // A truncated compressed stream is refused too.
  for (const codec of [Codec.gzip, Codec.lz4, Codec.zstd]) {
    const z = await compress(codec, samples[3]);
    await assert.rejects(decompress(codec, z.subarray(0, z.length - 10)), CompressionError, `truncated codec ${codec}`);
  }
});

test('decompressed size limit (decompression bombs)', async () => {
  const big = Buffer.alloc(1_000_000);
  for (const codec of [Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    const z = await compress(codec, big);
    await assert.rejects(decompress(codec, z, { maxBytes: 100_000 }), CompressionError, `codec ${codec}`);
    assert.equal((await decompress(codec, z, { maxBytes: 1_000_000 })).length, 1_000_000);
  }
});

test('lz4 and zstd: a bound read from the block headers refuses a bomb before it is decoded', async () => {
  // A zstd frame of 100 RLE blocks of 128 KiB each: 304 bytes that would make 12.5 MiB.
  const rle = Buffer.alloc(4);
  rle.writeUIntLE((1 << 1) | ((128 * 1024) << 3), 0, 3); // block type 1 (RLE), size
  const blocks = Array.from({ length: 100 }, () => Buffer.from(rle));
  blocks[99].writeUIntLE(1 | (1 << 1) | ((128 * 1024) << 3), 0, 3); // the last block
  const frame = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38]), ...blocks]);
  assert.equal(zstdFrameBound(frame), 100 * 128 * 1024);
  await assert.rejects(decompress(Codec.zstd, frame, { maxBytes: 1_000_000 }), DecompressedTooLargeError);
  // Real frames: the bound is close to the real size.
  const big = Buffer.alloc(3_000_000, 7);
  const z = await compress(Codec.zstd, big);
  assert.ok(zstdFrameBound(z) >= big.length && zstdFrameBound(z) <= big.length + 128 * 1024, `zstd bound ${zstdFrameBound(z)}`);
  const l = await compress(Codec.lz4, big);
  assert.ok(lz4FrameBound(l) >= big.length && lz4FrameBound(l) <= big.length + 4 * 1024 * 1024, `lz4 bound ${lz4FrameBound(l)}`);
  assert.throws(() => zstdFrameBound(Buffer.from('not a zstd frame')), CompressionError);
  assert.throws(() => lz4FrameBound(Buffer.from('not an lz4 frame')), CompressionError);
  // gzip, snappy and lz4 past the limit are DecompressedTooLargeError too (MESSAGE_TOO_LARGE for a producer).
  for (const codec of [Codec.gzip, Codec.snappy, Codec.lz4]) {
    await assert.rejects(decompress(codec, await compress(codec, big), { maxBytes: 100_000 }), DecompressedTooLargeError, `codec ${codec}`);
  }
});

// --- snappy: the xerial framing of snappy-java (Java clients) and kafka-node --------------------

function xerialFrame(blocks: Buffer[]): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const parts: Buffer[] = [header];
  for (const b of blocks) {
    const z = snappy.compressSync(b);
    const len = Buffer.alloc(4);
    len.writeInt32BE(z.length);
    parts.push(len, z);
  }
  return Buffer.concat(parts);
}

test('snappy: xerial-framed input with several blocks decodes; raw snappy too', async () => {
  const blocks = [Buffer.from('a'.repeat(32 * 1024)), Buffer.from('second block '.repeat(100)), Buffer.from('end')];
  const framed = xerialFrame(blocks);
  assert.ok(isXerialSnappy(framed));
  const want = Buffer.concat(blocks);
  assert.ok(decompressSync(Codec.snappy, framed).equals(want));
  assert.ok((await decompress(Codec.snappy, framed)).equals(want));
  assert.ok(decompressSync(Codec.snappy, xerialFrame([])).equals(Buffer.alloc(0)));
  const raw = snappy.compressSync(want);
  assert.ok(!isXerialSnappy(raw));
  assert.ok(decompressSync(Codec.snappy, raw).equals(want));
  // Truncated xerial frames are corrupt.
  assert.throws(() => decompressSync(Codec.snappy, framed.subarray(0, framed.length - 2)), CompressionError);
  assert.throws(() => decompressSync(Codec.snappy, framed.subarray(0, 18)), CompressionError);
  // The uncompressed-size limit applies across blocks.
  assert.throws(() => decompressSync(Codec.snappy, framed, { maxBytes: 33 * 1024 }), CompressionError);
});

// --- lz4: frames as Java and librdkafka write them ---------------------------------------------

const LZ4_MAGIC = Buffer.from([0x04, 0x22, 0x4d, 0x18]);
const le32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };

/** An LZ4 frame of uncompressed blocks (as Java's KafkaLZ4BlockOutputStream writes incompressible data). */
function lz4Frame(blocks: Buffer[], opts: { blockChecksum?: boolean; contentChecksum?: boolean; contentSize?: boolean; legacyHc?: boolean } = {}): Buffer {
  const flg = 0x40 | 0x20 | (opts.blockChecksum ? 0x10 : 0) | (opts.contentSize ? 0x08 : 0) | (opts.contentChecksum ? 0x04 : 0);
  const descriptor: Buffer[] = [Buffer.from([flg, 0x40])];
  const content = Buffer.concat(blocks);
  if (opts.contentSize) { const s = Buffer.alloc(8); s.writeBigUInt64LE(BigInt(content.length)); descriptor.push(s); }
  const desc = Buffer.concat(descriptor);
  const hc = ((xxh32(opts.legacyHc ? Buffer.concat([LZ4_MAGIC, desc]) : desc) >>> 8) & 0xff);
  const parts: Buffer[] = [LZ4_MAGIC, desc, Buffer.from([hc])];
  for (const b of blocks) {
    parts.push(le32(0x80000000 | b.length), b);
    if (opts.blockChecksum) parts.push(le32(xxh32(b)));
  }
  parts.push(le32(0));
  if (opts.contentChecksum) parts.push(le32(xxh32(content)));
  return Buffer.concat(parts);
}

test('xxh32 matches the reference values', () => {
  assert.equal(xxh32(Buffer.alloc(0)), 0x02cc5d05);
  assert.equal(xxh32(Buffer.from('abc')), 0x32d153ff);
  assert.equal(xxh32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
});

test('lz4: hand-built frames with uncompressed blocks, checksums and content size decode', () => {
  const blocks = [Buffer.from('first block of bytes'), randomBytes(1000), Buffer.from('last')];
  const want = Buffer.concat(blocks);
  for (const opts of [{}, { blockChecksum: true }, { contentChecksum: true }, { contentSize: true, contentChecksum: true, blockChecksum: true }]) {
    assert.ok(decompressSync(Codec.lz4, lz4Frame(blocks, opts)).equals(want), JSON.stringify(opts));
  }
  // A wrong content checksum is caught.
  const bad = lz4Frame(blocks, { contentChecksum: true });
  bad[bad.length - 1] ^= 0xff;
  assert.throws(() => decompressSync(Codec.lz4, bad), CompressionError);
});

test('lz4: frames written with Kafka\'s legacy header checksum (over the magic) are repaired', async () => {
  const blocks = [Buffer.from('legacy kafka lz4')];
  for (const contentSize of [false, true]) {
    const legacy = lz4Frame(blocks, { legacyHc: true, contentSize });
    const repaired = repairLegacyLz4Header(legacy);
    assert.notEqual(repaired, legacy);
    assert.ok(decompressSync(Codec.lz4, legacy).equals(blocks[0]));
    assert.ok((await decompress(Codec.lz4, legacy)).equals(blocks[0]));
  }
  // A proper frame is returned untouched; a header checksum that is neither is left for the decoder.
  const proper = lz4Frame(blocks);
  assert.equal(repairLegacyLz4Header(proper), proper);
  const garbled = Buffer.from(proper);
  garbled[6] ^= 0x55;
  assert.equal(repairLegacyLz4Header(garbled), garbled);
  assert.throws(() => decompressSync(Codec.lz4, garbled), CompressionError);
});

// Record batches captured from librdkafka 2.0.2 (kcat -z lz4 / -z zstd, Produce v7): three records
// k1 → "hello " × 30, k2 → "world " × 30, empty key → "no key " × 20.
const LIBRDKAFKA_LZ4_BATCH = '000000000000000000000084000000000202314359000300000002000001a209b7e860000001a209b7e860ffffffffffffffffffffffffffff0000000304224d1860408244000000ff01fa02000000046b31e80268656c6c6f2006009b1000bf00cf02046b32e802776f726c642006009bff0100a6020000040098026e6f206b65792007006e506b6579200000000000';
const LIBRDKAFKA_ZSTD_BATCH = '00000000000000000000007800000000023bc0789a000400000002000001a209b7e8b5000001a209b7e8b5ffffffffffffffffffffffffffff0000000328b52ffd0058f501002403fa02000000046b31e80268656c6c6f2000fa02000002046b32e802776f726c642000a6020000040098026e6f206b657920000344102b042a57c02a25';

test('batches compressed by librdkafka (lz4 frame, zstd frame without content size) decode', async () => {
  for (const [hex, codec] of [[LIBRDKAFKA_LZ4_BATCH, Codec.lz4], [LIBRDKAFKA_ZSTD_BATCH, Codec.zstd]] as const) {
    const batch = Buffer.from(hex, 'hex');
    const [h] = validateBatches(batch);
    assert.equal(h.attributes & Attr.COMPRESSION_MASK, codec);
    const recs = await decodeBatchRecords(batch, h);
    assert.deepEqual(recs.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString()]), [
      [0, 'k1', 'hello '.repeat(30)],
      [1, 'k2', 'world '.repeat(30)],
      [2, '', 'no key '.repeat(20)],
    ]);
  }
});

// --- batches ------------------------------------------------------------------------------------

test('encodeBatchCompressed: every codec makes a valid batch that decodes back', async () => {
  const records = Array.from({ length: 50 }, (_, i) => ({
    key: i % 3 ? `k${i}` : null,
    value: `value ${i} `.repeat(i % 7 + 1),
    headers: (i % 5 ? {} : { h: `hv${i}` }) as Record<string, string>,
    timestamp: 1_700_000_000_000 + i * 10,
  }));
  for (const codec of [Codec.none, Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    const batch = await encodeBatchCompressed({ records, baseOffset: 100 }, codec);
    const [h] = validateBatches(batch);
    assert.equal(h.attributes & Attr.COMPRESSION_MASK, codec);
    assert.equal(h.recordCount, 50);
    assert.equal(h.maxTimestamp, 1_700_000_000_490);
    const got = await decodeBatchRecords(batch);
    assert.equal(got.length, 50);
    got.forEach((r, i) => {
      assert.equal(r.offset, 100 + i);
      assert.equal(r.key?.toString() ?? null, records[i].key);
      assert.equal(r.value!.toString(), records[i].value);
      assert.equal(r.timestamp, records[i].timestamp);
      assert.deepEqual(r.headers.map((x) => [x.key, x.value!.toString()]), Object.entries(records[i].headers));
    });
    if (codec !== Codec.zstd) {
      const sync = encodeBatchCompressedSync({ records }, codec);
      assert.equal(readBatchHeader(sync).recordCount, 50);
    }
  }
});

test('validateBatches refuses a batch with an unknown codec id with UNSUPPORTED_COMPRESSION_TYPE', () => {
  for (const codec of [5, 6, 7]) {
    const batch = encodeBatch({ records: [{ value: 'x' }], attributes: codec });
    assert.throws(() => validateBatches(batch), (e: unknown) => e instanceof InvalidRecordError && e.errorCode === 76);
  }
  // Known codecs pass validation without their body being looked at.
  assert.equal(validateBatches(encodeBatch({ records: [{ value: 'x' }], attributes: Codec.zstd })).length, 1);
});
