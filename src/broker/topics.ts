// Topic rules that several handlers share: Kafka's name rules, creation (with its checks and the
// one-creation-per-name guarantee), auto-creation, and the effective value of a topic setting
// (the topic's override, else the default from the settings table).
import { createHash } from 'node:crypto';
import { ErrorCode } from '../protocol/generated/errors.js';
import type { PartitionLog, SegmentPolicy, Storage, TopicMeta } from '../storage/types.js';
import type { BrokerConfig } from './config.js';
import type { Logger } from './logger.js';
import { KAFKA_CONFIG_SOURCE, MAX_PARTITIONS, TOPIC_SETTINGS, topicConfigProblem, topicDefault, topicDefaultSource, topicSynonyms, type ConfigSynonym } from './settings.js';

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_CHARS = /^[a-zA-Z0-9._-]+$/;

/**
 * Why a topic name is invalid, or null when it is fine (Kafka's rules), worded as Kafka 4.1's
 * CreateTopics errorMessage words it (tools print it).
 */
export function topicNameProblem(name: string): string | null {
  const invalid = (why: string) => `Topic name is invalid: ${why}`;
  if (name.length === 0) return invalid('the empty string is not allowed');
  if (name === '.' || name === '..') return invalid(`'${name}' is not allowed`);
  if (name.length > MAX_TOPIC_NAME_LENGTH) return invalid(`the length of '${name}' is longer than the max allowed length ${MAX_TOPIC_NAME_LENGTH}`);
  if (!LEGAL_TOPIC_CHARS.test(name)) return invalid(`'${name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'`);
  return null;
}

/** Kafka's CreateTopics errorMessage for a name that is taken. */
export const topicExistsMessage = (name: string): string => `Topic '${name}' already exists.`;

/**
 * Kafka's internal topics (Topic.INTERNAL_TOPICS in Kafka 4): the broker writes them itself (here
 * `__consumer_offsets` is the internal log of groups/offsets-store.ts). Kafka answers a Produce to
 * one with INVALID_TOPIC_EXCEPTION ("Cannot append to internal topic"). Kafka reserves no other
 * `__` name: `__foo` is an ordinary topic there, and here.
 */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);
/** KRaft's metadata log; Kafka's controller refuses to create it with INVALID_REQUEST. */
export const CLUSTER_METADATA_TOPIC = '__cluster_metadata';

export const isInternalTopic = (name: string): boolean => INTERNAL_TOPICS.has(name);

/**
 * Why a user may not create a topic of this name although it is well formed, with the code
 * CreateTopics answers, or null. `__cluster_metadata`: INVALID_REQUEST, Kafka's own answer.
 * The internal topics are the coordinators' internal logs, never user topics, and Metadata does not
 * auto-create them. `__consumer_offsets` always exists here (Metadata lists it), so creating it
 * answers TOPIC_ALREADY_EXISTS as Kafka does once it exists; the others, until they are in use, get
 * INVALID_TOPIC_EXCEPTION (the code Kafka gives a name a user cannot have).
 */
export function reservedTopicProblem(name: string): { errorCode: number; message: string } | null {
  if (name === CLUSTER_METADATA_TOPIC) return { errorCode: ErrorCode.INVALID_REQUEST, message: `creation of internal topic ${name} is prohibited` };
  if (name === '__consumer_offsets') return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: topicExistsMessage(name) };
  if (isInternalTopic(name)) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, message: `${name} is one of Kafka's internal topics, kept by the broker; it cannot be a user topic` };
  return null;
}

/**
 * Kafka's internal topics that exist here, as Metadata lists them: the coordinators' internal logs
 * of those names, `__consumer_offsets` always (open from the start, as Kafka's exists once a client
 * looked for a group coordinator), the others once they hold a record (Kafka creates
 * `__transaction_state` at the first transactional client).
 */
export async function internalTopicNames(storage: Storage): Promise<string[]> {
  const opened = (storage.openInternalLogs?.() ?? ['__consumer_offsets', '__transaction_state']).filter(isInternalTopic).sort();
  const shown: string[] = [];
  for (const name of opened) {
    if (storage.topic(name)) continue; // a user topic of that name, from a data dir of an old version: it stays what it was
    if (name === '__consumer_offsets' || (await storage.internalLog(name)).logEndOffset() > 0) shown.push(name);
  }
  return shown;
}

