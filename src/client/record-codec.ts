// The client's hot path: RecordBatch v2 encoding straight from kafkajs-shaped messages into one
// buffer (sizes are computed first, strings are written in place, nothing per record is
// allocated), and decoding of fetched batches into kafkajs-shaped messages with one pass over
// the bytes. Compressed batches go through protocol/compression.ts.
import { compress, decompress } from '../protocol/compression.js';
import { Attr, BATCH_HEADER_SIZE, BATCH_LENGTH_PREFIX, batchCrc, readBatchHeader, writeBatchHeader, writeInt64, type BatchHeader } from '../protocol/records.js';

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export interface IHeaders {
  [key: string]: HeaderValue;
}

/** A message as producers pass it (kafkajs' Message). */
export interface Message {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  partition?: number;
  headers?: IHeaders;
  timestamp?: string | number;
}

/** A consumed message (kafkajs' KafkaMessage). Offsets and timestamps are decimal strings. */
export interface KafkaMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  attributes: number;
  offset: string;
  size?: number;
  headers: { [key: string]: Buffer | Buffer[] | undefined };
}

export interface BatchOptions {
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  /** Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
  codec?: number;
  /** Timestamp for messages without one (ms). */
  now?: number;
}

// ---------------------------------------------------------------------------------------------
// Sizes and writers of varints (zigzag for signed values).

const zigzag32 = (n: number) => ((n << 1) ^ (n >> 31)) >>> 0;
function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  v = Math.floor(v / 0x800000000);
  while (v > 0) { n++; v = Math.floor(v / 128); }
  return n;
}
const varintSize = (n: number) => uvarintSize(zigzag32(n));
const zigzag64 = (n: number) => (n >= 0 ? n * 2 : -n * 2 - 1);
const varlongSize = (n: number) => uvarintSize(zigzag64(n));

function writeUVarint(b: Buffer, at: number, v: number): number {
  while (v >= 0x80) {
    b[at++] = (v & 0x7f) | 0x80;
    v = v >= 0x100000000 ? Math.floor(v / 128) : v >>> 7;
  }
  b[at++] = v;
  return at;
}
const writeVarint = (b: Buffer, at: number, n: number) => writeUVarint(b, at, zigzag32(n));
const writeVarlong = (b: Buffer, at: number, n: number) => writeUVarint(b, at, zigzag64(n));

const byteLen = (v: Buffer | string) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length);
function put(b: Buffer, at: number, v: Buffer | string, len: number): number {
  if (typeof v === 'string') b.write(v, at, len, 'utf8');
  else v.copy(b, at);
  return at + len;
}

// Scratch space reused between calls: per record its key, value and body lengths.
let scratch = new Int32Array(3 * 1024);

function headerSize(headers: IHeaders | undefined): { size: number; count: number } {
  if (!headers) return { size: varintSize(0), count: 0 };
  let size = 0;
  let count = 0;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    const kl = Buffer.byteLength(k, 'utf8');
    const list = Array.isArray(v) ? v : [v];
    for (const one of list) {
      const vl = one === null ? -1 : byteLen(one);
      size += varintSize(kl) + kl + varintSize(vl) + (vl > 0 ? vl : 0);
      count++;
    }
  }
  return { size: size + varintSize(count), count };
}

function writeHeaders(b: Buffer, at: number, headers: IHeaders | undefined, count: number): number {
  at = writeVarint(b, at, count);
  if (!headers || count === 0) return at;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    const list = Array.isArray(v) ? v : [v];
    for (const one of list) {
      const kl = Buffer.byteLength(k, 'utf8');
      at = writeVarint(b, at, kl);
      at = put(b, at, k, kl);
      if (one === null) {
        at = writeVarint(b, at, -1);
      } else {
        const vl = byteLen(one);
        at = writeVarint(b, at, vl);
        at = put(b, at, one, vl);
      }
    }
  }
  return at;
}

const tsOf = (m: Message, now: number) => (m.timestamp === undefined || m.timestamp === null ? now : Number(m.timestamp));

/**
 * Writes the records of `messages[from..to)` at `at` in `b` (or, with b = null, only measures
 * them). Returns the end position (or the size).
 */
