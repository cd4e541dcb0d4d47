// Metadata v0–12. One node leads every partition in leader epoch 0 and is the controller; on
// PostgreSQL (docs/cluster.md) the live brokers, each partition's leader and epoch (replicas = ISR =
// the leader: the database holds the copies) and the lowest live id as controller come from
// services.cluster. A partition between leaders answers LEADER_NOT_AVAILABLE.
// Topic selection: v0 empty list = all topics; v1+ null = all, empty = none. Auto-creation:
// v0–3 always ask for it implicitly, v4+ only with allowAutoTopicCreation (and the broker allowing it).
// v10+ topics may be named by id; v10+ responses carry topic ids (which unlocks Fetch v13+).
// Kafka's internal topics are listed as Kafka lists them once they exist, with is_internal=true, in
// the all-topics answer and by name: `__consumer_offsets` always (the group coordinator's log, open
// from the start, as Kafka's exists once a client looked for a group coordinator), the others
// (`__transaction_state`) once their log holds a record. One partition each (the log they are),
// led by the coordinators' broker. Regex subscribers skip them by that flag.
// Auto-creation answers with the created topic at once. Kafka 4.1 answers the creating request
// UNKNOWN_TOPIC_OR_PARTITION without partitions (it creates in the background); kept otherwise on
// purpose: kafka-go's consumer-group readers that start before their topic exists stall on that
// answer here (its partition watcher then sees no change), and pass with this one
// (docs/compatibility.md, "Where Fjord answers otherwise than Kafka 4.1").
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic } from '../../protocol/generated/types.js';
import type { TopicMeta } from '../../storage/types.js';
import { internalTopicId, internalTopicNames, isInternalTopic, reservedTopicProblem, topicNameProblem } from '../topics.js';
import { LEADER_EPOCH } from '../../storage/append.js';
import { authorize, authorizedOperations } from '../auth/acls.js';
import { catchUpWithin, memberAddress } from '../cluster/view.js';
import { CLUSTER_CATCH_UP_WAIT_MS } from '../cluster/catch-up.js';
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED, defineHandler, type RequestContext } from '../handler.js';

export function topicMetadata(ctx: RequestContext, t: TopicMeta): MetadataResponseTopic {
  const { cluster } = ctx.services;
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.topicId,
    isInternal: false,
    partitions: Array.from({ length: t.partitionCount }, (_, p): MetadataResponsePartition => {
      const leader = cluster.leader(t.name, p);
      if (!leader) {
        return { errorCode: ErrorCode.LEADER_NOT_AVAILABLE, partitionIndex: p, leaderId: -1, leaderEpoch: -1, replicaNodes: [], isrNodes: [], offlineReplicas: [] };
      }
      return {
        errorCode: ErrorCode.NONE,
        partitionIndex: p,
        leaderId: leader.nodeId,
        leaderEpoch: leader.epoch,
        replicaNodes: [leader.nodeId],
        isrNodes: [leader.nodeId],
        offlineReplicas: [],
      };
    }),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  };
}

/** An internal topic as Metadata lists it: is_internal, one partition led by the coordinators' broker. */
export function internalTopicMetadata(ctx: RequestContext, name: string): MetadataResponseTopic {
  const leader = ctx.services.cluster.coordinatorId();
  const partition: MetadataResponsePartition = leader === null
    ? { errorCode: ErrorCode.LEADER_NOT_AVAILABLE, partitionIndex: 0, leaderId: -1, leaderEpoch: -1, replicaNodes: [], isrNodes: [], offlineReplicas: [] }
    : { errorCode: ErrorCode.NONE, partitionIndex: 0, leaderId: leader, leaderEpoch: LEADER_EPOCH, replicaNodes: [leader], isrNodes: [leader], offlineReplicas: [] };
  return {
    errorCode: ErrorCode.NONE, name, topicId: internalTopicId(ctx.services.node.clusterId, name), isInternal: true,
    partitions: [partition], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
  };
}

/** The live brokers, at their advertised address for the listener the client came in through. */
export function brokerList(ctx: RequestContext): MetadataResponseBroker[] {
  const { cluster } = ctx.services;
  return cluster.members().flatMap((m): MetadataResponseBroker[] => {
    const a = memberAddress(cluster, ctx.connection.listener, m);
    return a ? [{ nodeId: m.nodeId, host: a.host, port: a.port, rack: m.rack }] : [];
  });
}

const denied = (name: string | null): MetadataResponseTopic =>
  ({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, isInternal: false, partitions: [] });

