// The admin client: topics, partitions, offsets, groups, configs and the cluster, with kafkajs'
// method names, arguments and return shapes. Offsets are decimal strings, as in kafkajs.
import { pbkdf2, randomBytes } from 'node:crypto';
import { ApiKey } from '../protocol/apis.js';
import { ZERO_UUID } from '../protocol/codec.js';
import type { ApiKeyNumber, ConsumerGroupDescribeResponseAssignment, MetadataResponse, RequestOf, ResponseOf } from '../protocol/generated/types.js';
import { ErrorCode } from '../protocol/generated/errors.js';
import type { Cluster } from './cluster.js';
import {
  FjordAggregateError, FjordNonRetriableError, FjordNotConnectedError, FjordProtocolError, KafkaJSAlterPartitionReassignmentsError, KafkaJSDeleteGroupsError, errorName,
} from './errors.js';
import { AdminEvents, Instrumentation, type InstrumentationEvent } from './instrumentation.js';
import type { ClientLogger } from './logger.js';
import type {
  AclBinding, AclFilter, AdminConfig, ConfigEntry, GroupDescription, ITopicConfig, PartitionOffset, ScramMechanismName, SeekEntry, UserScramCredentials,
} from './admin-types.js';
import { ConfigResourceTypes, ConfigSource } from './admin-types.js';
import { MemberAssignment, MemberMetadata } from './consumer/assigners.js';
import type { AdminEventMap } from './events.js';

/** DescribeUserScramCredentials / AlterUserScramCredentials. */
const DESCRIBE_USER_SCRAM_CREDENTIALS = 50;
const ALTER_USER_SCRAM_CREDENTIALS = 51;

/** SCRAM mechanisms: Kafka's numbers for them and their digests. */
const SCRAM_TYPES: Readonly<Record<ScramMechanismName, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };
const SCRAM_DIGEST: Readonly<Record<ScramMechanismName, { hash: string; length: number }>> = {
  'SCRAM-SHA-256': { hash: 'sha256', length: 32 }, 'SCRAM-SHA-512': { hash: 'sha512', length: 64 },
};

const EARLIEST = -2;
const LATEST = -1;

/** Sends one request of API `K` (with an optional timeout in ms) to the node chosen for the call. */
type SendRequest = <K extends ApiKeyNumber>(apiKey: K, body: RequestOf<K>, timeout?: number) => Promise<ResponseOf<K>>;

/** A per-topic (or per-group) error of an admin call, with its Kafka error name in `.type`. */
class AdminItemError extends FjordProtocolError {
  constructor(code: number, readonly target: string, detail?: string | null) {
    super(code, detail ? `${target}: ${detail}` : target);
  }
}

export class Admin {
  readonly events = AdminEvents;
  private readonly instrumentation = new Instrumentation('admin', AdminEvents);
  private readonly cluster: Cluster;
  private connected = false;

  constructor(makeCluster: (emit: Instrumentation['network']) => Cluster, private readonly log: ClientLogger, _config: AdminConfig = {}) {
    this.cluster = makeCluster(this.instrumentation.network);
  }

  /** Listens to an instrumentation event (`this.events`); returns the function that removes it. */
  on<E extends keyof AdminEventMap>(event: E, listener: (e: AdminEventMap[E]) => void): () => void;
  /** An event name not known to the types (throws unless it is one of `this.events`). */
  on(event: string, listener: (e: InstrumentationEvent<unknown>) => void): () => void;
  on(event: string, listener: (e: never) => void): () => void {
    return this.instrumentation.on(event, listener);
  }

  logger(): ClientLogger {
    return this.log;
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
    this.connected = true;
    this.instrumentation.emit(AdminEvents.CONNECT);
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.cluster.disconnect();
    this.instrumentation.emit(AdminEvents.DISCONNECT);
  }

  /** Group ids by the node that coordinates them (one request per coordinator). */
  private async groupsByCoordinator(groupIds: string[]): Promise<Map<number, string[]>> {
    const byCoordinator = new Map<number, string[]>();
    for (const g of groupIds) {
      const node = await this.cluster.findCoordinator(g);
      let list = byCoordinator.get(node);
      if (!list) byCoordinator.set(node, (list = []));
      list.push(g);
    }
    return byCoordinator;
  }

  private ensureConnected(): void {
    if (!this.connected) throw new FjordNotConnectedError('The admin client is not connected: call admin.connect() first');
  }

  /** Runs `fn` against the controller with retries; NOT_CONTROLLER refreshes metadata first. */
  private onController<T>(fn: (request: SendRequest) => Promise<T>): Promise<T> {
    this.ensureConnected();
    return this.cluster.retrier.run(async () => {
      const node = await this.cluster.controller();
      const conn = await this.cluster.connection(node);
      return fn((apiKey, body, timeout) => conn.request(apiKey, body, timeout ? { timeout: timeout + 5000 } : undefined));
    }, async (err) => {
      if ((err as FjordProtocolError).code === ErrorCode.NOT_CONTROLLER) await this.cluster.refreshMetadata().catch(() => undefined);
    });
  }