function records(b: Buffer | null, at: number, messages: readonly Message[], from: number, to: number, baseTimestamp: number, now: number): number {
  const n = to - from;
  if (scratch.length < n * 3) scratch = new Int32Array(n * 3 * 2);
  if (b === null) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const m = messages[from + i];
      const key = m.key;
      const kl = key === null || key === undefined ? -1 : byteLen(key);
      const vl = m.value === null || m.value === undefined ? -1 : byteLen(m.value);
      const hs = headerSize(m.headers);
      const body = 1 + varlongSize(tsOf(m, now) - baseTimestamp) + varintSize(i)
        + varintSize(kl) + (kl > 0 ? kl : 0) + varintSize(vl) + (vl > 0 ? vl : 0) + hs.size;
      scratch[i * 3] = kl;
      scratch[i * 3 + 1] = vl;
      scratch[i * 3 + 2] = body;
      total += varintSize(body) + body;
    }
    return total;
  }
  for (let i = 0; i < n; i++) {
    const m = messages[from + i];
    const kl = scratch[i * 3];
    const vl = scratch[i * 3 + 1];
    at = writeVarint(b, at, scratch[i * 3 + 2]);
    b[at++] = 0; // record attributes
    at = writeVarlong(b, at, tsOf(m, now) - baseTimestamp);
    at = writeVarint(b, at, i);
    at = writeVarint(b, at, kl);
    if (kl > 0) at = put(b, at, m.key!, kl);
    at = writeVarint(b, at, vl);
    if (vl > 0) at = put(b, at, m.value!, vl);
    let count = 0;
    if (m.headers) for (const k in m.headers) { const v = m.headers[k]; if (v !== undefined) count += Array.isArray(v) ? v.length : 1; }
    at = writeHeaders(b, at, m.headers, count);
  }
  return at;
}

function writeHeader(b: Buffer, count: number, baseTimestamp: number, maxTimestamp: number, attributes: number, o: BatchOptions): void {
  writeBatchHeader(b, {
    baseOffset: 0, partitionLeaderEpoch: -1, attributes, lastOffsetDelta: count - 1, baseTimestamp, maxTimestamp,
    producerId: o.producerId ?? -1, producerEpoch: o.producerEpoch ?? -1, baseSequence: o.baseSequence ?? -1, recordCount: count,
  });
}

function timestamps(messages: readonly Message[], from: number, to: number, now: number): [number, number] {
  let base = tsOf(messages[from], now);
  let max = base;
  for (let i = from + 1; i < to; i++) {
    const t = tsOf(messages[i], now);
    if (t > max) max = t;
  }
  if (!Number.isFinite(base)) throw new TypeError(`invalid message timestamp "${messages[from].timestamp}"`);
  return [base, max];
}

/** The encoded size of messages[from..to) as an uncompressed batch. */
export function batchSize(messages: readonly Message[], from = 0, to = messages.length, now = Date.now()): number {
  const [base] = timestamps(messages, from, to, now);
  return BATCH_HEADER_SIZE + records(null, 0, messages, from, to, base, now);
}

/** Encodes messages[from..to) as one uncompressed RecordBatch v2. */
export function encodeBatchSync(messages: readonly Message[], from: number, to: number, o: BatchOptions = {}): Buffer {
  const now = o.now ?? Date.now();
  const [base, max] = timestamps(messages, from, to, now);
  const size = BATCH_HEADER_SIZE + records(null, 0, messages, from, to, base, now);
  const b = Buffer.allocUnsafe(size);
  records(b, BATCH_HEADER_SIZE, messages, from, to, base, now);
  writeHeader(b, to - from, base, max, o.transactional ? Attr.TRANSACTIONAL : 0, o);
  return b;
}

/** Encodes messages[from..to) as one RecordBatch v2 compressed with `o.codec`. */
export async function encodeBatch(messages: readonly Message[], from: number, to: number, o: BatchOptions = {}): Promise<Buffer> {
  const codec = o.codec ?? 0;
  if (codec === 0) return encodeBatchSync(messages, from, to, o);
  const now = o.now ?? Date.now();
  const [base, max] = timestamps(messages, from, to, now);
  const raw = Buffer.allocUnsafe(records(null, 0, messages, from, to, base, now));
  records(raw, 0, messages, from, to, base, now);
  const body = await compress(codec, raw);
  const b = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
  body.copy(b, BATCH_HEADER_SIZE);
  writeHeader(b, to - from, base, max, codec | (o.transactional ? Attr.TRANSACTIONAL : 0), o);
  return b;
}

/** Stamps a new producer id/epoch/sequence into an encoded batch and fixes its CRC. */
export function restampBatch(b: Buffer, producerId: number, producerEpoch: number, baseSequence: number): void {
  writeInt64(b, 43, producerId);
  b.writeInt16BE(producerEpoch, 51);
  b.writeInt32BE(baseSequence, 53);
  b.writeUInt32BE(batchCrc(b), 17);
}

// ---------------------------------------------------------------------------------------------
// Decoding. The cursor is a module variable (decoding is synchronous, so it is never shared).

let at = 0;

