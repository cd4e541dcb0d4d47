// JoinGroup (API 11), versions 0–9. The logic lives in GroupCoordinator.joinGroup.
// v0 has no rebalance timeout: the session timeout stands in for it. v4+: a new dynamic member is
// answered MEMBER_ID_REQUIRED (79) with a member id to join again with; v0–3 join at once.
// v5+ groupInstanceId (static membership), also echoed per member to the leader. v6+ flexible.
// v7+ the response carries protocolType and a nullable protocolName (older versions get ""
// for null). v8+ reason (logged only). v9 skipAssignment (a rejoining static leader of a stable
// group must not reassign). The answer is parked until the join phase ends. A share group's id
// answers INCONSISTENT_GROUP_PROTOCOL (as Kafka 4.1).
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { JoinGroupResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const joinGroupHandler = defineHandler({
  apiKey: ApiKey.JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  async handle(ctx, req): Promise<JoinGroupResponse> {
    const sessionTimeoutMs = req.sessionTimeoutMs;
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: '', members: [] };
    }
    // As Kafka 4.1: a share group's id is not for classic members.
    if (ctx.services.shares.has(req.groupId)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId: req.memberId, members: [] };
    }
    const r = await ctx.services.groups.joinGroup({
      groupId: req.groupId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      clientId: ctx.header.clientId ?? '',
      clientHost: ctx.clientHost,
      sessionTimeoutMs,
      rebalanceTimeoutMs: ctx.version === 0 ? sessionTimeoutMs : req.rebalanceTimeoutMs ?? sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      requireKnownMemberId: ctx.version >= 4,
      supportSkippingAssignment: ctx.version >= 9,
      reason: req.reason ?? null,
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      protocolName: r.protocolName,
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members,
    };
  },
});
