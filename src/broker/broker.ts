// A running broker: configuration, storage, the group coordinator and the TCP server, plus the
// topic rules (names, auto-creation, effective configs) that several handlers share.
import { ErrorCode } from '../protocol/generated/errors.js';
import { createStorage } from '../storage/engines.js';
import type { Storage, TopicMeta } from '../storage/types.js';
import { DEFAULT_CONFIG, type BrokerConfig } from './config.js';
import { GroupCoordinator } from './groups/coordinator.js';
import { createLogger, type Logger } from './logger.js';
import { KafkaServer } from './server.js';
import { ProducerIdManager } from './producer-ids.js';
import { RetentionTask } from './retention.js';
import { TOPIC_SETTINGS, topicConfigProblem, topicDefault } from './settings.js';

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_CHARS = /^[a-zA-Z0-9._-]+$/;

/** Why a topic name is invalid, or null when it is fine (Kafka's rules). */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`;
  if (!LEGAL_TOPIC_CHARS.test(name)) return `topic name "${name}" has characters other than ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

/** Topic configs with broker defaults, the ones DescribeConfigs reports and produce/fetch honour. */
export function defaultTopicConfigs(config: BrokerConfig): Record<string, string> {
  const defaults: Record<string, string> = {};
  for (const name of Object.keys(TOPIC_SETTINGS)) defaults[name] = topicDefault(config, name) ?? '';
  return defaults;
}

export class TopicError extends Error {
  constructor(readonly errorCode: number, message: string) {
    super(message);
  }
}

export class Broker {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly groups: GroupCoordinator;
  readonly producerIds: ProducerIdManager;
  readonly server: KafkaServer;
  readonly retention: RetentionTask;
  advertisedHost = '127.0.0.1';
  advertisedPort = 0;
  private creating = new Map<string, Promise<TopicMeta>>();

  constructor(config: Partial<BrokerConfig> = {}, logger?: Logger) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    this.logger = logger ?? createLogger(this.config.logLevel);
    this.storage = createStorage(
      this.config.dataDir,
      { flush: this.config.flush, segmentBytes: this.config.segmentBytes, segmentMs: 7 * 24 * 3600 * 1000, indexIntervalBytes: 4096 },
      (level, msg) => this.logger[level](msg),
    );
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
    this.producerIds = new ProducerIdManager(this.storage);
    this.server = new KafkaServer(this);
    this.retention = new RetentionTask(this, this.config.retentionCheckIntervalMs);
  }

  get clusterId(): string {
    return this.storage.clusterId;
  }
  get nodeId(): number {
    return this.config.nodeId;
  }

  async start(): Promise<void> {
    await this.storage.open();
    await this.groups.start();
    const { boundHosts, port } = await this.server.listen(this.config.listenHosts, this.config.port);
    this.advertisedHost = this.config.advertisedHost ?? advertisable(boundHosts[0]);
    this.advertisedPort = this.config.advertisedPort ?? port;
    this.retention.start();
  }

  async stop(): Promise<void> {
    await this.retention.stop();
    await this.server.close();
    await this.groups.stop();
    await this.storage.close();
  }

  /** Effective value of a topic config: the topic's override or the broker default. */
  topicConfig(topic: TopicMeta, key: string): string | undefined {
    return topic.configs[key] ?? topicDefault(this.config, key);
  }

  /** Creates a topic after checking its name and partition count; throws TopicError. */
  async createTopic(name: string, partitions: number, configs: Record<string, string> = {}): Promise<TopicMeta> {
    const problem = topicNameProblem(name);
    if (problem) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    if (this.storage.topic(name) || this.creating.has(name)) throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    if (!Number.isInteger(partitions) || partitions <= 0 || partitions > 100000) {
      throw new TopicError(ErrorCode.INVALID_PARTITIONS, `partition count must be between 1 and 100000, not ${partitions}`);
    }
    this.checkTopicConfigs(configs);
    if (configs['cleanup.policy']?.includes('compact')) {
      this.logger.warn(`topic ${name}: cleanup.policy=compact is accepted but log compaction is not implemented yet; only retention removes records`);
    }
    const pending = this.storage.createTopic(name, partitions, configs);
    this.creating.set(name, pending);
    try {
      const t = await pending;
      this.logger.info(`created topic ${name} with ${partitions} partition(s)`);
      return t;
    } finally {
      this.creating.delete(name);
    }
  }

  /** Throws TopicError(INVALID_CONFIG) for unknown keys or values the settings table refuses. */
  checkTopicConfigs(configs: Record<string, string>): void {
    for (const [key, value] of Object.entries(configs)) {
      const problem = topicConfigProblem(key, value);
      if (problem) throw new TopicError(ErrorCode.INVALID_CONFIG, problem);
    }
  }

  /**
   * The topic, auto-creating it when allowed. Returns undefined when it does not exist and may not
   * be created; concurrent callers for one name share a single creation.
   */
  async ensureTopic(name: string, allowAutoCreate: boolean): Promise<TopicMeta | undefined> {
    const existing = this.storage.topic(name);
    if (existing) return existing;
    const inFlight = this.creating.get(name);
    if (inFlight) return inFlight;
    if (!allowAutoCreate || !this.config.autoCreateTopics || topicNameProblem(name)) return undefined;
    try {
      return await this.createTopic(name, this.config.defaultPartitions);
    } catch (err) {
      if (err instanceof TopicError && err.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return this.storage.topic(name);
      throw err;
    }
  }
}

/** A wildcard listen address is not something a client can connect to. */
function advertisable(host: string | undefined): string {
  if (!host || host === '0.0.0.0' || host === '::') return 'localhost';
  return host;
}
