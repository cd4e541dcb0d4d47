// OffsetFetch (API 9), versions 0–9. The logic lives in GroupCoordinator.fetchOffsets.
// v0–7: one group and `topics`; v2+ topics may be null (= every committed partition) and the
// response has a top-level errorCode (v0–1 put a group-level error on every partition instead).
// v5+ committedLeaderEpoch. v6+ flexible. v7 requireStable (UNSTABLE_OFFSET_COMMIT while a commit
// to the partition is being written). v8+: a `groups` array, each with its own topics and error.
// v9 adds memberId/memberEpoch: for a KIP-848 group a member that gives them is checked
// (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH as the group's error); null/-1 (admin clients) pass.
// Partitions never committed answer offset -1, leader epoch -1, metadata "" and NONE. v0 (offsets
// in ZooKeeper in old Kafka) reads the same store as v1.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { OffsetFetchResponse, OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponseTopic } from '../../protocol/generated/types.js';
import type { OffsetFetchResult } from '../groups/coordinator.js';
import { authorize } from '../auth/acls.js';
import { defineHandler, type RequestContext } from '../handler.js';

type Wanted = { name: string; partitionIndexes: number[] }[] | null;

/**
 * GroupCoordinator.fetchOffsets behind Kafka's checks: READ on the group (else
 * GROUP_AUTHORIZATION_FAILED), DESCRIBE on each topic (named ones: TOPIC_AUTHORIZATION_FAILED per
 * partition; all topics: the undescribable left out).
 */
function fetchAuthorized(ctx: RequestContext, groupId: string, topics: Wanted, requireStable: boolean, member?: { memberId: string | null; memberEpoch: number }): OffsetFetchResult {
  if (!authorize(ctx, 'READ', 'GROUP', groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  const describable = (name: string) => authorize(ctx, 'DESCRIBE', 'TOPIC', name);
  const denied = topics === null ? [] : topics.filter((t) => !describable(t.name));
  const r = ctx.services.groups.fetchOffsets(groupId, topics === null || denied.length === 0 ? topics : topics.filter((t) => describable(t.name)), requireStable, member);
  if (topics === null) return { ...r, topics: r.topics.filter((t) => describable(t.name)) };
  if (denied.length === 0) return r;
  return {
    ...r,
    topics: [...r.topics, ...denied.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
    }))],
  };
}

export const offsetFetchHandler = defineHandler({
  apiKey: ApiKey.OffsetFetch,
  minVersion: 0,
  maxVersion: 9,
  handle(ctx, req): OffsetFetchResponse {
    const requireStable = !!req.requireStable;
    if (ctx.version >= 8) {
      return {
        throttleTimeMs: 0,
        groups: (req.groups ?? []).map((g): OffsetFetchResponseGroup => {
          const member = { memberId: g.memberId ?? null, memberEpoch: g.memberEpoch ?? -1 }; // v9+
          const r = fetchAuthorized(ctx, g.groupId, g.topics, requireStable, member);
          return { groupId: g.groupId, errorCode: r.errorCode, topics: r.topics };
        }),
      };
    }
    const topics = req.topics ?? null;
    const r = fetchAuthorized(ctx, req.groupId ?? '', topics, requireStable);
    if (r.errorCode !== ErrorCode.NONE && ctx.version < 2) {
      // No top-level error field before v2: every requested partition carries the error.
      return {
        throttleTimeMs: 0,
        topics: (topics ?? []).map((t): OffsetFetchResponseTopic => ({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex): OffsetFetchResponsePartition => ({
            partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode,
          })),
        })),
      };
    }
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  },
});
