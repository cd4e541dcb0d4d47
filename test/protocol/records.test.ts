// RecordBatch v2, the one codec of broker and client: varints, encode/decode round trips for every
// codec, validation failures, iteration, and the client's kafkajs-shaped layer on top.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Codec } from '../../src/protocol/compression.js';
import {
  DecodeError, Reader, Writer, readUVarint, readVarint, readVarlong, uvarintSize, varintSize, varlongSize,
  writeUVarint, writeVarint, writeVarlong, zigzag32, type ByteCursor,
} from '../../src/protocol/primitives.js';
import {
  Attr, BATCH_HEADER_SIZE, InvalidRecordError, RecordCursor, decodeBatchRecords, decodeBatchRecordsSync, decodeRecords,
  encodeBatch, encodeBatchCompressed, encodeRecordBatch, encodeRecordBatchSync, iterateBatches, readBatchHeader,
  batchCrc, checkCompressedBatches, recordsProblem, validateBatches, type RecordInput,
} from '../../src/protocol/records.js';
import { decodeRecordSet, encodeBatch as encodeClientBatch, type Message } from '../../src/client/record-codec.js';

test('a batch round-trips keys, values, headers and timestamps', () => {
  const ts = 1_700_000_000_000;
  const batch = encodeBatch({
    baseOffset: 40,
    producerId: 7, producerEpoch: 2, baseSequence: 11,
    records: [
      { key: 'a', value: 'one', timestamp: ts, headers: { h: 'x' } },
      { key: null, value: null, timestamp: ts + 5 },
      { key: Buffer.from([0, 1, 2]), value: 'three', timestamp: ts + 2, headers: [{ key: 'n', value: null }] },
    ],
  });
  const [h] = validateBatches(batch);
  assert.equal(h.baseOffset, 40);
  assert.equal(h.recordCount, 3);
  assert.equal(h.lastOffsetDelta, 2);
  assert.equal(h.baseTimestamp, ts);
  assert.equal(h.maxTimestamp, ts + 5);
  assert.deepEqual([h.producerId, h.producerEpoch, h.baseSequence], [7, 2, 11]);
  const recs = decodeRecords(h, batch.subarray(BATCH_HEADER_SIZE));
  assert.deepEqual(recs.map((r) => r.offset), [40, 41, 42]);
  assert.equal(recs[0].key!.toString(), 'a');
  assert.equal(recs[0].headers[0].value!.toString(), 'x');
  assert.equal(recs[1].key, null);
  assert.equal(recs[1].value, null);
  assert.equal(recs[1].timestamp, ts + 5);
  assert.deepEqual([...recs[2].key!], [0, 1, 2]);
  assert.equal(recs[2].headers[0].value, null);
});

test('validation: CRC, magic, truncation, counts', () => {
  const good = encodeBatch({ records: [{ value: 'v' }] });
  const expectCode = (buf: Buffer, code: number) =>
    assert.throws(() => validateBatches(buf), (e: unknown) => e instanceof InvalidRecordError && e.errorCode === code);
  const badCrc = Buffer.from(good); badCrc[badCrc.length - 1] ^= 1; expectCode(badCrc, 2);
  const badMagic = Buffer.from(good); badMagic[16] = 1; expectCode(badMagic, 2);
  expectCode(good.subarray(0, good.length - 1), 2);
  expectCode(good.subarray(0, 30), 2);
  expectCode(Buffer.alloc(0), 2);
  // The base offset lies outside the CRC: rewriting it keeps the batch valid.
  const moved = Buffer.from(good); moved.writeInt32BE(99, 4);
  assert.equal(validateBatches(moved)[0].baseOffset, 99);
  // Several batches back to back.
  const two = Buffer.concat([good, encodeBatch({ records: [{ value: 'a' }, { value: 'b' }] })]);
  assert.deepEqual(validateBatches(two).map((h) => h.recordCount), [1, 2]);
  assert.equal([...iterateBatches(Buffer.concat([two, good.subarray(0, 20)]))].length, 2);
  assert.equal(readBatchHeader(good).attributes & Attr.COMPRESSION_MASK, 0);
});

