// Legacy message sets (message format v0 and v1, "magic" 0 and 1), spoken by Produce v0–2 and
// Fetch v0–3, converted to and from RecordBatch v2, the only format storage keeps.
//
// One message (offsets in bytes):
//   0 offset int64 | 8 messageSize int32 | 12 crc uint32 | 16 magic int8 | 17 attributes int8
//   [18 timestamp int64, magic 1 only] | key bytes (int32 length, -1 = null) | value bytes
// The CRC (CRC32, IEEE) covers magic..end. attributes bits 0–2: codec; bit 3 (v1): LogAppendTime.
// A compressed "wrapper" message carries, as its value, the compressed bytes of a message set of
// uncompressed inner messages; v1 inner offsets are relative (0..n-1), v0 ones absolute or all 0.
import { crc32 } from '@node-rs/crc32';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, decompress } from './compression.js';
import {
  Attr, InvalidRecordError, asInvalidRecord, decodeBatchRecords, encodeBatchCompressed, iterateBatches, readBatchHeader, readInt64,
  writeInt64, type BatchHeader,
} from './records.js';

const CORRUPT_MESSAGE = 2;
const UNSUPPORTED_COMPRESSION_TYPE = 76;

/** offset + messageSize. */
export const LOG_OVERHEAD = 12;
/** crc + magic + attributes + key length + value length. */
const MIN_MESSAGE_V0 = 4 + 1 + 1 + 4 + 4;
const MIN_MESSAGE_V1 = MIN_MESSAGE_V0 + 8;
const TIMESTAMP_TYPE_LOG_APPEND = 0x08;

export interface LegacyMessage {
  offset: number;
  magic: 0 | 1;
  attributes: number;
  /** -1 for v0 messages (they have none). */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Bytes the message takes in its set, offset/size prefix included. */
  size: number;
}

const corrupt = (message: string) => new InvalidRecordError(message, CORRUPT_MESSAGE);

/**
 * Parses back-to-back messages. With `allowTruncatedTail`, an incomplete last message (some
 * clients send one; fetch responses may end with one) is ignored; otherwise it is an error.
 * Every complete message must have a good CRC. Compressed values are returned as they are.
 */
export function parseMessageSet(buf: Buffer, allowTruncatedTail: boolean): LegacyMessage[] {
  const out: LegacyMessage[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < LOG_OVERHEAD) {
      if (allowTruncatedTail) break;
      throw corrupt(`truncated message header at byte ${at}`);
    }
    const offset = readInt64(buf, at);
    const size = buf.readInt32BE(at + 8);
    if (size < MIN_MESSAGE_V0) throw corrupt(`message size ${size} at byte ${at} is below the minimum`);
    if (buf.length - at - LOG_OVERHEAD < size) {
      if (allowTruncatedTail) break;
      throw corrupt(`message of ${size} bytes at byte ${at} is truncated`);
    }
    const start = at + LOG_OVERHEAD;
    const end = start + size;
    const magic = buf.readInt8(start + 4);
    if (magic !== 0 && magic !== 1) throw corrupt(`message magic ${magic} where 0 or 1 was expected`);
    if (crc32(buf.subarray(start + 4, end)) !== buf.readUInt32BE(start)) throw corrupt(`message CRC32 mismatch at byte ${at}`);
    if (magic === 1 && size < MIN_MESSAGE_V1) throw corrupt(`v1 message size ${size} at byte ${at} is below the minimum`);
    const attributes = buf[start + 5];
    let p = start + 6;
    let timestamp = -1;
    if (magic === 1) {
      timestamp = readInt64(buf, p);
      p += 8;
    }
    const field = (what: string): Buffer | null => {
      if (end - p < 4) throw corrupt(`message at byte ${at}: no room for the ${what} length`);
      const len = buf.readInt32BE(p);
      p += 4;
      if (len === -1) return null;
      if (len < 0 || end - p < len) throw corrupt(`message at byte ${at}: ${what} length ${len} does not fit`);
      const v = buf.subarray(p, p + len);
      p += len;
      return v;
    };
    const key = field('key');
    const value = field('value');
    if (p !== end) throw corrupt(`message at byte ${at}: ${end - p} bytes after the value`);
    out.push({ offset, magic, attributes, timestamp, key, value, size: LOG_OVERHEAD + size });
    at = end;
  }
  return out;
}

