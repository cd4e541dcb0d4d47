// RecordBatch v2 (magic 2): the one codec of record batches, used by the broker (produce
// validation, legacy conversion, ListOffsets by timestamp, internal logs) and by the client's
// producer and consumer. It holds the header layout (read, validate, write, CRC32C), records
// encoded straight from their inputs into one sized buffer, records decoded through a cursor
// (nothing allocated per record but what the caller keeps), and compression of the records
// section through compression.ts. Varints come from primitives.ts.
//
// Layout of a batch (offsets in bytes):
//   0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
//   17 crc uint32 | 21 attributes int16 | 23 lastOffsetDelta int32 | 27 baseTimestamp int64
//   35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16 | 53 baseSequence int32
//   57 recordCount int32 | 61 records...
// The CRC covers bytes 21..end, so baseOffset and partitionLeaderEpoch can be rewritten without it.
// One record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//   key (varint length, -1 = null) | value (same) | header count varint | headers: key (varint
//   length + utf8), value (varint length, -1 = null).
import { crc32c } from '@node-rs/crc32';
import {
  CompressionError, DecompressedTooLargeError, UnsupportedCompressionError, compress, compressSync, decompress, decompressSync,
  type DecompressOptions,
} from './compression.js';
import {
  DecodeError, readVarint, readVarlong, varintSize, varlongSize, writeVarint, writeVarlong, type ByteCursor,
} from './primitives.js';

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

// ---------------------------------------------------------------------------------------------
// The header.

const TWO_32 = 4294967296;
export const readInt64 = (b: Buffer, at: number): number => b.readInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4);
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

/** The compression codec id of a batch (attributes bits 0–2). */
export function batchCodec(h: BatchHeader): number {
  return h.attributes & Attr.COMPRESSION_MASK;
}

export class InvalidRecordError extends Error {
  override name = 'InvalidRecordError';
  constructor(message: string, readonly errorCode: number) {
    super(message);
  }
}

/** CORRUPT_MESSAGE, INVALID_RECORD, UNSUPPORTED_COMPRESSION_TYPE, MESSAGE_TOO_LARGE as numbers, to keep this file standalone. */
const CORRUPT_MESSAGE = 2;
const INVALID_RECORD = 87;
const UNSUPPORTED_COMPRESSION_TYPE = 76;
const MESSAGE_TOO_LARGE = 10;
/** Highest compression codec id Kafka defines (zstd). */
const MAX_CODEC = 4;

/**
 * Splits a Produce request's record set into v2 batches and checks each one as Kafka's
 * LogValidator does: whole, magic 2, a matching CRC32C, a known compression codec, a positive
 * record count that agrees with lastOffsetDelta (count = lastOffsetDelta + 1), and, for an
 * uncompressed batch, records that are exactly what the header says (see recordsProblem).
 * Compressed bodies are not opened here: checkCompressedBatches does that, asynchronously.
 * Throws InvalidRecordError: CORRUPT_MESSAGE for damaged bytes, INVALID_RECORD for a batch whose
 * parts disagree, UNSUPPORTED_COMPRESSION_TYPE for codec ids past zstd.
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
    if (batchCodec(h) > MAX_CODEC) {
      throw new InvalidRecordError(`unknown compression codec ${batchCodec(h)}`, UNSUPPORTED_COMPRESSION_TYPE);
    }
    // Kafka: "Inconsistent batch offset range and count of records". The broker assigns offsets
    // base..base+lastOffsetDelta, so a delta the records do not back would let a client move the
    // log end wherever it likes.
    if (h.recordCount <= 0 || h.lastOffsetDelta !== h.recordCount - 1) {
      throw new InvalidRecordError(`record count ${h.recordCount} and last offset delta ${h.lastOffsetDelta} disagree`, INVALID_RECORD);
    }
    if (batchCodec(h) === 0) {
      const problem = recordsProblem(h, records, at + BATCH_HEADER_SIZE, at + h.size);
      if (problem !== null) throw new InvalidRecordError(problem, INVALID_RECORD);
    }
    out.push(h);
    at += h.size;
  }
  if (out.length === 0) throw new InvalidRecordError('no record batch in request', CORRUPT_MESSAGE);
  return out;
}

// One cursor for every walk: recordsProblem runs synchronously to the end, so it is never shared.
const walk: { buf: Buffer; offset: number; end: number } = { buf: Buffer.alloc(0), offset: 0, end: 0 };

/** Moves the walk past a length-prefixed field (-1 = null; only `nullable` ones may be); false when it does not fit. */
function skipField(nullable: boolean): boolean {
  const length = readVarint(walk);
  if (length < (nullable ? -1 : 0) || length > walk.end - walk.offset) return false;
  if (length > 0) walk.offset += length;
  return true;
}

