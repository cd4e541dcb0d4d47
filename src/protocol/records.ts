// RecordBatch v2 (magic 2): header parsing, CRC32C validation, and encoding/decoding of records.
//
// Layout of a batch (offsets in bytes):
//   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
//   17 crc uint32 | 21 attributes int16 | 23 lastOffsetDelta int32 | 27 baseTimestamp int64
//   35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16 | 53 baseSequence int32
//   57 recordCount int32 | 61 records...
// The CRC covers bytes 21..end, so baseOffset and partitionLeaderEpoch can be rewritten without it.
import { crc32c } from '@node-rs/crc32';
import { DecodeError, Reader, Writer } from './primitives.js';

export const BATCH_HEADER_SIZE = 61;
/** Bytes before batchLength's count starts (baseOffset + batchLength). */
export const BATCH_LENGTH_PREFIX = 12;
export const CRC_START = 21;

export const Attr = {
  COMPRESSION_MASK: 0x07,
  LOG_APPEND_TIME: 0x08,
  TRANSACTIONAL: 0x10,
  CONTROL: 0x20,
} as const;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

export interface BatchHeader {
  baseOffset: number;
  /** Bytes of the whole batch, including the 12-byte offset/length prefix. */
  size: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

const TWO_32 = 4294967296;
const readInt64 = (b: Buffer, at: number) => b.readInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4);
export function writeInt64(b: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  b.writeInt32BE(hi, at);
  b.writeUInt32BE(v - hi * TWO_32, at + 4);
}

/** Reads the header of the batch at `at`. The caller makes sure BATCH_HEADER_SIZE bytes are there. */
export function readBatchHeader(b: Buffer, at = 0): BatchHeader {
  return {
    baseOffset: readInt64(b, at),
    size: b.readInt32BE(at + 8) + BATCH_LENGTH_PREFIX,
    partitionLeaderEpoch: b.readInt32BE(at + 12),
    magic: b.readInt8(at + 16),
    crc: b.readUInt32BE(at + 17),
    attributes: b.readInt16BE(at + 21),
    lastOffsetDelta: b.readInt32BE(at + 23),
    baseTimestamp: readInt64(b, at + 27),
    maxTimestamp: readInt64(b, at + 35),
    producerId: readInt64(b, at + 43),
    producerEpoch: b.readInt16BE(at + 51),
    baseSequence: b.readInt32BE(at + 53),
    recordCount: b.readInt32BE(at + 57),
  };
}

export class InvalidRecordError extends Error {
  override name = 'InvalidRecordError';
  constructor(message: string, readonly errorCode: number) {
    super(message);
  }
}

/** CORRUPT_MESSAGE, INVALID_RECORD, UNSUPPORTED_COMPRESSION_TYPE as numbers, to keep this file standalone. */
const CORRUPT_MESSAGE = 2;
const INVALID_RECORD = 87;
const UNSUPPORTED_COMPRESSION_TYPE = 76;
/** Highest compression codec id Kafka defines (zstd). */
const MAX_CODEC = 4;

/**
 * Splits a Produce request's record set into v2 batches and checks each one: whole, magic 2,
 * sane counts, a matching CRC32C and a known compression codec (the body itself is not
 * decompressed). Throws InvalidRecordError otherwise.
 */
