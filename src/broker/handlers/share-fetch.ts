// ShareFetch (API 78), versions 0–2 (KIP-932; v1 is Kafka 4.1's stable version, v2 Kafka 4.2's, from
// scripts/protocol-overlay.ts, v0 the early-access one of ../shared's spec). The logic lives in ShareCoordinator.shareRequest
// (sessions, acknowledgements, acquisition) and share/share-partition.ts (record states).
// ShareSessionEpoch 0 opens the member's share session (no acknowledgements allowed: INVALID_REQUEST),
// -1 closes it after applying its acknowledgements (no fetching), any other value must be the
// session's next epoch (INVALID_SHARE_SESSION_EPOCH; none open: SHARE_SESSION_NOT_FOUND). The
// member must be in the group (UNKNOWN_MEMBER_ID). Piggy-backed acknowledgements are applied before
// fetching; a bad one fails that partition's AcknowledgeErrorCode only (INVALID_REQUEST for a
// malformed batch, INVALID_RECORD_STATE for offsets this member does not hold). A partition with
// PartitionMaxBytes 0 only acknowledges (v0; v1 has no PartitionMaxBytes: every partition named
// in a request that does not close the session is fetched). v1: at most MaxRecords offsets are
// acquired over the whole request (none when it is 0 or less; Kafka may exceed it to keep batches
// whole, Fjord hands out part of a batch instead), AcquiredRecords entries span at most BatchSize
// offsets, and AcquisitionLockTimeoutMs is the group's lock duration. Records come as whole stored batches with the acquired
// ranges; the wait is up to MaxWaitMs when nothing can be acquired (MinBytes is not waited for).
// MaxBytes is capped by fetch.max.bytes. v2 (Kafka 4.2): ShareAcquireMode 0 (batch-optimized) or
// 1 (record limit; Fjord keeps MaxRecords strictly in both), else INVALID_REQUEST; acknowledge type
// 4 (Renew) gives records the member holds a fresh lock; IsRenewAck: the request only
// acknowledges (nothing acquired, no wait), and must have MaxWaitMs, MinBytes, MaxBytes and
// MaxRecords 0 (else INVALID_REQUEST), as Kafka 4.2. Authorization: READ on the group and on each topic.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ShareFetchResponse, ShareFetchResponsePartitionData, ShareFetchResponseShareFetchableTopicResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler, type RequestContext } from '../handler.js';
import type { SharePartitionRequest } from '../share/coordinator.js';

/** READ on each topic named (by id): the ones refused answer TOPIC_AUTHORIZATION_FAILED and are not touched. */
export function deniedTopicIds(ctx: RequestContext, topicIds: string[]): Set<string> {
  const denied = new Set<string>();
  for (const id of topicIds) {
    const t = ctx.services.storage.topics().find((m) => m.topicId === id);
    if (t && !authorize(ctx, 'READ', 'TOPIC', t.name)) denied.add(id);
  }
  return denied;
}

export const shareFetchHandler = defineHandler({
  apiKey: ApiKey.ShareFetch,
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, req): Promise<ShareFetchResponse> {
    const acquisitionLockTimeoutMs = ctx.services.shares.lockDurationMs(req.groupId ?? '');
    const top = (errorCode: number, errorMessage: string): ShareFetchResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, acquisitionLockTimeoutMs, responses: [], nodeEndpoints: [] });
    const v1 = ctx.version >= 1;
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId ?? '')) return top(ErrorCode.GROUP_AUTHORIZATION_FAILED, 'Group authorization failed');
    const v2 = ctx.version >= 2;
    const renewOnly = v2 && req.isRenewAck === true;
    if (v2 && req.shareAcquireMode !== 0 && req.shareAcquireMode !== 1) return top(ErrorCode.INVALID_REQUEST, `Unknown ShareAcquireMode ${req.shareAcquireMode}.`);
    if (renewOnly && (req.maxWaitMs !== 0 || req.minBytes !== 0 || req.maxBytes !== 0 || req.maxRecords !== 0)) {
      return top(ErrorCode.INVALID_REQUEST, 'A ShareFetch with IsRenewAck must have MaxWaitMs, MinBytes, MaxBytes and MaxRecords 0.');
    }
    const denied = deniedTopicIds(ctx, req.topics.map((t) => t.topicId));
    const partitions: SharePartitionRequest[] = [];
    for (const t of req.topics) {
      if (denied.has(t.topicId)) continue;
      for (const p of t.partitions) {
        const fetch = v1 ? req.shareSessionEpoch !== -1 : (p.partitionMaxBytes ?? 0) > 0;
        partitions.push({ topicId: t.topicId, partition: p.partitionIndex, fetch, acknowledgements: p.acknowledgementBatches });
      }
    }
    const r = await ctx.services.shares.shareRequest({
      groupId: req.groupId,
      memberId: req.memberId,
      shareSessionEpoch: req.shareSessionEpoch,
      partitions,
      forgotten: req.forgottenTopicsData.map((f) => ({ topicId: f.topicId, partitions: f.partitions })),
      acknowledgeOnly: false,
      maxWaitMs: req.maxWaitMs,
      maxBytes: Math.min(req.maxBytes, ctx.services.config.fetchMaxBytes),
      maxRecords: v1 ? (req.maxRecords ?? 0) : Infinity,
      batchSize: v1 ? (req.batchSize ?? 0) : 0,
      allowRenew: v2,
      renewOnly,
    });
    if (r.errorCode !== ErrorCode.NONE) return top(r.errorCode, r.errorMessage ?? '');
    const leader = { leaderId: ctx.services.node.nodeId, leaderEpoch: 0 };
    const byTopic = new Map<string, ShareFetchResponsePartitionData[]>();
    const add = (topicId: string, p: ShareFetchResponsePartitionData) => {
      const list = byTopic.get(topicId) ?? [];
      list.push(p);
      byTopic.set(topicId, list);
    };
    for (const t of req.topics) {
      if (!denied.has(t.topicId)) continue;
      for (const p of t.partitions) {
        const msg = 'Topic authorization failed';
        add(t.topicId, {
          partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: msg,
          acknowledgeErrorCode: p.acknowledgementBatches.length > 0 ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.NONE,
          acknowledgeErrorMessage: p.acknowledgementBatches.length > 0 ? msg : null, currentLeader: leader, records: null, acquiredRecords: [],
        });
      }
    }
    for (const p of r.partitions) {
      add(p.topicId, {
        partitionIndex: p.partition, errorCode: p.errorCode, errorMessage: p.errorMessage,
        acknowledgeErrorCode: p.acknowledgeErrorCode, acknowledgeErrorMessage: p.acknowledgeErrorMessage,
        currentLeader: leader, records: p.records, acquiredRecords: p.acquired,
      });
    }
    const responses = [...byTopic].map(([topicId, ps]): ShareFetchResponseShareFetchableTopicResponse => ({ topicId, partitions: ps }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, acquisitionLockTimeoutMs, responses, nodeEndpoints: [] };
  },
});
