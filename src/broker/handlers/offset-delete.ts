// OffsetDelete (API 47), version 0. The logic lives in GroupCoordinator.deleteOffsets.
// Top-level INVALID_GROUP_ID (empty id), GROUP_ID_NOT_FOUND, or NON_EMPTY_GROUP for a non-empty
// group that is not a "consumer" group. Per partition: UNKNOWN_TOPIC_OR_PARTITION, or
// GROUP_SUBSCRIBED_TO_TOPIC when a live consumer group subscribes to the topic (read from the
// members' consumer-protocol subscriptions; unreadable ones count as subscribed), else the offset
// is deleted (NONE, also when nothing was committed). With a top-level error no topics are listed.
import { ApiKey } from '../../protocol/apis.js';
import type { OffsetDeleteResponse } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';

export const offsetDeleteHandler = defineHandler({
  apiKey: ApiKey.OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req): Promise<OffsetDeleteResponse> {
    const r = await ctx.services.groups.deleteOffsets(
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return { errorCode: r.errorCode, throttleTimeMs: 0, topics: r.topics };
  },
});
