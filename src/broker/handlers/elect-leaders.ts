// ElectLeaders v0–2 (Admin.electLeaders, kafka-leader-election). One broker is the only replica,
// the preferred one and the leader of every partition (Metadata says so), so no election is ever
// needed: each named partition gets ELECTION_NOT_NEEDED, as Kafka answers for a partition whose
// preferred replica leads (preferred, type 0) or whose leader is alive (unclean, type 1); a partition
// that does not exist gets UNKNOWN_TOPIC_OR_PARTITION. topicPartitions null (every partition) is
// answered, as Kafka's controller does, with only the partitions an election changed: none.
// Authorization: ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED (top level in v1+, and on
// every named partition).
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ElectLeadersResponse, ElectLeadersResponseReplicaElectionResult } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

/** Kafka's message with ELECTION_NOT_NEEDED (Errors.ELECTION_NOT_NEEDED.message()). */
export const ELECTION_NOT_NEEDED_MESSAGE = 'Leader election not needed for topic partition.';

export const electLeadersHandler = defineHandler({
  apiKey: ApiKey.ElectLeaders,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req): ElectLeadersResponse {
    const { storage } = ctx.services;
    const allowed = authorize(ctx, 'ALTER', 'CLUSTER');
    const byTopic = new Map<string, ElectLeadersResponseReplicaElectionResult>();
    for (const t of req.topicPartitions ?? []) {
      let r = byTopic.get(t.topic);
      if (!r) byTopic.set(t.topic, r = { topic: t.topic, partitionResult: [] });
      for (const partitionId of t.partitions) {
        if (r.partitionResult.some((p) => p.partitionId === partitionId)) continue;
        const exists = storage.topic(t.topic) !== undefined && storage.partition(t.topic, partitionId) !== undefined;
        r.partitionResult.push(!allowed
          ? { partitionId, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null }
          : exists
            ? { partitionId, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: ELECTION_NOT_NEEDED_MESSAGE }
            : { partitionId, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `No such partition as ${t.topic}-${partitionId}` });
      }
    }
    return {
      throttleTimeMs: 0,
      errorCode: allowed ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      replicaElectionResults: [...byTopic.values()],
    };
  },
});
