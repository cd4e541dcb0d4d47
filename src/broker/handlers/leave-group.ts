// LeaveGroup (API 13), versions 0–5. The logic lives in GroupCoordinator.leaveGroup.
// v0–2: one memberId; the top-level error is the member's error (Kafka's rule for these versions).
// v3+: a members array (memberId, groupInstanceId) with per-member errors; an empty memberId with a
// groupInstanceId removes that static member (admin removal). v4+ flexible, v5+ per-member reason.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ApiHandler } from '../handler.js';

export const leaveGroupHandler: ApiHandler = {
  apiKey: ApiKey.LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req) {
    const leaving =
      ctx.version <= 2
        ? [{ memberId: req.memberId as string, groupInstanceId: null, reason: null }]
        : (req.members ?? []).map((m: { memberId: string; groupInstanceId: string | null; reason: string | null }) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId ?? null,
            reason: m.reason ?? null,
          }));
    const r = ctx.broker.groups.leaveGroup(req.groupId, leaving);
    if (ctx.version <= 2) {
      const errorCode = r.errorCode !== ErrorCode.NONE ? r.errorCode : r.members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE;
      return { throttleTimeMs: 0, errorCode };
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
  },
};
