// The client's side of RecordBatch v2: kafkajs' shapes over protocol/records.ts, the one codec.
// Producing hands kafkajs `Message`s straight to the protocol encoder (it accepts their headers
// objects and string timestamps, and writes them into one buffer); consuming walks fetched
// batches with the protocol's RecordCursor and builds kafkajs `KafkaMessage`s (decimal-string
// offsets and timestamps, headers as an object), plus read_committed filtering.
import {
  Attr, BATCH_HEADER_SIZE, RecordCursor, batchRecordsSection, encodeRecordBatch, readBatchHeader,
  type BatchHeader, type BatchOptions as RecordBatchOptions, type RecordInput,
} from '../protocol/records.js';

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export interface IHeaders {
  [key: string]: HeaderValue;
}

/** A message as producers pass it (kafkajs' Message). */
export interface Message extends RecordInput {
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

/** What the producer sets on a batch: idempotence fields, transactional flag, codec and `now`. */
export type BatchOptions = Pick<RecordBatchOptions, 'producerId' | 'producerEpoch' | 'baseSequence' | 'transactional' | 'codec' | 'now'>;

/** Encodes messages[from..to) as one RecordBatch v2 compressed with `o.codec`. */
export function encodeBatch(messages: readonly Message[], from: number, to: number, o: BatchOptions = {}): Promise<Buffer> {
  return encodeRecordBatch(messages, from, to, o);
}

/** Decodes an uncompressed records section into kafkajs-shaped messages, skipping offsets below `minOffset`. */
function decodeRecordsInto(out: KafkaMessage[], h: BatchHeader, section: Buffer, minOffset: number): void {
  const cursor = new RecordCursor(h, section, minOffset);
  // Records of a batch mostly share a timestamp: reuse its string.
  let lastTs = NaN;
  let lastTsText = '';
  while (cursor.next()) {
    const headers: KafkaMessage['headers'] = {};
    while (cursor.nextHeader()) {
      const key = cursor.headerKey;
      // kafkajs hands out null header values as null, whatever its type says.
      const value = cursor.headerValue as Buffer;
      const prev = headers[key];
      if (prev === undefined) headers[key] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else headers[key] = [prev, value];
    }
    if (cursor.timestamp !== lastTs) {
      lastTs = cursor.timestamp;
      lastTsText = String(lastTs);
    }
    out.push({ key: cursor.key, value: cursor.value, timestamp: lastTsText, attributes: cursor.attributes, offset: String(cursor.offset), headers });
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
    const h = readBatchHeader(records, pos);
    if (pos + h.size > records.length) break;
    // Checked before the size: an old-format message may be shorter than a v2 header.
    if (h.magic !== 2) {
      throw new RangeError(`message format magic ${h.magic} is not supported by this client (the broker sent an old-format batch)`);
    }
    if (h.size < BATCH_HEADER_SIZE) throw new RangeError(`record batch of ${h.size} bytes at byte ${pos}`);
    const bytes = records.subarray(pos, (pos += h.size));
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
    decodeRecordsInto(messages, h, await batchRecordsSection(bytes, h), minOffset);
  }
  return { messages, nextOffset };
}
