// DeleteRecords v0–2: moves a partition's log start offset forward (whole segments below it are
// dropped by the storage engine). Offset -1 means "up to the high watermark".
import { ApiKey } from '../../protocol/apis.js';
import type { Message } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ApiHandler } from '../handler.js';

export const deleteRecordsHandler: ApiHandler = {
  apiKey: ApiKey.DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req) {
    const { storage } = ctx.broker;
    const topics: Message[] = [];
    for (const t of req.topics as Message[]) {
      const partitions: Message[] = [];
      for (const p of t.partitions as Message[]) {
        const log = storage.partition(t.name, p.partitionIndex);
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
        const lowWatermark = await log.deleteBefore(target);
        partitions.push({ partitionIndex: p.partitionIndex, lowWatermark, errorCode: ErrorCode.NONE });
      }
      topics.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, topics };
  },
};