function readUVarint(b: Buffer, end: number): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (at >= end) throw new RangeError('varint past the end of the batch');
    const byte = b[at++];
    if (shift < 28) result |= (byte & 0x7f) << shift;
    else result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
    if (shift > 63) throw new RangeError('varint too long');
  }
}
function readVarint(b: Buffer, end: number): number {
  // One-byte fast path: most lengths, deltas and counts are small.
  if (at < end) {
    const byte = b[at];
    if ((byte & 0x80) === 0) {
      at++;
      return (byte >>> 1) ^ -(byte & 1);
    }
  }
  const u = readUVarint(b, end);
  return (u >>> 1) ^ -(u & 1);
}
function readVarlong(b: Buffer, end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; ; i++) {
    if (at >= end || i >= 10) throw new RangeError('bad varlong in batch');
    const byte = b[at++];
    result += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) break;
    mul *= 128;
  }
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/** Decodes an uncompressed records section into kafkajs-shaped messages, skipping offsets below `minOffset`. */
function decodeRecordsInto(out: KafkaMessage[], h: BatchHeader, body: Buffer, minOffset: number): void {
  at = 0;
  const end = body.length;
  const logAppend = (h.attributes & Attr.LOG_APPEND_TIME) !== 0;
  // Records of a batch mostly share a timestamp: reuse its string.
  let lastTs = NaN;
  let lastTsText = '';
  for (let i = 0; i < h.recordCount && at < end; i++) {
    const len = readVarint(body, end);
    const recEnd = at + len;
    if (len < 0 || recEnd > end) throw new RangeError('record length past the batch');
    const attributes = body[at++];
    const tsDelta = readVarlong(body, recEnd);
    const offset = h.baseOffset + readVarint(body, recEnd);
    if (offset < minOffset) { at = recEnd; continue; }
    const kl = readVarint(body, recEnd);
    const key = kl < 0 ? null : body.subarray(at, (at += kl));
    const vl = readVarint(body, recEnd);
    const value = vl < 0 ? null : body.subarray(at, (at += vl));
    const hc = readVarint(body, recEnd);
    const headers: KafkaMessage['headers'] = {};
    for (let j = 0; j < hc; j++) {
      const hkl = readVarint(body, recEnd);
      const hk = body.toString('utf8', at, (at += hkl));
      const hvl = readVarint(body, recEnd);
      const hv = hvl < 0 ? (null as unknown as Buffer) : body.subarray(at, (at += hvl));
      const prev = headers[hk];
      if (prev === undefined) headers[hk] = hv;
      else if (Array.isArray(prev)) prev.push(hv);
      else headers[hk] = [prev, hv];
    }
    if (at > recEnd) throw new RangeError('record fields past its length');
    at = recEnd;
    const ts = logAppend ? h.maxTimestamp : h.baseTimestamp + tsDelta;
    if (ts !== lastTs) {
      lastTs = ts;
      lastTsText = String(ts);
    }
    out.push({ key, value, timestamp: lastTsText, attributes, offset: String(offset), headers });
  }
}

export interface DecodeOptions {
  /** Skip records below this offset (a fetch may start inside a batch). */
  minOffset?: number;
  /** read_committed: the aborted transactions the Fetch response listed. */
  abortedTransactions?: { producerId: number; firstOffset: number }[] | null;
  readCommitted?: boolean;
}

/**
 * Decodes the batches of one partition's fetched record set into one list of messages. Control
 * batches and (read_committed) aborted transactional batches yield no messages but still move
 * `nextOffset` past them. A trailing partial batch is ignored. Older message formats (magic 0/1)
 * are not decoded.
 */
export async function decodeRecordSet(records: Buffer | null, o: DecodeOptions = {}): Promise<{ messages: KafkaMessage[]; nextOffset: number }> {
  const messages: KafkaMessage[] = [];
  let nextOffset = -1;
  if (!records || records.length === 0) return { messages, nextOffset };
  const minOffset = o.minOffset ?? 0;
  const aborted = o.readCommitted && o.abortedTransactions?.length
    ? [...o.abortedTransactions].sort((a, b) => a.firstOffset - b.firstOffset) : null;
  const abortingProducers = new Set<number>();
  let pos = 0;
  while (records.length - pos >= BATCH_HEADER_SIZE) {
    const magic = records.readInt8(pos + 16);
    const size = records.readInt32BE(pos + 8) + BATCH_LENGTH_PREFIX;
    if (pos + size > records.length) break;
    if (magic !== 2) {
      throw new RangeError(`message format magic ${magic} is not supported by this client (the broker sent an old-format batch)`);
    }
    const h = readBatchHeader(records, pos);
    const bytes = records.subarray(pos, pos + size);
    pos += size;
    const lastOffset = h.baseOffset + h.lastOffsetDelta;
    nextOffset = Math.max(nextOffset, lastOffset + 1);
    if (lastOffset < minOffset) continue;
    const isControl = (h.attributes & Attr.CONTROL) !== 0;
    if (aborted) {
      while (aborted.length && aborted[0].firstOffset <= h.baseOffset) abortingProducers.add(aborted.shift()!.producerId);
      if (isControl) {
        // The marker ends the producer's (aborted or committed) transaction.
        abortingProducers.delete(h.producerId);
        continue;
      }
      if ((h.attributes & Attr.TRANSACTIONAL) !== 0 && abortingProducers.has(h.producerId)) continue;
    }
    if (isControl) continue;
    const codec = h.attributes & Attr.COMPRESSION_MASK;
    let body = bytes.subarray(BATCH_HEADER_SIZE);
    if (codec !== 0) body = await decompress(codec, body);
    decodeRecordsInto(messages, h, body, minOffset);
  }
  return { messages, nextOffset };
}