/**
 * Why the uncompressed records section buf[from..to) does not hold exactly the records `h`
 * declares, or null when it does: recordCount records back to back, each inside its length,
 * offset deltas 0, 1, 2, … in order (the broker assigns offsets; a client cannot pick them),
 * key, value, header count and headers inside the record, and no byte left after the last one.
 * Reads varints in place and allocates nothing.
 */
export function recordsProblem(h: BatchHeader, buf: Buffer, from = 0, to = buf.length): string | null {
  walk.buf = buf;
  walk.offset = from;
  walk.end = to;
  try {
    for (let i = 0; i < h.recordCount; i++) {
      if (walk.offset >= to) return `the batch declares ${h.recordCount} records but holds ${i}`;
      walk.end = to;
      const length = readVarint(walk);
      if (length < 1 || length > to - walk.offset) return `record ${i}: length ${length} past the records section`;
      const end = walk.offset + length;
      walk.end = end;
      walk.offset++; // attributes
      readVarlong(walk); // timestamp delta
      const delta = readVarint(walk);
      if (delta !== i) return `record ${i} has offset delta ${delta}`;
      if (!skipField(true)) return `record ${i}: key past the record`;
      if (!skipField(true)) return `record ${i}: value past the record`;
      const headers = readVarint(walk);
      if (headers < 0 || headers > end - walk.offset) return `record ${i}: header count ${headers} past the record`;
      for (let k = 0; k < headers; k++) {
        if (!skipField(false) || !skipField(true)) return `record ${i}: header ${k} past the record`;
      }
      if (walk.offset !== end) return `record ${i}: ${end - walk.offset} bytes after its headers`;
    }
    if (walk.offset !== to) return `${to - walk.offset} bytes after the last of ${h.recordCount} records`;
    return null;
  } catch (err) {
    if (err instanceof DecodeError) return err.message;
    throw err;
  } finally {
    walk.buf = EMPTY;
  }
}
const EMPTY = Buffer.alloc(0);

/**
 * Opens every compressed batch among `headers` (as validateBatches returned them for `records`)
 * and checks its records as recordsProblem does, as Kafka does before it stores a compressed
 * batch: a body that does not decompress would otherwise be acknowledged and then break every
 * reader. Decompression runs off the event loop where the codec allows (gzip, lz4, zstd). All
 * the batches together may decompress to at most `maxDecompressedBytes`. Resolves to the bytes
 * decompressed; rejects with InvalidRecordError: CORRUPT_MESSAGE for a body that does not
 * decompress, MESSAGE_TOO_LARGE past the limit (a Java producer then splits the batch),
 * INVALID_RECORD for records that disagree with the header, UNSUPPORTED_COMPRESSION_TYPE for a
 * codec this build cannot run.
 */
export async function checkCompressedBatches(records: Buffer, headers: readonly BatchHeader[], maxDecompressedBytes: number): Promise<number> {
  let at = 0;
  let total = 0;
  for (const h of headers) {
    const codec = batchCodec(h);
    if (codec !== 0) {
      let section: Buffer;
      try {
        section = await decompress(codec, records.subarray(at + BATCH_HEADER_SIZE, at + h.size), { maxBytes: maxDecompressedBytes - total });
      } catch (err) {
        throw asInvalidRecord(err, `batch at byte ${at}`);
      }
      total += section.length;
      const problem = recordsProblem(h, section);
      if (problem !== null) throw new InvalidRecordError(problem, INVALID_RECORD);
    }
    at += h.size;
  }
  return total;
}

