// OffsetForLeaderEpoch v0–4. One node, leader epoch 0 forever: epoch 0 ends at the log end; an
// epoch we never had is answered with -1/-1 (UNDEFINED), as Kafka does. currentLeaderEpoch (v2+)
// is checked so clients with a newer epoch get UNKNOWN_LEADER_EPOCH. A restart keeps epoch 0 (one
// node keeps leading), so the answers for it stay right: its end is the log end, whatever was
// written before or after (test/broker/kafka-behaviour.test.ts). Kafka's internal topics Metadata
// lists are answered too (their one partition, led by the coordinators' broker).
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  OffsetForLeaderEpochResponse, OffsetForLeaderEpochResponseEpochEndOffset, OffsetForLeaderEpochResponseOffsetForLeaderTopicResult,
} from '../../protocol/generated/types.js';
import { LEADER_EPOCH } from '../../storage/append.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { internalTopicLog } from '../topics.js';

export const offsetForLeaderEpochHandler = defineHandler({
  apiKey: ApiKey.OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req): Promise<OffsetForLeaderEpochResponse> {
    const { storage, cluster } = ctx.services;
    const topics: OffsetForLeaderEpochResponseOffsetForLeaderTopicResult[] = [];
    for (const t of req.topics) {
      const internal = await internalTopicLog(storage, t.topic, 0);
      topics.push({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const own = p.partition === 0 ? internal : undefined;
          const log = storage.partition(t.topic, p.partition) ?? own;
          const out = (errorCode: number, leaderEpoch: number, endOffset: number): OffsetForLeaderEpochResponseEpochEndOffset =>
            ({ errorCode, partition: p.partition, leaderEpoch, endOffset });
          if (!authorize(ctx, 'DESCRIBE', 'TOPIC', t.topic)) return out(ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1, -1);
          if (!log) return out(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1);
          // The partition's leader epoch (on PostgreSQL it moves with leadership; batches keep LEADER_EPOCH).
          const current = own ? (cluster.coordinatorId() === null ? null : { nodeId: cluster.coordinatorId(), epoch: LEADER_EPOCH }) : cluster.leader(t.topic, p.partition);
          if (!current || current.nodeId !== cluster.nodeId) return out(ErrorCode.NOT_LEADER_OR_FOLLOWER, -1, -1);
          if ((p.currentLeaderEpoch ?? -1) > current.epoch) return out(ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1);
          if ((p.currentLeaderEpoch ?? -1) >= 0 && (p.currentLeaderEpoch ?? -1) < current.epoch) return out(ErrorCode.FENCED_LEADER_EPOCH, -1, -1);
          if (p.leaderEpoch > current.epoch) return out(ErrorCode.NONE, -1, -1);
          return out(ErrorCode.NONE, LEADER_EPOCH, log.logEndOffset());
        }),
      });
    }
    return { throttleTimeMs: 0, topics };
  },
});
