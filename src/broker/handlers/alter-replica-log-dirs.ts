// AlterReplicaLogDirs v0–2 (Admin.alterReplicaLogDirs, kafka-reassign-partitions --replica-log-dirs).
// A Fjord broker has one log dir (the one DescribeLogDirs names, see logDirOf), so every replica
// already lives in the only dir it could be moved to: a request naming that dir succeeds with nothing
// to move, as Kafka answers a move to the dir a replica is in; any other path (relative ones too)
// gets LOG_DIR_NOT_FOUND, and a partition this broker does not have UNKNOWN_TOPIC_OR_PARTITION —
// Kafka 4.1's answers, checked by test/conformance/replica-log-dirs-kafka.test.ts.
// Authorization: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED on every partition.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { AlterReplicaLogDirsResponse, AlterReplicaLogDirsResponseAlterReplicaLogDirTopicResult } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { logDirOf } from './describe-log-dirs.js';

export const alterReplicaLogDirsHandler = defineHandler({
  apiKey: ApiKey.AlterReplicaLogDirs,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req): AlterReplicaLogDirsResponse {
    const { storage } = ctx.services;
    const allowed = authorize(ctx, 'ALTER', 'CLUSTER');
    const onlyDir = logDirOf(ctx).path;
    const byTopic = new Map<string, AlterReplicaLogDirsResponseAlterReplicaLogDirTopicResult>();
    for (const dir of req.dirs) {
      for (const t of dir.topics) {
        let result = byTopic.get(t.name);
        if (!result) byTopic.set(t.name, result = { topicName: t.name, partitions: [] });
        for (const partitionIndex of t.partitions) {
          const errorCode = !allowed ? ErrorCode.CLUSTER_AUTHORIZATION_FAILED
            : dir.path !== onlyDir ? ErrorCode.LOG_DIR_NOT_FOUND
              : storage.topic(t.name) === undefined || storage.partition(t.name, partitionIndex) === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                : ErrorCode.NONE;
          // A partition named twice (under two dirs) is answered once, by its first mention.
          if (!result.partitions.some((p) => p.partitionIndex === partitionIndex)) result.partitions.push({ partitionIndex, errorCode });
        }
      }
    }
    return { throttleTimeMs: 0, results: [...byTopic.values()] };
  },
});