/** A compression failure as the InvalidRecordError a Produce answer carries; other errors pass through. */
export function asInvalidRecord(err: unknown, what: string): unknown {
  if (err instanceof DecompressedTooLargeError) return new InvalidRecordError(`${what}: ${err.message}`, MESSAGE_TOO_LARGE);
  if (err instanceof UnsupportedCompressionError) return new InvalidRecordError(`${what}: ${err.message}`, UNSUPPORTED_COMPRESSION_TYPE);
  if (err instanceof CompressionError) return new InvalidRecordError(`${what} does not decompress: ${err.message}`, CORRUPT_MESSAGE);
  return err;
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
// Encoding records. Sizes are measured first, then everything (strings included) is written in
// place into one buffer: nothing is allocated per record.

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A header value as producers give it; a list is written as one header per element, same key. */
export type HeaderValue = Buffer | string | null | undefined | (Buffer | string)[];
/** Headers as a list (repeated keys allowed) or as an object (kafkajs' IHeaders). */
export type RecordHeadersInput = RecordHeader[] | { [key: string]: HeaderValue };

export interface RecordInput {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeadersInput;
  /** Milliseconds since the epoch; decimal strings (kafkajs messages) are accepted. Default: the batch's `now`. */
  timestamp?: number | string;
}

export interface BatchOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  /** Compression codec id (compression.ts' Codec) the records section is compressed with. */
  codec?: number;
  /** Attribute bits written as given (tests craft headers with them); codec bits here compress nothing. */
  attributes?: number;
  /** Timestamp of records without one (ms). Default: Date.now(). */
  now?: number;
}

export interface BatchInput extends BatchOptions {
  records: readonly RecordInput[];
}

/** Per record between measuring and writing: key length, value length, record length, header count. */
const SLOTS = 4;
// Reused between calls; measuring and writing happen in one synchronous call (encodeRecordsSection).
let scratch = new Int32Array(SLOTS * 1024);

const lengthOf = (v: Buffer | string | null | undefined): number =>
  v === null || v === undefined ? -1 : typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
/** Bytes of a length-prefixed field of `len` bytes (-1 = null). */
const fieldSize = (len: number): number => varintSize(len) + (len > 0 ? len : 0);

function put(b: Buffer, at: number, v: Buffer | string, len: number): number {
  if (typeof v === 'string') b.write(v, at, len, 'utf8');
  else v.copy(b, at);
  return at + len;
}
function writeField(b: Buffer, at: number, v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return writeVarint(b, at, -1);
  const len = lengthOf(v);
  return put(b, writeVarint(b, at, len), v, len);
}

function timestampOf(r: RecordInput, now: number): number {
  const t = r.timestamp;
  return t === undefined || t === null ? now : typeof t === 'number' ? t : Number(t);
}

/** [base (lowest), max] timestamp of records[from..to); throws on one that is not a number. */
function timestampRange(records: readonly RecordInput[], from: number, to: number, now: number): [number, number] {
  if (from >= to) return [now, now];
  let base = Infinity;
  let max = -Infinity;
  for (let i = from; i < to; i++) {
    const t = timestampOf(records[i], now);
    if (!Number.isFinite(t)) throw new TypeError(`invalid record timestamp "${records[i].timestamp}"`);
    if (t < base) base = t;
    if (t > max) max = t;
  }
  return [base, max];
}

/** Bytes of the header section (count included); stores the count in the record's scratch slot. */
function measureHeaders(headers: RecordHeadersInput | undefined, slot: number): number {
  let size = 0;
  let count = 0;
  if (Array.isArray(headers)) {
    for (const h of headers) {
      size += fieldSize(Buffer.byteLength(h.key, 'utf8')) + fieldSize(lengthOf(h.value));
      count++;
    }
  } else if (headers) {
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      const keySize = fieldSize(Buffer.byteLength(k, 'utf8'));
      if (Array.isArray(v)) {
        for (const one of v) size += keySize + fieldSize(lengthOf(one));
        count += v.length;
      } else {
        size += keySize + fieldSize(lengthOf(v));
        count++;
      }
    }
  }
  scratch[slot + 3] = count;
  return size + varintSize(count);
}

