// Broker configuration: defaults, and the CLI flag / environment variable of each setting.
import type { LogLevel } from './logger.js';

export interface BrokerConfig {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Hosts to listen on. The default listens on both loopbacks (librdkafka resolves localhost to ::1). */
  listenHosts: string[];
  /** Host and port written into Metadata / FindCoordinator; default: the first listen host and the bound port. */
  advertisedHost?: string;
  advertisedPort?: number;
  /** 'memory' or a folder path for the file engine. */
  dataDir: string | 'memory';
  nodeId: number;
  defaultPartitions: number;
  autoCreateTopics: boolean;
  /** 'always' (fsync before acks=-1 answers), 'os', or an interval in ms. */
  flush: 'always' | 'os' | number;
  segmentBytes: number;
  /** socket.request.max.bytes: larger frames close the connection. */
  maxRequestBytes: number;
  /** message.max.bytes: the largest record batch accepted. */
  maxMessageBytes: number;
  /** group.initial.rebalance.delay.ms */
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  /** offsets.retention.minutes: committed offsets of a group that has been Empty this long are deleted. */
  offsetsRetentionMinutes: number;
  /** offsets.retention.check.interval.ms */
  offsetsRetentionCheckIntervalMs: number;
  /** group.consumer.session.timeout.ms (KIP-848 consumer groups). */
  groupConsumerSessionTimeoutMs: number;
  /** group.consumer.heartbeat.interval.ms (KIP-848 consumer groups). */
  groupConsumerHeartbeatIntervalMs: number;
  /** log.retention.check.interval.ms; 0 turns time-based retention off. */
  retentionCheckIntervalMs: number;
  logLevel: LogLevel;
}

export const DEFAULT_CONFIG: BrokerConfig = {
  port: 9092,
  listenHosts: ['127.0.0.1', '::1'],
  dataDir: './data',
  nodeId: 1,
  defaultPartitions: 1,
  autoCreateTopics: true,
  flush: 'always',
  segmentBytes: 1024 * 1024 * 1024,
  maxRequestBytes: 100 * 1024 * 1024,
  maxMessageBytes: 1024 * 1024 + 12,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1800000,
  offsetsRetentionMinutes: 7 * 24 * 60,
  offsetsRetentionCheckIntervalMs: 10 * 60 * 1000,
  groupConsumerSessionTimeoutMs: 45000,
  groupConsumerHeartbeatIntervalMs: 5000,
  retentionCheckIntervalMs: 5 * 60 * 1000,
  logLevel: 'info',
};

/** Parses a --flush value: always | os | <ms>. */
export function parseFlush(value: string): BrokerConfig['flush'] {
  if (value === 'always' || value === 'os') return value;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0) throw new Error(`--flush must be always, os or a positive number of ms, not "${value}"`);
  return ms;
}
