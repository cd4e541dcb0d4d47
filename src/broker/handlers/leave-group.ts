// LeaveGroup (API 13), versions 0–5. The logic lives in GroupCoordinator.leaveGroup.
// v0–2: one memberId; the top-level error is the member's error (Kafka's rule for these versions).
// v3+: a members array (memberId, groupInstanceId) with per-member errors; an empty memberId with a
// groupInstanceId removes that static member (admin removal). v4+ flexible, v5+ per-member reason.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { LeaveGroupResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const leaveGroupHandler = defineHandler({
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req): LeaveGroupResponse {
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, members: [] };
    const leaving =
      ctx.version <= 2
        ? [{ memberId: req.memberId ?? '', groupInstanceId: null, reason: null }]
        : (req.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason ?? null }));
    const r = ctx.services.groups.leaveGroup(req.groupId, leaving);
    if (ctx.version <= 2) {
      const errorCode = r.errorCode !== ErrorCode.NONE ? r.errorCode : r.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
      return { throttleTimeMs: 0, errorCode };
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  },
});
