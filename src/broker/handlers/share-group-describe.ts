// ShareGroupDescribe (API 77), versions 0–1 (KIP-932; v1, Kafka 4.1's stable version, is laid
// out as v0). The logic lives in ShareCoordinator.describe.
// Per group: state (Empty without members, else Stable: assignment here is immediate), group and
// assignment epochs, the assignor ("simple"), and per member its epoch, client, subscription and
// assignment (topic id and name). An unknown id, or one of a classic or consumer group, answers
// GROUP_ID_NOT_FOUND. includeAuthorizedOperations: the group operations the principal is allowed.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ShareGroupDescribeResponse, ShareGroupDescribeResponseDescribedGroup, ShareGroupDescribeResponseMember } from '../../protocol/generated/types.js';
import { authorize, authorizedOperations } from '../auth/acls.js';
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED, defineHandler } from '../handler.js';
import { SHARE_ASSIGNOR } from '../share/coordinator.js';

export const shareGroupDescribeHandler = defineHandler({
  apiKey: ApiKey.ShareGroupDescribe,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req): ShareGroupDescribeResponse {
    return {
      throttleTimeMs: 0,
      groups: ctx.services.shares.describe(req.groupIds).map((g): ShareGroupDescribeResponseDescribedGroup => {
        if (!authorize(ctx, 'DESCRIBE', 'GROUP', g.groupId)) {
          return {
            groupId: g.groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: 'Group authorization failed', groupState: '',
            groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [], authorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
          };
        }
        return {
          groupId: g.groupId,
          errorCode: g.errorCode,
          errorMessage: g.errorMessage,
          groupState: g.groupState,
          groupEpoch: g.groupEpoch,
          assignmentEpoch: g.assignmentEpoch,
          assignorName: g.errorCode === ErrorCode.NONE ? SHARE_ASSIGNOR : '',
          members: g.members.map((m): ShareGroupDescribeResponseMember => ({
            memberId: m.memberId, rackId: m.rackId, memberEpoch: m.memberEpoch, clientId: m.clientId, clientHost: m.clientHost,
            subscribedTopicNames: m.subscribedTopicNames,
            assignment: { topicPartitions: m.assignment.map((t) => ({ topicId: t.topicId, topicName: t.topicName, partitions: t.partitions })) },
          })),
          authorizedOperations: req.includeAuthorizedOperations && g.errorCode === ErrorCode.NONE ? authorizedOperations(ctx, 'GROUP', g.groupId) : AUTHORIZED_OPERATIONS_NOT_REQUESTED,
        };
      }),
    };
  },
});