/** Encodes one message (size prefix and CRC included). */
export function encodeMessage(m: { offset: number; magic: 0 | 1; attributes?: number; timestamp?: number; key?: Buffer | null; value: Buffer | null }): Buffer {
  const key = m.key ?? null;
  const value = m.value;
  const size = (m.magic === 1 ? MIN_MESSAGE_V1 : MIN_MESSAGE_V0) + (key?.length ?? 0) + (value?.length ?? 0);
  const b = Buffer.allocUnsafe(LOG_OVERHEAD + size);
  writeInt64(b, 0, m.offset);
  b.writeInt32BE(size, 8);
  b.writeInt8(m.magic, 16);
  b.writeInt8(m.attributes ?? 0, 17);
  let p = 18;
  if (m.magic === 1) {
    writeInt64(b, p, m.timestamp ?? -1);
    p += 8;
  }
  for (const v of [key, value]) {
    if (v === null) {
      b.writeInt32BE(-1, p);
      p += 4;
    } else {
      b.writeInt32BE(v.length, p);
      v.copy(b, p + 4);
      p += 4 + v.length;
    }
  }
  b.writeUInt32BE(crc32(b.subarray(16)), 12);
  return b;
}

export interface ConvertedMessageSet {
  /** One RecordBatch v2 holding every message, ready for PartitionLog.append. */
  bytes: Buffer;
  headers: BatchHeader[];
  /** Number of (inner) messages converted. */
  count: number;
  /** Highest message magic seen. */
  magic: 0 | 1;
  /** Codec of the resulting batch: the first compressed wrapper's, else 0. */
  codec: number;
  /** Size of the largest (outer, as sent) message including its 12-byte offset/size prefix. */
  largestMessage: number;
  /** Bytes the compressed wrappers decompressed to. */
  decompressedBytes: number;
}

export interface MessageSetToBatchesOptions {
  /** Broker time for messages without a timestamp (v0, or v1 with -1). Default: Date.now(). */
  now?: number;
  /** Refuse a set whose wrappers together decompress to more than this (default 256 MiB): MESSAGE_TOO_LARGE. */
  maxDecompressedBytes?: number;
}

/**
 * Converts the record set of a Produce v0–2 request (a legacy message set) into one v2 batch.
 * Compressed wrappers are opened and their inner messages taken in order (the broker assigns
 * offsets, so inner offsets — relative, absolute or all zero — only need to be well-formed);
 * the batch is compressed again with the codec the producer chose. Rejects with InvalidRecordError:
 * CORRUPT_MESSAGE for bad CRCs and malformed or undecodable messages, MESSAGE_TOO_LARGE when the
 * wrappers decompress to more than maxDecompressedBytes (a decompression bomb stops there),
 * UNSUPPORTED_COMPRESSION_TYPE for zstd (not allowed before message format v2) and unknown codecs.
 * Decompression and recompression run off the event loop where the codec allows; the produce
 * handler keeps appends in request order around it (docs/DESIGN.md, invariant 4).
 */
