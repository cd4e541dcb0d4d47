// RecordBatch v2: encode/decode round trip, validation failures, iteration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Attr, decodeRecords, encodeBatch, InvalidRecordError, iterateBatches, readBatchHeader, validateBatches, BATCH_HEADER_SIZE } from '../../src/protocol/records.js';

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
