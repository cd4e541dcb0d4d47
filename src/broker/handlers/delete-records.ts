// DeleteRecords v0–2: moves a partition's log start offset forward (whole segments below it are
// dropped by the storage engine). Offset -1 means "up to the high watermark".
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  DeleteRecordsResponse, DeleteRecordsResponseDeleteRecordsPartitionResult, DeleteRecordsResponseDeleteRecordsTopicResult,
} from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const deleteRecordsHandler = defineHandler({
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req): Promise<DeleteRecordsResponse> {
    const { storage } = ctx.services;
    const topics: DeleteRecordsResponseDeleteRecordsTopicResult[] = [];
    for (const t of req.topics) {
      const partitions: DeleteRecordsResponseDeleteRecordsPartitionResult[] = [];
      for (const p of t.partitions) {
        const log = storage.partition(t.name, p.partitionIndex);
        if (!authorize(ctx, 'DELETE', 'TOPIC', t.name)) {
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
          continue;
        }
        if (!log) {
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
          continue;
        }
        const end = log.logEndOffset();
        const target = p.offset === -1 ? end : p.offset;
        if (target < 0 || target > end) {
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: log.logStartOffset(), errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
          continue;
        }
        let lowWatermark: number;
        try {
          lowWatermark = await log.deleteBefore(target);
        } catch (err) {
          // DeleteTopics removed the partition meanwhile (its files are gone), or the disk failed.
          const gone = storage.partition(t.name, p.partitionIndex) !== log;
          if (!gone) ctx.services.logger.warn(`delete records of ${t.name}-${p.partitionIndex} below ${target}: ${(err as Error).message}`);
          partitions.push({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: gone ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.KAFKA_STORAGE_ERROR });
          continue;
        }
        partitions.push({ partitionIndex: p.partitionIndex, lowWatermark, errorCode: ErrorCode.NONE });
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
});
