// A running broker: builds the services (storage, topic rules, group and transaction coordinators, producer ids)
// from its config, hands them to the request dispatcher, and starts and stops them in order.
// Nothing under handlers/ imports this file: handlers get the services through the request context.
import { createStorage } from '../storage/engines.js';
import { PostgresStorage } from '../storage/postgres/index.js';
import { COORDINATOR_LOGS, PgCluster } from './cluster/pg-cluster.js';
import { SingleNode, type ClusterView } from './cluster/view.js';
import { addScramUsers } from './auth/add-scram.js';
import { ACL_LOG, Authorizer } from './auth/acls.js';
import { CredentialStore, SCRAM_LOG } from './auth/credentials.js';
import { SaslAuthenticator } from './auth/sasl.js';
import { QuotaEnforcer } from './quotas/enforcer.js';
import { QUOTA_LOG, QuotaStore } from './quotas/store.js';
import { BROKER_CONFIG_LOG, DynamicBrokerConfigs } from './dynamic-configs.js';
import type { Storage, TopicMeta } from '../storage/types.js';
import type { BrokerConfig } from './config.js';
import { DEFAULT_CONFIG, topicDefault } from './settings.js';
import { createDispatcher } from './dispatch.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { ShareCoordinator } from './share/coordinator.js';
import type { BrokerServices, NodeIdentity } from './handler.js';
import { createLogger, resolveLogFormat, type Logger } from './logger.js';
import type { TxnMarker } from '../protocol/records.js';
import { HttpListener, isLoopbackHost } from './http/server.js';
import { BrokerMetrics } from './metrics.js';
import { CloseConnection, KafkaServer, type ListenerBinding } from './server.js';
import { ConfigError, advertisable, resolveListeners, saslMechanismsFor, unauthenticatedNetworkProblem, unservedProtocolProblem, type ListenerInfo, type ListenerSpec } from './listeners.js';
import { ListenerTls, sslConfigFor } from './tls.js';
import { ProducerIdManager } from './producer-ids.js';
import { LogCleanerTask } from './log-cleaner.js';
import { RetentionTask } from './retention.js';
import { Topics } from './topics.js';
import { TransactionCoordinator } from './transactions/coordinator.js';
import { TxnFollower } from './transactions/follower.js';
import { TXN_LOG } from './transactions/state-store.js';

export class Broker implements BrokerServices, NodeIdentity {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly topics: Topics;
  readonly groups: GroupCoordinator;
  readonly shares: ShareCoordinator;
  readonly producerIds: ProducerIdManager;
  readonly transactions: TransactionCoordinator;
  readonly server: KafkaServer;
  readonly retention: RetentionTask;
  readonly cleaner: LogCleanerTask;
  /** Every listener, in config order; advertised addresses are set by start() from the binds (or advertised.listeners). */
  readonly listeners: readonly ListenerInfo[];
  /** Per listener (same order): the hosts and port actually bound, once started. */
  bound: { boundHosts: string[]; port: number }[] = [];
  private readonly bindings: (ListenerBinding & { readonly spec: ListenerSpec })[];
  readonly credentials: CredentialStore;
  readonly acls: Authorizer;
  readonly sasl: SaslAuthenticator;
  readonly quotaStore: QuotaStore;
  readonly quotas: QuotaEnforcer;
  readonly brokerConfigs: DynamicBrokerConfigs;
  /** Prometheus metrics; null without an HTTP listener (nothing is counted then). */
  readonly metrics: BrokerMetrics | null;
  /** The HTTP listener (/metrics, /health, /ready); null unless httpPort is set (fjord server sets it). */
  readonly http: HttpListener | null;
  /** Membership and leadership: this node alone, or the brokers sharing a PostgreSQL database. */
  readonly cluster: ClusterView;
  private readonly pgCluster: PgCluster | null;
  private isOpen = false;
  private stopping = false;
  private readonly openGate: { opened(): void; failed(err: Error): void };

