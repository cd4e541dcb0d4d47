// DeleteGroups (API 42), versions 0–2. The logic lives in GroupCoordinator.deleteGroups.
// Per group: GROUP_ID_NOT_FOUND when unknown, NON_EMPTY_GROUP while it has members (or is
// rebalancing), else its offsets and metadata are deleted (tombstones in the offsets log) and it
// answers NONE. Repeated names are answered once. v2+ flexible.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DeleteGroupsResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const deleteGroupsHandler = defineHandler({
  apiKey: ApiKey.DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req): Promise<DeleteGroupsResponse> {
    // DELETE on each group: the others answer GROUP_AUTHORIZATION_FAILED.
    const allowed = req.groupsNames.filter((g) => authorize(ctx, 'DELETE', 'GROUP', g));
    // Share groups (KIP-932) are deleted by the share coordinator: their share-partition state goes too.
    const shares = [...new Set(allowed.filter((g) => ctx.services.shares.has(g)))];
    const others = allowed.filter((g) => !ctx.services.shares.has(g));
    const done = others.length > 0 ? await ctx.services.groups.deleteGroups(others) : [];
    for (const groupId of shares) done.push({ groupId, errorCode: await ctx.services.shares.deleteGroup(groupId) });
    const denied = req.groupsNames.filter((g) => !allowed.includes(g)).map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED }));
    return { throttleTimeMs: 0, results: [...done, ...denied] };
  },
});
