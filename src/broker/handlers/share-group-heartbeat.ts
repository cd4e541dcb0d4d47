// ShareGroupHeartbeat (API 76), versions 0–1 (KIP-932 share groups: v0 the early-access version of
// ../shared's spec, v1 Kafka 4.1's stable one, laid out as v0; scripts/protocol-overlay.ts). The logic lives in ShareCoordinator.heartbeat (src/broker/share/coordinator.ts):
// epoch 0 joins (SubscribedTopicNames required; the member id is the client's, or made here when
// empty), a positive epoch heartbeats (UNKNOWN_MEMBER_ID for a member the group does not have,
// FENCED_MEMBER_EPOCH for an epoch other than its current one), -1 leaves. Null fields mean
// "unchanged". Every member is assigned every partition of the topics it subscribes to; the
// assignment is in the answer to a join and whenever the member's epoch moved. An id that is a
// classic or consumer group answers GROUP_ID_NOT_FOUND; a full group GROUP_MAX_SIZE_REACHED.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ShareGroupHeartbeatResponse, ShareGroupHeartbeatResponseTopicPartitions } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const shareGroupHeartbeatHandler = defineHandler({
  apiKey: ApiKey.ShareGroupHeartbeat,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, req): Promise<ShareGroupHeartbeatResponse> {
    const refused = (errorCode: number, errorMessage: string): ShareGroupHeartbeatResponse => ({
      throttleTimeMs: 0, errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null,
    });
    // As Kafka: READ on the group; DESCRIBE on every subscribed topic named.
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) return refused(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'Group authorization failed');
    const hidden = (req.subscribedTopicNames ?? []).filter((t) => !authorize(ctx, 'DESCRIBE', 'TOPIC', t));
    if (hidden.length > 0) return refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `Topic authorization failed for ${hidden.join(', ')}`);
    const r = await ctx.services.shares.heartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      rackId: req.rackId,
      subscribedTopicNames: req.subscribedTopicNames,
      clientId: ctx.header.clientId ?? '',
      clientHost: ctx.clientHost,
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null
        ? null
        : { topicPartitions: r.assignment.map((t): ShareGroupHeartbeatResponseTopicPartitions => ({ topicId: t.topicId, partitions: t.partitions })) },
    };
  },
});
