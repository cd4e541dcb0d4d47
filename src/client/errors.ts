// Errors thrown by Fjord's client. The classes carry kafkajs' names and shapes, so code written
// for kafkajs catches them unchanged (`err instanceof KafkaJSProtocolError`, `err.name ===
// 'KafkaJSNumberOfRetriesExceeded'`); Fjord's own earlier names (FjordError, FjordProtocolError, ...)
// are the same classes under a second name. Every error is a KafkaJSError with `retriable` telling
// whether trying again may help. Broker error codes become KafkaJSProtocolError with the Kafka error
// name in `.type` (e.g. 'UNKNOWN_TOPIC_OR_PARTITION') and the number in `.code`.
import { ErrorCode, RETRIABLE_CODES } from '../protocol/generated/errors.js';

const NAME_OF = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** Kafka's error name for a code ('UNKNOWN' for codes this build does not know). */
export function errorName(code: number): string {
  return NAME_OF.get(code) ?? `UNKNOWN_ERROR_${code}`;
}

/**
 * The `type` kafkajs gives a protocol error: Kafka's name, except five codes kafkajs still calls by
 * their older names (programs compare `e.type` with these strings).
 */
const KAFKAJS_TYPE: Readonly<Record<number, string>> = {
  [-1]: 'UNKNOWN',
  6: 'NOT_LEADER_FOR_PARTITION',
  14: 'GROUP_LOAD_IN_PROGRESS',
  15: 'GROUP_COORDINATOR_NOT_AVAILABLE',
  16: 'NOT_COORDINATOR_FOR_GROUP',
};

/** kafkajs' `type` of an error code. */
export function errorType(code: number): string {
  return KAFKAJS_TYPE[code] ?? errorName(code);
}

/** Short explanations of the errors people meet most; the rest show their Kafka name. */
const DESCRIPTIONS: Record<number, string> = {
  [-1]: 'The broker hit an unexpected error',
  1: 'The requested offset is outside the range of offsets the partition holds',
  2: 'The message failed its CRC check or is otherwise corrupt',
  3: 'This server does not host this topic-partition',
  5: 'There is no leader for this topic-partition right now (it may be being created)',
  6: 'This broker is not the leader of that partition',
  7: 'The request timed out on the broker',
  10: 'The message is larger than the broker accepts',
  14: 'The coordinator is loading and cannot answer yet',
  15: 'The coordinator is not available',
  16: 'This broker is not the coordinator',
  17: 'The topic name is not valid',
  22: 'The group generation is stale: the group rebalanced',
  25: 'The coordinator does not know this member id',
  26: 'The session timeout is outside the range the broker allows',
  27: 'The group is rebalancing, so the member must rejoin',
  35: 'The broker does not support this version of the request',
  36: 'The topic already exists',
  37: 'The number of partitions is not valid',
  38: 'The replication factor is not valid',
  40: 'The configuration is not valid',
  42: 'The request is not valid',
  45: 'The broker received an out of order sequence number',
  47: 'The producer was fenced by a newer instance with the same id',
  59: 'The broker does not know this producer id',
  68: 'The group still has members',
  69: 'The group does not exist',
  76: 'The compression codec is not supported',
  79: 'The group requires a member id to join',
  87: 'The record was rejected by the broker',
};

export interface KafkaJSErrorOptions {
  retriable?: boolean;
  cause?: Error;
}

