// ListGroups (API 16), versions 0–5. The logic lives in GroupCoordinator.listGroups.
// Every group this coordinator knows, Empty ones included, with protocolType ("" for groups only
// used to store offsets). v3+ flexible. v4+ statesFilter and groupState per group (states match
// case-insensitively). v5+ typesFilter and groupType: "classic", "consumer" (KIP-848) or "share"
// (KIP-932, from the share coordinator).
import { ApiKey } from '../../protocol/apis.js';
import type { ListGroupsResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { coordinatesElsewhere } from '../cluster/view.js';
import { defineHandler } from '../handler.js';

export const listGroupsHandler = defineHandler({
  apiKey: ApiKey.ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req): ListGroupsResponse {
    // Cluster mode: the coordinator runs on another broker, which lists them (admin clients ask every broker).
    if (coordinatesElsewhere(ctx.services.cluster)) return { throttleTimeMs: 0, errorCode: 0, groups: [] };
    const r = ctx.services.groups.listGroups(req.statesFilter ?? [], req.typesFilter ?? []);
    // Share groups (KIP-932) are listed with type and protocol type "share", under the same filters.
    const states = new Set((req.statesFilter ?? []).map((s) => s.toLowerCase()));
    const types = new Set((req.typesFilter ?? []).map((s) => s.toLowerCase()));
    if (r.errorCode === 0 && (types.size === 0 || types.has('share'))) {
      for (const s of ctx.services.shares.list()) {
        if (states.size === 0 || states.has(s.state.toLowerCase())) r.groups.push({ groupId: s.groupId, protocolType: 'share', groupState: s.state, groupType: 'share' });
      }
    }
    // DESCRIBE on the cluster lists every group; otherwise those the principal may DESCRIBE.
    const all = authorize(ctx, 'DESCRIBE', 'CLUSTER');
    return { throttleTimeMs: 0, errorCode: r.errorCode, groups: all ? r.groups : r.groups.filter((g) => authorize(ctx, 'DESCRIBE', 'GROUP', g.groupId)) };
  },
});