/**
 * The id Metadata gives an internal topic: a name-based UUID within the cluster, the same on every
 * broker and across restarts (the coordinators' logs have no catalog entry to keep one in).
 */
export function internalTopicId(clusterId: string, name: string): string {
  const h = createHash('sha256').update(`${clusterId}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** An internal topic Metadata lists, as the group coordinator and Fetch by id see it (one partition). */
export interface InternalTopicInfo {
  readonly name: string;
  readonly topicId: string;
  readonly partitionCount: 1;
}

/**
 * The internal topics Metadata lists (`internalTopicNames`) with their ids. Kafka's group
 * coordinator resolves a KIP-848 subscription (names and regex) over every topic of its metadata
 * image, internal ones included, so a regex like `__consumer.*` gets `__consumer_offsets` assigned.
 */
export async function internalTopicInfos(storage: Storage): Promise<InternalTopicInfo[]> {
  return (await internalTopicNames(storage)).map((name) => ({ name, topicId: internalTopicId(storage.clusterId, name), partitionCount: 1 }));
}

/**
 * The log behind partition `partition` of an internal topic Metadata lists (each has one
 * partition, 0), for ListOffsets and Fetch, which serve it as Kafka serves its internal topics
 * (its records are Fjord's own, UTF-8 JSON: see the store that writes each); undefined otherwise.
 */
export async function internalTopicLog(storage: Storage, name: string, partition: number): Promise<PartitionLog | undefined> {
  if (!isInternalTopic(name) || partition !== 0 || !(await internalTopicNames(storage)).includes(name)) return undefined;
  return storage.internalLog(name);
}

/**
 * Why DeleteTopics or CreatePartitions may not touch this topic, or null: the internal topics are
 * the coordinators' logs (every group's offsets, every transaction's state), one partition each.
 * Kafka 4.1 deletes `__consumer_offsets` when asked (and loses every committed offset); Fjord refuses.
 */
export function internalTopicChangeProblem(name: string, change: 'delete' | 'grow'): { errorCode: number; message: string } | null {
  if (!isInternalTopic(name)) return null;
  return change === 'delete'
    ? { errorCode: ErrorCode.TOPIC_DELETION_DISABLED, message: `${name} is an internal topic, kept by the broker: it cannot be deleted` }
    : { errorCode: ErrorCode.INVALID_REQUEST, message: `${name} is an internal topic, kept by the broker: its partition count cannot change` };
}

/** Topic configs with broker defaults, the ones DescribeConfigs reports and produce/fetch honour. */
/**
 * What is wrong with manual replica assignments (CreateTopics, CreatePartitions), or null. One node
 * takes assignments naming only itself (one replica, that node). A cluster places partition leaders
 * itself (docs/cluster.md), so it refuses any assignment rather than ignore it.
 */
export function replicaAssignmentProblem(brokerIds: readonly (readonly number[])[], node: { nodeId: number; multiNode: boolean }): string | null {
  if (brokerIds.length === 0) return null;
  if (node.multiNode) return 'a cluster on PostgreSQL places partition leaders itself (docs/cluster.md): give a partition count, not replica assignments';
  return brokerIds.some((ids) => ids.some((id) => id !== node.nodeId)) ? `this cluster has one broker, id ${node.nodeId}` : null;
}

export function defaultTopicConfigs(config: BrokerConfig): Record<string, string> {
  const defaults: Record<string, string> = {};
  for (const name of Object.keys(TOPIC_SETTINGS)) defaults[name] = topicDefault(config, name) ?? '';
  return defaults;
}

/** One topic config as DescribeConfigs and CreateTopics v5+ report it, with Kafka's source number. */
export interface EffectiveTopicConfig {
  readonly name: string;
  readonly value: string;
  /** DYNAMIC_TOPIC_CONFIG (the topic's own), STATIC_BROKER_CONFIG (a broker setting that was set) or DEFAULT_CONFIG. */
  readonly source: number;
  /** Where the value could come from, in precedence order (DescribeConfigs includeSynonyms). */
  readonly synonyms: ConfigSynonym[];
}

/** A topic request refused with a Kafka error code (the handler puts both in its response). */
export class TopicError extends Error {
  constructor(readonly errorCode: number, message: string) {
    super(message);
  }
}

export class Topics {
  /** Creations under way, so concurrent creators (and auto-creators) of one name share one. */
  private readonly creating = new Map<string, Promise<TopicMeta>>();
  /** Partitions of creations and growths under way, not yet in storage.topics(). */
  private pendingPartitions = 0;

  constructor(private readonly storage: Storage, private readonly config: BrokerConfig, private readonly logger: Logger) {}

  /** Effective value of a topic config: the topic's override or the broker default. */
  configValue(topic: TopicMeta, key: string): string | undefined {
    return Object.hasOwn(topic.configs, key) ? topic.configs[key] : topicDefault(this.config, key);
  }

  /** Segment settings per topic configs object (a config change replaces the object, so this never goes stale). */
  private readonly policies = new WeakMap<Record<string, string>, SegmentPolicy>();

  /** How a topic's partitions roll and remove segments (file engine); undefined for a name that is no topic (internal logs). */
  segmentPolicy(name: string): SegmentPolicy | undefined {
    const topic = this.storage.topic(name);
    if (!topic) return undefined;
    let p = this.policies.get(topic.configs);
    if (!p) {
      const n = (key: string) => Number(this.configValue(topic, key));
      p = {
        segmentBytes: n('segment.bytes'), segmentMs: n('segment.ms'), segmentJitterMs: n('segment.jitter.ms'),
        segmentIndexBytes: n('segment.index.bytes'), indexIntervalBytes: n('index.interval.bytes'), fileDeleteDelayMs: n('file.delete.delay.ms'),
      };
      this.policies.set(topic.configs, p);
    }
    return p;
  }

  /** Every topic config of a topic with these overrides, in name order, with where each value comes from. */
  effectiveConfigs(overrides: Readonly<Record<string, string>>): EffectiveTopicConfig[] {
    return Object.keys(TOPIC_SETTINGS).sort().map((name) => {
      const own = Object.hasOwn(overrides, name) ? overrides[name] : undefined;
      const synonyms = topicSynonyms(this.config, name, own);
      if (own !== undefined) return { name, value: own, source: KAFKA_CONFIG_SOURCE.DYNAMIC_TOPIC_CONFIG, synonyms };
      const source = topicDefaultSource(this.config, name) === 'broker' ? KAFKA_CONFIG_SOURCE.STATIC_BROKER_CONFIG : KAFKA_CONFIG_SOURCE.DEFAULT_CONFIG;
      return { name, value: topicDefault(this.config, name) ?? '', source, synonyms };
    });
  }

  /** Partitions of all topics (internal logs are not topics), those being created included. */
  partitionTotal(): number {
    let total = this.pendingPartitions;
    for (const t of this.storage.topics()) total += t.partitionCount;
    return total;
  }

  /**
   * Throws TopicError(POLICY_VIOLATION) when `added` more partitions would take the broker past
   * --max-partitions (see the settings table and docs/limits.md).
   */
  checkPartitionBudget(added: number): void {
    const total = this.partitionTotal();
    if (total + added > this.config.maxPartitions) {
      throw new TopicError(ErrorCode.POLICY_VIOLATION,
        `the broker has ${total} partitions; ${added} more would pass its limit of ${this.config.maxPartitions} (max-partitions, --max-partitions)`);
    }
  }

  /**
   * Checks the budget and reserves `added` partitions in one synchronous step, so concurrent
   * creations and growths cannot all pass the check before any of them counts (POLICY_VIOLATION
   * as in checkPartitionBudget). Call the returned function once the partitions are in
   * storage.topics(), or failed.
   */
  reservePartitions(added: number): () => void {
    this.checkPartitionBudget(added);
    this.pendingPartitions += added;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.pendingPartitions -= added;
    };
  }

  /**
   * Every check a creation makes (name, not existing, partition count, configs), without creating:
   * CreateTopics' validateOnly and create() share it. Throws TopicError.
   */
  checkCreate(name: string, partitions: number, configs: Record<string, string>): void {
    const problem = topicNameProblem(name);
    if (problem) throw new TopicError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    const reserved = reservedTopicProblem(name);
    if (reserved) throw new TopicError(reserved.errorCode, reserved.message);
    if (this.storage.topic(name) || this.creating.has(name)) throw new TopicError(ErrorCode.TOPIC_ALREADY_EXISTS, topicExistsMessage(name));
    if (!Number.isInteger(partitions) || partitions <= 0) throw new TopicError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
    if (partitions > MAX_PARTITIONS) throw new TopicError(ErrorCode.INVALID_PARTITIONS, `partition count must be between 1 and ${MAX_PARTITIONS}, not ${partitions}`);
    this.checkConfigs(configs);
    this.checkPartitionBudget(partitions);
  }

  /** Creates a topic after checkCreate(); throws TopicError. */
  async create(name: string, partitions: number, configs: Record<string, string> = {}): Promise<TopicMeta> {
    this.checkCreate(name, partitions, configs);
    if (configs['cleanup.policy']?.includes('compact') && this.storage.kind === 'memory') {
      this.logger.warn(`topic ${name}: cleanup.policy=compact: the memory engine does not compact (nothing it holds outlives the process); the file engine does`);
    }
    // checkCreate checked the budget; reserving now, with no await in between, keeps it exact.
    const release = this.reservePartitions(partitions);
    const pending = this.storage.createTopic(name, partitions, configs);
    this.creating.set(name, pending);
    try {
      const t = await pending;
      this.logger.info(`created topic ${name} with ${partitions} partition(s)`);
      return t;
    } catch (err) {
      // The storage failed part way (EMFILE, a stray folder): it has undone the creation; the
      // request gets KAFKA_STORAGE_ERROR rather than a closed connection.
      this.logger.warn(`creating topic ${name}: ${(err as Error).message}`);
      throw new TopicError(ErrorCode.KAFKA_STORAGE_ERROR, `creating topic ${name} failed: ${(err as Error).message}`);
    } finally {
      release();
      this.creating.delete(name);
    }
  }

  /**
   * Throws TopicError(INVALID_CONFIG) for unknown keys or values the settings table refuses, and for
   * cleanup.policy=compact on an engine that does not compact (never accept a setting we ignore;
   * the memory engine only warns: nothing it holds outlives the process).
   */
  checkConfigs(configs: Record<string, string>): void {
    for (const [key, value] of Object.entries(configs)) {
      const problem = topicConfigProblem(key, value);
      if (problem) throw new TopicError(ErrorCode.INVALID_CONFIG, problem);
    }
    const policy = configs['cleanup.policy'];
    if (policy !== undefined && policy.split(',').some((p) => p.trim() === 'compact') && !this.storage.compacts && this.storage.kind !== 'memory') {
      throw new TopicError(ErrorCode.INVALID_CONFIG,
        `cleanup.policy=${policy} is not supported: the ${this.storage.kind} storage engine does not compact topics (no log cleaner); use cleanup.policy=delete, or the file engine (--data-dir)`);
    }
  }

  /**
   * The topic, auto-creating it when allowed. Returns undefined when it does not exist and may not
   * be created (auto-creation off, a bad name, --max-partitions reached, or the storage failing to
   * create it); concurrent callers for one name share a single creation.
   */
  async ensure(name: string, allowAutoCreate: boolean): Promise<TopicMeta | undefined> {
    const existing = this.storage.topic(name);
    if (existing) return existing;
    const inFlight = this.creating.get(name);
    if (inFlight) return inFlight;
    if (!allowAutoCreate || !this.config.autoCreateTopics || topicNameProblem(name) || reservedTopicProblem(name)) return undefined;
    try {
      return await this.create(name, this.config.defaultPartitions);
    } catch (err) {
      if (err instanceof TopicError && err.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return this.storage.topic(name);
      if (err instanceof TopicError && (err.errorCode === ErrorCode.POLICY_VIOLATION || err.errorCode === ErrorCode.KAFKA_STORAGE_ERROR)) return undefined;
      throw err;
    }
  }
}
