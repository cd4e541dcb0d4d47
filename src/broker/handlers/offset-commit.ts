// OffsetCommit (API 8), versions 0–9. The logic lives in GroupCoordinator.commitOffsets.
// v0 has no generation/member (a "simple" commit: generation -1, empty member id, allowed while the
// group has no members). v1 carries a per-partition commitTimestamp (used as the commit time when
// not -1). v2–4 retentionTimeMs is ignored (retention is the broker's). v6+ committedLeaderEpoch,
// stored and returned by OffsetFetch. v7+ groupInstanceId. v8+ flexible. v9 is v8 for classic
// groups; for a KIP-848 group generationIdOrMemberEpoch is the member epoch (STALE_MEMBER_EPOCH /
// FENCED_MEMBER_EPOCH / UNKNOWN_MEMBER_ID; members must use v9+, older versions get
// UNSUPPORTED_VERSION), and a commit with a generation to a group that does not exist gets
// GROUP_ID_NOT_FOUND at v9+ (ILLEGAL_GENERATION before). Unknown topics/partitions get
// UNKNOWN_TOPIC_OR_PARTITION each; metadata longer than 4096 characters OFFSET_METADATA_TOO_LARGE.
// A share group's id: GROUP_ID_NOT_FOUND for every partition (as Kafka 4.1). Answered after the
// commit is durably appended.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { OffsetCommitResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const offsetCommitHandler = defineHandler({
  apiKey: ApiKey.OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  async handle(ctx, req): Promise<OffsetCommitResponse> {
    // Kafka's checks: READ on the group (else every partition GROUP_AUTHORIZATION_FAILED), READ on
    // each topic (else its partitions TOPIC_AUTHORIZATION_FAILED; the others are committed).
    const failAll = (errorCode: number, ts: typeof req.topics) => ts.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) }));
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) return { throttleTimeMs: 0, topics: failAll(ErrorCode.GROUP_AUTHORIZATION_FAILED, req.topics) };
    const deniedTopics = req.topics.filter((t) => !authorize(ctx, 'READ', 'TOPIC', t.name));
    const allowed = deniedTopics.length === 0 ? req.topics : req.topics.filter((t) => !deniedTopics.includes(t));
    if (deniedTopics.length > 0 && allowed.length === 0) return { throttleTimeMs: 0, topics: failAll(ErrorCode.TOPIC_AUTHORIZATION_FAILED, deniedTopics) };
    // As Kafka 4.1: a share group keeps no committed offsets.
    if (ctx.services.shares.has(req.groupId)) return { throttleTimeMs: 0, topics: failAll(ErrorCode.GROUP_ID_NOT_FOUND, req.topics) };
    const topics = await ctx.services.groups.commitOffsets({
      groupId: req.groupId,
      apiVersion: ctx.version,
      // v0 has neither: a "simple" commit (generation -1, no member).
      generationId: req.generationIdOrMemberEpoch ?? -1,
      memberId: req.memberId ?? '',
      groupInstanceId: req.groupInstanceId ?? null,
      topics: allowed.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: p.committedLeaderEpoch ?? -1,
          committedMetadata: p.committedMetadata,
          commitTimestamp: ctx.version === 1 ? p.commitTimestamp ?? -1 : -1,
        })),
      })),
    });
    return { throttleTimeMs: 0, topics: [...failAll(ErrorCode.TOPIC_AUTHORIZATION_FAILED, deniedTopics), ...topics] };
  },
});
