// CreatePartitions v0–3. Grows a topic; shrinking or keeping the count is INVALID_PARTITIONS.
// Kafka's internal topics (the coordinators' one-partition logs here) do not grow: INVALID_REQUEST.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { CreatePartitionsResponse, CreatePartitionsResponseCreatePartitionsTopicResult } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { MAX_PARTITIONS } from '../settings.js';
import { internalTopicChangeProblem, replicaAssignmentProblem, TopicError } from '../topics.js';

export const createPartitionsHandler = defineHandler({
  apiKey: ApiKey.CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req): Promise<CreatePartitionsResponse> {
    const { storage, topics, logger, node: { nodeId } } = ctx.services;
    const results: CreatePartitionsResponseCreatePartitionsTopicResult[] = [];
    for (const t of req.topics) {
      const topic = storage.topic(t.name);
      const result = (errorCode: number, errorMessage: string | null) => results.push({ name: t.name, errorCode, errorMessage });
      if (!authorize(ctx, 'ALTER', 'TOPIC', t.name)) { result(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'); continue; }
      const internal = topic ? null : internalTopicChangeProblem(t.name, 'grow');
      if (internal) { result(internal.errorCode, internal.message); continue; }
      if (!topic) { result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic named ${t.name}`); continue; }
      if (t.count <= topic.partitionCount) {
        result(ErrorCode.INVALID_PARTITIONS, `topic ${t.name} has ${topic.partitionCount} partitions; the new count must be larger, not ${t.count}`);
        continue;
      }
      if (t.count > MAX_PARTITIONS) { result(ErrorCode.INVALID_PARTITIONS, `at most ${MAX_PARTITIONS} partitions`); continue; }
      const assignmentProblem = replicaAssignmentProblem((t.assignments ?? []).map((a) => a.brokerIds), { nodeId, multiNode: ctx.services.cluster.multiNode });
      if (assignmentProblem) { result(ErrorCode.INVALID_REPLICA_ASSIGNMENT, assignmentProblem); continue; }
      if (req.validateOnly) {
        try {
          topics.checkPartitionBudget(t.count - topic.partitionCount);
        } catch (err) {
          if (err instanceof TopicError) { result(err.errorCode, err.message); continue; }
          throw err;
        }
      } else {
        // Check and reserve in one step (no await between), released once the growth ended.
        let release: () => void;
        try {
          release = topics.reservePartitions(t.count - topic.partitionCount);
        } catch (err) {
          if (err instanceof TopicError) { result(err.errorCode, err.message); continue; }
          throw err;
        }
        try {
          await storage.addPartitions(t.name, t.count);
        } catch (err) {
          // Another request deleted or grew the topic while this one waited for the catalog, or
          // the storage failed (it put everything back) or is closed (the broker is stopping).
          const now = storage.topic(t.name);
          if (!now) result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic named ${t.name}`);
          else if (now.partitionCount >= t.count) result(ErrorCode.INVALID_PARTITIONS, `topic ${t.name} has ${now.partitionCount} partitions; the new count must be larger, not ${t.count}`);
          else {
            logger.warn(`create partitions of ${t.name}: ${(err as Error).message}`);
            result(ErrorCode.KAFKA_STORAGE_ERROR, (err as Error).message);
          }
          continue;
        } finally {
          release();
        }
        logger.info(`topic ${t.name} now has ${t.count} partitions`);
      }
      result(ErrorCode.NONE, null);
    }
    return { throttleTimeMs: 0, results };
  },
});