  constructor(config: Partial<BrokerConfig> = {}, logger?: Logger) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    this.logger = logger ?? createLogger(this.config.logLevel, undefined, resolveLogFormat(this.config.logFormat));
    // Listeners and their TLS material first: a config that cannot be served (or must not be, on a
    // network without authentication) is refused before anything is bound or opened.
    this.bindings = bindingsOf(this.config);
    this.listeners = this.bindings.map((b) => b.info);
    const httpPort = this.config.httpPort;
    this.metrics = httpPort !== undefined && httpPort >= 0 ? new BrokerMetrics() : null;
    this.storage = createStorage(
      this.config.storage ?? this.config.dataDir,
      {
        flush: this.config.flush, segmentBytes: this.config.segmentBytes, segmentMs: Number(topicDefault(this.config, 'segment.ms')),
        indexIntervalBytes: this.config.indexIntervalBytes, tailCacheBytes: this.config.tailCacheBytes, maxOpenFiles: this.config.maxOpenFiles,
        // Topics are made just below; storage asks only once it is open.
        segmentPolicy: (topic) => this.topics.segmentPolicy(topic),
        ...(this.metrics ? { observer: this.metrics.storageObserver } : {}),
      },
      (level, msg) => this.logger[level](msg),
    );
    this.topics = new Topics(this.storage, this.config, this.logger);
    this.groups = new GroupCoordinator({
      storage: this.storage,
      logger: this.logger,
      initialRebalanceDelayMs: this.config.groupInitialRebalanceDelayMs,
      minSessionTimeoutMs: this.config.groupMinSessionTimeoutMs,
      maxSessionTimeoutMs: this.config.groupMaxSessionTimeoutMs,
      offsetsRetentionMs: this.config.offsetsRetentionMinutes * 60 * 1000,
      offsetsRetentionCheckIntervalMs: this.config.offsetsRetentionCheckIntervalMs,
      consumerSessionTimeoutMs: this.config.groupConsumerSessionTimeoutMs,
      consumerHeartbeatIntervalMs: this.config.groupConsumerHeartbeatIntervalMs,
    });
    this.shares = new ShareCoordinator({
      storage: this.storage,
      logger: this.logger,
      heartbeatIntervalMs: this.config.groupShareHeartbeatIntervalMs,
      sessionTimeoutMs: this.config.groupShareSessionTimeoutMs,
      maxSize: this.config.groupShareMaxSize,
      lockDurationMs: this.config.groupShareRecordLockDurationMs,
      deliveryCountLimit: this.config.groupShareDeliveryCountLimit,
      maxRecordLocks: this.config.groupSharePartitionMaxRecordLocks,
      otherGroupExists: (id) => this.groups.listGroups().groups.some((g) => g.groupId === id),
    });
    this.producerIds = new ProducerIdManager(this.storage);
    this.transactions = new TransactionCoordinator({
      storage: this.storage,
      logger: this.logger,
      groups: this.groups,
      producerIds: this.producerIds,
      maxTimeoutMs: this.config.transactionMaxTimeoutMs,
      abortCheckIntervalMs: this.config.transactionAbortCheckIntervalMs,
      ...(this.storage instanceof PostgresStorage ? clusterTxnOptions(this.storage, this.logger) : {}),
    });
    this.credentials = new CredentialStore(this.storage, this.logger);
    this.sasl = new SaslAuthenticator(this.config, this.credentials, this.logger);
    this.acls = new Authorizer(this.storage, this.logger, this.config);
    this.quotaStore = new QuotaStore(this.storage, this.logger);
    this.quotas = new QuotaEnforcer(this.config, this.quotaStore);
    if (this.storage instanceof PostgresStorage) {
      // Several brokers may share the database: the coordinators run where the internal logs are led.
      this.pgCluster = new PgCluster(this.storage, this.config, this.logger, this.listeners, {
        start: async () => {
          await this.groups.start();
          await this.transactions.start();
        },
        stop: async () => {
          await this.transactions.stop();
          await this.groups.stop();
        },
      });
      this.cluster = this.pgCluster;
    } else {
      if (this.config.nodeId < 0) throw new ConfigError('--node-id -1 (an id allocated by the cluster) needs --storage postgres://...; give this broker an id of 0 or more');
      this.pgCluster = null;
      this.cluster = new SingleNode(() => ({
        nodeId: this.config.nodeId, rack: this.config.rack ?? null,
        listeners: this.listeners.map((l) => ({ name: l.name, host: l.advertisedHost, port: l.advertisedPort })),
      }));
    }
    // Requests that arrive between the bind and the end of start() wait for storage to open.
    const dispatch = createDispatcher(this, this.metrics ?? undefined);
    let opened: () => void = () => undefined;
    let failed: (err: Error) => void = () => undefined;
    const whenOpen = new Promise<void>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    whenOpen.catch(() => undefined);
    this.openGate = { opened, failed };
    this.server = new KafkaServer({
      maxRequestBytes: this.config.maxRequestBytes,
      queuedMaxRequestBytes: this.config.queuedMaxRequestBytes,
      connectionsMaxIdleMs: this.config.connectionsMaxIdleMs,
      sslReloadIntervalMs: this.config.sslReloadIntervalMs,
      logger: this.logger,
      dispatch: (frame, conn, release) => (this.isOpen ? dispatch(frame, conn, release) : whenOpen.then(() => dispatch(frame, conn, release))),
      ...(this.metrics ? { onAccept: this.metrics.connectionAccepted.bind(this.metrics) } : {}),
    });
    this.metrics?.attach({ storage: this.storage, groups: this.groups, connections: () => this.server.connectionInfos(), storageOpen: () => this.isOpen && !this.stopping });
    const metrics = this.metrics;
    this.http = httpPort !== undefined && httpPort >= 0 ? new HttpListener({
      host: this.config.httpHost,
      port: httpPort,
      logger: this.logger,
      readiness: () => this.notReadyReason(),
      ...(metrics ? { metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }) } : {}),
    }) : null;
    this.retention = new RetentionTask(this.storage, this.topics, this.logger, this.config.retentionCheckIntervalMs);
    this.cleaner = new LogCleanerTask(this.storage, this.topics, this.logger, this.config);
    this.brokerConfigs = new DynamicBrokerConfigs(this.storage, this.config, () => this.nodeId, this.logger, () => this.cleaner.reschedule());
  }

  /** This broker's identity, as handlers read it (the broker is its own NodeIdentity). */
  get node(): NodeIdentity {
    return this;
  }
  get clusterId(): string {
    return this.storage.clusterId;
  }
  get nodeId(): number {
    return this.pgCluster ? this.pgCluster.nodeId : this.config.nodeId;
  }
  /** The first listener's advertised address (what an embedder's `address` is). */
  get advertisedHost(): string {
    return this.listeners[0].advertisedHost;
  }
  get advertisedPort(): number {
    return this.listeners[0].advertisedPort;
  }

  /**
   * Binds the port first: a broker that cannot have its port has touched no data (not even the
   * data dir's lock). Storage opens after, while early requests wait (a failed open closes them).
   */
  async start(): Promise<void> {
    const bound = await this.server.listen(this.bindings);
    this.bound = bound;
    // The HTTP listener comes up with the Kafka listeners, before storage opens: /health answers
    // and /ready says "storage is opening" during a long recovery. A failed bind touches no data.
    if (this.http) {
      try {
        await this.http.listen();
      } catch (err) {
        await this.server.close();
        throw err;
      }
      if (!isLoopbackHost(this.config.httpHost)) {
        this.logger.warn(`the HTTP listener on ${this.config.httpHost} port ${this.http.port} serves /metrics, /health and /ready without authentication to anyone who can reach it (topic and group names, offsets): bind it to loopback (--http-host 127.0.0.1) or keep it behind a firewall`);
      }
    }
    bound.forEach(({ boundHosts, port }, i) => {
      const { spec, info } = this.bindings[i];
      info.advertisedHost = spec.advertisedHost ?? advertisable(boundHosts[0]);
      info.advertisedPort = spec.advertisedPort ?? port;
    });
    try {
      await this.sasl.start();
      await this.storage.open();
      if (this.pgCluster) {
        // The coordinators' logs exist before anyone can be named their leader.
        for (const name of COORDINATOR_LOGS) await this.storage.internalLog(name);
        await this.pgCluster.start();
      } else {
        await this.groups.start();
        await this.transactions.start();
        await this.shares.start();
      }
      await this.credentials.start();
      await this.acls.start();
      await this.quotaStore.start();
      await this.brokerConfigs.start();
      // Cluster mode: changes made on the broker leading the internal logs reach this one within a poll.
      this.pgCluster?.follow([SCRAM_LOG, ACL_LOG, QUOTA_LOG, BROKER_CONFIG_LOG], async () => {
        await this.credentials.catchUp();
        await this.acls.catchUp();
        await this.quotaStore.catchUp();
        await this.brokerConfigs.catchUp();
      });
      if (this.config.addScram) await addScramUsers(this.credentials, this.config.addScram, this.logger);
    } catch (err) {
      this.openGate.failed(new CloseConnection('the broker failed to start'));
      await this.server.close();
      await this.http?.close();
      throw err;
    }
    // Authentication without authorization: every authenticated user may do everything. Say so once.
    if (!this.acls.enabled && this.listeners.some((l) => l.securityProtocol === 'SASL_PLAINTEXT' || l.securityProtocol === 'SASL_SSL' || (l.securityProtocol === 'SSL' && this.config.sslClientAuth === 'required'))) {
      this.logger.warn('authenticated listeners but no authorizer.class.name: every authenticated client may read, write, alter and delete everything (set authorizer.class.name=fjord and ACLs to restrict them)');
    }
    this.isOpen = true;
    this.openGate.opened();
    this.retention.start();
    this.cleaner.start();
  }

  /** Creates a topic with the checks CreateTopics makes (for embedders: `running.broker.createTopic`). */
  createTopic(name: string, partitions: number, configs: Record<string, string> = {}): Promise<TopicMeta> {
    return this.topics.create(name, partitions, configs);
  }

  /**
   * Stops taking requests, answers parked group requests (COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR)
   * and lets requests in flight finish and be answered (server.ts SHUTDOWN_GRACE_MS at most) before
   * connections and then storage close: a request is not cut off by closed storage mid-way.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.retention.stop();
    await this.cleaner.stop();
    this.server.stopAccepting();
    await this.groups.stop();
    this.shares.stop();
    await this.server.drain();
    // After the drain: an EndTxn in flight finishes writing its markers first.
    await this.transactions.stop();
    // Leaves the cluster before storage closes: the others take its partitions over at once.
    await this.pgCluster?.stop();
    await this.server.close();
    this.sasl.stop();
    await this.storage.close();
    await this.http?.close();
  }

  /** Why the broker cannot serve right now (what /ready answers with 503), or null when it can. */
  notReadyReason(): string | null {
    if (this.stopping) return 'the broker is stopping';
    if (!this.isOpen) return 'storage is opening (listeners bound, requests wait)';
    return this.cluster.unavailableReason();
  }

  /** "host:port" of the HTTP listener once started; null without one. */
  get httpAddress(): string | null {
    if (!this.http || this.http.port === 0) return null;
    const host = this.config.httpHost;
    return `${host.includes(':') ? `[${host}]` : host}:${this.http.port}`;
  }
}

