// AlterPartitionReassignments v0 and ListPartitionReassignments v0 (Admin.alterPartitionReassignments
// / listPartitionReassignments, kafka-reassign-partitions). With one broker a partition can only be
// "moved" to that broker, which already holds it: such a reassignment completes at once (NONE), so
// none is ever in progress and the list is always empty. Per partition, as Kafka's controller
// answers: a missing topic or partition → UNKNOWN_TOPIC_OR_PARTITION; replicas null (cancel) →
// NO_REASSIGNMENT_IN_PROGRESS; an empty list, a repeated id or a broker id that is not this broker →
// INVALID_REPLICA_ASSIGNMENT. Both need the cluster's ALTER (alter) or DESCRIBE (list), else
// CLUSTER_AUTHORIZATION_FAILED at the top.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  AlterPartitionReassignmentsResponse, AlterPartitionReassignmentsResponseReassignablePartitionResponse,
  ListPartitionReassignmentsResponse,
} from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler, type RequestContext } from '../handler.js';

function reassign(ctx: RequestContext, topic: string, partitionIndex: number, replicas: number[] | null): AlterPartitionReassignmentsResponseReassignablePartitionResponse {
  const { storage, node } = ctx.services;
  const answer = (errorCode: number, errorMessage: string | null) => ({ partitionIndex, errorCode, errorMessage });
  if (!storage.topic(topic) || !storage.partition(topic, partitionIndex)) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find partition ${topic}:${partitionIndex}.`);
  if (replicas === null) return answer(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No partition reassignment is in progress.');
  if (replicas.length === 0) return answer(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.');
  if (new Set(replicas).size !== replicas.length) {
    return answer(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the partition with duplicate broker IDs: ${replicas.join(', ')}`);
  }
  const unknown = replicas.find((id) => id !== node.nodeId);
  if (unknown !== undefined) {
    return answer(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${unknown}, but no such broker is registered.`);
  }
  return answer(ErrorCode.NONE, null);
}

export const alterPartitionReassignmentsHandler = defineHandler({
  apiKey: ApiKey.AlterPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req): AlterPartitionReassignmentsResponse {
    if (!authorize(ctx, 'ALTER', 'CLUSTER')) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, responses: [] };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      responses: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => reassign(ctx, t.name, p.partitionIndex, p.replicas)) })),
    };
  },
});

export const listPartitionReassignmentsHandler = defineHandler({
  apiKey: ApiKey.ListPartitionReassignments,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx): ListPartitionReassignmentsResponse {
    if (!authorize(ctx, 'DESCRIBE', 'CLUSTER')) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, topics: [] };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] };
  },
});
