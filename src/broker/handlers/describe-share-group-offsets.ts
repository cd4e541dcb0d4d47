// DescribeShareGroupOffsets (API 90), version 0 (Kafka 4.1's; structure from
// scripts/protocol-overlay.ts: ../shared's spec lacks it). The logic lives in
// ShareCoordinator.describeOffsets: per group, the share-partition start offsets (SPSO) of the
// partitions named, or with Topics null of every partition the group has state for. As Kafka 4.1:
// an unknown group is no error (no topics, or -1 for each partition named), a named partition
// without state answers -1, LeaderEpoch is 0 (one node: the state never moved between leaders).
// DESCRIBE on the group (else GROUP_AUTHORIZATION_FAILED); topics the principal may not DESCRIBE
// answer TOPIC_AUTHORIZATION_FAILED per partition, and are left out of the all-topics answer.
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeShareGroupOffsetsResponse, DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponseTopic } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const describeShareGroupOffsetsHandler = defineHandler({
  apiKey: ApiKey.DescribeShareGroupOffsets,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req): DescribeShareGroupOffsetsResponse {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((rg): DescribeShareGroupOffsetsResponseGroup => {
        if (!authorize(ctx, 'DESCRIBE', 'GROUP', rg.groupId)) {
          return { groupId: rg.groupId, topics: [], errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: 'Group authorization failed' };
        }
        const visible = (name: string) => authorize(ctx, 'DESCRIBE', 'TOPIC', name);
        const asked = rg.topics === null ? null : rg.topics.filter((t) => visible(t.topicName));
        const r = ctx.services.shares.describeOffsets(rg.groupId, asked);
        const topics: DescribeShareGroupOffsetsResponseTopic[] = r.topics
          .filter((t) => asked !== null || visible(t.topicName))
          .map((t) => ({
            topicName: t.topicName,
            topicId: t.topicId,
            partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, startOffset: p.startOffset, leaderEpoch: 0, errorCode: ErrorCode.NONE, errorMessage: null })),
          }));
        for (const t of rg.topics ?? []) {
          if (visible(t.topicName)) continue;
          topics.push({
            topicName: t.topicName, topicId: ZERO_UUID,
            partitions: t.partitions.map((p) => ({ partitionIndex: p, startOffset: -1, leaderEpoch: -1, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Topic authorization failed' })),
          });
        }
        return { groupId: rg.groupId, topics, errorCode: r.errorCode, errorMessage: r.errorMessage };
      }),
    };
  },
});