test('validation as Kafka does it: count = lastOffsetDelta + 1 > 0, records walked, deltas 0..n-1', async () => {
  const expectCode = (buf: Buffer, code: number) =>
    assert.throws(() => validateBatches(buf), (e: unknown) => e instanceof InvalidRecordError && e.errorCode === code);
  const edit = (batch: Buffer, at: number, v: number) => { const b = Buffer.from(batch); b.writeInt32BE(v, at); b.writeUInt32BE(batchCrc(b), 17); return b; };
  const three = encodeBatch({ records: [{ key: 'k', value: 'a', headers: { h: 'v' } }, { value: null }, { value: 'c' }] });
  assert.equal(recordsProblem(validateBatches(three)[0], three, BATCH_HEADER_SIZE), null);
  expectCode(edit(three, 23, 5), 87); // lastOffsetDelta past the records
  expectCode(edit(edit(three, 23, 3), 57, 4), 87); // count and delta agree, the records do not
  expectCode(edit(edit(three, 23, 1), 57, 2), 87); // a record left over
  expectCode(edit(edit(three, 23, -1), 57, 0), 87); // no records
  // Damage inside a record: a key length past the record.
  const keyed = Buffer.from(three);
  keyed[BATCH_HEADER_SIZE + 4] = 0x7e; // record 0: length, attributes, ts delta, offset delta, key length
  keyed.writeUInt32BE(batchCrc(keyed), 17);
  expectCode(keyed, 87);
  // Compressed batches are checked by checkCompressedBatches, with the decompressed bytes counted.
  const gz = await encodeBatchCompressed({ records: [{ value: 'x'.repeat(1000) }, { value: 'y' }] }, Codec.gzip);
  const [gh] = validateBatches(gz);
  assert.ok((await checkCompressedBatches(gz, [gh], 10_000)) > 1000);
  await assert.rejects(checkCompressedBatches(gz, [gh], 100), (e: unknown) => e instanceof InvalidRecordError && e.errorCode === 10);
  const lying = edit(edit(gz, 23, 2), 57, 3);
  await assert.rejects(checkCompressedBatches(lying, validateBatches(lying), 10_000), (e: unknown) => e instanceof InvalidRecordError && e.errorCode === 87);
  const notGzip = encodeBatch({ records: [{ value: 'plain' }], attributes: Codec.gzip });
  await assert.rejects(checkCompressedBatches(notGzip, validateBatches(notGzip), 10_000), (e: unknown) => e instanceof InvalidRecordError && e.errorCode === 2);
});

// ---------------------------------------------------------------------------------------------
// The one codec: varints, records, compression, and both sides' entry points (the client's
// kafkajs-shaped layer in client/record-codec.ts sits on the same functions).

test('varint/varlong/uvarint: edge values round-trip, sizes match, Reader/Writer write the same bytes', () => {
  const ints = [0, -1, 1, 63, -64, 64, -65, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)];
  const longs = [...ints, 2 ** 31, -(2 ** 31) - 1, 2 ** 35, 1_700_000_000_000, -1_700_000_000_000, 2 ** 52, -(2 ** 52)];
  const uints = [0, 127, 128, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1];
  const cases: [number, (b: Buffer, at: number, v: number) => number, (c: ByteCursor) => number, (v: number) => number, 'varint' | 'varlong' | 'uvarint'][] = [];
  for (const v of ints) cases.push([v, writeVarint, readVarint, varintSize, 'varint']);
  for (const v of longs) cases.push([v, writeVarlong, readVarlong, varlongSize, 'varlong']);
  for (const v of uints) cases.push([v, writeUVarint, readUVarint, uvarintSize, 'uvarint']);
  for (const [v, write, read, size, kind] of cases) {
    const b = Buffer.alloc(12);
    const end = write(b, 0, v);
    assert.equal(end, size(v), `${kind} ${v} size`);
    const c: ByteCursor = { buf: b, offset: 0, end };
    assert.equal(read(c), v, `${kind} ${v}`);
    assert.equal(c.offset, end);
    const viaWriter = new Writer()[kind](v).finish();
    assert.ok(viaWriter.equals(b.subarray(0, end)), `${kind} ${v}: Writer bytes`);
    assert.equal(new Reader(viaWriter)[kind](), v, `${kind} ${v}: Reader`);
  }
  assert.deepEqual([zigzag32(0), zigzag32(-1), zigzag32(1), zigzag32(2 ** 31 - 1), zigzag32(-(2 ** 31))], [0, 1, 2, 2 ** 32 - 2, 2 ** 32 - 1]);
  assert.equal(varintSize(-(2 ** 31)), 5);
  assert.equal(varlongSize(2 ** 52), 8);
  // A 6-byte varint, a truncated one and an 11-byte varlong are decode errors.
  assert.throws(() => readVarint({ buf: Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), offset: 0, end: 6 }), DecodeError);
  assert.throws(() => readVarint({ buf: Buffer.from([0x80, 0x80]), offset: 0, end: 2 }), DecodeError);
  assert.throws(() => readVarlong({ buf: Buffer.alloc(11, 0x80), offset: 0, end: 11 }), DecodeError);
  // Reads stop at the cursor's end, not the buffer's.
  assert.throws(() => readVarint({ buf: Buffer.from([0x81, 0x01]), offset: 0, end: 1 }), DecodeError);
});

