// Transactions for Fjord's producer, in kafkajs' shape: `const txn = await producer.transaction()`,
// then txn.send / sendBatch / sendOffsets and txn.commit() or txn.abort().
//
// As in kafkajs, the transactional work runs on a second, transactional producer owned by the one the
// user made (same config); the user's producer keeps sending plain idempotent messages outside
// transactions. The transactional producer:
// - gets its producer id from InitProducerId with the transactional.id, at the transaction
//   coordinator (FindCoordinator key type 1); that also fences any older producer of the id;
// - adds each partition to the transaction (AddPartitionsToTxn) before its first batch goes out;
// - marks its batches transactional and names the transactional.id in Produce;
// - sends offsets with AddOffsetsToTxn to the transaction coordinator, then TxnOffsetCommit to
//   the group's coordinator;
// - ends with EndTxn once every send of the transaction is acknowledged. A send that failed makes
//   commit() fail; the caller then aborts (Kafka's "abortable error"). Fencing is final.
import { ApiKey } from '../protocol/apis.js';
import { ErrorCode } from '../protocol/generated/errors.js';
import type { ApiKeyNumber, RequestOf, ResponseOf } from '../protocol/generated/types.js';
import type { Cluster } from './cluster.js';
import { FjordNonRetriableError, FjordProtocolError } from './errors.js';
import type { ClientLogger } from './logger.js';

const TRANSACTION_KEY = 1;

/** Offsets a consume-transform-produce loop commits inside its transaction. */
export interface TransactionOffsets {
  consumerGroupId: string;
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}

/** Codes after which this producer can never be used again: a newer producer took over the id. */
const FENCING_CODES = new Set<number>([ErrorCode.PRODUCER_FENCED, ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
/** Codes after which the coordinator must be looked up again. */
const MOVED_CODES = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE]);

/** The producer id and epoch a transactional producer writes with. */
export interface ProducerIdentity {
  producerId: number;
  producerEpoch: number;
}

/**
 * The client side of one transactional.id: requests to its transaction coordinator, and which
 * partitions and groups the current transaction has touched.
 */
export class TransactionCoordinatorLink {
  /** Partitions added to the current transaction ("topic\0partition"). */
  private readonly added = new Set<string>();
  /** Pending AddPartitionsToTxn calls by partition, so concurrent sends add a partition once. */
  private readonly adding = new Map<string, Promise<void>>();
  private offsetsAdded = false;
  /** Set when the producer was fenced: every later call fails with it. */
  fatal: Error | null = null;

  constructor(private readonly cluster: Cluster, readonly transactionalId: string, private readonly log: ClientLogger) {}

  /** Sends one request to the transaction coordinator, retrying while it moves or is busy. */
  async call<K extends ApiKeyNumber>(apiKey: K, body: RequestOf<K>, errorOf: (res: ResponseOf<K>) => number, what: string): Promise<ResponseOf<K>> {
    if (this.fatal) throw this.fatal;
    return this.cluster.retrier.run(async () => {
      const node = await this.cluster.findCoordinator(this.transactionalId, TRANSACTION_KEY);
      const res = await this.cluster.request(node, apiKey, body);
      const code = errorOf(res);
      if (code === ErrorCode.NONE) return res;
      if (MOVED_CODES.has(code)) this.cluster.forgetCoordinator(this.transactionalId, TRANSACTION_KEY);
      throw this.failure(code, what);
    });
  }

  /** The error for `code`; a fencing code also marks this producer as finished. */
  failure(code: number, what: string): Error {
    const err = new FjordProtocolError(code, `${what} (transactional id "${this.transactionalId}")`);
    if (FENCING_CODES.has(code)) {
      this.fatal = err;
      this.log.error(`producer with transactional id "${this.transactionalId}" was fenced: ${err.message}`);
    }
    return err;
  }

  async initProducerId(transactionTimeoutMs: number, current: ProducerIdentity): Promise<ProducerIdentity> {
    const res = await this.call(ApiKey.InitProducerId, {
      transactionalId: this.transactionalId, transactionTimeoutMs,
      producerId: current.producerId, producerEpoch: current.producerEpoch,
    }, (r) => r.errorCode, 'InitProducerId');
    return { producerId: res.producerId, producerEpoch: res.producerEpoch };
  }

  begin(): void {
    this.added.clear();
    this.adding.clear();
    this.offsetsAdded = false;
  }