/** Base class of every error the client throws. */
export class KafkaJSError extends Error {
  override name = 'KafkaJSError';
  readonly retriable: boolean;
  readonly helpUrl?: string;
  override readonly cause?: Error;
  constructor(e: Error | string, options: KafkaJSErrorOptions = {}) {
    super(typeof e === 'string' ? e : e.message);
    this.retriable = options.retriable ?? true;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/** An error that trying again will not fix. */
export class KafkaJSNonRetriableError extends KafkaJSError {
  override name = 'KafkaJSNonRetriableError';
  constructor(e: Error | string, options: Omit<KafkaJSErrorOptions, 'retriable'> = {}) {
    super(e, { ...options, retriable: false });
  }
}

/**
 * A broker answered with a non-zero error code: `new KafkaJSProtocolError(code, detail?)`. kafkajs
 * code that builds one from a message (or from an error with `type`/`code`) works too.
 */
export class KafkaJSProtocolError extends KafkaJSError {
  override name = 'KafkaJSProtocolError';
  readonly type: string;
  readonly code: number;
  constructor(error: number | Error | string, detail?: string | null) {
    const given = typeof error === 'object' ? (error as Error & { code?: unknown; type?: unknown; retriable?: unknown }) : null;
    const code = typeof error === 'number' ? error : typeof given?.code === 'number' ? given.code : -1;
    const base = typeof error === 'number' ? DESCRIPTIONS[code] ?? errorName(code) : typeof error === 'string' ? error : error.message;
    // As in kafkajs: a code decides; an error object without one keeps its own flag; else retriable.
    const retriable = typeof error === 'number' || typeof given?.code === 'number' ? RETRIABLE_CODES.has(code)
      : typeof given?.retriable === 'boolean' ? given.retriable : true;
    super(detail ? `${base}: ${detail}` : base, { retriable });
    this.type = typeof given?.type === 'string' ? given.type : errorType(code);
    this.code = code;
  }
}

export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  override name = 'KafkaJSOffsetOutOfRange';
  readonly topic: string;
  readonly partition: number;
  constructor(e: number | Error | string, metadata: { topic: string; partition: number }) {
    super(e);
    this.topic = metadata.topic;
    this.partition = metadata.partition;
  }
}

export class KafkaJSMemberIdRequired extends KafkaJSProtocolError {
  override name = 'KafkaJSMemberIdRequired';
  readonly memberId: string;
  constructor(e: number | Error | string, metadata: { memberId: string }) {
    super(e);
    this.memberId = metadata.memberId;
  }
}

export class KafkaJSCreateTopicError extends KafkaJSProtocolError {
  override name = 'KafkaJSCreateTopicError';
  readonly topic: string;
  constructor(e: number | Error | string, topic: string) {
    super(e);
    this.topic = topic;
  }
}

export class KafkaJSAlterPartitionReassignmentsError extends KafkaJSProtocolError {
  override name = 'KafkaJSAlterPartitionReassignmentsError';
  readonly topic?: string;
  readonly partition?: number;
  constructor(e: number | Error | string, topic?: string, partition?: number) {
    super(e);
    this.topic = topic;
    this.partition = partition;
  }
}

/** The retry budget ran out; `cause` is the last error. */
export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNumberOfRetriesExceeded';
  readonly retryCount: number;
  readonly retryTime: number;
  constructor(e: Error | string, metadata: { retryCount: number; retryTime: number } = { retryCount: 0, retryTime: 0 }) {
    super(e, typeof e === 'string' ? {} : { cause: e });
    this.retryCount = metadata.retryCount;
    this.retryTime = metadata.retryTime;
  }
}

/** The socket could not be opened, broke, or was closed. Retriable unless said otherwise. */
export class KafkaJSConnectionError extends KafkaJSError {
  override name = 'KafkaJSConnectionError';
  readonly broker?: string;
  readonly code?: string;
  constructor(e: Error | string, options: KafkaJSErrorOptions & { broker?: string; code?: string } = {}) {
    super(e, options);
    this.broker = options.broker;
    this.code = options.code;
  }
}

export class KafkaJSConnectionClosedError extends KafkaJSConnectionError {
  override name = 'KafkaJSConnectionClosedError';
  readonly host?: string;
  readonly port?: number;
  constructor(e: Error | string, metadata: { host?: string; port?: number } = {}) {
    super(e, { broker: `${metadata.host}:${metadata.port}` });
    this.host = metadata.host;
    this.port = metadata.port;
  }
}

