// Records of RecordBatch v2 whatever their compression: decode (decompressing the body after the
// 61-byte header) and encode with a chosen codec. The broker's Produce v3+/Fetch v4+ path never
// calls these; they serve message-format conversion for old clients, Fjord's own client, internal
// logs and tests.
import { compress, compressSync, decompress, decompressSync, type DecompressOptions } from './compression.js';
import {
  Attr, BATCH_HEADER_SIZE, encodeBatch, encodeRecords, decodeRecords, readBatchHeader,
  type BatchHeader, type BatchInput, type Record,
} from './records.js';

/** The compression codec id of a batch (attributes bits 0–2). */
export function batchCodec(h: BatchHeader): number {
  return h.attributes & Attr.COMPRESSION_MASK;
}

/** Decodes the records of one whole v2 batch (`batch` starts at its baseOffset). */
export async function decodeBatchRecords(batch: Buffer, header: BatchHeader = readBatchHeader(batch), options?: DecompressOptions): Promise<Record[]> {
  const body = batch.subarray(BATCH_HEADER_SIZE, header.size);
  const codec = batchCodec(header);
  return decodeRecords(header, codec === 0 ? body : await decompress(codec, body, options));
}

/** Like decodeBatchRecords, synchronously; zstd batches throw UnsupportedCompressionError. */
export function decodeBatchRecordsSync(batch: Buffer, header: BatchHeader = readBatchHeader(batch), options?: DecompressOptions): Record[] {
  const body = batch.subarray(BATCH_HEADER_SIZE, header.size);
  const codec = batchCodec(header);
  return decodeRecords(header, codec === 0 ? body : decompressSync(codec, body, options));
}

function prepare(input: BatchInput): { records: BatchInput['records']; baseTimestamp: number; maxTimestamp: number; raw: Buffer } {
  const now = Date.now();
  const stamps = input.records.map((r) => r.timestamp ?? now);
  let baseTimestamp = now, maxTimestamp = now;
  if (stamps.length) {
    baseTimestamp = stamps[0];
    maxTimestamp = stamps[0];
    for (const t of stamps) {
      if (t < baseTimestamp) baseTimestamp = t;
      if (t > maxTimestamp) maxTimestamp = t;
    }
  }
  const records = input.records.map((r, i) => ({ ...r, timestamp: stamps[i] }));
  return { records, baseTimestamp, maxTimestamp, raw: encodeRecords(records, baseTimestamp) };
}

function withCodec(input: BatchInput, codec: number): BatchInput {
  return { ...input, attributes: ((input.attributes ?? 0) & ~Attr.COMPRESSION_MASK) | codec };
}

/** Builds one RecordBatch v2 whose records section is compressed with `codec` (0 = none). */
export async function encodeBatchCompressed(input: BatchInput, codec: number): Promise<Buffer> {
  const p = prepare(input);
  const body = codec === 0 ? p.raw : await compress(codec, p.raw);
  return encodeBatch(withCodec(input, codec), { body, count: input.records.length, baseTimestamp: p.baseTimestamp, maxTimestamp: p.maxTimestamp });
}

/** Like encodeBatchCompressed, synchronously; zstd throws UnsupportedCompressionError. */
export function encodeBatchCompressedSync(input: BatchInput, codec: number): Buffer {
  const p = prepare(input);
  const body = codec === 0 ? p.raw : compressSync(codec, p.raw);
  return encodeBatch(withCodec(input, codec), { body, count: input.records.length, baseTimestamp: p.baseTimestamp, maxTimestamp: p.maxTimestamp });
}