export const metadataHandler = defineHandler({
  apiKey: ApiKey.Metadata,
  minVersion: 0,
  maxVersion: 12,
  async handle(ctx, req): Promise<MetadataResponse> {
    const { services, version } = ctx;
    const requested = req.topics;
    let topics: MetadataResponseTopic[];
    const all = requested === null || (version === 0 && requested.length === 0);
    // Cluster mode: a topic another broker created within the last poll is read from the database now
    // (for a list of all topics too: a client that just produced through another broker lists it next).
    if (services.cluster.multiNode && (all || requested.some((r) => (r.name === null ? !services.storage.topics().some((t) => t.topicId === r.topicId) : !services.storage.topic(r.name))))) {
      // Bounded: with the database slow or away the answer comes from what this broker knows.
      await catchUpWithin(services.cluster.catchUpTopics(), CLUSTER_CATCH_UP_WAIT_MS);
    }
    if (all) {
      // Topics the principal may not DESCRIBE are left out of a list-all answer.
      topics = services.storage.topics().filter((t) => authorize(ctx, 'DESCRIBE', 'TOPIC', t.name)).map((t) => topicMetadata(ctx, t));
      for (const name of await internalTopicNames(services.storage)) if (authorize(ctx, 'DESCRIBE', 'TOPIC', name)) topics.push(internalTopicMetadata(ctx, name));
    } else {
      const autoCreate = version < 4 ? true : req.allowAutoTopicCreation ?? true;
      topics = [];
      for (const r of requested) {
        if (r.name === null) {
          // Lookup by topic id (v10+).
          const topicId = r.topicId ?? ZERO_UUID;
          const t = services.storage.topics().find((x) => x.topicId === topicId);
          if (t && !authorize(ctx, 'DESCRIBE', 'TOPIC', t.name)) topics.push({ ...denied(null), topicId });
          else topics.push(t ? topicMetadata(ctx, t) : { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId, isInternal: false, partitions: [] });
          continue;
        }
        // Named topics: DESCRIBE (Kafka answers TOPIC_AUTHORIZATION_FAILED whether or not the topic
        // exists), and auto-creation needs CREATE on the cluster or the topic.
        if (!authorize(ctx, 'DESCRIBE', 'TOPIC', r.name)
          || (autoCreate && !services.storage.topic(r.name) && !authorize(ctx, 'CREATE', 'CLUSTER') && !authorize(ctx, 'CREATE', 'TOPIC', r.name))) {
          topics.push(denied(r.name));
          continue;
        }
        if (topicNameProblem(r.name)) {
          topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name: r.name, topicId: ZERO_UUID, isInternal: false, partitions: [] });
          continue;
        }
        if (isInternalTopic(r.name) && !services.storage.topic(r.name)) {
          // Not yet in use: unknown, as Kafka answers it before it creates the topic.
          topics.push((await internalTopicNames(services.storage)).includes(r.name) ? internalTopicMetadata(ctx, r.name)
            : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: r.name, topicId: ZERO_UUID, isInternal: true, partitions: [] });
          continue;
        }
        // Other reserved names are never auto-created as user topics: a client asking for one gets
        // INVALID_TOPIC_EXCEPTION (not the retriable UNKNOWN_TOPIC_OR_PARTITION), as its Produce would.
        if (reservedTopicProblem(r.name) && !services.storage.topic(r.name)) {
          topics.push({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, name: r.name, topicId: ZERO_UUID, isInternal: isInternalTopic(r.name), partitions: [] });
          continue;
        }
        const t = await services.topics.ensure(r.name, autoCreate);
        topics.push(t ? topicMetadata(ctx, t) : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: r.name, topicId: ZERO_UUID, isInternal: false, partitions: [] });
      }
    }
    // v8+: authorizedOperations when asked for (the cluster's only in v8-10), as Kafka computes them:
    // topics the principal may describe (not the refused ones); the cluster 0 without DESCRIBE on it.
    if (version >= 8 && req.includeTopicAuthorizedOperations) {
      for (const t of topics) {
        if (t.name !== null && t.errorCode !== ErrorCode.TOPIC_AUTHORIZATION_FAILED) t.topicAuthorizedOperations = authorizedOperations(ctx, 'TOPIC', t.name);
      }
    }
    const clusterAuthorizedOperations = version < 8 || version > 10 || !req.includeClusterAuthorizedOperations ? AUTHORIZED_OPERATIONS_NOT_REQUESTED
      : authorize(ctx, 'DESCRIBE', 'CLUSTER') ? authorizedOperations(ctx, 'CLUSTER') : 0;
    return {
      throttleTimeMs: 0,
      brokers: brokerList(ctx),
      clusterId: services.node.clusterId,
      controllerId: services.cluster.controllerId(),
      topics,
      clusterAuthorizedOperations,
    };
  },
});
