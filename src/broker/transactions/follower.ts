// Cluster mode (docs/cluster.md "Transactions"): a broker that does not run the transaction
// coordinator still checks Produce's transactional batches against the coordinator's state. It
// follows `__transaction_state` (the coordinator's durable state, in the shared database) into a
// producer id → last record map, read from the log's start on first use and caught up on demand:
// Produce asks for a catch-up before the first batch of a transaction on a partition
// (`TransactionCoordinator.beforeProduceCheck`), so AddPartitionsToTxn, which the coordinator
// persisted before answering, is always seen. Later batches of the same transaction on the
// partition are checked against the copy as it is (the coordinator's Prepare*/Complete* may not be
// in it yet: a batch racing EndTxn can then be taken, as on Kafka before KIP-890).
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { Storage } from '../../storage/types.js';
import { FollowedLog } from '../internal-log.js';
import type { Logger } from '../logger.js';
import { TXN_LOG, decodeTxnRecord, type TxnRecord } from './state-store.js';

/** Produce's check against a transactional id's record (the coordinator's own or a follower's copy). */
export function produceProblem(r: TxnRecord | undefined, producerId: number, producerEpoch: number, topic: string, partition: number): { errorCode: number; message: string } | null {
  if (!r) return { errorCode: ErrorCode.INVALID_TXN_STATE, message: `producer ${producerId} has no transaction (InitProducerId with a transactional id first)` };
  if (producerEpoch !== r.producerEpoch) return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, message: `producer ${producerId} epoch ${producerEpoch} is not the current ${r.producerEpoch}` };
  if (r.state !== 'Ongoing' || !r.partitions.some(([t, p]) => t === topic && p === partition)) {
    return { errorCode: ErrorCode.INVALID_TXN_STATE, message: `${topic}-${partition} is not in an open transaction of producer ${producerId} (AddPartitionsToTxn first)` };
  }
  return null;
}

export class TxnFollower {
  /** producer id → the last record of the transactional id it belongs to now. */
  private readonly byProducer = new Map<number, TxnRecord>();
  /** transactional id → its current producer id (a new one replaces the old one's entry). */
  private readonly producerOf = new Map<string, number>();
  private readonly log: FollowedLog;
  private opened: Promise<void> | null = null;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  /** `bounds`: makes the local copy of the log learn its end from the database (storage.followInternalLogs). */
  constructor(private readonly storage: Storage, logger: Logger, private readonly bounds: () => Promise<void>) {
    this.log = new FollowedLog(TXN_LOG, 'transaction state follower', (key, value, offset, skipped) => {
      const d = decodeTxnRecord(key, value);
      if (typeof d === 'string') return skipped(d, offset);
      const before = this.producerOf.get(d.id);
      if (before !== undefined) this.byProducer.delete(before);
      if (d.record === null) {
        this.producerOf.delete(d.id);
        return;
      }
      this.producerOf.set(d.id, d.record.producerId);
      this.byProducer.set(d.record.producerId, d.record);
    }, logger);
  }

  check(producerId: number, producerEpoch: number, topic: string, partition: number): { errorCode: number; message: string } | null {
    return produceProblem(this.byProducer.get(producerId), producerId, producerEpoch, topic, partition);
  }

  /**
   * Reads what the coordinator appended since the last catch-up. A call while one runs waits for
   * the next one, which starts after it: that one reads bounds taken after this call.
   */
  refresh(): Promise<void> {
    if (!this.running) {
      this.running = this.catchUp().finally(() => { this.running = null; });
      return this.running;
    }
    this.queued ??= this.running.catch(() => undefined).then(() => {
      this.queued = null;
      return this.refresh();
    });
    return this.queued;
  }

  private async catchUp(): Promise<void> {
    if (!this.opened) {
      this.opened = (async () => {
        await this.bounds();
        await this.log.open(this.storage);
      })();
      this.opened.catch(() => { this.opened = null; });
      return this.opened;
    }
    await this.opened;
    await this.bounds();
    await this.log.catchUp();
  }
}
