// CreateTopics v0–7. numPartitions -1 means the broker default; replicationFactor must be -1 or 1
// (one replica per partition); manual assignments must name this broker only (a cluster refuses them). validateOnly (v1+)
// checks everything and creates nothing. Error messages are worded as Kafka 4.1 words them. v5+ echoes the partition count, replication factor and configs.
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  CreateTopicsResponse, CreateTopicsResponseCreatableTopicConfigs, CreateTopicsResponseCreatableTopicResult,
} from '../../protocol/generated/types.js';
import { replicaAssignmentProblem, TopicError } from '../topics.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const createTopicsHandler = defineHandler({
  apiKey: ApiKey.CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  async handle(ctx, req): Promise<CreateTopicsResponse> {
    const { services } = ctx;
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const results: CreateTopicsResponseCreatableTopicResult[] = [];
    for (const t of req.topics) {
      const fail = (errorCode: number, errorMessage: string) =>
        results.push({ name: t.name, topicId: ZERO_UUID, errorCode, errorMessage, numPartitions: -1, replicationFactor: -1, configs: null });
      if (seen.get(t.name)! > 1) {
        fail(ErrorCode.INVALID_REQUEST, `topic ${t.name} appears more than once in the request`);
        continue;
      }
      // CREATE on the cluster or on the topic.
      if (!authorize(ctx, 'CREATE', 'CLUSTER') && !authorize(ctx, 'CREATE', 'TOPIC', t.name)) {
        fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
        continue;
      }
      let partitions = t.numPartitions;
      if (t.assignments.length > 0) {
        if (partitions !== -1 || t.replicationFactor !== -1) {
          fail(ErrorCode.INVALID_REQUEST, 'give either assignments or a partition count and replication factor');
          continue;
        }
        const assignmentProblem = replicaAssignmentProblem(t.assignments.map((a) => a.brokerIds), { nodeId: services.node.nodeId, multiNode: services.cluster.multiNode });
        if (assignmentProblem) {
          fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, assignmentProblem);
          continue;
        }
        partitions = t.assignments.length;
      }
      if (partitions === -1) partitions = services.config.defaultPartitions;
      // Kafka 4.1's errorMessages (tools print them).
      if (t.replicationFactor !== -1 && t.replicationFactor <= 0 && t.assignments.length === 0) {
        fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
        continue;
      }
      if (t.replicationFactor > 1 && t.assignments.length === 0) {
        const brokers = services.cluster.members().length;
        fail(ErrorCode.INVALID_REPLICATION_FACTOR, t.replicationFactor > brokers
          ? `Unable to replicate the partition ${t.replicationFactor} time(s): The target replication factor of ${t.replicationFactor} cannot be reached because only ${brokers} broker(s) are registered.`
          // PostgreSQL cluster: each partition has one replica, its leader (the database holds the copies).
          : `replication factor ${t.replicationFactor}: each partition has one replica here, its leader (the database keeps the copies); use 1 or -1`);
        continue;
      }
      const configs: Record<string, string> = {};
      for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
      try {
        if (req.validateOnly) services.topics.checkCreate(t.name, partitions, configs);
        const meta = req.validateOnly ? null : await services.topics.create(t.name, partitions, configs);
        results.push({
          name: t.name,
          topicId: meta?.topicId ?? ZERO_UUID,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          numPartitions: partitions,
          replicationFactor: 1,
          configs: services.topics.effectiveConfigs(configs).map(({ name, value, source }): CreateTopicsResponseCreatableTopicConfigs => ({
            name, value, readOnly: false, configSource: source, isSensitive: false,
          })),
        });
      } catch (err) {
        if (err instanceof TopicError) fail(err.errorCode, err.message);
        else throw err;
      }
    }
    return { throttleTimeMs: 0, topics: results };
  },
});