/** A request got no answer within requestTimeout. Retriable. */
export class KafkaJSRequestTimeoutError extends KafkaJSError {
  override name = 'KafkaJSRequestTimeoutError';
  readonly broker?: string;
  readonly correlationId?: number;
  readonly createdAt?: number;
  readonly sentAt?: number;
  readonly pendingDuration?: number;
  constructor(e: Error | string, metadata: { broker?: string; clientId?: string; correlationId?: number; createdAt?: number; sentAt?: number; pendingDuration?: number } = {}) {
    super(e, { retriable: true });
    this.broker = metadata.broker;
    this.correlationId = metadata.correlationId;
    this.createdAt = metadata.createdAt;
    this.sentAt = metadata.sentAt;
    this.pendingDuration = metadata.pendingDuration;
  }
}

export class KafkaJSMetadataNotLoaded extends KafkaJSError {
  override name = 'KafkaJSMetadataNotLoaded';
}

/** A topic the cluster has no (usable) metadata for. */
export class KafkaJSTopicMetadataNotLoaded extends KafkaJSMetadataNotLoaded {
  override name = 'KafkaJSTopicMetadataNotLoaded';
  readonly topic: string;
  constructor(e: Error | string, metadata: KafkaJSErrorOptions & { topic: string }) {
    super(e, metadata);
    this.topic = metadata.topic;
  }
}

export class KafkaJSStaleTopicMetadataAssignment extends KafkaJSError {
  override name = 'KafkaJSStaleTopicMetadataAssignment';
  readonly topic?: string;
  readonly unknownPartitions?: unknown[];
  constructor(e: Error | string, metadata: { topic?: string; unknownPartitions?: unknown[] } = {}) {
    super(e);
    this.topic = metadata.topic;
    this.unknownPartitions = metadata.unknownPartitions;
  }
}

/** The broker does not offer an API (or any version of it this client speaks). */
export class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {
  override name = 'KafkaJSServerDoesNotSupportApiKey';
  readonly apiKey?: number;
  readonly apiName?: string;
  constructor(e: Error | string, metadata: { apiKey?: number; apiName?: string } = {}) {
    super(e);
    this.apiKey = metadata.apiKey;
    this.apiName = metadata.apiName;
  }
}

export class KafkaJSBrokerNotFound extends KafkaJSError {
  override name = 'KafkaJSBrokerNotFound';
}

export class KafkaJSNoBrokerAvailableError extends KafkaJSError {
  override name = 'KafkaJSNoBrokerAvailableError';
  constructor() {
    super('No broker available');
  }
}

export class KafkaJSPartialMessageError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSPartialMessageError';
}

/** The broker refused the SASL mechanism or the credentials. */
export class KafkaJSSASLAuthenticationError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSSASLAuthenticationError';
}

export class KafkaJSGroupCoordinatorNotFound extends KafkaJSNonRetriableError {
  override name = 'KafkaJSGroupCoordinatorNotFound';
}

export class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNotImplemented';
}

export class KafkaJSTimeout extends KafkaJSNonRetriableError {
  override name = 'KafkaJSTimeout';
}

export class KafkaJSLockTimeout extends KafkaJSTimeout {
  override name = 'KafkaJSLockTimeout';
}

export class KafkaJSUnsupportedMagicByteInMessageSet extends KafkaJSNonRetriableError {
  override name = 'KafkaJSUnsupportedMagicByteInMessageSet';
}

export class KafkaJSInvariantViolation extends KafkaJSNonRetriableError {
  override name = 'KafkaJSInvariantViolation';
}

export class KafkaJSInvalidVarIntError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSInvalidVarIntError';
}

export class KafkaJSInvalidLongError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSInvalidLongError';
}

/** A fetch abandoned because the group rebalanced. */
export class KafkaJSFetcherRebalanceError extends KafkaJSError {
  override name = 'KafkaJSFetcherRebalanceError';
}

