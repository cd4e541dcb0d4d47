// Steps every storage engine takes when appending, kept in one place so engines agree.
import { Attr, BATCH_HEADER_SIZE, batchCrc, encodeControlBatch, readBatchHeader, writeInt64, type BatchHeader, type TxnMarker } from '../protocol/records.js';
import { TxnMarkerEpochError, type AppendOptions, type PartitionLog } from './types.js';

/** A single node is always the leader, in epoch 0 (reported by Metadata and OffsetForLeaderEpoch). */
export const LEADER_EPOCH = 0;

/**
 * Assigns offsets from `nextOffset` by rewriting each batch's baseOffset in place and the leader epoch (both outside the CRC),
 * and, for LogAppendTime topics, stamps the time and timestamp-type bit (inside the CRC, so it is
 * recomputed). Updates `headers` to match. Returns the offset after the last record.
 */
export function stampBatches(batches: Buffer, headers: BatchHeader[], nextOffset: number, logAppendTime?: number): number {
  let at = 0;
  for (const h of headers) {
    h.baseOffset = nextOffset;
    writeInt64(batches, at, nextOffset);
    h.partitionLeaderEpoch = LEADER_EPOCH;
    batches.writeInt32BE(LEADER_EPOCH, at + 12);
    if (logAppendTime !== undefined) {
      h.attributes |= Attr.LOG_APPEND_TIME;
      h.maxTimestamp = logAppendTime;
      batches.writeInt16BE(h.attributes, at + 21);
      writeInt64(batches, at + 35, logAppendTime);
      h.crc = batchCrc(batches.subarray(at, at + h.size));
      batches.writeUInt32BE(h.crc, at + 17);
    }
    nextOffset += h.lastOffsetDelta + 1;
    at += h.size;
  }
  if (at !== batches.length) throw new Error(`assertion: headers cover ${at} of ${batches.length} bytes`);
  return nextOffset;
}

export const MIN_BATCH = BATCH_HEADER_SIZE;

/** Appends one control batch holding `marker` through the log's ordinary append path. */
export async function appendMarker(log: PartitionLog, marker: TxnMarker, options: AppendOptions): Promise<{ offset: number }> {
  // Checked and appended with no await between, so no other append slips in.
  const stale = log.producers.checkMarker(marker.producerId, marker.producerEpoch);
  if (stale) throw new TxnMarkerEpochError(`${log.topic}-${log.partition}: ${stale.message}`);
  const batch = encodeControlBatch(marker);
  const r = await log.append(batch, [readBatchHeader(batch)], options);
  return { offset: r.baseOffset };
}