export async function messageSetToBatches(buf: Buffer, options: MessageSetToBatchesOptions = {}): Promise<ConvertedMessageSet> {
  const now = options.now ?? Date.now();
  const maxBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const records: { key: Buffer | null; value: Buffer | null; timestamp: number }[] = [];
  let magic: 0 | 1 = 0;
  let codec = 0;
  const take = (m: LegacyMessage) => {
    records.push({ key: m.key, value: m.value, timestamp: m.timestamp < 0 ? now : m.timestamp });
  };
  let decompressedTotal = 0;
  let largestMessage = 0;
  for (const m of parseMessageSet(buf, true)) {
    largestMessage = Math.max(largestMessage, m.size);
    if (m.magic > magic) magic = m.magic;
    const c = m.attributes & Attr.COMPRESSION_MASK;
    if (c === 0) {
      take(m);
      continue;
    }
    if (c > 3) throw new InvalidRecordError(`compression codec ${c} is not allowed in message format v${m.magic}`, UNSUPPORTED_COMPRESSION_TYPE);
    if (m.value === null) throw corrupt('compressed wrapper message without a value');
    let inner: Buffer;
    try {
      inner = await decompress(c, m.value, { maxBytes: maxBytes - decompressedTotal });
    } catch (err) {
      throw asInvalidRecord(err, 'compressed wrapper message');
    }
    decompressedTotal += inner.length;
    const innerMessages = parseMessageSet(inner, false);
    if (innerMessages.length === 0) throw corrupt('compressed wrapper message with no inner message');
    for (const im of innerMessages) {
      if (im.attributes & Attr.COMPRESSION_MASK) throw corrupt('compressed message inside a compressed wrapper');
      if (im.magic !== m.magic) throw corrupt(`inner message magic ${im.magic} differs from its wrapper's ${m.magic}`);
      // Inner offsets are not checked: the broker assigns offsets in message order, as Kafka does.
      take(im);
    }
    if (codec === 0) codec = c;
  }
  if (records.length === 0) throw corrupt('no complete message in the message set');
  let bytes: Buffer;
  try {
    bytes = await encodeBatchCompressed({ records }, codec);
  } catch (err) {
    throw asInvalidRecord(err, 'recompressing the messages');
  }
  return { bytes, headers: [readBatchHeader(bytes, 0)], count: records.length, magic, codec, largestMessage, decompressedBytes: decompressedTotal };
}

export interface BatchesToMessageSetOptions {
  /** Records below this offset (earlier records of the first batch) are left out. */
  fetchOffset?: number;
  /** Stop adding messages once the next would pass this many bytes. */
  maxBytes?: number;
  /** Add the first message even when it alone passes maxBytes (default true), so fetches progress. */
  minOneMessage?: boolean;
}

/**
 * Converts stored v2 batches (whole, back to back, in one or more chunks) into an uncompressed
 * message set of `magic` 0 or 1, each message carrying its absolute offset. Control batches are
 * skipped; record headers cannot be represented and are dropped. Ends with whole messages only.
 */
export async function batchesToMessageSet(chunks: Buffer | Buffer[], magic: 0 | 1, options: BatchesToMessageSetOptions = {}): Promise<Buffer> {
  const fetchOffset = options.fetchOffset ?? -1;
  const maxBytes = options.maxBytes ?? Infinity;
  const minOne = options.minOneMessage ?? true;
  const out: Buffer[] = [];
  let total = 0;
  for (const chunk of Array.isArray(chunks) ? chunks : [chunks]) {
    for (const { header, bytes } of iterateBatches(chunk)) {
      if (header.magic !== 2 || (header.attributes & Attr.CONTROL)) continue;
      if (header.baseOffset + header.lastOffsetDelta < fetchOffset) continue;
      if (total >= maxBytes) return Buffer.concat(out, total);
      const logAppend = (header.attributes & Attr.LOG_APPEND_TIME) !== 0;
      for (const rec of await decodeBatchRecords(bytes, header)) {
        if (rec.offset < fetchOffset) continue;
        const msg = encodeMessage({
          offset: rec.offset,
          magic,
          attributes: magic === 1 && logAppend ? TIMESTAMP_TYPE_LOG_APPEND : 0,
          timestamp: rec.timestamp,
          key: rec.key,
          value: rec.value,
        });
        if (total + msg.length > maxBytes && (total > 0 || !minOne)) return Buffer.concat(out, total);
        out.push(msg);
        total += msg.length;
      }
    }
  }
  return Buffer.concat(out, total);
}
