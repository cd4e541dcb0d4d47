// The consumer's public shapes (kafkajs' names): its config, run config and the payloads its
// handlers receive. In their own file so the consumer's parts (workers, offset commits) can use
// them without importing consumer.ts, which imports those parts.
import type { KafkaMessage } from '../record-codec.js';
import type { RetryOptions } from '../retry.js';
import type { PartitionAssigner } from './assigners.js';

export interface ConsumerConfig {
  /** The group to join. Without one (a Fjord extension) the consumer reads partitions given to assign(). */
  groupId?: string;
  partitionAssigners?: PartitionAssigner[];
  metadataMaxAge?: number;
  sessionTimeout?: number;
  rebalanceTimeout?: number;
  heartbeatInterval?: number;
  maxBytesPerPartition?: number;
  minBytes?: number;
  maxBytes?: number;
  maxWaitTimeInMs?: number;
  retry?: RetryOptions;
  allowAutoTopicCreation?: boolean;
  maxInFlightRequests?: number;
  readUncommitted?: boolean;
  rackId?: string;
  /** Static membership (KIP-345): a stable id for this consumer instance. */
  groupInstanceId?: string;
  /**
   * 'classic' (default): JoinGroup/SyncGroup with client-side assigners. 'consumer': the KIP-848
   * protocol, where the broker assigns and members never stop together (the broker must offer it).
   */
  groupProtocol?: 'classic' | 'consumer';
  /** With groupProtocol 'consumer': the broker-side assignor to use ('uniform', 'range'; default the broker's). */
  groupRemoteAssignor?: string;
}

export interface ConsumerSubscribeTopics {
  topics?: (string | RegExp)[];
  topic?: string | RegExp;
  fromBeginning?: boolean;
}

export interface Batch {
  topic: string;
  partition: number;
  highWatermark: string;
  messages: KafkaMessage[];
  isEmpty(): boolean;
  firstOffset(): string | null;
  lastOffset(): string;
  offsetLag(): string;
  offsetLagLow(): string;
}

export interface EachMessagePayload {
  topic: string;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
  pause(): () => void;
}

export interface EachBatchPayload {
  batch: Batch;
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  pause(): () => void;
  commitOffsetsIfNecessary(offsets?: { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
  uncommittedOffsets(): { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] };
  isRunning(): boolean;
  isStale(): boolean;
}

export interface ConsumerRunConfig {
  autoCommit?: boolean;
  autoCommitInterval?: number | null;
  autoCommitThreshold?: number | null;
  eachBatchAutoResolve?: boolean;
  partitionsConsumedConcurrently?: number;
  eachBatch?: (payload: EachBatchPayload) => Promise<void>;
  eachMessage?: (payload: EachMessagePayload) => Promise<void>;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

/** run()'s configuration with its defaults filled in. */
export type RunSettings = Required<Omit<ConsumerRunConfig, 'eachBatch' | 'eachMessage'>> & Pick<ConsumerRunConfig, 'eachBatch' | 'eachMessage'>;