function writeHeaders(b: Buffer, at: number, headers: RecordHeadersInput | undefined, count: number): number {
  at = writeVarint(b, at, count);
  if (count === 0) return at;
  if (Array.isArray(headers)) {
    for (const h of headers) at = writeField(b, writeField(b, at, h.key), h.value);
  } else if (headers) {
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const one of v) at = writeField(b, writeField(b, at, k), one);
      else at = writeField(b, writeField(b, at, k), v);
    }
  }
  return at;
}

function measureRecords(records: readonly RecordInput[], from: number, to: number, baseTimestamp: number, now: number): number {
  const n = to - from;
  if (scratch.length < n * SLOTS) scratch = new Int32Array(n * SLOTS * 2);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = records[from + i];
    const slot = i * SLOTS;
    const keyLength = lengthOf(r.key);
    const valueLength = lengthOf(r.value);
    const length = 1 + varlongSize(timestampOf(r, now) - baseTimestamp) + varintSize(i)
      + fieldSize(keyLength) + fieldSize(valueLength) + measureHeaders(r.headers, slot);
    scratch[slot] = keyLength;
    scratch[slot + 1] = valueLength;
    scratch[slot + 2] = length;
    total += varintSize(length) + length;
  }
  return total;
}

/** Writes what measureRecords just measured, from `at`; returns the end position. */
function writeRecords(b: Buffer, at: number, records: readonly RecordInput[], from: number, to: number, baseTimestamp: number, now: number): number {
  for (let i = 0; i < to - from; i++) {
    const r = records[from + i];
    const slot = i * SLOTS;
    const keyLength = scratch[slot];
    const valueLength = scratch[slot + 1];
    at = writeVarint(b, at, scratch[slot + 2]);
    b[at++] = 0; // record attributes: none defined
    at = writeVarlong(b, at, timestampOf(r, now) - baseTimestamp);
    at = writeVarint(b, at, i);
    at = writeVarint(b, at, keyLength);
    if (keyLength > 0) at = put(b, at, r.key!, keyLength);
    at = writeVarint(b, at, valueLength);
    if (valueLength > 0) at = put(b, at, r.value!, valueLength);
    at = writeHeaders(b, at, r.headers, scratch[slot + 3]);
  }
  return at;
}

/**
 * The uncompressed records section of records[from..to), written after the first `reserve`
 * bytes of one new buffer (so a batch header can go in front without a copy).
 */
function encodeRecordsSection(records: readonly RecordInput[], from: number, to: number, baseTimestamp: number, now: number, reserve: number): Buffer {
  const b = Buffer.allocUnsafe(reserve + measureRecords(records, from, to, baseTimestamp, now));
  const end = writeRecords(b, reserve, records, from, to, baseTimestamp, now);
  if (end !== b.length) throw new Error(`records encoded to ${end - reserve} bytes where ${b.length - reserve} were measured`);
  return b;
}

function writeHeaderOf(b: Buffer, o: BatchOptions, count: number, [baseTimestamp, maxTimestamp]: [number, number]): void {
  let attributes = o.attributes ?? 0;
  if (o.codec !== undefined) attributes = (attributes & ~Attr.COMPRESSION_MASK) | o.codec;
  if (o.transactional) attributes |= Attr.TRANSACTIONAL;
  if (o.control) attributes |= Attr.CONTROL;
  writeBatchHeader(b, {
    baseOffset: o.baseOffset ?? 0, partitionLeaderEpoch: o.partitionLeaderEpoch ?? -1, attributes,
    lastOffsetDelta: Math.max(count - 1, 0), baseTimestamp, maxTimestamp, producerId: o.producerId ?? -1,
    producerEpoch: o.producerEpoch ?? -1, baseSequence: o.baseSequence ?? -1, recordCount: count,
  });
}

/** A batch around an already compressed records section. */
function wrapCompressed(body: Buffer, o: BatchOptions, count: number, stamps: [number, number]): Buffer {
  const b = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  body.copy(b, BATCH_HEADER_SIZE);
  writeHeaderOf(b, o, count, stamps);
  return b;
}

/**
 * Encodes records[from..to) as one RecordBatch v2 with offset deltas 0..n-1, compressed
 * synchronously with `o.codec` (zstd throws UnsupportedCompressionError; use encodeRecordBatch).
 * An uncompressed batch is one allocation.
 */
