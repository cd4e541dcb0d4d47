// Heartbeat (API 12), versions 0–4. The logic lives in GroupCoordinator.heartbeat.
// NONE while Stable or CompletingRebalance (members heartbeat between their JoinGroup and SyncGroup
// answers), REBALANCE_IN_PROGRESS while PreparingRebalance; ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
// FENCED_INSTANCE_ID (v3+ groupInstanceId) as Kafka. Every accepted heartbeat restarts the session.
// v4+ flexible.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { HeartbeatResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const heartbeatHandler = defineHandler({
  apiKey: ApiKey.Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, req): HeartbeatResponse {
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const errorCode = ctx.services.groups.heartbeat({
      groupId: req.groupId,
      generationId: req.generationId,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null, // v3+
    });
    return { throttleTimeMs: 0, errorCode };
  },
});