/** Several errors at once, e.g. one per topic of a createTopics call. Retriable if all are. */
export class KafkaJSAggregateError extends KafkaJSError {
  override name = 'KafkaJSAggregateError';
  readonly errors: Error[];
  constructor(message: Error | string, errors: Error[]) {
    super(message, { retriable: errors.every((e) => (e as Partial<KafkaJSError>).retriable === true) });
    this.errors = errors;
  }
}

export interface DeleteGroupsResult {
  groupId: string;
  errorCode: number;
  error?: Error;
}

/** admin.deleteGroups() failed for some groups; `groups` has the result of each (`errors` the failures). */
export class KafkaJSDeleteGroupsError extends KafkaJSAggregateError {
  override name = 'KafkaJSDeleteGroupsError';
  readonly groups: DeleteGroupsResult[];
  constructor(e: Error | string, groups: DeleteGroupsResult[] = []) {
    super(e, groups.flatMap((g) => (g.error ? [g.error] : [])));
    this.groups = groups;
  }
}

export interface DeleteTopicRecordsPartitionResult {
  partition: number;
  offset: string;
  error?: Error | null;
}

/** admin.deleteTopicRecords() failed for some partitions. Retriable if every failure is. */
export class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  override name = 'KafkaJSDeleteTopicRecordsError';
  readonly topic: string;
  readonly partitions: DeleteTopicRecordsPartitionResult[];
  constructor(metadata: { topic: string; partitions: DeleteTopicRecordsPartitionResult[] }) {
    const failed = metadata.partitions.flatMap((p) => (p.error ? [p.error] : []));
    super('Error while deleting records', { retriable: failed.every((e) => (e as Partial<KafkaJSError>).retriable === true) });
    this.topic = metadata.topic;
    this.partitions = metadata.partitions;
  }
}

// --- Fjord-only errors --------------------------------------------------------------------------

/** A topic or partition the cluster does not have (after the retry budget). */
export class FjordTopicMetadataError extends KafkaJSTopicMetadataNotLoaded {
  constructor(message: string, topic: string, options: KafkaJSErrorOptions = {}) {
    super(message, { ...options, topic });
  }
}

/** A call on a client that is not connected, or already disconnected. */
export class FjordNotConnectedError extends KafkaJSNonRetriableError {
  override name = 'FjordNotConnectedError';
}

// Fjord's first names for these classes: the same classes, so either name catches them.
export {
  KafkaJSError as FjordError,
  KafkaJSNonRetriableError as FjordNonRetriableError,
  KafkaJSProtocolError as FjordProtocolError,
  KafkaJSConnectionError as FjordConnectionError,
  KafkaJSRequestTimeoutError as FjordRequestTimeoutError,
  KafkaJSNumberOfRetriesExceeded as FjordNumberOfRetriesExceeded,
  KafkaJSAggregateError as FjordAggregateError,
  KafkaJSServerDoesNotSupportApiKey as FjordUnsupportedError,
};
export type FjordErrorOptions = KafkaJSErrorOptions;

/** kafkajs' test for errors that mean "the group is rebalancing: join again". */
export function isRebalancing(e: { type?: string }): boolean {
  return e.type === 'REBALANCE_IN_PROGRESS' || e.type === 'NOT_COORDINATOR_FOR_GROUP' || e.type === 'ILLEGAL_GENERATION';
}

export function isKafkaJSError(e: unknown): e is KafkaJSError {
  return e instanceof KafkaJSError;
}

/** Whether trying again may help: FjordErrors say so themselves; programming errors never. */
export function isRetriable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) return false;
  return (err as Partial<KafkaJSError>).retriable === true;
}

/** Throws a KafkaJSProtocolError when `code` is not NONE. */
export function check(code: number, detail?: string | null): void {
  if (code !== 0) throw new KafkaJSProtocolError(code, detail);
}
