// Fjord's Kafka client. The surface follows kafkajs so existing programs run with only their
// import changed:
//
//   import { Kafka } from 'fjord';
//   const kafka = new Kafka({ clientId: 'my-app', brokers: ['localhost:9092'] });
//   const producer = kafka.producer();
import type tls from 'node:tls';
import { Admin } from './admin.js';
import type { AdminConfig, ConfigEntry, GroupDescription, ITopicConfig } from './admin-types.js';
import type { Assigner } from './consumer/assigners.js';
import type {
  DeleteGroupsResult, DeleteTopicRecordsPartitionResult, KafkaJSConnectionError, KafkaJSDeleteTopicRecordsError, KafkaJSErrorOptions,
  KafkaJSNumberOfRetriesExceeded, KafkaJSOffsetOutOfRange, KafkaJSRequestTimeoutError, KafkaJSServerDoesNotSupportApiKey,
  KafkaJSStaleTopicMetadataAssignment, KafkaJSTopicMetadataNotLoaded,
} from './errors.js';
import { Cluster } from './cluster.js';
import { Consumer, type ConsumerConfig, type ConsumerRunConfig, type EachBatchPayload, type EachMessagePayload, type ConsumerSubscribeTopics } from './consumer/consumer.js';
import type { NetworkEmitter } from './instrumentation.js';
import { createClientLogger, logLevel, type ClientLogger, type LogCreator } from './logger.js';
import { Producer, type ProducerConfig } from './producer.js';
import type { RetryOptions } from './retry.js';
import type { SaslOptions } from './sasl.js';
import { ShareConsumer, type ShareConsumerConfig } from './share-consumer.js';

export type BrokersFunction = () => string[] | Promise<string[]>;

export interface KafkaConfig {
  brokers: string[] | BrokersFunction;
  clientId?: string;
  ssl?: boolean | tls.ConnectionOptions;
  sasl?: SaslOptions;
  /** ms to open a connection. Default 3000. */
  connectionTimeout?: number;
  /** ms each SASL request may take. Default 10000. */
  authenticationTimeout?: number;
  /** ms to wait for a response. Default 30000. */
  requestTimeout?: number;
  enforceRequestTimeout?: boolean;
  retry?: RetryOptions;
  logLevel?: logLevel;
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
      authenticationTimeout: c.authenticationTimeout,
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

  /** A share-group consumer (KIP-932; not in kafkajs): see share-consumer.ts and docs/share-groups.md. */
  shareConsumer(config: ShareConsumerConfig): ShareConsumer {
    return new ShareConsumer(this.cluster('ShareConsumer'), this.log.namespace('ShareConsumer'), config);
  }

  logger(): ClientLogger {
    return this.log;
  }
}

// --- the names kafkajs exports, with kafkajs' shapes (an `import ... from 'kafkajs'` switches by
// changing only the module name) -----------------------------------------------------------------