export function encodeRecordBatchSync(records: readonly RecordInput[], from = 0, to = records.length, o: BatchOptions = {}): Buffer {
  const now = o.now ?? Date.now();
  const stamps = timestampRange(records, from, to, now);
  const codec = o.codec ?? 0;
  if (codec === 0) {
    const b = encodeRecordsSection(records, from, to, stamps[0], now, BATCH_HEADER_SIZE);
    writeHeaderOf(b, o, to - from, stamps);
    return b;
  }
  return wrapCompressed(compressSync(codec, encodeRecordsSection(records, from, to, stamps[0], now, 0)), o, to - from, stamps);
}

/** Like encodeRecordBatchSync, compressing off the main thread where the codec allows (zstd included). */
export async function encodeRecordBatch(records: readonly RecordInput[], from = 0, to = records.length, o: BatchOptions = {}): Promise<Buffer> {
  const codec = o.codec ?? 0;
  if (codec === 0) return encodeRecordBatchSync(records, from, to, o);
  const now = o.now ?? Date.now();
  const stamps = timestampRange(records, from, to, now);
  const raw = encodeRecordsSection(records, from, to, stamps[0], now, 0);
  return wrapCompressed(await compress(codec, raw), o, to - from, stamps);
}

/** One RecordBatch v2 of `input.records` (compressed synchronously when `input.codec` says so). */
export function encodeBatch(input: BatchInput): Buffer {
  return encodeRecordBatchSync(input.records, 0, input.records.length, input);
}

/** One RecordBatch v2 whose records section is compressed with `codec` (0 = none). */
export function encodeBatchCompressed(input: BatchInput, codec: number): Promise<Buffer> {
  return encodeRecordBatch(input.records, 0, input.records.length, { ...input, codec });
}

/** Like encodeBatchCompressed, synchronously; zstd throws UnsupportedCompressionError. */
export function encodeBatchCompressedSync(input: BatchInput, codec: number): Buffer {
  return encodeRecordBatchSync(input.records, 0, input.records.length, { ...input, codec });
}

// ---------------------------------------------------------------------------------------------
// Decoding records.

/**
 * Walks the records of one uncompressed records section. After next() returns true, the fields
 * describe the current record and nextHeader() steps through its headers. Key, value and
 * header values are subarrays of the section. Reads are bounded by the record's length and
 * throw DecodeError past it; a section with fewer records than the header counts throws too.
 */
export class RecordCursor {
  /** Absolute offset of the current record. */
  offset = 0;
  /** Its timestamp (the batch's maxTimestamp for LogAppendTime batches). */
  timestamp = 0;
  attributes = 0;
  key: Buffer | null = null;
  value: Buffer | null = null;
  headerCount = 0;
  headerKey = '';
  headerValue: Buffer | null = null;

  private readonly at: { buf: Buffer; offset: number; end: number };
  private readonly sectionEnd: number;
  private recordEnd = 0;
  private recordsLeft: number;
  private headersLeft = 0;

  /** Records with an offset below `minOffset` are skipped without reading their key or value. */
  constructor(private readonly header: BatchHeader, section: Buffer, private readonly minOffset = -Infinity) {
    this.at = { buf: section, offset: 0, end: section.length };
    this.sectionEnd = section.length;
    this.recordsLeft = Math.max(header.recordCount, 0);
  }

  next(): boolean {
    const at = this.at;
    const h = this.header;
    while (this.recordsLeft > 0) {
      this.recordsLeft--;
      at.offset = this.recordEnd;
      at.end = this.sectionEnd;
      const length = readVarint(at);
      if (length < 1 || length > this.sectionEnd - at.offset) throw new DecodeError(`record length ${length} past the records section`);
      this.recordEnd = at.end = at.offset + length;
      const attributes = at.buf[at.offset++];
      const timestampDelta = readVarlong(at);
      const offset = h.baseOffset + readVarint(at);
      if (offset < this.minOffset) continue;
      this.attributes = attributes;
      this.offset = offset;
      this.timestamp = (h.attributes & Attr.LOG_APPEND_TIME) !== 0 ? h.maxTimestamp : h.baseTimestamp + timestampDelta;
      this.key = this.bytesField();
      this.value = this.bytesField();
      const count = readVarint(at);
      if (count < 0 || count > at.end - at.offset) throw new DecodeError(`header count ${count} past the record`);
      this.headerCount = this.headersLeft = count;
      return true;
    }
    return false;
  }