export function validateBatches(records: Buffer): BatchHeader[] {
  const out: BatchHeader[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < BATCH_HEADER_SIZE) {
      throw new InvalidRecordError(`truncated batch header at byte ${at}`, CORRUPT_MESSAGE);
    }
    const magic = records.readInt8(at + 16);
    if (magic !== 2) throw new InvalidRecordError(`record batch magic ${magic} where 2 was expected`, CORRUPT_MESSAGE);
    const h = readBatchHeader(records, at);
    if (h.size < BATCH_HEADER_SIZE || at + h.size > records.length) {
      throw new InvalidRecordError(`batch length ${h.size} does not fit the ${records.length - at} bytes sent`, CORRUPT_MESSAGE);
    }
    const crc = crc32c(records.subarray(at + CRC_START, at + h.size));
    if (crc !== h.crc) throw new InvalidRecordError(`batch CRC32C mismatch at byte ${at}`, CORRUPT_MESSAGE);
    if ((h.attributes & Attr.COMPRESSION_MASK) > MAX_CODEC) {
      throw new InvalidRecordError(`unknown compression codec ${h.attributes & Attr.COMPRESSION_MASK}`, UNSUPPORTED_COMPRESSION_TYPE);
    }
    if (h.recordCount < 0 || h.lastOffsetDelta < 0 || (h.recordCount > 0 && h.lastOffsetDelta < h.recordCount - 1)) {
      throw new InvalidRecordError(`record count ${h.recordCount} and last offset delta ${h.lastOffsetDelta} disagree`, INVALID_RECORD);
    }
    if (h.recordCount === 0 && (h.attributes & Attr.CONTROL) === 0) {
      throw new InvalidRecordError('empty record batch', INVALID_RECORD);
    }
    out.push(h);
    at += h.size;
  }
  if (out.length === 0) throw new InvalidRecordError('no record batch in request', CORRUPT_MESSAGE);
  return out;
}

export function batchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(CRC_START));
}

/** The header fields a writer chooses (size, magic and CRC follow from the buffer). */
export type BatchHeaderFields = Omit<BatchHeader, 'size' | 'magic' | 'crc'>;

/**
 * Writes the 61-byte header of the batch that fills `b` (magic 2, length from `b.length`) and
 * then its CRC, so the records must already be in place after the header.
 */
export function writeBatchHeader(b: Buffer, h: BatchHeaderFields): void {
  writeInt64(b, 0, h.baseOffset);
  b.writeInt32BE(b.length - BATCH_LENGTH_PREFIX, 8);
  b.writeInt32BE(h.partitionLeaderEpoch, 12);
  b[16] = 2;
  b.writeInt16BE(h.attributes, 21);
  b.writeInt32BE(h.lastOffsetDelta, 23);
  writeInt64(b, 27, h.baseTimestamp);
  writeInt64(b, 35, h.maxTimestamp);
  writeInt64(b, 43, h.producerId);
  b.writeInt16BE(h.producerEpoch, 51);
  b.writeInt32BE(h.baseSequence, 53);
  b.writeInt32BE(h.recordCount, 57);
  b.writeUInt32BE(batchCrc(b), 17);
}

// ---------------------------------------------------------------------------------------------
// Records inside a batch (used by Fjord's client, internal logs and tests; the broker's hot path
// never decodes records).

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface BatchInput {
  records: { key?: Buffer | string | null; value: Buffer | string | null; headers?: Record['headers'] | { [k: string]: string | Buffer }; timestamp?: number }[];
  baseOffset?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  partitionLeaderEpoch?: number;
  /** Codec id (Compression.*); the body must already be compressed by the caller when non-zero. */
  attributes?: number;
}

const toBuf = (v: Buffer | string | null | undefined): Buffer | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? Buffer.from(v) : v;

function normaliseHeaders(h: BatchInput['records'][number]['headers']): RecordHeader[] {
  if (!h) return [];
  if (Array.isArray(h)) return h;
  return Object.entries(h).map(([key, value]) => ({ key, value: toBuf(value) }));
}

/** Encodes the records section (uncompressed) of a batch. */
export function encodeRecords(input: BatchInput['records'], baseTimestamp: number): Buffer {
  const w = new Writer(input.length * 64 + 64);
  input.forEach((rec, i) => {
    const body = new Writer(64);
    const key = toBuf(rec.key);
    const value = toBuf(rec.value);
    body.int8(0).varlong((rec.timestamp ?? baseTimestamp) - baseTimestamp).varint(i);
    if (key === null) body.varint(-1); else body.varint(key.length).raw(key);
    if (value === null) body.varint(-1); else body.varint(value.length).raw(value);
    const headers = normaliseHeaders(rec.headers);
    body.varint(headers.length);
    for (const hdr of headers) {
      const k = Buffer.from(hdr.key);
      body.varint(k.length).raw(k);
      if (hdr.value === null) body.varint(-1); else body.varint(hdr.value.length).raw(hdr.value);
    }
    const bytes = body.finish();
    w.varint(bytes.length).raw(bytes);
  });
  return w.finish();
}

