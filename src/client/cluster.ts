// The client's view of a cluster: seed brokers, the metadata cache (brokers, controller, topics,
// partition leaders), one connection per broker and purpose, and coordinator lookup.
//
// Connections are kept per (node, pool): the consumer's long-polling Fetch requests use their own
// pool so that heartbeats, commits and metadata calls never queue behind them (a broker answers a
// connection's requests in order).
import { ApiKey } from '../protocol/apis.js';
import { ZERO_UUID } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/generated/errors.js';
import type { ApiKeyNumber, FindCoordinatorResponseCoordinator, MetadataResponse, RequestOf, ResponseOf } from '../protocol/generated/types.js';
import { Connection, type ConnectionOptions, type RequestOptions } from './connection.js';
import { FjordConnectionError, FjordError, FjordNotConnectedError, FjordProtocolError, FjordTopicMetadataError, KafkaJSSASLAuthenticationError } from './errors.js';
import { Retrier, type RetryOptions } from './retry.js';

/** What every connection gets (ConnectionOptions without the address), plus the cluster's own. */
export interface ClusterOptions extends Omit<ConnectionOptions, 'host' | 'port' | 'nodeId'> {
  brokers: string[] | (() => string[] | Promise<string[]>);
  retry?: RetryOptions;
  /** Refresh topic metadata older than this (ms). Default 300000. */
  metadataMaxAge?: number;
}

export interface PartitionMetadata {
  partitionErrorCode: number;
  partitionId: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicMetadata {
  name: string;
  topicId: string;
  isInternal: boolean;
  errorCode: number;
  partitions: PartitionMetadata[];
}

export interface BrokerNode {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** `fetch-alt`: the consumer's second fetch connection, used while a long poll it gave up on is still out on `fetch`. */
export type Pool = 'default' | 'coordinator' | 'fetch' | 'fetch-alt';

/** Errors after which the cached leaders/coordinators are probably stale. */
export const STALE_METADATA_CODES: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.NOT_CONTROLLER,
]);

export function parseBroker(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address.trim());
  if (!m) return { host: address.trim(), port: 9092 };
  return { host: m[1], port: Number(m[2]) };
}

export class Cluster {
  readonly retrier: Retrier;
  brokers = new Map<number, BrokerNode>();
  controllerId = -1;
  clusterId: string | null = null;
  private topics = new Map<string, TopicMetadata>();
  private topicsFetchedAt = 0;
  /** Topics whose metadata is kept fresh (every refresh asks for them). */
  readonly targetTopics = new Set<string>();
  private connections = new Map<string, Connection>();
  private seed: Connection | null = null;
  private coordinators = new Map<string, number>();
  private refreshing: Promise<void> | null = null;
  private connected = false;
  /** Set by disconnect(): nothing may open a connection until connect() is called again. */
  private closed = false;

