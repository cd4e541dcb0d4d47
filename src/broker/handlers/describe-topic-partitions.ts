// DescribeTopicPartitions v0 (KIP-966; what Kafka 4's Admin.describeTopics and kafka-topics --describe
// use). The partitions are Metadata's (topicMetadata in metadata.ts), so both answers come from the
// same broker state. Kafka's rules: an empty topic list means every topic the principal may
// DESCRIBE; topics are answered in name order; a named topic the principal may not DESCRIBE gets
// TOPIC_AUTHORIZATION_FAILED, a missing one UNKNOWN_TOPIC_OR_PARTITION; the cursor names the topic
// and partition to start from (a cursor topic not among the
// requested ones, or a negative cursor partition, is INVALID_REQUEST for every requested topic);
// responsePartitionLimit (capped at Kafka's max.request.partition.size.limit default, 2000) bounds
// the partitions of one answer, and nextCursor says where the next page starts. Authorized
// operations are always filled in. No topic is auto-created.
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  DescribeTopicPartitionsResponse, DescribeTopicPartitionsResponseCursor, DescribeTopicPartitionsResponsePartition,
  DescribeTopicPartitionsResponseTopic,
} from '../../protocol/generated/types.js';
import { authorize, authorizedOperations } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { internalTopicNames } from '../topics.js';
import { internalTopicMetadata, topicMetadata } from './metadata.js';

/** Kafka's max.request.partition.size.limit default: the most partitions one answer carries. */
export const MAX_RESPONSE_PARTITIONS = 2000;

export const describeTopicPartitionsHandler = defineHandler({
  apiKey: ApiKey.DescribeTopicPartitions,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req): Promise<DescribeTopicPartitionsResponse> {
    const { storage } = ctx.services;
    // Kafka's internal topics Metadata lists are described too (kafka-topics --describe shows them).
    const internal = await internalTopicNames(storage);
    const errorTopic = (name: string, errorCode: number): DescribeTopicPartitionsResponseTopic =>
      ({ errorCode, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: 0 });
    let names: string[];
    if (req.topics.length === 0) {
      names = [...storage.topics().map((t) => t.name), ...internal].filter((n) => authorize(ctx, 'DESCRIBE', 'TOPIC', n));
    } else {
      names = [...new Set(req.topics.map((t) => t.name))];
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const cursor = req.cursor;
    if (cursor) {
      if (cursor.partitionIndex < 0 || !names.includes(cursor.topicName)) {
        // Kafka throws InvalidRequestException ("Cursor topic does not exist in the topics list",
        // a negative partition): every requested topic is answered with INVALID_REQUEST.
        return { throttleTimeMs: 0, topics: req.topics.map((t) => errorTopic(t.name, ErrorCode.INVALID_REQUEST)), nextCursor: null };
      }
      names = names.slice(names.indexOf(cursor.topicName));
    }
    let budget = Math.max(1, Math.min(req.responsePartitionLimit, MAX_RESPONSE_PARTITIONS));
    const topics: DescribeTopicPartitionsResponseTopic[] = [];
    let nextCursor: DescribeTopicPartitionsResponseCursor | null = null;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (budget === 0) { nextCursor = { topicName: name, partitionIndex: 0 }; break; }
      if (!authorize(ctx, 'DESCRIBE', 'TOPIC', name)) { topics.push(errorTopic(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED)); continue; }
      const meta = storage.topic(name);
      if (!meta && !internal.includes(name)) { topics.push(errorTopic(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)); continue; }
      const m = meta ? topicMetadata(ctx, meta) : internalTopicMetadata(ctx, name);
      const first = cursor && i === 0 ? cursor.partitionIndex : 0;
      const all = m.partitions.filter((p) => p.partitionIndex >= first);
      const page = all.slice(0, budget);
      budget -= page.length;
      topics.push({
        errorCode: m.errorCode,
        name,
        topicId: m.topicId ?? meta?.topicId ?? ZERO_UUID,
        isInternal: m.isInternal ?? false,
        partitions: page.map((p): DescribeTopicPartitionsResponsePartition => ({
          errorCode: p.errorCode,
          partitionIndex: p.partitionIndex,
          leaderId: p.leaderId,
          leaderEpoch: p.leaderEpoch ?? -1,
          replicaNodes: p.replicaNodes,
          isrNodes: p.isrNodes,
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: p.offlineReplicas ?? [],
        })),
        topicAuthorizedOperations: authorizedOperations(ctx, 'TOPIC', name),
      });
      if (page.length < all.length) { nextCursor = { topicName: name, partitionIndex: all[page.length]!.partitionIndex }; break; }
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
});
