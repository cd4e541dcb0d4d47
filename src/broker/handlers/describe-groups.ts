// DescribeGroups (API 15), versions 0–5. The logic lives in GroupCoordinator.describeGroups.
// Per group: errorCode, groupState (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead),
// protocolType, protocolData (the chosen protocol) and members. As in Kafka, protocolData and the
// members' metadata/assignment are filled only when the group is Stable, and an unknown group is
// answered with state "Dead" and NONE. v3+ includeAuthorizedOperations: with no authorizer every
// group operation (READ, DELETE, DESCRIBE) is allowed; otherwise the field keeps its "not
// requested" default. v4+ groupInstanceId per member. v5+ flexible.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeGroupsResponse, DescribeGroupsResponseDescribedGroup } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED, defineHandler } from '../handler.js';

/** AclOperation codes READ (3), DELETE (6), DESCRIBE (8) as a bit field. */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export const describeGroupsHandler = defineHandler({
  apiKey: ApiKey.DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req): DescribeGroupsResponse {
    const withOps = ctx.version >= 3 && !!req.includeAuthorizedOperations;
    return {
      throttleTimeMs: 0,
      // DESCRIBE on each group: the others answer GROUP_AUTHORIZATION_FAILED.
      groups: ctx.services.groups.describeGroups(req.groups).map((g): DescribeGroupsResponseDescribedGroup => !authorize(ctx, 'DESCRIBE', 'GROUP', g.groupId) ? ({
        errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, groupId: g.groupId, groupState: '', protocolType: '', protocolData: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
      }) : ({
        ...g,
        authorizedOperations: withOps && g.errorCode === ErrorCode.NONE ? GROUP_OPERATIONS : AUTHORIZED_OPERATIONS_NOT_REQUESTED,
      })),
    };
  },
});
