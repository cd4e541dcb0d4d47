// ListOffsets v0–10. Timestamps: -2 earliest, -1 latest, -3 max timestamp (v7+), -4 earliest local
// (v8+, same as earliest here), otherwise the first offset whose timestamp is >= the one asked.
// v0 answers with the old `oldStyleOffsets` array. LATEST is the log end for read_uncommitted and
// the last stable offset for read_committed (isolationLevel 1, v2+). A timestamp lookup returns
// the first *record* at or after it; in read_committed none at or past the LSO (-1, as Kafka).
// Kafka's internal topics Metadata lists (the coordinators' logs) are answered too, as Kafka does.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  ListOffsetsResponse, ListOffsetsResponseListOffsetsPartitionResponse, ListOffsetsResponseListOffsetsTopicResponse,
} from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { leadsHere } from '../cluster/view.js';
import { clusterCatchUp, partitionNeedsCatchUp } from '../cluster/catch-up.js';
import { defineHandler } from '../handler.js';
import { internalTopicLog } from '../topics.js';
import { Attr, decodeBatchRecords, iterateBatches } from '../../protocol/records.js';
import { CorruptDataError, StorageError, type PartitionLog } from '../../storage/types.js';

/**
 * The first record whose timestamp is >= `ts`. Storage finds the first batch whose max timestamp
 * reaches it; the records of that batch are then checked one by one, as Kafka does.
 */
async function firstRecordAtOrAfter(log: PartitionLog, ts: number): Promise<{ offset: number; timestamp: number } | null> {
  const found = await log.offsetForTimestamp(ts);
  if (!found) return null;
  const { chunks } = await log.read(found.offset, 1, true);
  for (const chunk of chunks) {
    for (const { header, bytes } of iterateBatches(chunk)) {
      if (header.maxTimestamp < ts || header.attributes & Attr.CONTROL) continue;
      // LogAppendTime batches stamp every record with the batch's max timestamp.
      if (header.attributes & Attr.LOG_APPEND_TIME) return { offset: Math.max(header.baseOffset, found.offset), timestamp: header.maxTimestamp };
      for (const r of await decodeBatchRecords(bytes, header)) {
        if (r.offset >= log.logStartOffset() && r.timestamp >= ts) return { offset: r.offset, timestamp: r.timestamp };
      }
    }
  }
  return found;
}

const EARLIEST = -2, LATEST = -1, MAX_TIMESTAMP = -3, EARLIEST_LOCAL = -4, EARLIEST_PENDING_UPLOAD = -5;

export const listOffsetsHandler = defineHandler({
  apiKey: ApiKey.ListOffsets,
  minVersion: 0,
  maxVersion: 10,
  async handle(ctx, req): Promise<ListOffsetsResponse> {
    const { storage } = ctx.services;
    // Cluster mode: a topic just created or moved through another broker is read from the database first.
    if (req.topics.some((t) => t.partitions.some((p) => partitionNeedsCatchUp(ctx.services, t.name, p.partitionIndex)))) await clusterCatchUp(ctx.services);
    const topics: ListOffsetsResponseListOffsetsTopicResponse[] = [];
    for (const t of req.topics) {
      const partitions: ListOffsetsResponseListOffsetsPartitionResponse[] = [];
      for (const p of t.partitions) {
        const internal = await internalTopicLog(storage, t.name, p.partitionIndex);
        const log = storage.partition(t.name, p.partitionIndex) ?? internal;
        const epoch = ctx.services.cluster.leader(t.name, p.partitionIndex)?.epoch ?? -1;
        const answer = (errorCode: number, offset: number, timestamp: number) =>
          partitions.push({
            partitionIndex: p.partitionIndex, errorCode, timestamp, offset,
            leaderEpoch: offset >= 0 ? epoch : -1,
            oldStyleOffsets: offset >= 0 ? [offset] : [],
          });
        if (!authorize(ctx, 'DESCRIBE', 'TOPIC', t.name)) { answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1); continue; }
        if (!log) { answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1); continue; }
        const leads = internal ? ctx.services.cluster.coordinatorId() === ctx.services.cluster.nodeId : leadsHere(ctx.services.cluster, t.name, p.partitionIndex);
        if (!leads) { answer(ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1); continue; }
        if ((p.currentLeaderEpoch ?? -1) > epoch) { answer(ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1); continue; }
        if ((p.currentLeaderEpoch ?? -1) >= 0 && (p.currentLeaderEpoch ?? -1) < epoch) { answer(ErrorCode.FENCED_LEADER_EPOCH, -1, -1); continue; }
        const ts = p.timestamp;
        // As Kafka: a search by timestamp finds nothing a reader of this isolation level cannot fetch yet.
        const fetchable = () => (req.isolationLevel === 1 ? log.lastStableOffset() : log.logEndOffset());
        if (ts === EARLIEST || ts === EARLIEST_LOCAL || ts === EARLIEST_PENDING_UPLOAD) answer(ErrorCode.NONE, log.logStartOffset(), -1);
        else if (ts === LATEST) answer(ErrorCode.NONE, req.isolationLevel === 1 ? log.lastStableOffset() : log.logEndOffset(), -1);
        else if (ts === MAX_TIMESTAMP) {
          // Approximation: the last record; exact max-timestamp search needs per-record decoding.
          const end = log.logEndOffset();
          answer(ErrorCode.NONE, end > log.logStartOffset() && end - 1 < fetchable() ? end - 1 : -1, -1);
        } else if (ts < 0) {
          answer(ErrorCode.INVALID_REQUEST, -1, -1);
        } else {
          let found: Awaited<ReturnType<typeof firstRecordAtOrAfter>>;
          try {
            found = await firstRecordAtOrAfter(log, ts);
          } catch (err) {
            // A damaged segment (or a failing disk) fails this partition, not the connection.
            if (!(err instanceof StorageError)) throw err;
            if (!(err instanceof CorruptDataError)) ctx.services.logger.warn(`list-offsets ${t.name}-${p.partitionIndex} at timestamp ${ts}: ${err.message}`);
            answer(err instanceof CorruptDataError ? ErrorCode.CORRUPT_MESSAGE : ErrorCode.KAFKA_STORAGE_ERROR, -1, -1);
            continue;
          }
          if (found && found.offset < fetchable()) answer(ErrorCode.NONE, found.offset, found.timestamp);
          else answer(ErrorCode.NONE, ctx.version === 0 ? log.logEndOffset() : -1, -1);
        }
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
