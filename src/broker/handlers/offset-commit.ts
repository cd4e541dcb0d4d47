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
// Answered after the commit is durably appended.
import { ApiKey } from '../../protocol/apis.js';
import type { ApiHandler } from '../handler.js';

interface PartitionIn {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  commitTimestamp: number;
  committedMetadata: string | null;
}

export const offsetCommitHandler: ApiHandler = {
  apiKey: ApiKey.OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  async handle(ctx, req) {
    const topics = await ctx.broker.groups.commitOffsets({
      groupId: req.groupId,
      apiVersion: ctx.version,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId ?? null,
      topics: (req.topics ?? []).map((t: { name: string; partitions: PartitionIn[] | null }) => ({
        name: t.name,
        partitions: (t.partitions ?? []).map((p) => ({
          partitionIndex: p.partitionIndex,
          committedOffset: p.committedOffset,
          committedLeaderEpoch: p.committedLeaderEpoch,
          committedMetadata: p.committedMetadata,
          commitTimestamp: ctx.version === 1 ? p.commitTimestamp : -1,
        })),
      })),
    });
    return { throttleTimeMs: 0, topics };
  },
};
