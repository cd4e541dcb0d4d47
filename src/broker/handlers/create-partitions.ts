// CreatePartitions v0–3. Grows a topic; shrinking or keeping the count is INVALID_PARTITIONS.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { CreatePartitionsResponse, CreatePartitionsResponseCreatePartitionsTopicResult } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';

export const createPartitionsHandler = defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req): Promise<CreatePartitionsResponse> {
    const { storage, logger, node: { nodeId } } = ctx.services;
    const results: CreatePartitionsResponseCreatePartitionsTopicResult[] = [];
    for (const t of req.topics) {
      const topic = storage.topic(t.name);
      const result = (errorCode: number, errorMessage: string | null) => results.push({ name: t.name, errorCode, errorMessage });
      if (!topic) { result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic named ${t.name}`); continue; }
      if (t.count <= topic.partitionCount) {
        result(ErrorCode.INVALID_PARTITIONS, `topic ${t.name} has ${topic.partitionCount} partitions; the new count must be larger, not ${t.count}`);
        continue;
      }
      if (t.count > 100000) { result(ErrorCode.INVALID_PARTITIONS, 'at most 100000 partitions'); continue; }
      if (t.assignments && t.assignments.some((a) => a.brokerIds.some((id) => id !== nodeId))) {
        result(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `this cluster has one broker, id ${nodeId}`);
        continue;
      }
      if (!req.validateOnly) {
        await storage.addPartitions(t.name, t.count);
        logger.info(`topic ${t.name} now has ${t.count} partitions`);
      }
      result(ErrorCode.NONE, null);
    }
    return { throttleTimeMs: 0, results };
  },
});