/**
 * Builds one RecordBatch v2. `recordsBody` may be given pre-encoded (and compressed) with its
 * count and timestamps; otherwise the records are encoded uncompressed.
 */
export function encodeBatch(input: BatchInput, prepared?: { body: Buffer; count: number; baseTimestamp: number; maxTimestamp: number }): Buffer {
  const now = Date.now();
  let body: Buffer, count: number, baseTimestamp: number, maxTimestamp: number;
  if (prepared) {
    ({ body, count, baseTimestamp, maxTimestamp } = prepared);
  } else {
    const stamps = input.records.map((r) => r.timestamp ?? now);
    baseTimestamp = stamps.length ? Math.min(...stamps) : now;
    maxTimestamp = stamps.length ? Math.max(...stamps) : now;
    body = encodeRecords(input.records.map((r, i) => ({ ...r, timestamp: stamps[i] })), baseTimestamp);
    count = input.records.length;
  }
  const size = BATCH_HEADER_SIZE + body.length;
  const b = Buffer.allocUnsafe(size);
  let attributes = input.attributes ?? 0;
  if (input.transactional) attributes |= Attr.TRANSACTIONAL;
  if (input.control) attributes |= Attr.CONTROL;
  body.copy(b, BATCH_HEADER_SIZE);
  writeBatchHeader(b, {
    baseOffset: input.baseOffset ?? 0, partitionLeaderEpoch: input.partitionLeaderEpoch ?? -1, attributes,
    lastOffsetDelta: Math.max(count - 1, 0), baseTimestamp, maxTimestamp, producerId: input.producerId ?? -1,
    producerEpoch: input.producerEpoch ?? -1, baseSequence: input.baseSequence ?? -1, recordCount: count,
  });
  return b;
}

/** Decodes the records of an uncompressed batch body (bytes after the 61-byte header). */
export function decodeRecords(h: BatchHeader, body: Buffer): Record[] {
  const r = new Reader(body);
  const out: Record[] = [];
  for (let i = 0; i < h.recordCount; i++) {
    const len = r.varint();
    const end = r.offset + len;
    if (len < 0 || end > body.length) throw new DecodeError('record length past the batch');
    const rec = new Reader(body, r.offset, end);
    rec.int8(); // record attributes: unused
    const timestamp = h.baseTimestamp + rec.varlong();
    const offset = h.baseOffset + rec.varint();
    const keyLen = rec.varint();
    const key = keyLen < 0 ? null : rec.raw(keyLen);
    const valueLen = rec.varint();
    const value = valueLen < 0 ? null : rec.raw(valueLen);
    const headerCount = rec.varint();
    if (headerCount < 0 || headerCount > rec.remaining) throw new DecodeError('bad header count');
    const headers: RecordHeader[] = [];
    for (let j = 0; j < headerCount; j++) {
      const k = rec.raw(rec.varint()).toString('utf8');
      const vl = rec.varint();
      headers.push({ key: k, value: vl < 0 ? null : rec.raw(vl) });
    }
    out.push({ offset, timestamp: (h.attributes & Attr.LOG_APPEND_TIME) ? h.maxTimestamp : timestamp, key, value, headers });
    r.offset = end;
  }
  return out;
}

/** Iterates the whole batches in a buffer of back-to-back batches (a trailing partial batch is ignored). */
export function* iterateBatches(buf: Buffer): Generator<{ header: BatchHeader; bytes: Buffer }> {
  let at = 0;
  while (buf.length - at >= BATCH_HEADER_SIZE) {
    const header = readBatchHeader(buf, at);
    if (header.size < BATCH_HEADER_SIZE || at + header.size > buf.length) return;
    yield { header, bytes: buf.subarray(at, at + header.size) };
    at += header.size;
  }
}