  /** Whether anything was added, so that EndTxn has something to end. */
  touched(): boolean {
    return this.added.size > 0 || this.offsetsAdded;
  }

  /** Adds the partitions not yet in the transaction (one request for all of them). */
  async addPartitions(id: ProducerIdentity, partitions: { topic: string; partition: number }[]): Promise<void> {
    const waits: Promise<void>[] = [];
    const fresh = new Map<string, number[]>();
    const keys: string[] = [];
    for (const { topic, partition } of partitions) {
      const key = `${topic}\u0000${partition}`;
      if (this.added.has(key)) continue;
      const pending = this.adding.get(key);
      if (pending) { waits.push(pending); continue; }
      let list = fresh.get(topic);
      if (!list) fresh.set(topic, (list = []));
      if (!list.includes(partition)) { list.push(partition); keys.push(key); }
    }
    if (fresh.size > 0) {
      const request = this.call(ApiKey.AddPartitionsToTxn, {
        v3AndBelowTransactionalId: this.transactionalId, v3AndBelowProducerId: id.producerId, v3AndBelowProducerEpoch: id.producerEpoch,
        v3AndBelowTopics: [...fresh].map(([name, parts]) => ({ name, partitions: parts })),
      }, (r) => firstPartitionError(r.resultsByTopicV3AndBelow ?? []), 'AddPartitionsToTxn').then(() => {
        for (const k of keys) this.added.add(k);
      });
      const settled = request.finally(() => { for (const k of keys) this.adding.delete(k); });
      for (const k of keys) this.adding.set(k, settled);
      waits.push(settled);
    }
    await Promise.all(waits);
  }

  async sendOffsets(id: ProducerIdentity, offsets: TransactionOffsets): Promise<void> {
    const { consumerGroupId, topics } = offsets;
    if (typeof consumerGroupId !== 'string' || consumerGroupId === '') throw new FjordNonRetriableError('sendOffsets needs a consumerGroupId');
    if (!Array.isArray(topics)) throw new FjordNonRetriableError('sendOffsets needs topics: [{ topic, partitions: [{ partition, offset }] }]');
    await this.call(ApiKey.AddOffsetsToTxn, {
      transactionalId: this.transactionalId, producerId: id.producerId, producerEpoch: id.producerEpoch, groupId: consumerGroupId,
    }, (r) => r.errorCode, 'AddOffsetsToTxn');
    this.offsetsAdded = true;
    await this.cluster.retrier.run(async () => {
      if (this.fatal) throw this.fatal;
      const node = await this.cluster.findCoordinator(consumerGroupId);
      const res = await this.cluster.request(node, ApiKey.TxnOffsetCommit, {
        transactionalId: this.transactionalId, groupId: consumerGroupId, producerId: id.producerId, producerEpoch: id.producerEpoch,
        generationId: -1, memberId: '', groupInstanceId: null,
        topics: topics.map((t) => ({
          name: t.topic,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, committedOffset: Number(p.offset), committedLeaderEpoch: -1, committedMetadata: null })),
        })),
      });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === ErrorCode.NONE) continue;
          if (MOVED_CODES.has(p.errorCode)) this.cluster.forgetCoordinator(consumerGroupId);
          throw this.failure(p.errorCode, `TxnOffsetCommit ${t.name}/${p.partitionIndex} for group "${consumerGroupId}"`);
        }
      }
    });
  }

  async end(id: ProducerIdentity, committed: boolean): Promise<void> {
    if (!this.touched()) {
      this.log.debug('nothing was added to the transaction: no EndTxn sent');
      return;
    }
    await this.call(ApiKey.EndTxn, {
      transactionalId: this.transactionalId, producerId: id.producerId, producerEpoch: id.producerEpoch, committed,
    }, (r) => r.errorCode, committed ? 'EndTxn (commit)' : 'EndTxn (abort)');
  }
}

function firstPartitionError(topics: { name: string; resultsByPartition: { partitionIndex: number; partitionErrorCode: number }[] }[]): number {
  // OPERATION_NOT_ATTEMPTED only says another partition of the request failed: report that one.
  let fallback: number = ErrorCode.NONE;
  for (const t of topics) {
    for (const p of t.resultsByPartition) {
      if (p.partitionErrorCode === ErrorCode.NONE) continue;
      if (p.partitionErrorCode !== ErrorCode.OPERATION_NOT_ATTEMPTED) return p.partitionErrorCode;
      fallback = p.partitionErrorCode;
    }
  }
  return fallback;
}
