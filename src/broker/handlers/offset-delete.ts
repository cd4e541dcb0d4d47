// OffsetDelete (API 47), version 0. The logic lives in GroupCoordinator.deleteOffsets.
// Top-level INVALID_GROUP_ID (empty id), GROUP_ID_NOT_FOUND, or NON_EMPTY_GROUP for a non-empty
// group that is not a "consumer" group. Per partition: UNKNOWN_TOPIC_OR_PARTITION, or
// GROUP_SUBSCRIBED_TO_TOPIC when a live consumer group subscribes to the topic (read from the
// members' consumer-protocol subscriptions; unreadable ones count as subscribed), else the offset
// is deleted (NONE, also when nothing was committed). With a top-level error no topics are listed.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { OffsetDeleteResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const offsetDeleteHandler = defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req): Promise<OffsetDeleteResponse> {
    // DELETE on the group (else GROUP_AUTHORIZATION_FAILED), READ on each topic (else its partitions
    // TOPIC_AUTHORIZATION_FAILED).
    if (!authorize(ctx, 'DELETE', 'GROUP', req.groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, throttleTimeMs: 0, topics: [] };
    const readable = (name: string) => authorize(ctx, 'READ', 'TOPIC', name);
    const r = await ctx.services.groups.deleteOffsets(
      req.groupId,
      req.topics.filter((t) => readable(t.name)).map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    const denied = req.topics.filter((t) => !readable(t.name)).map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) }));
    return { errorCode: r.errorCode, throttleTimeMs: 0, topics: [...r.topics, ...denied] };
  },
});
