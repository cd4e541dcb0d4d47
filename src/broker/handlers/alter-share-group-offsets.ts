// AlterShareGroupOffsets (API 91), version 0 (Kafka 4.1's; structure from
// scripts/protocol-overlay.ts). The logic lives in ShareCoordinator.alterOffsets: sets the
// share-partition start offsets of a group without members (else NON_EMPTY_GROUP at the top); a
// group id not in use becomes an Empty share group; another kind of group's id answers
// GROUP_ID_NOT_FOUND. Per partition: UNKNOWN_TOPIC_OR_PARTITION (topic or partition unknown),
// INVALID_REQUEST (negative offset), else NONE and the partition starts afresh at the offset.
// READ on the group (else GROUP_AUTHORIZATION_FAILED), READ on each topic (else its partitions
// TOPIC_AUTHORIZATION_FAILED). An empty topic list changes nothing and answers NONE.
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { AlterShareGroupOffsetsResponse, AlterShareGroupOffsetsResponseTopic } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const alterShareGroupOffsetsHandler = defineHandler({
  apiKey: ApiKey.AlterShareGroupOffsets,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req): Promise<AlterShareGroupOffsetsResponse> {
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: 'Group authorization failed', responses: [] };
    }
    if (req.topics.length === 0) return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses: [] };
    const readable = (name: string) => authorize(ctx, 'READ', 'TOPIC', name);
    const r = await ctx.services.shares.alterOffsets(
      req.groupId,
      req.topics.filter((t) => readable(t.topicName)).map((t) => ({ topicName: t.topicName, partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, startOffset: p.startOffset })) })),
    );
    if (r.errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: r.errorCode, errorMessage: r.errorMessage, responses: [] };
    const responses: AlterShareGroupOffsetsResponseTopic[] = r.topics.map((t) => ({
      topicName: t.topicName,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage })),
    }));
    for (const t of req.topics) {
      if (readable(t.topicName)) continue;
      responses.push({
        topicName: t.topicName, topicId: ZERO_UUID,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Topic authorization failed' })),
      });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
});
