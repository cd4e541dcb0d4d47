// ListGroups (API 16), versions 0–5. The logic lives in GroupCoordinator.listGroups.
// Every group this coordinator knows, Empty ones included, with protocolType ("" for groups only
// used to store offsets). v3+ flexible. v4+ statesFilter and groupState per group (states match
// case-insensitively). v5+ typesFilter and groupType: every group here is "classic", so a types
// filter without "classic" lists nothing.
import { ApiKey } from '../../protocol/apis.js';
import type { ListGroupsResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const listGroupsHandler = defineHandler({
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req): ListGroupsResponse {
    const r = ctx.services.groups.listGroups(req.statesFilter ?? [], req.typesFilter ?? []);
    // DESCRIBE on the cluster lists every group; otherwise those the principal may DESCRIBE.
    const all = authorize(ctx, 'DESCRIBE', 'CLUSTER');
    return { throttleTimeMs: 0, errorCode: r.errorCode, groups: all ? r.groups : r.groups.filter((g) => authorize(ctx, 'DESCRIBE', 'GROUP', g.groupId)) };
  },
});
