// ShareAcknowledge (API 79), versions 0–2 (KIP-932; v1, Kafka 4.1's stable version, is laid out
// as v0; v2, Kafka 4.2's, adds IsRenewAck, the Renew acknowledge type 4 (a fresh lock for records
// the member holds) and AcquisitionLockTimeoutMs in the answer). The logic lives in ShareCoordinator.shareRequest
// with acknowledgeOnly set: the share session must be open (SHARE_SESSION_NOT_FOUND) and the epoch
// its next one (INVALID_SHARE_SESSION_EPOCH; 0 is never valid here, since only ShareFetch opens a
// session); -1 applies the acknowledgements and closes the session (releasing what the member still
// holds). Per partition: INVALID_REQUEST for malformed batches (out of order, overlapping, a type
// outside 0–3, a type count that is neither 1 nor one per offset), INVALID_RECORD_STATE for offsets
// the member does not hold, UNKNOWN_TOPIC_ID / UNKNOWN_TOPIC_OR_PARTITION. The answer comes after
// the new state is written to __share_group_state. Authorization: READ on the group and each topic.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ShareAcknowledgeResponse, ShareAcknowledgeResponsePartitionData, ShareAcknowledgeResponseShareAcknowledgeTopicResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import type { SharePartitionRequest } from '../share/coordinator.js';
import { deniedTopicIds } from './share-fetch.js';

export const shareAcknowledgeHandler = defineHandler({
  apiKey: ApiKey.ShareAcknowledge,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req): Promise<ShareAcknowledgeResponse> {
    const acquisitionLockTimeoutMs = ctx.services.shares.lockDurationMs(req.groupId ?? '');
    const top = (errorCode: number, errorMessage: string): ShareAcknowledgeResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs, responses: [], nodeEndpoints: [] });
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId ?? '')) return top(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'Group authorization failed');
    const denied = deniedTopicIds(ctx, req.topics.map((t) => t.topicId));
    const partitions: SharePartitionRequest[] = [];
    for (const t of req.topics) {
      if (denied.has(t.topicId)) continue;
      for (const p of t.partitions) partitions.push({ topicId: t.topicId, partition: p.partitionIndex, fetch: false, acknowledgements: p.acknowledgementBatches });
    }
    const r = await ctx.services.shares.shareRequest({
      groupId: req.groupId, memberId: req.memberId, shareSessionEpoch: req.shareSessionEpoch,
      partitions, forgotten: [], acknowledgeOnly: true, maxWaitMs: 0, maxBytes: 0, maxRecords: 0, batchSize: 0, allowRenew: ctx.version >= 2,
    });
    if (r.errorCode !== ErrorCode.NONE) return top(r.errorCode, r.errorMessage ?? '');
    const leader = { leaderId: ctx.services.node.nodeId, leaderEpoch: 0 };
    const byTopic = new Map<string, ShareAcknowledgeResponsePartitionData[]>();
    const add = (topicId: string, p: ShareAcknowledgeResponsePartitionData) => byTopic.set(topicId, [...(byTopic.get(topicId) ?? []), p]);
    for (const t of req.topics) {
      if (!denied.has(t.topicId)) continue;
      for (const p of t.partitions) add(t.topicId, { partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Topic authorization failed', currentLeader: leader });
    }
    for (const p of r.partitions) {
      // ShareAcknowledge has one error per partition: the acknowledgement's, else the partition's.
      const errorCode = p.acknowledgeErrorCode !== ErrorCode.NONE ? p.acknowledgeErrorCode : p.errorCode;
      add(p.topicId, { partitionIndex: p.partition, errorCode, errorMessage: p.acknowledgeErrorMessage ?? p.errorMessage, currentLeader: leader });
    }
    const responses = [...byTopic].map(([topicId, ps]): ShareAcknowledgeResponseShareAcknowledgeTopicResponse => ({ topicId, partitions: ps }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, acquisitionLockTimeoutMs, responses, nodeEndpoints: [] };
  },
});
