// DescribeGroups (API 15), versions 0–5. The logic lives in GroupCoordinator.describeGroups.
// Per group: errorCode, groupState (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead),
// protocolType, protocolData (the chosen protocol) and members. As in Kafka, protocolData and the
// members' metadata/assignment are filled only when the group is Stable, and an unknown group is
// answered with state "Dead" and NONE. v3+ includeAuthorizedOperations: the group operations
// (READ, DESCRIBE, DELETE) the principal is allowed, for groups answered with NONE; with no
// authorizer all three. v4+ groupInstanceId per member. v5+ flexible.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeGroupsResponse, DescribeGroupsResponseDescribedGroup } from '../../protocol/generated/types.js';
import { authorize, authorizedOperations } from '../auth/acls.js';
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED, defineHandler } from '../handler.js';

export const describeGroupsHandler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req): DescribeGroupsResponse {
    const withOps = ctx.version >= 3 && !!req.includeAuthorizedOperations;
    // DESCRIBE on each group: the others answer GROUP_AUTHORIZATION_FAILED, listed first as Kafka lists them.
    const denied: DescribeGroupsResponseDescribedGroup[] = [];
    const described: DescribeGroupsResponseDescribedGroup[] = [];
    for (const g of ctx.services.groups.describeGroups(req.groups)) {
      if (!authorize(ctx, 'DESCRIBE', 'GROUP', g.groupId)) {
        denied.push({
          errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId: g.groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
        });
      } else {
        described.push({ ...g, authorizedOperations: withOps && g.errorCode === ErrorCode.NONE ? authorizedOperations(ctx, 'GROUP', g.groupId) : AUTHORIZED_OPERATIONS_NOT_REQUESTED });
      }
    }
    return { throttleTimeMs: 0, groups: [...denied, ...described] };
  },
});