const ALL_CODECS = [Codec.none, Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd];

const mixedRecords = (ts: number): RecordInput[] => [
  { key: 'k', value: 'v', timestamp: ts, headers: { a: 'x', multi: ['1', Buffer.from('2')], gone: undefined, nil: null } },
  { key: null, value: null, timestamp: ts + 3 },
  { value: Buffer.alloc(0), key: Buffer.alloc(0), timestamp: String(ts + 1) },
  { key: 'ünïcødé ✓', value: 'x'.repeat(300), timestamp: ts - 2, headers: [{ key: 'dup', value: null }, { key: 'dup', value: Buffer.from([0xff]) }] },
];

test('records round-trip through every codec: keys, values, nulls, empty fields, headers, timestamps', async () => {
  const ts = 1_700_000_000_000;
  for (const codec of ALL_CODECS) {
    const batch = await encodeRecordBatch(mixedRecords(ts), 0, 4, { codec, baseOffset: 10, producerId: 3, producerEpoch: 1, baseSequence: 5 });
    const [h] = validateBatches(batch);
    assert.equal(h.attributes & Attr.COMPRESSION_MASK, codec);
    assert.deepEqual([h.recordCount, h.lastOffsetDelta, h.baseTimestamp, h.maxTimestamp], [4, 3, ts - 2, ts + 3]);
    const recs = await decodeBatchRecords(batch);
    assert.deepEqual(recs.map((r) => r.offset), [10, 11, 12, 13]);
    assert.deepEqual(recs.map((r) => r.timestamp), [ts, ts + 3, ts + 1, ts - 2]);
    assert.equal(recs[0].key!.toString(), 'k');
    assert.deepEqual(recs[0].headers.map((x) => [x.key, x.value?.toString() ?? null]), [['a', 'x'], ['multi', '1'], ['multi', '2'], ['nil', null]]);
    assert.equal(recs[1].key, null);
    assert.equal(recs[1].value, null);
    assert.deepEqual([recs[2].key!.length, recs[2].value!.length], [0, 0]);
    assert.equal(recs[3].key!.toString(), 'ünïcødé ✓');
    assert.equal(recs[3].value!.toString(), 'x'.repeat(300));
    assert.deepEqual(recs[3].headers.map((x) => [x.key, x.value && [...x.value]]), [['dup', null], ['dup', [0xff]]]);
    if (codec !== Codec.zstd) {
      const sync = encodeRecordBatchSync(mixedRecords(ts), 0, 4, { codec, baseOffset: 10, producerId: 3, producerEpoch: 1, baseSequence: 5 });
      assert.deepEqual(decodeBatchRecordsSync(sync), recs);
    }
  }
});

test('timestamps: records without one get `now`; far-apart ones give large deltas; garbage is refused', () => {
  const now = 1_700_000_000_000;
  const batch = encodeRecordBatchSync([{ value: 'a', timestamp: 0 }, { value: 'b' }, { value: 'c', timestamp: -1 }, { value: 'd', timestamp: 2 ** 52 }], 0, 4, { now });
  const [h] = validateBatches(batch);
  assert.deepEqual([h.baseTimestamp, h.maxTimestamp], [-1, 2 ** 52]);
  assert.deepEqual(decodeRecords(h, batch.subarray(BATCH_HEADER_SIZE)).map((r) => r.timestamp), [0, now, -1, 2 ** 52]);
  assert.throws(() => encodeRecordBatchSync([{ value: 'a', timestamp: 'soon' }]), TypeError);
  assert.throws(() => encodeRecordBatchSync([{ value: 'a' }, { value: 'b', timestamp: NaN }]), TypeError);
  // LogAppendTime batches report the batch's maxTimestamp for every record.
  const logAppend = encodeBatch({ records: [{ value: 'a', timestamp: 5 }, { value: 'b', timestamp: 9 }], attributes: Attr.LOG_APPEND_TIME });
  assert.deepEqual(decodeRecords(readBatchHeader(logAppend), logAppend.subarray(BATCH_HEADER_SIZE)).map((r) => r.timestamp), [9, 9]);
});