  nextHeader(): boolean {
    if (this.headersLeft === 0) return false;
    this.headersLeft--;
    const at = this.at;
    const keyLength = readVarint(at);
    if (keyLength < 0 || keyLength > at.end - at.offset) throw new DecodeError(`header key length ${keyLength} past the record`);
    this.headerKey = at.buf.toString('utf8', at.offset, (at.offset += keyLength));
    this.headerValue = this.bytesField();
    return true;
  }

  private bytesField(): Buffer | null {
    const at: ByteCursor = this.at;
    const length = readVarint(at);
    if (length < 0) return null;
    const start = at.offset;
    if (length > at.end - start) throw new DecodeError(`field of ${length} bytes past the record`);
    at.offset = start + length;
    return at.buf.subarray(start, start + length);
  }
}

export interface Record {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** Decodes the records of an uncompressed records section (the bytes after the 61-byte header). */
export function decodeRecords(h: BatchHeader, section: Buffer, minOffset?: number): Record[] {
  const out: Record[] = [];
  const cursor = new RecordCursor(h, section, minOffset);
  while (cursor.next()) {
    const headers: RecordHeader[] = [];
    while (cursor.nextHeader()) headers.push({ key: cursor.headerKey, value: cursor.headerValue });
    out.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key, value: cursor.value, headers });
  }
  return out;
}

/** The records section of one whole batch (`batch` starts at its baseOffset), decompressed. */
export async function batchRecordsSection(batch: Buffer, header: BatchHeader = readBatchHeader(batch), options?: DecompressOptions): Promise<Buffer> {
  const body = batch.subarray(BATCH_HEADER_SIZE, header.size);
  const codec = batchCodec(header);
  return codec === 0 ? body : decompress(codec, body, options);
}

/** Like batchRecordsSection, synchronously; zstd batches throw UnsupportedCompressionError. */
export function batchRecordsSectionSync(batch: Buffer, header: BatchHeader = readBatchHeader(batch), options?: DecompressOptions): Buffer {
  const body = batch.subarray(BATCH_HEADER_SIZE, header.size);
  const codec = batchCodec(header);
  return codec === 0 ? body : decompressSync(codec, body, options);
}

/** Decodes the records of one whole v2 batch whatever its compression. */
export async function decodeBatchRecords(batch: Buffer, header: BatchHeader = readBatchHeader(batch), options?: DecompressOptions): Promise<Record[]> {
  return decodeRecords(header, await batchRecordsSection(batch, header, options));
}

/** Like decodeBatchRecords, synchronously; zstd batches throw UnsupportedCompressionError. */
export function decodeBatchRecordsSync(batch: Buffer, header: BatchHeader = readBatchHeader(batch), options?: DecompressOptions): Record[] {
  return decodeRecords(header, batchRecordsSectionSync(batch, header, options));
}

// ---------------------------------------------------------------------------------------------
// Control batches: the COMMIT / ABORT markers that end a producer's transaction on a partition.

/** Control record types (the int16 after the key's version). */
export const ControlType = { ABORT: 0, COMMIT: 1 } as const;

export interface TxnMarker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  /** The transaction coordinator's epoch when it wrote the marker (0 on a single node). */
  coordinatorEpoch: number;
}

/**
 * One control batch holding one marker record: key = int16 version 0 + int16 type, value =
 * int16 version 0 + int32 coordinator epoch. Transactional and control bits set, no sequence.
 */
export function encodeControlBatch(marker: TxnMarker, now = Date.now()): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(marker.commit ? ControlType.COMMIT : ControlType.ABORT, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(marker.coordinatorEpoch, 2);
  return encodeRecordBatchSync([{ key, value, timestamp: now }], 0, 1, {
    producerId: marker.producerId, producerEpoch: marker.producerEpoch, transactional: true, control: true, now,
  });
}

/** The marker type of a control record's key (ControlType), or -1 when the key is not one. */
export function controlTypeOf(key: Buffer | null): number {
  if (!key || key.length < 4 || key.readInt16BE(0) < 0) return -1;
  return key.readInt16BE(2);
}