  private onCoordinator<T>(groupId: string, fn: (request: SendRequest) => Promise<T>): Promise<T> {
    this.ensureConnected();
    return this.cluster.retrier.run(async () => {
      const node = await this.cluster.findCoordinator(groupId);
      const conn = await this.cluster.connection(node);
      return fn((apiKey, body) => conn.request(apiKey, body));
    }, async (err) => {
      const code = (err as FjordProtocolError).code;
      if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE) this.cluster.forgetCoordinator(groupId);
    });
  }

  // --- topics -------------------------------------------------------------------------------

  async listTopics(): Promise<string[]> {
    this.ensureConnected();
    const meta = await this.rawMetadata(null);
    // A topic's name is null only when it was asked for by id, which this client never does.
    return meta.topics.flatMap((t) => (t.name === null ? [] : [t.name]));
  }

  private async rawMetadata(topics: string[] | null): Promise<MetadataResponse> {
    return this.cluster.retrier.run(async () => {
      const conn = await this.cluster.anyConnection();
      return conn.request(ApiKey.Metadata, {
        topics: topics === null ? null : topics.map((name) => ({ name })),
        allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
      });
    });
  }

  /** Creates topics. Resolves true when all were created, false when some already existed. */
  async createTopics(options: { topics: ITopicConfig[]; validateOnly?: boolean; waitForLeaders?: boolean; timeout?: number }): Promise<boolean> {
    const { topics, validateOnly = false, waitForLeaders = true, timeout = 5000 } = options;
    if (!Array.isArray(topics)) throw new FjordNonRetriableError(`Invalid topics array ${topics}`);
    if (topics.some((t) => typeof t.topic !== 'string')) throw new FjordNonRetriableError('Invalid topics array, the topic names have to be a valid string');
    const names = new Set(topics.map((t) => t.topic));
    if (names.size < topics.length) throw new FjordNonRetriableError('Invalid topics array, it cannot have multiple entries for the same topic');
    const results = await this.onController(async (request) => {
      const res = await request(ApiKey.CreateTopics, {
        topics: topics.map((t) => ({
          name: t.topic,
          numPartitions: t.replicaAssignment?.length ? -1 : t.numPartitions ?? -1,
          replicationFactor: t.replicaAssignment?.length ? -1 : t.replicationFactor ?? -1,
          assignments: (t.replicaAssignment ?? []).map((a) => ({ partitionIndex: a.partition, brokerIds: a.replicas })),
          configs: (t.configEntries ?? []).map((c) => ({ name: c.name, value: c.value })),
        })),
        timeoutMs: timeout,
        validateOnly,
      }, timeout);
      const list = res.topics;
      const retriable = list.find((t) => t.errorCode !== 0 && new FjordProtocolError(t.errorCode).retriable);
      if (retriable) throw new AdminItemError(retriable.errorCode, retriable.name, retriable.errorMessage);
      return list;
    });
    const errors = results.filter((t) => t.errorCode !== 0 && t.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS)
      .map((t) => new AdminItemError(t.errorCode, t.name, t.errorMessage));
    if (errors.length > 0) throw new FjordAggregateError(`Topic creation errors: ${errors.map((e) => `${e.target} (${e.type})`).join(', ')}`, errors);
    const existed = results.some((t) => t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS);
    if (waitForLeaders && !validateOnly) {
      const created = results.filter((t) => t.errorCode === 0).map((t) => t.name as string);
      if (created.length) await this.cluster.ensureTopics(created);
    }
    return !existed;
  }

  async deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    const { topics, timeout = 5000 } = options;
    if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string')) throw new FjordNonRetriableError(`Invalid topics array ${topics}`);
    const results = await this.onController(async (request) => {
      const res = await request(ApiKey.DeleteTopics, { topicNames: topics, topics: topics.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs: timeout }, timeout);
      return res.responses;
    });
    for (const t of topics) this.cluster.targetTopics.delete(t);
    const errors = results.filter((r) => r.errorCode !== 0).map((r) => new AdminItemError(r.errorCode, r.name ?? r.topicId ?? '', r.errorMessage));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new FjordAggregateError(`Topic deletion errors: ${errors.map((e) => `${e.target} (${e.type})`).join(', ')}`, errors);
  }

  async createPartitions(options: { topicPartitions: { topic: string; count: number; assignments?: number[][] }[]; validateOnly?: boolean; timeout?: number }): Promise<boolean> {
    const { topicPartitions, validateOnly = false, timeout = 5000 } = options;
    if (!Array.isArray(topicPartitions)) throw new FjordNonRetriableError(`Invalid topic partitions array ${topicPartitions}`);
    const results = await this.onController(async (request) => {
      const res = await request(ApiKey.CreatePartitions, {
        topics: topicPartitions.map((t) => ({ name: t.topic, count: t.count, assignments: t.assignments ? t.assignments.map((brokerIds) => ({ brokerIds })) : null })),
        timeoutMs: timeout,
        validateOnly,
      }, timeout);
      return res.results;
    });
    const errors = results.filter((r) => r.errorCode !== 0).map((r) => new AdminItemError(r.errorCode, r.name, r.errorMessage));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new FjordAggregateError(`Partition creation errors: ${errors.map((e) => `${e.target} (${e.type})`).join(', ')}`, errors);
    if (!validateOnly) await this.cluster.refreshMetadata(topicPartitions.map((t) => t.topic)).catch(() => undefined);
    return true;
  }

  async fetchTopicMetadata(options: { topics?: string[] } = {}): Promise<{ topics: { name: string; partitions: { partitionErrorCode: number; partitionId: number; leader: number; replicas: number[]; isr: number[]; offlineReplicas: number[] }[] }[] }> {
    this.ensureConnected();
    const wanted = options.topics && options.topics.length ? options.topics : null;
    const meta = await this.rawMetadata(wanted);
    for (const t of meta.topics) {
      if (t.errorCode !== 0) throw new AdminItemError(t.errorCode, t.name ?? t.topicId ?? '');
    }
    // A topic's name is null only when it was asked for by id, which this client never does.
    const topics = meta.topics.flatMap((t) => (t.name === null ? [] : [{ ...t, name: t.name }]));
    return {
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionErrorCode: p.errorCode,
          partitionId: p.partitionIndex,
          leader: p.leaderId,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas ?? [],
        })).sort((a, b) => a.partitionId - b.partitionId),
      })),
    };
  }

  // --- offsets ------------------------------------------------------------------------------

  /** ListOffsets for every partition of `topic` at `timestamp` (-2 earliest, -1 latest). */
  private async listOffsets(topic: string, timestamp: number): Promise<Map<number, number>> {
    this.ensureConnected();
    await this.cluster.ensureTopics([topic]);
    return this.cluster.retrier.run(async () => {
      const meta = this.cluster.topic(topic)!;
      const byLeader = new Map<number, number[]>();
      for (const p of meta.partitions) {
        let list = byLeader.get(p.leader);
        if (!list) byLeader.set(p.leader, (list = []));
        list.push(p.partitionId);
      }
      const out = new Map<number, number>();
      await Promise.all([...byLeader].map(async ([leader, partitions]) => {
        const conn = await this.cluster.connection(leader);
        const res = await conn.request(ApiKey.ListOffsets, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
        });
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== 0) throw new AdminItemError(p.errorCode, `${topic}/${p.partitionIndex}`);
            out.set(p.partitionIndex, p.offset ?? -1); // v1+ (this client's minimum) always has it
          }
        }
      }));
      return out;
    }, async () => { await this.cluster.refreshMetadata([topic]).catch(() => undefined); });
  }

  async fetchTopicOffsets(topic: string): Promise<{ partition: number; offset: string; high: string; low: string }[]> {
    const [low, high] = await Promise.all([this.listOffsets(topic, EARLIEST), this.listOffsets(topic, LATEST)]);
    return [...high.keys()].sort((a, b) => a - b).map((partition) => ({
      partition,
      offset: String(high.get(partition)),
      high: String(high.get(partition)),
      low: String(low.get(partition) ?? 0),
    }));
  }

  async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<PartitionOffset[]> {
    const [at, high] = await Promise.all([this.listOffsets(topic, timestamp ?? LATEST), this.listOffsets(topic, LATEST)]);
    return [...high.keys()].sort((a, b) => a - b).map((partition) => {
      const o = at.get(partition) ?? -1;
      return { partition, offset: String(o < 0 ? high.get(partition) : o) };
    });
  }

  async fetchOffsets(options: { groupId: string; topics?: string[]; resolveOffsets?: boolean }): Promise<{ topic: string; partitions: (PartitionOffset & { metadata: string | null })[] }[]> {
    const { groupId, resolveOffsets = false } = options;
    if (!groupId) throw new FjordNonRetriableError(`Invalid groupId ${groupId}`);
    const topics = options.topics ?? [];
    if (!Array.isArray(topics)) throw new FjordNonRetriableError('Expected topics array to be set');
    this.ensureConnected();
    if (topics.length) await this.cluster.ensureTopics(topics);
    const request = topics.length
      ? topics.map((name) => ({ name, partitionIndexes: this.cluster.topic(name)!.partitions.map((p) => p.partitionId) }))
      : null;
    const res = await this.onCoordinator(groupId, async (send) => {
      const r = await send(ApiKey.OffsetFetch, { groupId, topics: request, requireStable: false });
      if (r.errorCode) throw new FjordProtocolError(r.errorCode, `group ${groupId}`);
      return r;
    });
    const out = (res.topics ?? []).map((t) => ({ // v0-7 (this client's range) always has topics
      topic: t.name,
      partitions: t.partitions.map((p) => {
        if (p.errorCode !== 0) throw new AdminItemError(p.errorCode, `${t.name}/${p.partitionIndex}`);
        return { partition: p.partitionIndex, offset: String(p.committedOffset), metadata: p.metadata || null };
      }).sort((a, b) => a.partition - b.partition),
    }));
    if (resolveOffsets) {
      for (const t of out) {
        if (!t.partitions.some((p) => p.offset === '-1' || p.offset === '-2')) continue;
        const offsets = await this.fetchTopicOffsets(t.topic);
        for (const p of t.partitions) {
          const o = offsets.find((x) => x.partition === p.partition);
          if (!o) continue;
          if (p.offset === String(EARLIEST)) p.offset = o.low;
          else if (p.offset === String(LATEST)) p.offset = o.high;
        }
        await this.setOffsets({ groupId, topic: t.topic, partitions: t.partitions });
      }
    }
    return out;
  }

  /** Commits offsets for a group that has no running members. */
  async setOffsets(options: { groupId: string; topic: string; partitions: SeekEntry[] }): Promise<void> {
    const { groupId, topic, partitions } = options;
    if (!groupId) throw new FjordNonRetriableError(`Invalid groupId ${groupId}`);
    if (!topic) throw new FjordNonRetriableError(`Invalid topic ${topic}`);
    if (!partitions || partitions.length === 0) throw new FjordNonRetriableError('Invalid partitions');
    const { groups } = await this.describeGroups([groupId]);
    const state = groups[0]?.state;
    if (state && state !== 'Empty' && state !== 'Dead') {
      throw new FjordNonRetriableError(`The consumer group must have no running instances, current state: ${state}`);
    }
    await this.onCoordinator(groupId, async (send) => {
      const r = await send(ApiKey.OffsetCommit, {
        groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
        topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p.partition, committedOffset: Number(p.offset), committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })) }],
      });
      for (const t of r.topics) {
        for (const p of t.partitions) if (p.errorCode !== 0) throw new AdminItemError(p.errorCode, `${t.name}/${p.partitionIndex}`);
      }
    });
  }

  /** Sets a group's offsets on `topic` to the earliest (earliest: true) or latest offsets. */
  async resetOffsets(options: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    const { groupId, topic, earliest = false } = options;
    if (!groupId) throw new FjordNonRetriableError(`Invalid groupId ${groupId}`);
    if (!topic) throw new FjordNonRetriableError(`Invalid topic ${topic}`);
    const offsets = await this.fetchTopicOffsets(topic);
    await this.setOffsets({ groupId, topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: earliest ? o.low : o.high })) });
  }

  async deleteTopicRecords(options: { topic: string; partitions: SeekEntry[] }): Promise<void> {
    const { topic, partitions } = options;
    this.ensureConnected();
    await this.cluster.ensureTopics([topic]);
    const high = await this.listOffsets(topic, LATEST);
    const byLeader = new Map<number, { partitionIndex: number; offset: number }[]>();
    for (const p of partitions) {
      const leader = this.cluster.leaderOf(topic, p.partition);
      let offset = Number(p.offset);
      if (offset === -1) offset = high.get(p.partition) ?? -1;
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push({ partitionIndex: p.partition, offset });
    }
    await Promise.all([...byLeader].map(async ([leader, list]) => {
      const res = await this.cluster.request(leader, ApiKey.DeleteRecords, { topics: [{ name: topic, partitions: list }], timeoutMs: 5000 });
      for (const t of res.topics) {
        for (const p of t.partitions) if (p.errorCode !== 0) throw new AdminItemError(p.errorCode, `${topic}/${p.partitionIndex}`);
      }
    }));
  }

  // --- groups -------------------------------------------------------------------------------

  async listGroups(): Promise<{ groups: { groupId: string; protocolType: string; groupState?: string; groupType?: string }[] }> {
    this.ensureConnected();
    await this.cluster.refreshMetadata();
    const groups: { groupId: string; protocolType: string; groupState?: string; groupType?: string }[] = [];
    await Promise.all([...this.cluster.brokers.keys()].map(async (node) => {
      const res = await this.cluster.retrier.run(async () => {
        const r = await this.cluster.request(node, ApiKey.ListGroups, { statesFilter: [], typesFilter: [] });
        if (r.errorCode !== 0) throw new FjordProtocolError(r.errorCode, 'ListGroups');
        return r;
      });
      for (const g of res.groups) {
        // groupType (ListGroups v5: classic or consumer) is a Fjord addition to kafkajs' shape.
        groups.push({
          groupId: g.groupId, protocolType: g.protocolType,
          ...(g.groupState ? { groupState: g.groupState } : {}), ...(g.groupType ? { groupType: g.groupType } : {}),
        });
      }
    }));
    return { groups };
  }

  async describeGroups(groupIds: string[]): Promise<{ groups: GroupDescription[] }> {
    this.ensureConnected();
    const byCoordinator = await this.groupsByCoordinator(groupIds);
    const found = new Map<string, GroupDescription>();
    await Promise.all([...byCoordinator].map(async ([node, ids]) => {
      const res = await this.cluster.retrier.run(() => this.cluster.request(node, ApiKey.DescribeGroups, { groups: ids, includeAuthorizedOperations: false }));
      for (const g of res.groups) {
        found.set(g.groupId, {
          errorCode: g.errorCode,
          groupId: g.groupId,
          coordinator: node,
          state: g.groupState,
          protocolType: g.protocolType,
          protocol: g.protocolData,
          members: g.members.map((m) => ({
            memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost,
            memberMetadata: m.memberMetadata, memberAssignment: m.memberAssignment, groupInstanceId: m.groupInstanceId ?? null,
          })),
        });
      }
      // KIP-848 groups are not classic groups: DescribeGroups calls them Dead (or not found).
      const others = ids.filter((id) => {
        const g = found.get(id);
        return !g || g.state === 'Dead' || g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND;
      });
      if (others.length === 0) return;
      const conn = await this.cluster.connection(node);
      if (!conn.supports(ApiKey.ConsumerGroupDescribe)) return;
      const res2 = await this.cluster.retrier.run(() => conn.request(ApiKey.ConsumerGroupDescribe, { groupIds: others, includeAuthorizedOperations: false }));
      for (const g of res2.groups) {
        if (g.errorCode !== 0) continue;
        const byTopic = (a: ConsumerGroupDescribeResponseAssignment) => {
          const out: { [topic: string]: number[] } = {};
          for (const t of a?.topicPartitions ?? []) out[t.topicName] = t.partitions;
          return out;
        };
        found.set(g.groupId, {
          errorCode: 0,
          groupId: g.groupId,
          coordinator: node,
          assignmentEpoch: g.assignmentEpoch,
          state: g.groupState,
          protocolType: 'consumer',
          protocol: g.assignorName,
          members: g.members.map((m) => ({
            memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, groupInstanceId: m.instanceId ?? null,
            // In the classic shapes, so code reading kafkajs' describeGroups keeps working.
            memberMetadata: MemberMetadata.encode({ version: 0, topics: m.subscribedTopicNames ?? [] }),
            memberAssignment: MemberAssignment.encode({ version: 0, assignment: byTopic(m.assignment) }),
            memberEpoch: m.memberEpoch,
            targetAssignment: MemberAssignment.encode({ version: 0, assignment: byTopic(m.targetAssignment) }),
          })),
        });
      }
    }));
    return { groups: groupIds.filter((g) => found.has(g)).map((g) => found.get(g)!) };
  }

  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number; error?: Error }[]> {
    if (!Array.isArray(groupIds)) throw new FjordNonRetriableError(`Invalid groupIds array ${groupIds}`);
    this.ensureConnected();
    const results: { groupId: string; errorCode: number; error?: Error }[] = [];
    const byCoordinator = await this.groupsByCoordinator(groupIds);
    await Promise.all([...byCoordinator].map(async ([node, ids]) => {
      const res = await this.cluster.retrier.run(() => this.cluster.request(node, ApiKey.DeleteGroups, { groupsNames: ids }));
      for (const r of res.results) {
        results.push(r.errorCode === 0 ? { groupId: r.groupId, errorCode: 0 } : { groupId: r.groupId, errorCode: r.errorCode, error: new AdminItemError(r.errorCode, r.groupId) });
      }
    }));
    for (const g of groupIds) this.cluster.forgetCoordinator(g);
    const failed = results.filter((r) => r.errorCode !== 0);
    if (failed.length > 0) {
      throw new KafkaJSDeleteGroupsError(`Error deleting groups: ${failed.map((f) => `${f.groupId} (${errorName(f.errorCode)})`).join(', ')}`, results);
    }
    return results;
  }

  // --- configs and cluster ------------------------------------------------------------------

  async describeConfigs(options: { resources: { type: number; name: string; configNames?: string[] }[]; includeSynonyms?: boolean }): Promise<{ resources: { errorCode: number; errorMessage: string | null; resourceName: string; resourceType: number; configEntries: ConfigEntry[] }[]; throttleTime: number }> {
    const { resources, includeSynonyms = false } = options;
    if (!Array.isArray(resources)) throw new FjordNonRetriableError(`Invalid resources array ${resources}`);
    if (resources.length === 0) throw new FjordNonRetriableError('Resources array cannot be empty');
    this.ensureConnected();
    const res = await this.cluster.retrier.run(async () => {
      const node = resources.find((r) => r.type === ConfigResourceTypes.BROKER || r.type === ConfigResourceTypes.BROKER_LOGGER);
      const conn = node ? await this.cluster.connection(Number(node.name)) : await this.cluster.anyConnection();
      const version = conn.versionOf(ApiKey.DescribeConfigs);
      const r = await conn.request(ApiKey.DescribeConfigs, {
        resources: resources.map((x) => ({ resourceType: x.type, resourceName: x.name, configurationKeys: x.configNames?.length ? x.configNames : null })),
        includeSynonyms, includeDocumentation: false,
      });
      return { r, version };
    });
    const results = res.r.results;
    for (const x of results) if (x.errorCode !== 0) throw new AdminItemError(x.errorCode, x.resourceName, x.errorMessage);
    return {
      throttleTime: res.r.throttleTimeMs ?? 0,
      resources: results.map((x) => ({
        errorCode: x.errorCode,
        errorMessage: x.errorMessage ?? null,
        resourceName: x.resourceName,
        resourceType: x.resourceType,
        configEntries: x.configs.map((c) => {
          const source = res.version >= 1 ? c.configSource ?? ConfigSource.UNKNOWN : c.isDefault ? ConfigSource.DEFAULT_CONFIG : ConfigSource.UNKNOWN;
          return {
            configName: c.name,
            configValue: c.value,
            readOnly: c.readOnly,
            isDefault: res.version >= 1 ? source === ConfigSource.DEFAULT_CONFIG : !!c.isDefault,
            configSource: source,
            isSensitive: c.isSensitive,
            configSynonyms: (c.synonyms ?? []).map((s) => ({ configName: s.name, configValue: s.value, configSource: s.source })),
          };
        }),
      })),
    };
  }

  /** Sets configs (AlterConfigs: the listed entries replace the resource's overrides). */
  async alterConfigs(options: { resources: { type: number; name: string; configEntries: { name: string; value: string }[] }[]; validateOnly?: boolean }): Promise<{ resources: { errorCode: number; errorMessage: string | null; resourceName: string; resourceType: number }[]; throttleTime: number }> {
    const { resources, validateOnly = false } = options;
    if (!Array.isArray(resources) || resources.length === 0) throw new FjordNonRetriableError(`Invalid resources array ${resources}`);
    this.ensureConnected();
    const res = await this.cluster.retrier.run(async () => {
      const conn = await this.cluster.anyConnection();
      if (!conn.supports(ApiKey.AlterConfigs) && conn.supports(ApiKey.IncrementalAlterConfigs)) {
        return conn.request(ApiKey.IncrementalAlterConfigs, {
          resources: resources.map((r) => ({ resourceType: r.type, resourceName: r.name, configs: r.configEntries.map((c) => ({ name: c.name, configOperation: 0, value: c.value })) })),
          validateOnly,
        });
      }
      return conn.request(ApiKey.AlterConfigs, {
        resources: resources.map((r) => ({ resourceType: r.type, resourceName: r.name, configs: r.configEntries.map((c) => ({ name: c.name, value: c.value })) })),
        validateOnly,
      });
    });
    const list = res.responses;
    for (const x of list) if (x.errorCode !== 0) throw new AdminItemError(x.errorCode, x.resourceName, x.errorMessage);
    return {
      throttleTime: res.throttleTimeMs ?? 0,
      resources: list.map((x) => ({ errorCode: x.errorCode, errorMessage: x.errorMessage ?? null, resourceName: x.resourceName, resourceType: x.resourceType })),
    };
  }

  async describeCluster(): Promise<{ brokers: { nodeId: number; host: string; port: number }[]; controller: number | null; clusterId: string }> {
    this.ensureConnected();
    await this.cluster.retrier.run(() => this.cluster.refreshMetadata());
    return {
      brokers: [...this.cluster.brokers.values()].map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
      controller: this.cluster.controllerId >= 0 ? this.cluster.controllerId : null,
      clusterId: this.cluster.clusterId ?? '',
    };
  }

  /** kafkajs' createAcls: every binding is created or the call throws (the broker is all-or-nothing per binding). */
  async createAcls(options: { acl: AclBinding[] }): Promise<boolean> {
    const acl = options?.acl;
    if (!Array.isArray(acl) || acl.length === 0) throw new FjordNonRetriableError(`Invalid ACL array ${acl}`);
    const results = await this.onController(async (request) => (await request(ApiKey.CreateAcls, {
      creations: acl.map((a) => ({
        resourceType: a.resourceType, resourceName: a.resourceName, resourcePatternType: a.resourcePatternType ?? 3,
        principal: a.principal, host: a.host ?? '*', operation: a.operation, permissionType: a.permissionType,
      })),
    })).results);
    throwItemErrors(results.map((r, i) => ({ code: r.errorCode, target: `${acl[i].principal} on ${acl[i].resourceName}`, message: r.errorMessage })));
    return true;
  }

  /** kafkajs' describeAcls: the bindings that match one filter, grouped by resource. */
  async describeAcls(filter: AclFilter): Promise<{ throttleTime: number; errorCode: number; resources: { resourceType: number; resourceName: string; resourcePatternType: number; acls: { principal: string; host: string; operation: number; permissionType: number }[] }[] }> {
    const res = await this.onController((request) => request(ApiKey.DescribeAcls, {
      resourceTypeFilter: filter.resourceType, resourceNameFilter: filter.resourceName ?? null, patternTypeFilter: filter.resourcePatternType ?? 3,
      principalFilter: filter.principal ?? null, hostFilter: filter.host ?? null, operation: filter.operation, permissionType: filter.permissionType,
    }));
    if (res.errorCode !== 0) throw new FjordProtocolError(res.errorCode, res.errorMessage ?? undefined);
    return {
      throttleTime: res.throttleTimeMs,
      errorCode: res.errorCode,
      resources: res.resources.map((r) => ({ resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: r.patternType ?? 3, acls: r.acls })),
    };
  }

  /** kafkajs' deleteAcls: per filter, the bindings it removed. */
  async deleteAcls(options: { filters: AclFilter[] }): Promise<{ filterResponses: { errorCode: number; errorMessage: string | null; matchingAcls: (Required<AclBinding> & { errorCode: number; errorMessage: string | null })[] }[] }> {
    const filters = options?.filters;
    if (!Array.isArray(filters) || filters.length === 0) throw new FjordNonRetriableError(`Invalid ACL filter array ${filters}`);
    const results = await this.onController(async (request) => (await request(ApiKey.DeleteAcls, {
      filters: filters.map((f) => ({
        resourceTypeFilter: f.resourceType, resourceNameFilter: f.resourceName ?? null, patternTypeFilter: f.resourcePatternType ?? 3,
        principalFilter: f.principal ?? null, hostFilter: f.host ?? null, operation: f.operation, permissionType: f.permissionType,
      })),
    })).filterResults);
    throwItemErrors(results.map((r, i) => ({ code: r.errorCode, target: `filter ${i}`, message: r.errorMessage })));
    return {
      filterResponses: results.map((r) => ({
        errorCode: r.errorCode, errorMessage: r.errorMessage,
        matchingAcls: r.matchingAcls.map((m) => ({
          errorCode: m.errorCode, errorMessage: m.errorMessage, resourceType: m.resourceType, resourceName: m.resourceName,
          resourcePatternType: m.patternType ?? 3, principal: m.principal, host: m.host, operation: m.operation, permissionType: m.permissionType,
        })),
      })),
    };
  }

  // --- partition reassignments (kafkajs' alterPartitionReassignments / listPartitionReassignments) --

  /**
   * Moves partitions to the given replicas (AlterPartitionReassignments on the controller). A
   * top-level error throws KafkaJSAlterPartitionReassignmentsError; partition errors throw one
   * KafkaJSAggregateError of them, each naming its topic and partition, as kafkajs does.
   */
  async alterPartitionReassignments(options: { topics: { topic: string; partitionAssignment: { partition: number; replicas: number[] }[] }[]; timeout?: number }): Promise<void> {
    const topics = options?.topics;
    if (!Array.isArray(topics)) throw new FjordNonRetriableError(`Invalid topics array ${topics}`);
    if (topics.some((t) => typeof t?.topic !== 'string')) throw new FjordNonRetriableError('Invalid topics array, the topic names have to be a valid string');
    if (new Set(topics.map((t) => t.topic)).size < topics.length) throw new FjordNonRetriableError('Invalid topics array, it cannot have multiple entries for the same topic');
    for (const { topic, partitionAssignment } of topics) {
      if (!Array.isArray(partitionAssignment)) throw new FjordNonRetriableError(`Invalid partitions array: ${partitionAssignment} for topic: ${topic}`);
      for (const { partition, replicas } of partitionAssignment) {
        if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) throw new FjordNonRetriableError(`Invalid partitions index: ${partition} for topic: ${topic}`);
        if (!Array.isArray(replicas)) throw new FjordNonRetriableError(`Invalid replica assignment: ${replicas} for topic: ${topic} on partition: ${partition}`);
        if (replicas.some((r) => typeof r !== 'number' || !Number.isInteger(r) || r < 0)) {
          throw new FjordNonRetriableError(`Invalid replica assignment: ${replicas} for topic: ${topic} on partition: ${partition}. Replicas must be a non negative number`);
        }
      }
    }
    const timeout = options.timeout ?? 5000;
    const res = await this.onController((request) => request(ApiKey.AlterPartitionReassignments, {
      timeoutMs: timeout,
      topics: topics.map((t) => ({ name: t.topic, partitions: t.partitionAssignment.map((p) => ({ partitionIndex: p.partition, replicas: p.replicas })) })),
    }, timeout));
    if (res.errorCode !== 0) throw new KafkaJSAlterPartitionReassignmentsError(new FjordProtocolError(res.errorCode, res.errorMessage));
    const failed = res.responses.flatMap((t) => t.partitions.filter((p) => p.errorCode !== 0).map((p) =>
      new KafkaJSAlterPartitionReassignmentsError(new FjordProtocolError(p.errorCode, p.errorMessage), t.name, p.partitionIndex)));
    if (failed.length > 0) throw new FjordAggregateError('Errors altering partition reassignments', failed);
  }

  /**
   * The reassignments in progress (ListPartitionReassignments on the controller), for the given
   * partitions or (topics null) for all. Each topic carries its name as `topic` (kafkajs' types)
   * and `name` (what kafkajs returns at run time).
   */
  async listPartitionReassignments(options: { topics?: { topic: string; partitions: number[] }[] | null; timeout?: number } = {}): Promise<{ topics: { topic: string; name: string; partitions: { partition: number; replicas: number[]; addingReplicas: number[]; removingReplicas: number[] }[] }[] }> {
    const topics = options?.topics ?? null;
    if (topics !== null) {
      if (!Array.isArray(topics)) throw new FjordNonRetriableError(`Invalid topics array ${topics}`);
      if (topics.some((t) => typeof t?.topic !== 'string')) throw new FjordNonRetriableError('Invalid topics array, the topic names have to be a valid string');
      if (new Set(topics.map((t) => t.topic)).size < topics.length) throw new FjordNonRetriableError('Invalid topics array, it cannot have multiple entries for the same topic');
      for (const { topic, partitions } of topics) {
        if (!Array.isArray(partitions)) throw new FjordNonRetriableError(`Invalid partition array: ${partitions} for topic: ${topic}`);
        if (partitions.some((p) => typeof p !== 'number' || !Number.isInteger(p) || p < 0)) {
          throw new FjordNonRetriableError(`Invalid partition array: ${partitions} for topic: ${topic}. The partition indices have to be a valid number greater than 0.`);
        }
      }
    }
    const timeout = options?.timeout ?? 5000;
    const res = await this.onController((request) => request(ApiKey.ListPartitionReassignments, {
      timeoutMs: timeout,
      topics: topics === null ? null : topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })),
    }, timeout));
    if (res.errorCode !== 0) throw new FjordProtocolError(res.errorCode, res.errorMessage);
    return {
      topics: res.topics.map((t) => ({
        topic: t.name, name: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas })),
      })),
    };
  }

  /**
   * SCRAM users and their credentials' mechanisms and iteration counts (DescribeUserScramCredentials).
   * No list: every user that has one; a named user without any fails with RESOURCE_NOT_FOUND.
   */
  async describeUserScramCredentials(users?: string[]): Promise<UserScramCredentials[]> {
    this.ensureConnected();
    const res = await this.cluster.retrier.run(async () => {
      const conn = await this.cluster.anyConnection();
      return conn.request(DESCRIBE_USER_SCRAM_CREDENTIALS, { users: users && users.length > 0 ? users.map((name) => ({ name })) : null });
    });
    if (res.errorCode !== 0) throw new FjordProtocolError(res.errorCode, res.errorMessage ?? undefined);
    throwItemErrors(res.results.map((r) => ({ code: r.errorCode, target: r.user, message: r.errorMessage })));
    const names = Object.keys(SCRAM_TYPES) as ScramMechanismName[];
    return res.results.map((r) => ({
      user: r.user,
      credentials: r.credentialInfos.map((c) => ({ mechanism: names.find((n) => SCRAM_TYPES[n] === c.mechanism) ?? 'UNKNOWN', iterations: c.iterations })),
    }));
  }

  /**
   * Creates or replaces SCRAM credentials (AlterUserScramCredentials). Fjord's own name (kafkajs
   * has no such call; Java's is alterUserScramCredentials). The password never leaves this
   * process: a random salt is drawn here and the salted password Hi(password, salt, iterations)
   * (PBKDF2-HMAC-SHA-256/512) is sent, as Kafka's protocol wants. Default 4096 iterations
   * (Kafka accepts 4096..16384).
   */
  async upsertUserScramCredentials(upsertions: { user: string; mechanism: ScramMechanismName; password: string; iterations?: number }[]): Promise<void> {
    this.ensureConnected();
    const body = await Promise.all(upsertions.map(async (u) => {
      const digest = SCRAM_DIGEST[u.mechanism];
      if (!digest) throw new FjordNonRetriableError(`unknown SCRAM mechanism ${String(u.mechanism)} (SCRAM-SHA-256 or SCRAM-SHA-512)`);
      const iterations = u.iterations ?? 4096;
      const salt = randomBytes(32);
      const saltedPassword = await new Promise<Buffer>((resolve, reject) =>
        pbkdf2(Buffer.from(u.password, 'utf8'), salt, iterations, digest.length, digest.hash, (err, key) => (err ? reject(err) : resolve(key))));
      return { name: u.user, mechanism: SCRAM_TYPES[u.mechanism], iterations, salt, saltedPassword };
    }));
    await this.alterUserScramCredentials([], body);
  }

  /** Deletes SCRAM credentials (AlterUserScramCredentials); a credential that does not exist fails with RESOURCE_NOT_FOUND. */
  async deleteUserScramCredentials(deletions: { user: string; mechanism: ScramMechanismName }[]): Promise<void> {
    this.ensureConnected();
    await this.alterUserScramCredentials(deletions.map((d) => ({ name: d.user, mechanism: SCRAM_TYPES[d.mechanism] ?? 0 })), []);
  }

  private async alterUserScramCredentials(deletions: RequestOf<51>['deletions'], upsertions: RequestOf<51>['upsertions']): Promise<void> {
    const res = await this.cluster.retrier.run(async () => {
      const conn = await this.cluster.anyConnection();
      return conn.request(ALTER_USER_SCRAM_CREDENTIALS, { deletions, upsertions });
    });
    throwItemErrors(res.results.map((r) => ({ code: r.errorCode, target: r.user, message: r.errorMessage })));
  }
}

/** Throws the error of the one item that failed, or all of them together. */
function throwItemErrors(items: { code: number; target: string; message: string | null }[]): void {
  const errors = items.filter((i) => i.code !== 0).map((i) => new AdminItemError(i.code, i.target, i.message));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new FjordAggregateError(errors.map((e) => e.message).join('; '), errors);
}
