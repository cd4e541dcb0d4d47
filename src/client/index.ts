// Fjord's Kafka client. The surface follows kafkajs so existing programs run with only their
// import changed:
//
//   import { Kafka } from 'fjord';
//   const kafka = new Kafka({ clientId: 'my-app', brokers: ['localhost:9092'] });
//   const producer = kafka.producer();
import type tls from 'node:tls';
import { Admin, type AdminConfig } from './admin.js';
import { Cluster } from './cluster.js';
import { Consumer, type ConsumerConfig } from './consumer/consumer.js';
import type { NetworkEmitter } from './instrumentation.js';
import { createClientLogger, logLevel, type ClientLogger, type LogCreator } from './logger.js';
import { Producer, type ProducerConfig } from './producer.js';
import type { RetryOptions } from './retry.js';
import type { SaslOptions } from './sasl.js';

export interface KafkaConfig {
  brokers: string[] | (() => string[] | Promise<string[]>);
  clientId?: string;
  ssl?: boolean | tls.ConnectionOptions;
  sasl?: SaslOptions;
  /** ms to open a connection. Default 3000. */
  connectionTimeout?: number;
  authenticationTimeout?: number;
  /** ms to wait for a response. Default 30000. */
  requestTimeout?: number;
  enforceRequestTimeout?: boolean;
  retry?: RetryOptions;
  logLevel?: number;
  logCreator?: LogCreator;
}

export class Kafka {
  private readonly log: ClientLogger;
  constructor(private readonly config: KafkaConfig) {
    this.log = createClientLogger(config.logLevel ?? logLevel.INFO, config.logCreator);
  }

  private cluster(namespace: string, overrides: { retry?: RetryOptions; metadataMaxAge?: number } = {}) {
    const c = this.config;
    return (emit: NetworkEmitter) => new Cluster({
      brokers: c.brokers,
      clientId: c.clientId ?? 'fjord',
      ssl: c.ssl,
      sasl: c.sasl,
      connectionTimeout: c.connectionTimeout ?? 3000,
      requestTimeout: c.requestTimeout ?? 30000,
      enforceRequestTimeout: c.enforceRequestTimeout,
      logger: this.log.namespace(namespace),
      emit,
      retry: { ...c.retry, ...overrides.retry },
      metadataMaxAge: overrides.metadataMaxAge,
    });
  }

  producer(config: ProducerConfig = {}): Producer {
    return new Producer(this.cluster('Producer', config), this.log.namespace('Producer'), config);
  }

  consumer(config: ConsumerConfig): Consumer {
    return new Consumer(this.cluster('Consumer', config), this.log.namespace('Consumer'), config);
  }

  admin(config: AdminConfig = {}): Admin {
    return new Admin(this.cluster('Admin', config), this.log.namespace('Admin'), config);
  }

  logger(): ClientLogger {
    return this.log;
  }
}

export { Admin, ResourceTypes, ConfigResourceTypes, ConfigSource } from './admin.js';
export type { AdminConfig } from './admin.js';
export { Consumer } from './consumer/consumer.js';
export type { ConsumerConfig, EachMessagePayload, EachBatchPayload, ConsumerRunConfig, ConsumerSubscribeTopics } from './consumer/consumer.js';
export { PartitionAssigners, AssignerProtocol } from './consumer/assigners.js';
export { Producer, CompressionTypes } from './producer.js';
export type { ProducerConfig, ProducerRecord, ProducerBatch, RecordMetadata, TopicMessages } from './producer.js';
export type { Message, KafkaMessage, IHeaders } from './record-codec.js';
export { Partitioners, murmur2, legacyMurmur2, toPositive, partitionForKey } from './partitioners.js';
export type { Partitioner, PartitionerFactory, PartitionerArgs } from './partitioners.js';
export { logLevel } from './logger.js';
export type { LogCreator, LogEntry } from './logger.js';
export { ProducerEvents, ConsumerEvents, AdminEvents } from './instrumentation.js';
export type { RetryOptions } from './retry.js';
export type { SaslOptions } from './sasl.js';
export {
  FjordError, FjordProtocolError, FjordConnectionError, FjordRequestTimeoutError, FjordNonRetriableError,
  FjordNumberOfRetriesExceeded, FjordAggregateError, FjordTopicMetadataError, FjordNotConnectedError,
  FjordUnsupportedError,
} from './errors.js';