export { Admin } from './admin.js';
export { ShareConsumer } from './share-consumer.js';
export type { ShareAcknowledgeType, ShareConsumerConfig, ShareEachMessagePayload, ShareMessage, ShareRunConfig } from './share-consumer.js';
export type { AdminConfig, ITopicConfig, GroupDescription, SeekEntry, PartitionOffset, ConfigEntry, ScramMechanismName, UserScramCredentials, AclBinding, AclFilter } from './admin-types.js';
export {
  AclOperationTypes, AclPermissionTypes, AclResourceTypes, AdminEvents, CompressionCodecs, CompressionTypes,
  ConfigResourceTypes, ConfigSource, ConsumerEvents, ProducerEvents, ResourcePatternTypes, ResourceTypes,
} from './kafkajs-names.js';
export type {
  CompressionCodec, CompressionCodecFactory, ConnectEvent, ConsumerCommitOffsetsEvent, ConsumerCrashEvent,
  ConsumerEndBatchProcessEvent, ConsumerFetchEvent, ConsumerFetchStartEvent, ConsumerGroupJoinEvent, ConsumerHeartbeatEvent,
  ConsumerRebalancingEvent, ConsumerReceivedUnsubcribedTopicsEvent, ConsumerStartBatchProcessEvent, DisconnectEvent,
  IMemberAssignment, RemoveInstrumentationEventListener, RequestEvent, RequestQueueSizeEvent, RequestTimeoutEvent,
} from './kafkajs-names.js';
export type { InstrumentationEvent } from './instrumentation.js';
export { Consumer } from './consumer/consumer.js';
export type {
  Batch, ConsumerConfig, EachMessagePayload, EachBatchPayload, ConsumerRunConfig, ConsumerSubscribeTopics, TopicPartitionOffset,
} from './consumer/consumer.js';
export { PartitionAssigners } from './consumer/assigners.js';
export type { Assigner, AssignerCluster as Cluster, GroupMember, GroupMemberAssignment, PartitionAssigner } from './consumer/assigners.js';
export { AssignerProtocol } from './kafkajs-names.js';
export type { ISerializer, MemberAssignment, MemberMetadata } from './kafkajs-names.js';
export { Producer } from './producer.js';
export type { ProducerConfig, ProducerRecord, ProducerBatch, RecordMetadata, TopicMessages } from './producer.js';
export type { Transaction } from './producer.js';
export type { TransactionOffsets } from './transaction.js';
export type { Message, KafkaMessage, IHeaders } from './record-codec.js';
export { Partitioners, murmur2, legacyMurmur2, toPositive, partitionForKey } from './partitioners.js';
export type {
  Partitioner, PartitionerFactory, PartitionerArgs, PartitionerFactory as ICustomPartitioner,
  PartitionerFactory as DefaultPartitioner, PartitionerFactory as LegacyPartitioner,
} from './partitioners.js';
export { logLevel } from './logger.js';
export type { LogCreator, logCreator, LogEntry, LoggerEntryContent, ClientLogger } from './logger.js';
export type { RetryOptions } from './retry.js';
export type { SaslOptions, SaslOptions as SASLOptions, OauthbearerToken, OauthbearerToken as OauthbearerProviderResponse } from './sasl.js';
export type SASLMechanism = SaslOptions['mechanism'];

