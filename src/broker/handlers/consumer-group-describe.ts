// ConsumerGroupDescribe (API 69), version 0 (KIP-848). The logic lives in
// GroupCoordinator.consumerGroupDescribe. Per group: state (Empty, Assigning, Reconciling, Stable),
// group and assignment epochs, the assignor in use, and per member its epoch, subscription, current
// and target assignment (topic id and name). A classic group or an unknown id answers
// GROUP_ID_NOT_FOUND (admin clients then fall back to DescribeGroups). includeAuthorizedOperations:
// the group operations (READ, DESCRIBE, DELETE) the principal is allowed (all three without an authorizer).
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ConsumerGroupDescribeResponse, ConsumerGroupDescribeResponseDescribedGroup } from '../../protocol/generated/types.js';
import { authorize, authorizedOperations } from '../auth/acls.js';
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED, defineHandler } from '../handler.js';

export const consumerGroupDescribeHandler = defineHandler({
  apiKey: ApiKey.ConsumerGroupDescribe,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req): ConsumerGroupDescribeResponse {
    return {
      throttleTimeMs: 0,
      groups: ctx.services.groups.consumerGroupDescribe(req.groupIds).map((g): ConsumerGroupDescribeResponseDescribedGroup => (!authorize(ctx, 'DESCRIBE', 'GROUP', g.groupId) ? {
        ...g, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: 'Group authorization failed', groupState: '', groupEpoch: -1, assignmentEpoch: -1,
        assignorName: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
      } : {
        ...g,
        authorizedOperations: req.includeAuthorizedOperations && g.errorCode === ErrorCode.NONE ? authorizedOperations(ctx, 'GROUP', g.groupId) : AUTHORIZED_OPERATIONS_NOT_REQUESTED,
      })),
    };
  },
});
