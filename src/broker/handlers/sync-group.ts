// SyncGroup (API 14), versions 0–5. The logic lives in GroupCoordinator.syncGroup.
// The leader sends every member's assignment; followers' requests wait until it is stored (a
// follower may arrive first). v3+ groupInstanceId (static members; a stale instance is fenced).
// v4+ flexible. v5+ protocolType/protocolName in request and response: when given they must equal
// the group's (else INCONSISTENT_GROUP_PROTOCOL); null is accepted (Kafka requires them at v5, but
// every real client sends them, so leniency costs nothing).
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { SyncGroupResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const syncGroupHandler = defineHandler({
  apiKey: ApiKey.SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, req): Promise<SyncGroupResponse> {
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) };
    const r = await ctx.services.groups.syncGroup({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      protocolType: req.protocolType ?? null,
      protocolName: req.protocolName ?? null,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: a.assignment })),
    });
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      protocolType: r.protocolType,
      protocolName: r.protocolName,
      assignment: r.assignment,
    };
  },
});
