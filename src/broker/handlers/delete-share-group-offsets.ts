// DeleteShareGroupOffsets (API 92), version 0 (Kafka 4.1's; structure from
// scripts/protocol-overlay.ts). The logic lives in ShareCoordinator.deleteOffsets: removes a
// group's share-partition state for whole topics, while it has no members (else NON_EMPTY_GROUP;
// unknown group GROUP_ID_NOT_FOUND, both at the top). Per topic: UNKNOWN_TOPIC_OR_PARTITION for an
// unknown topic or one the group has no state for, else NONE. DELETE on the group (else
// GROUP_AUTHORIZATION_FAILED), READ on each topic (else TOPIC_AUTHORIZATION_FAILED for it).
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DeleteShareGroupOffsetsResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const deleteShareGroupOffsetsHandler = defineHandler({
  apiKey: ApiKey.DeleteShareGroupOffsets,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req): Promise<DeleteShareGroupOffsetsResponse> {
    if (!authorize(ctx, 'DELETE', 'GROUP', req.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: 'Group authorization failed', responses: [] };
    }
    const readable = (name: string) => authorize(ctx, 'READ', 'TOPIC', name);
    const r = await ctx.services.shares.deleteOffsets(req.groupId, req.topics.map((t) => t.topicName).filter(readable));
    if (r.errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: r.errorCode, errorMessage: r.errorMessage, responses: [] };
    const denied = req.topics.filter((t) => !readable(t.topicName)).map((t) => ({
      topicName: t.topicName, topicId: ZERO_UUID, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Topic authorization failed',
    }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses: [...r.topics, ...denied] };
  },
});
