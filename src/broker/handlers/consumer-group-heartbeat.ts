// ConsumerGroupHeartbeat (API 68), versions 0–1 (KIP-848: the "consumer" group protocol). The
// logic lives in GroupCoordinator.consumerGroupHeartbeat (state in groups/consumer-group.ts).
// Epoch 0 joins (the member id may be chosen by the client, else the coordinator makes one), a
// positive epoch heartbeats, -1 leaves, -2 leaves temporarily (static members). Null fields mean
// "unchanged since the last heartbeat". Owned and assigned partitions travel by topic id. The
// assignment is in the answer to a full request (epoch 0, or rebalance timeout, subscription and
// owned partitions all given) and whenever it changed. v1 adds subscribedTopicRegex (the whole
// topic name must match). Errors carry a message: INVALID_REQUEST, UNKNOWN_MEMBER_ID,
// FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID, UNSUPPORTED_ASSIGNOR,
// INVALID_REGULAR_EXPRESSION, GROUP_ID_NOT_FOUND (the id belongs to a classic group with members,
// or to a share group, as Kafka 4.1).
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ConsumerGroupHeartbeatResponse, ConsumerGroupHeartbeatResponseTopicPartitions } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const consumerGroupHeartbeatHandler = defineHandler({
  apiKey: ApiKey.ConsumerGroupHeartbeat,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, req): Promise<ConsumerGroupHeartbeatResponse> {
    // Kafka: READ on the group; DESCRIBE on every subscribed topic named.
    const refused = (errorCode: number, errorMessage: string): ConsumerGroupHeartbeatResponse => ({
      throttleTimeMs: 0, errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null,
    });
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) return refused(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'Group authorization failed');
    const hidden = (req.subscribedTopicNames ?? []).filter((t) => !authorize(ctx, 'DESCRIBE', 'TOPIC', t));
    if (hidden.length > 0) return refused(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `Topic authorization failed for ${hidden.join(', ')}`);
    // As Kafka 4.1: a share group's id is not for consumer-protocol members.
    if (ctx.services.shares.has(req.groupId)) return refused(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a consumer group.`);
    await ctx.services.groups.refreshTopics();
    const r = ctx.services.groups.consumerGroupHeartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId,
      rackId: req.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames,
      subscribedTopicRegex: ctx.version >= 1 ? req.subscribedTopicRegex ?? null : null,
      serverAssignor: req.serverAssignor,
      topicPartitions: req.topicPartitions,
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
        : { topicPartitions: r.assignment.map((t): ConsumerGroupHeartbeatResponseTopicPartitions => ({ topicId: t.topicId, partitions: t.partitions })) },
    };
  },
});
