// Errors thrown by Fjord's client. Every error is a FjordError with `retriable` telling whether
// trying again may help. Broker error codes become FjordProtocolError with the Kafka error name in
// `.type` (e.g. 'UNKNOWN_TOPIC_OR_PARTITION') and the number in `.code`.
import { ErrorCode, RETRIABLE_CODES } from '../protocol/generated/errors.js';

const NAME_OF = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** Kafka's error name for a code ('UNKNOWN' for codes this build does not know). */
export function errorName(code: number): string {
  return NAME_OF.get(code) ?? `UNKNOWN_ERROR_${code}`;
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

export interface FjordErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

/** Base class of every error the client throws. */
export class FjordError extends Error {
  override name = 'FjordError';
  readonly retriable: boolean;
  override readonly cause?: unknown;
  constructor(message: string | Error, options: FjordErrorOptions = {}) {
    super(typeof message === 'string' ? message : message.message);
    this.retriable = options.retriable ?? true;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/** A broker answered with a non-zero error code. */
export class FjordProtocolError extends FjordError {
  override name = 'FjordProtocolError';
  readonly type: string;
  readonly code: number;
  constructor(code: number, detail?: string | null) {
    const type = errorName(code);
    const base = DESCRIPTIONS[code] ?? type;
    super(detail ? `${base}: ${detail}` : base, { retriable: RETRIABLE_CODES.has(code) });
    this.type = type;
    this.code = code;
  }
}

/** The socket could not be opened, broke, or was closed. Retriable. */
export class FjordConnectionError extends FjordError {
  override name = 'FjordConnectionError';
  readonly broker?: string;
  readonly code?: string;
  constructor(message: string, options: FjordErrorOptions & { broker?: string; code?: string } = {}) {
    super(message, options);
    this.broker = options.broker;
    this.code = options.code;
  }
}

/** A request got no answer within requestTimeout. Retriable. */
export class FjordRequestTimeoutError extends FjordError {
  override name = 'FjordRequestTimeoutError';
  readonly broker?: string;
  readonly correlationId?: number;
  constructor(message: string, options: { broker?: string; correlationId?: number } = {}) {
    super(message, { retriable: true });
    this.broker = options.broker;
    this.correlationId = options.correlationId;
  }
}

/** An error that trying again will not fix. */
export class FjordNonRetriableError extends FjordError {
  override name = 'FjordNonRetriableError';
  constructor(message: string | Error, options: FjordErrorOptions = {}) {
    super(message, { ...options, retriable: false });
  }
}

/** The retry budget ran out; `cause` is the last error. */
export class FjordNumberOfRetriesExceeded extends FjordNonRetriableError {
  override name = 'FjordNumberOfRetriesExceeded';
  readonly retryCount: number;
  readonly retryTime: number;
  constructor(cause: Error, details: { retryCount: number; retryTime: number }) {
    super(cause.message, { cause });
    this.retryCount = details.retryCount;
    this.retryTime = details.retryTime;
  }
}

/** Several errors at once, e.g. one per topic of a createTopics call. */
export class FjordAggregateError extends FjordError {
  override name = 'FjordAggregateError';
  readonly errors: Error[];
  constructor(message: string, errors: Error[]) {
    super(message, { retriable: errors.every((e) => (e as FjordError).retriable === true) });
    this.errors = errors;
  }
}

/** A topic or partition the cluster does not have (after the retry budget). */
export class FjordTopicMetadataError extends FjordError {
  override name = 'FjordTopicMetadataError';
  readonly topic: string;
  constructor(message: string, topic: string, options: FjordErrorOptions = {}) {
    super(message, options);
    this.topic = topic;
  }
}

/** A call on a client that is not connected, or already disconnected. */
export class FjordNotConnectedError extends FjordNonRetriableError {
  override name = 'FjordNotConnectedError';
}

/** The broker does not offer an API (or any version of it this client speaks). */
export class FjordUnsupportedError extends FjordNonRetriableError {
  override name = 'FjordUnsupportedError';
}

/** Whether trying again may help: FjordErrors say so themselves; programming errors never. */
export function isRetriable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError) return false;
  return (err as FjordError).retriable === true;
}

/** Throws a FjordProtocolError when `code` is not NONE. */
export function check(code: number, detail?: string | null): void {
  if (code !== 0) throw new FjordProtocolError(code, detail);
}
