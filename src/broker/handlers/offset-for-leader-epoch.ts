// OffsetForLeaderEpoch v0–4. One node, leader epoch 0 forever: epoch 0 ends at the log end; an
// epoch we never had is answered with -1/-1 (UNDEFINED), as Kafka does. currentLeaderEpoch (v2+)
// is checked so clients with a newer epoch get UNKNOWN_LEADER_EPOCH.
import { ApiKey } from '../../protocol/apis.js';
import type { Message } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { LEADER_EPOCH } from '../../storage/append.js';
import type { ApiHandler } from '../handler.js';

export const offsetForLeaderEpochHandler: ApiHandler = {
  apiKey: ApiKey.OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, req) {
    const { storage } = ctx.broker;
    return {
      throttleTimeMs: 0,
      topics: (req.topics as Message[]).map((t) => ({
        topic: t.topic,
        partitions: (t.partitions as Message[]).map((p) => {
          const log = storage.partition(t.topic, p.partition);
          const out = (errorCode: number, leaderEpoch: number, endOffset: number) => ({ errorCode, partition: p.partition, leaderEpoch, endOffset });
          if (!log) return out(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1);
          if (p.currentLeaderEpoch > LEADER_EPOCH) return out(ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1);
          if (p.leaderEpoch > LEADER_EPOCH) return out(ErrorCode.NONE, -1, -1);
          return out(ErrorCode.NONE, LEADER_EPOCH, log.logEndOffset());
        }),
      })),
    };
  },
};