type ConfigsOf<T extends 'describeConfigs' | 'alterConfigs'> = Parameters<Admin[T]>[0]['resources'][number];
export type ResourceConfigQuery = ConfigsOf<'describeConfigs'>;
export type IResourceConfig = ConfigsOf<'alterConfigs'>;
export type IResourceConfigEntry = IResourceConfig['configEntries'][number];
export type DescribeConfigResponse = Awaited<ReturnType<Admin['describeConfigs']>>;
export type ConfigEntries = ConfigEntry;
export type ConfigSynonyms = ConfigEntry['configSynonyms'][number];
export type GroupDescriptions = Awaited<ReturnType<Admin['describeGroups']>>;
export type GroupOverview = Awaited<ReturnType<Admin['listGroups']>>['groups'][number];
export type EachMessageHandler = NonNullable<ConsumerRunConfig['eachMessage']>;
export type EachBatchHandler = NonNullable<ConsumerRunConfig['eachBatch']>;
export type ConsumerEachMessagePayload = EachMessagePayload;
export type ConsumerEachBatchPayload = EachBatchPayload;
export type ConsumerSubscribeTopic = ConsumerSubscribeTopics;
export type Logger = ClientLogger;
export type ConsumerGroupState = 'Unknown' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead' | 'Empty';
export type MemberDescription = GroupDescription['members'][number];
export type Assignment = { [topic: string]: number[] };
export type GroupState = ReturnType<Assigner['protocol']>;
export type ITopicPartitionConfig = Parameters<Admin['createPartitions']>[0]['topicPartitions'][number];
export type ITopicMetadata = Awaited<ReturnType<Admin['fetchTopicMetadata']>>['topics'][number];
export type PartitionMetadata = ITopicMetadata['partitions'][number];
export type ReplicaAssignment = NonNullable<ITopicConfig['replicaAssignment']>[number];
export type FetchOffsetsPartition = Awaited<ReturnType<Admin['fetchOffsets']>>[number]['partitions'][number];
export type OffsetsByTopicPartition = ReturnType<EachBatchPayload['uncommittedOffsets']>;
export type Offsets = OffsetsByTopicPartition;
export type TopicOffsets = Offsets['topics'][number];
export type TopicPartition = { topic: string; partition: number };
export type TopicPartitions = ReturnType<Consumer['paused']>[number];
export type TopicPartitionOffsetAndMetadata = Parameters<Consumer['commitOffsets']>[0][number];
// The metadata arguments of the error classes, by kafkajs' names.
export type KafkaJSErrorMetadata = KafkaJSErrorOptions;
export type KafkaJSOffsetOutOfRangeMetadata = ConstructorParameters<typeof KafkaJSOffsetOutOfRange>[1];
export type KafkaJSNumberOfRetriesExceededMetadata = NonNullable<ConstructorParameters<typeof KafkaJSNumberOfRetriesExceeded>[1]>;
export type KafkaJSConnectionErrorMetadata = NonNullable<ConstructorParameters<typeof KafkaJSConnectionError>[1]>;
export type KafkaJSRequestTimeoutErrorMetadata = NonNullable<ConstructorParameters<typeof KafkaJSRequestTimeoutError>[1]>;
export type KafkaJSTopicMetadataNotLoadedMetadata = ConstructorParameters<typeof KafkaJSTopicMetadataNotLoaded>[1];
export type KafkaJSStaleTopicMetadataAssignmentMetadata = NonNullable<ConstructorParameters<typeof KafkaJSStaleTopicMetadataAssignment>[1]>;
export type KafkaJSServerDoesNotSupportApiKeyMetadata = NonNullable<ConstructorParameters<typeof KafkaJSServerDoesNotSupportApiKey>[1]>;
export type KafkaJSDeleteGroupsErrorGroups = DeleteGroupsResult;
export type KafkaJSDeleteTopicRecordsErrorTopic = ConstructorParameters<typeof KafkaJSDeleteTopicRecordsError>[0];
export type KafkaJSDeleteTopicRecordsErrorPartition = DeleteTopicRecordsPartitionResult;
export {
  KafkaJSError, KafkaJSNonRetriableError, KafkaJSProtocolError, KafkaJSOffsetOutOfRange, KafkaJSMemberIdRequired,
  KafkaJSCreateTopicError, KafkaJSAlterPartitionReassignmentsError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError,
  KafkaJSConnectionClosedError, KafkaJSRequestTimeoutError, KafkaJSMetadataNotLoaded, KafkaJSTopicMetadataNotLoaded,
  KafkaJSStaleTopicMetadataAssignment, KafkaJSServerDoesNotSupportApiKey, KafkaJSBrokerNotFound, KafkaJSNoBrokerAvailableError,
  KafkaJSPartialMessageError, KafkaJSSASLAuthenticationError, KafkaJSGroupCoordinatorNotFound, KafkaJSNotImplemented,
  KafkaJSTimeout, KafkaJSLockTimeout, KafkaJSUnsupportedMagicByteInMessageSet, KafkaJSInvariantViolation,
  KafkaJSInvalidVarIntError, KafkaJSInvalidLongError, KafkaJSFetcherRebalanceError, KafkaJSAggregateError,
  KafkaJSDeleteGroupsError, KafkaJSDeleteTopicRecordsError, isRebalancing, isKafkaJSError,
  // Fjord's names (the same classes, except the two Fjord-only ones)
  FjordError, FjordProtocolError, FjordConnectionError, FjordRequestTimeoutError, FjordNonRetriableError,
  FjordNumberOfRetriesExceeded, FjordAggregateError, FjordTopicMetadataError, FjordNotConnectedError,
  FjordUnsupportedError,
} from './errors.js';
export type { DeleteGroupsResult, DeleteTopicRecordsPartitionResult, KafkaJSErrorOptions } from './errors.js';
