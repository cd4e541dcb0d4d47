// DeleteTopics v0–6. v0–5 name topics in `topicNames`; v6 in `topics` by name or by id.
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  DeleteTopicsRequestDeleteTopicState, DeleteTopicsResponse, DeleteTopicsResponseDeletableTopicResult,
} from '../../protocol/generated/types.js';
import { StorageError } from '../../storage/types.js';
import { authorize } from '../auth/acls.js';
import { internalTopicChangeProblem } from '../topics.js';
import { defineHandler } from '../handler.js';

export const deleteTopicsHandler = defineHandler({
  apiKey: ApiKey.DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  async handle(ctx, req): Promise<DeleteTopicsResponse> {
    const { storage, logger } = ctx.services;
    const wanted: DeleteTopicsRequestDeleteTopicState[] =
      ctx.version >= 6 ? req.topics ?? [] : (req.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
    const responses: DeleteTopicsResponseDeletableTopicResult[] = [];
    for (const w of wanted) {
      const topic = w.name !== null ? storage.topic(w.name) : storage.topics().find((t) => t.topicId === w.topicId);
      // DELETE on the topic (checked before existence for a name, as Kafka does).
      const name = topic?.name ?? w.name;
      if (name !== null && !authorize(ctx, 'DELETE', 'TOPIC', name)) {
        responses.push({ name: w.name, topicId: w.topicId, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.' });
        continue;
      }
      // Kafka's internal topics are the coordinators' logs here: not deleted (Kafka 4.1 would).
      const internal = w.name !== null && !topic ? internalTopicChangeProblem(w.name, 'delete') : null;
      if (internal) {
        responses.push({ name: w.name, topicId: w.topicId, errorCode: internal.errorCode, errorMessage: internal.message });
        continue;
      }
      if (!topic) {
        const byId = w.name === null;
        responses.push({
          name: w.name, topicId: w.topicId,
          errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: byId ? `no topic with id ${w.topicId}` : `no topic named ${w.name}`,
        });
        continue;
      }
      try {
        await storage.deleteTopic(topic.name);
      } catch (err) {
        // The disk failed, or storage closed under a request that outlived the shutdown grace:
        // KAFKA_STORAGE_ERROR (retriable), as CreateTopics, CreatePartitions and AlterConfigs answer.
        if (!(err instanceof StorageError)) throw err;
        logger.warn(`deleting topic ${topic.name}: ${err.message}`);
        responses.push({ name: topic.name, topicId: topic.topicId, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: err.message });
        continue;
      }
      logger.info(`deleted topic ${topic.name}`);
      responses.push({ name: topic.name, topicId: topic.topicId, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    return { throttleTimeMs: 0, responses };
  },
});