/**
 * The listeners of a config, with TLS material loaded for SSL ones. Throws ConfigError (one line)
 * for a listener that cannot be served, or that would let unauthenticated clients in from a network.
 */
function bindingsOf(config: BrokerConfig): (ListenerBinding & { readonly spec: ListenerSpec })[] {
  const specs = resolveListeners(config);
  const unserved = unservedProtocolProblem(specs, (name) => saslMechanismsFor(config, name));
  if (unserved) throw new ConfigError(unserved);
  const open = unauthenticatedNetworkProblem(specs, config, (name) => sslConfigFor(config, name).sslClientAuth);
  if (open) throw new ConfigError(open);
  for (const name of Object.keys(config.listenerSsl ?? {})) {
    if (!specs.some((s) => s.name === name)) throw new ConfigError(`listener.name.${name.toLowerCase()}.* names no listener (listeners: ${specs.map((s) => s.name).join(', ')})`);
    const spec = specs.find((s) => s.name === name)!;
    if (config.listenerSsl?.[name]?.saslEnabledMechanisms !== undefined && spec.securityProtocol !== 'SASL_PLAINTEXT' && spec.securityProtocol !== 'SASL_SSL') {
      throw new ConfigError(`listener.name.${name.toLowerCase()}.sasl.enabled.mechanisms is set, but listener ${name} uses ${spec.securityProtocol}, which does not authenticate with SASL`);
    }
  }
  return specs.map((spec) => {
    const secure = spec.securityProtocol === 'SSL' || spec.securityProtocol === 'SASL_SSL';
    return {
      info: { name: spec.name, securityProtocol: spec.securityProtocol, advertisedHost: spec.advertisedHost ?? advertisable(spec.hosts[0]), advertisedPort: spec.advertisedPort ?? spec.port },
      hosts: spec.hosts,
      port: spec.port,
      spec,
      ...(secure ? { tls: new ListenerTls(sslConfigFor(config, spec.name), `listener ${spec.name}`) } : {}),
    };
  });
}

/**
 * Cluster mode: markers go to each partition's leader through the database, and Produce on a broker
 * that does not coordinate checks transactional batches against a follower of `__transaction_state`.
 */
function clusterTxnOptions(storage: PostgresStorage, logger: Logger): { writeMarker: (topic: string, partition: number, marker: TxnMarker) => Promise<void>; follower: TxnFollower } {
  return {
    writeMarker: (topic, partition, marker) => storage.writeMarker(topic, partition, marker),
    follower: new TxnFollower(storage, logger, () => storage.followInternalLogs([TXN_LOG])),
  };
}