  constructor(readonly options: ClusterOptions) {
    this.retrier = new Retrier(options.retry);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  private newConnection(host: string, port: number, nodeId?: number): Connection {
    const { brokers: _brokers, retry: _retry, metadataMaxAge: _maxAge, ...perConnection } = this.options;
    return new Connection({ ...perConnection, host, port, nodeId });
  }

  private async seedAddresses(): Promise<string[]> {
    const list = typeof this.options.brokers === 'function' ? await this.options.brokers() : this.options.brokers;
    if (!Array.isArray(list) || list.length === 0) throw new FjordError('no brokers given: pass brokers: ["host:port", ...]', { retriable: false });
    return list;
  }

  /** Connects to one seed broker and loads the cluster's brokers. Retries within the retry budget. */
  async connect(): Promise<void> {
    this.closed = false;
    await this.retrier.run(async () => {
      await this.connectSeed();
      await this.refreshMetadata();
    });
    this.connected = true;
  }

  private ensureOpen(): void {
    if (this.closed) throw new FjordNotConnectedError('the client was disconnected');
  }

  private async connectSeed(): Promise<Connection> {
    this.ensureOpen();
    if (this.seed?.connected) return this.seed;
    const addresses = await this.seedAddresses();
    const start = Math.floor(Math.random() * addresses.length);
    const errors: Error[] = [];
    for (let i = 0; i < addresses.length; i++) {
      const { host, port } = parseBroker(addresses[(start + i) % addresses.length]);
      const conn = this.newConnection(host, port);
      try {
        await conn.connect();
        if (this.closed) {
          await conn.close();
          this.ensureOpen();
        }
        this.seed = conn;
        return conn;
      } catch (err) {
        errors.push(err as Error);
      }
    }
    // A refused login is not an unreachable broker: it is thrown as it is (not retriable), as kafkajs does.
    const refused = errors.find((e) => e instanceof KafkaJSSASLAuthenticationError);
    if (refused) throw refused;
    const detail = errors.map((e) => e.message).join('; ');
    throw new FjordConnectionError(`cannot reach ${addresses.join(', ')} (${detail})`, { broker: addresses.join(','), code: (errors[0] as FjordConnectionError | undefined)?.code });
  }

  /** Any connected broker connection, for requests that any broker can answer (Metadata, ...). */
  async anyConnection(): Promise<Connection> {
    for (const [key, conn] of this.connections) if (conn.connected && key.startsWith('default:')) return conn;
    if (this.seed?.connected) return this.seed;
    for (const node of this.brokers.values()) {
      try {
        return await this.connection(node.nodeId);
      } catch {
        // try the next one
      }
    }
    return this.connectSeed();
  }

  /** The connection to broker `nodeId` for `pool`, opened on first use. */
  async connection(nodeId: number, pool: Pool = 'default'): Promise<Connection> {
    this.ensureOpen();
    const key = `${pool}:${nodeId}`;
    let conn = this.connections.get(key);
    if (conn?.connected) return conn;
    let node = this.brokers.get(nodeId);
    if (!node) {
      await this.refreshMetadata();
      node = this.brokers.get(nodeId);
      if (!node) throw new FjordConnectionError(`broker ${nodeId} is not in the cluster metadata`, { broker: String(nodeId) });
    }
    if (!conn || conn.options.host !== node.host || conn.options.port !== node.port) {
      conn = this.newConnection(node.host, node.port, nodeId);
      this.connections.set(key, conn);
    }
    await conn.connect();
    if (this.closed) {
      await conn.close();
      this.ensureOpen();
    }
    return conn;
  }

  /** Sends a request to `nodeId`. */
  async request<K extends ApiKeyNumber>(nodeId: number, apiKey: K, body: RequestOf<K>, options?: RequestOptions & { expectResponse?: true; pool?: Pool }): Promise<ResponseOf<K>> {
    const conn = await this.connection(nodeId, options?.pool);
    return conn.request(apiKey, body, options);
  }

  /** Refreshes metadata for the target topics plus `extra` (or all topics when `extra` is 'all'). */
  refreshMetadata(extra: string[] | 'all' = [], allowAutoTopicCreation = false): Promise<void> {
    if (extra !== 'all' && extra.length === 0 && this.refreshing) return this.refreshing;
    const run = this.doRefresh(extra, allowAutoTopicCreation);
    if (extra !== 'all' && extra.length === 0) {
      this.refreshing = run.finally(() => { this.refreshing = null; });
      return this.refreshing;
    }
    return run;
  }

  private async doRefresh(extra: string[] | 'all', allowAutoTopicCreation: boolean): Promise<void> {
    const conn = await this.anyConnection();
    const names = extra === 'all' ? null : [...new Set([...this.targetTopics, ...extra])];
    const res = await conn.request(ApiKey.Metadata, {
      topics: names === null ? null : names.map((name) => ({ name })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    this.applyMetadata(res, extra === 'all');
  }

  private applyMetadata(res: MetadataResponse, all: boolean): void {
    const brokers = new Map<number, BrokerNode>();
    for (const b of res.brokers) brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    this.brokers = brokers;
    this.controllerId = res.controllerId ?? -1;
    this.clusterId = res.clusterId ?? null;
    if (all) this.topics.clear();
    for (const t of res.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0 && t.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE) {
        this.topics.set(t.name, { name: t.name, topicId: t.topicId ?? ZERO_UUID, isInternal: !!t.isInternal, errorCode: t.errorCode, partitions: [] });
        continue;
      }
      const partitions: PartitionMetadata[] = t.partitions.map((p) => ({
        partitionErrorCode: p.errorCode,
        partitionId: p.partitionIndex,
        leader: p.leaderId,
        leaderEpoch: p.leaderEpoch ?? -1,
        replicas: p.replicaNodes,
        isr: p.isrNodes,
        offlineReplicas: p.offlineReplicas ?? [],
      })).sort((a, b) => a.partitionId - b.partitionId);
      this.topics.set(t.name, { name: t.name, topicId: t.topicId ?? ZERO_UUID, isInternal: !!t.isInternal, errorCode: t.errorCode, partitions });
    }
    this.topicsFetchedAt = Date.now();
    // Connections to brokers that left the cluster are closed.
    for (const [key, conn] of this.connections) {
      const nodeId = Number(key.slice(key.indexOf(':') + 1));
      if (!brokers.has(nodeId)) {
        void conn.close();
        this.connections.delete(key);
      }
    }
  }

  /** Cached metadata of a topic (undefined when never fetched or unknown). */
  topic(name: string): TopicMetadata | undefined {
    const t = this.topics.get(name);
    return t && t.errorCode === 0 && t.partitions.length > 0 ? t : undefined;
  }

  /** [topic id, name] of every topic known (Metadata v10+ carries ids; before, all are zero). */
  knownTopicIds(): [string, string][] {
    return [...this.topics.values()].filter((t) => t.errorCode === 0 && t.topicId !== ZERO_UUID).map((t) => [t.topicId, t.name]);
  }

  /** Every topic name in the last full metadata answer plus those fetched since; internal topics left out (regex subscriptions skip them, as Java's exclude.internal.topics). */
  knownTopics(): string[] {
    return [...this.topics.values()].filter((t) => t.errorCode === 0 && !t.isInternal).map((t) => t.name);
  }

  /**
   * Makes sure the metadata of `topics` is known, fetching (and with `allowAutoTopicCreation`,
   * creating) them; retries within the retry budget while they are unknown or have no leader.
   */
  async ensureTopics(topics: Iterable<string>, allowAutoTopicCreation = false): Promise<void> {
    const wanted = [...new Set(topics)];
    for (const t of wanted) this.targetTopics.add(t);
    const stale = Date.now() - this.topicsFetchedAt > (this.options.metadataMaxAge ?? 300000);
    const ready = () => wanted.every((t) => {
      const m = this.topic(t);
      return m && m.partitions.every((p) => p.leader >= 0);
    });
    if (!stale && ready()) return;
    await this.retrier.run(async () => {
      await this.refreshMetadata(wanted, allowAutoTopicCreation);
      for (const name of wanted) {
        const t = this.topics.get(name);
        if (!t) throw new FjordTopicMetadataError(`no metadata for topic "${name}"`, name, { retriable: true });
        if (t.errorCode !== 0) {
          const e = new FjordProtocolError(t.errorCode);
          throw new FjordTopicMetadataError(t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            ? `topic "${name}" does not exist${allowAutoTopicCreation ? '' : ' (and auto-creation is off)'}`
            : `topic "${name}": ${e.message}`, name, { retriable: e.retriable, cause: e });
        }
        if (t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0)) {
          throw new FjordTopicMetadataError(`topic "${name}" has partitions without a leader`, name, { retriable: true });
        }
      }
    });
  }

  /** Leader node of a partition from the cache (-1 when unknown). */
  leaderOf(topic: string, partition: number): number {
    const t = this.topics.get(topic);
    const p = t?.partitions[partition];
    return p && p.partitionId === partition ? p.leader : t?.partitions.find((x) => x.partitionId === partition)?.leader ?? -1;
  }

  /** Node id of the coordinator of a group (keyType 0) or transactional id (keyType 1). */
  async findCoordinator(key: string, keyType = 0): Promise<number> {
    const cacheKey = `${keyType}:${key}`;
    const cached = this.coordinators.get(cacheKey);
    if (cached !== undefined && this.brokers.has(cached)) return cached;
    const nodeId = await this.retrier.run(async () => {
      const conn = await this.anyConnection();
      const version = conn.versionOf(ApiKey.FindCoordinator);
      const res = await conn.request(ApiKey.FindCoordinator, { key, keyType, coordinatorKeys: [key] }, { version });
      // v4+ answers per key in `coordinators`; v0-3 answer at the top level (v0 has no errorMessage).
      const one: Omit<FindCoordinatorResponseCoordinator, 'key'> | undefined = version >= 4
        ? res.coordinators?.[0]
        : { nodeId: res.nodeId ?? -1, host: res.host ?? '', port: res.port ?? -1, errorCode: res.errorCode ?? 0, errorMessage: res.errorMessage ?? null };
      if (!one) throw new FjordError('FindCoordinator returned no coordinator');
      if (one.errorCode !== 0) throw new FjordProtocolError(one.errorCode, one.errorMessage);
      if (!this.brokers.has(one.nodeId)) {
        this.brokers.set(one.nodeId, { nodeId: one.nodeId, host: one.host, port: one.port, rack: null });
      }
      return one.nodeId;
    });
    this.coordinators.set(cacheKey, nodeId);
    return nodeId;
  }

  forgetCoordinator(key: string, keyType = 0): void {
    this.coordinators.delete(`${keyType}:${key}`);
  }

  /** The controller's node id (admin requests go there). */
  async controller(): Promise<number> {
    if (this.controllerId < 0 || !this.brokers.has(this.controllerId)) await this.refreshMetadata();
    if (this.controllerId < 0) throw new FjordError('the cluster reported no controller');
    return this.controllerId;
  }

  /** Closes one connection (its pending requests fail); it reopens on next use. */
  async closeConnection(nodeId: number, pool: Pool): Promise<void> {
    const key = `${pool}:${nodeId}`;
    const conn = this.connections.get(key);
    if (!conn) return;
    this.connections.delete(key);
    await conn.close().catch(() => undefined);
  }

  /** Closes the connections of one pool (requests waiting on them fail); they reopen on next use. */
  async closePool(pool: Pool): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, conn] of this.connections) {
      if (!key.startsWith(`${pool}:`)) continue;
      this.connections.delete(key);
      closing.push(conn.close().catch(() => undefined));
    }
    await Promise.all(closing);
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    this.closed = true;
    const all = [...this.connections.values()];
    if (this.seed) all.push(this.seed);
    this.connections.clear();
    this.seed = null;
    this.coordinators.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}