test('a range of a larger array is encoded, and batches of thousands of records round-trip', () => {
  const many: RecordInput[] = Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, value: `value ${i}`, headers: i % 7 ? undefined : { i: String(i) } }));
  const part = encodeRecordBatchSync(many, 100, 103, { now: 1 });
  assert.deepEqual(decodeBatchRecordsSync(part).map((r) => r.key!.toString()), ['k100', 'k101', 'k102']);
  const all = encodeRecordBatchSync(many, 0, many.length, { now: 1 });
  const recs = decodeBatchRecordsSync(all);
  assert.equal(recs.length, 5000);
  assert.equal(recs[4999].value!.toString(), 'value 4999');
  assert.equal(recs[4999].headers.length, 0);
  assert.deepEqual(recs[4998].headers.map((x) => `${x.key}=${x.value}`), ['i=4998']);
});

test('RecordCursor: skips below minOffset, and refuses records that run past their length or the section', () => {
  const batch = encodeBatch({ baseOffset: 20, records: [{ value: 'a' }, { value: 'b', headers: { h: 'x' } }, { value: 'c' }] });
  const h = readBatchHeader(batch);
  const section = batch.subarray(BATCH_HEADER_SIZE);
  assert.deepEqual(decodeRecords(h, section, 21).map((r) => r.offset), [21, 22]);
  const cursor = new RecordCursor(h, section);
  const seen: string[] = [];
  // Headers left unread do not disturb the next record.
  while (cursor.next()) seen.push(`${cursor.offset}:${cursor.value}:${cursor.headerCount}`);
  assert.deepEqual(seen, ['20:a:0', '21:b:1', '22:c:0']);
  // The header claims more records than the section holds.
  assert.throws(() => decodeRecords({ ...h, recordCount: 4 }, section), DecodeError);
  // A record whose value length runs past its own length.
  const bad = Buffer.from(section);
  const valueLengthAt = 1 + 1 + 1 + 1 + 1; // length, attributes, ts delta, offset delta, key length
  bad[valueLengthAt] = 2 * 20; // value length 20 (zigzag) in a record of a few bytes
  assert.throws(() => decodeRecords(h, bad), DecodeError);
  // A record length past the section.
  const long = Buffer.from(section);
  long[0] = 2 * 60;
  assert.throws(() => decodeRecords(h, long), DecodeError);
});

test('the client side and the broker side meet in the one codec, both ways and with every codec', async () => {
  const ts = 1_700_000_000_000;
  for (const codec of ALL_CODECS) {
    // Client encode (kafkajs messages: string timestamps, headers object with lists) → broker decode.
    const messages: Message[] = [
      { key: 'a', value: 'one', timestamp: String(ts), headers: { trace: ['t1', 't2'], id: Buffer.from('x') } },
      { key: null, value: null, partition: 2, timestamp: ts + 1 },
    ];
    const fromClient = await encodeClientBatch(messages, 0, 2, { codec, producerId: 9, producerEpoch: 0, baseSequence: 0, transactional: true, now: ts });
    const [h] = validateBatches(fromClient);
    assert.equal(h.attributes & Attr.TRANSACTIONAL, Attr.TRANSACTIONAL);
    assert.deepEqual([h.producerId, h.baseSequence], [9, 0]);
    const byBroker = await decodeBatchRecords(fromClient, h);
    assert.deepEqual(byBroker.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null]), [[0, ts, 'a', 'one'], [1, ts + 1, null, null]]);
    assert.deepEqual(byBroker[0].headers.map((x) => `${x.key}=${x.value}`), ['trace=t1', 'trace=t2', 'id=x']);

    // Broker encode (internal-log style input) → client decode, starting inside the first batch.
    const first = await encodeBatchCompressed({ baseOffset: 100, records: [{ value: 'p', timestamp: ts }, { key: 'k', value: 'q', timestamp: ts + 5, headers: [{ key: 'n', value: null }, { key: 'n', value: Buffer.from('v') }] }] }, codec);
    const second = encodeBatch({ baseOffset: 102, records: [{ value: 'r', timestamp: ts }] });
    const { messages: got, nextOffset } = await decodeRecordSet(Buffer.concat([first, second, second.subarray(0, 30)]), { minOffset: 101 });
    assert.equal(nextOffset, 103);
    assert.deepEqual(got.map((m) => [m.offset, m.timestamp, m.key?.toString() ?? null, m.value!.toString()]), [['101', String(ts + 5), 'k', 'q'], ['102', String(ts), null, 'r']]);
    assert.deepEqual(got[0].headers, { n: [null as unknown as Buffer, Buffer.from('v')] });
  }
});
