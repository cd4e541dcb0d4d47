// Per-partition state of idempotent producers: the epoch and the last few batches' sequence
// ranges of each producer id, so retries are answered with their original offsets and gaps or
// stale epochs are refused. Rebuilt from the log's batch headers when a partition is recovered.
import { Attr, type BatchHeader } from '../protocol/records.js';

/** Kafka keeps the last five batches per producer (max.in.flight.requests.per.connection ≤ 5). */
export const BATCHES_KEPT = 5;
const INT32_MAX = 2147483647;

export interface BatchRange {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
}

export interface ProducerEntry {
  epoch: number;
  batches: BatchRange[]; // oldest first
  lastTimestamp: number;
  /** The coordinator epoch of the last transaction marker written for this producer (absent = none). */
  coordinatorEpoch?: number;
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number }
  | { kind: 'error'; errorCode: number; message: string };

const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
const INVALID_PRODUCER_EPOCH = 47;
const UNKNOWN_PRODUCER_ID = 59;

const lastSeqOf = (h: BatchHeader) => {
  const last = h.baseSequence + h.lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
};

export class ProducerStateTable {
  private readonly entries = new Map<number, ProducerEntry>();

  get size(): number {
    return this.entries.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.entries.get(producerId);
  }

  /** Decides what to do with a batch before it is appended. Non-idempotent batches always append. */
  check(h: BatchHeader): SequenceCheck {
    if (h.producerId < 0 || h.baseSequence < 0) return { kind: 'append' };
    const e = this.entries.get(h.producerId);
    if (!e) {
      if (h.baseSequence === 0) return { kind: 'append' };
      return { kind: 'error', errorCode: UNKNOWN_PRODUCER_ID, message: `producer ${h.producerId} has no state on this partition and sent sequence ${h.baseSequence}` };
    }
    if (h.producerEpoch < e.epoch) {
      return { kind: 'error', errorCode: INVALID_PRODUCER_EPOCH, message: `producer ${h.producerId} epoch ${h.producerEpoch} is older than ${e.epoch}` };
    }
    if (h.producerEpoch > e.epoch) {
      if (h.baseSequence === 0) return { kind: 'append' };
      return { kind: 'error', errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER, message: `new epoch ${h.producerEpoch} of producer ${h.producerId} must start at sequence 0, not ${h.baseSequence}` };
    }
    const lastSeq = lastSeqOf(h);
    for (const b of e.batches) {
      if (b.firstSeq === h.baseSequence && b.lastSeq === lastSeq) {
        return { kind: 'duplicate', baseOffset: b.baseOffset, lastOffset: b.lastOffset };
      }
    }
    const newest = e.batches[e.batches.length - 1];
    const expected = newest ? (newest.lastSeq === INT32_MAX ? 0 : newest.lastSeq + 1) : 0;
    if (h.baseSequence !== expected) {
      return { kind: 'error', errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER, message: `producer ${h.producerId} sent sequence ${h.baseSequence}, expected ${expected}` };
    }
    return { kind: 'append' };
  }

  /**
   * Whether a transaction marker with this epoch may be written: not for an epoch older than the
   * producer's current one here (a zombie's or a stale coordinator's), as Kafka refuses it.
   */
  checkMarker(producerId: number, producerEpoch: number): { errorCode: number; message: string } | null {
    const e = this.entries.get(producerId);
    if (e && producerEpoch < e.epoch) return { errorCode: INVALID_PRODUCER_EPOCH, message: `marker for producer ${producerId} has epoch ${producerEpoch}, older than ${e.epoch}` };
    return null;
  }

  /**
   * Records an appended batch (its baseOffset already assigned). A control batch (transaction
   * marker, `coordinatorEpoch` read from it) carries the producer's current epoch: a newer epoch
   * starts a fresh entry (sequences start again at 0 in it, as in Kafka), the same one keeps them.
   */
  update(h: BatchHeader, coordinatorEpoch = -1): void {
    if (h.producerId >= 0 && (h.attributes & Attr.CONTROL)) {
      let e = this.entries.get(h.producerId);
      if (!e || h.producerEpoch > e.epoch) {
        e = { epoch: h.producerEpoch, batches: [], lastTimestamp: h.maxTimestamp };
        this.entries.set(h.producerId, e);
      }
      e.coordinatorEpoch = coordinatorEpoch;
      e.lastTimestamp = Math.max(e.lastTimestamp, h.maxTimestamp);
      return;
    }
    if (h.producerId < 0 || h.baseSequence < 0) return;
    let e = this.entries.get(h.producerId);
    if (!e || h.producerEpoch > e.epoch) {
      e = { epoch: h.producerEpoch, batches: [], lastTimestamp: h.maxTimestamp, coordinatorEpoch: e?.coordinatorEpoch };
      if (e.coordinatorEpoch === undefined) delete e.coordinatorEpoch;
      this.entries.set(h.producerId, e);
    }
    e.batches.push({ firstSeq: h.baseSequence, lastSeq: lastSeqOf(h), baseOffset: h.baseOffset, lastOffset: h.baseOffset + h.lastOffsetDelta });
    if (e.batches.length > BATCHES_KEPT) e.batches.shift();
    e.lastTimestamp = Math.max(e.lastTimestamp, h.maxTimestamp);
  }

  /** Forgets batches at or after `offset` (used when a torn tail is truncated during recovery). */
  truncateFrom(offset: number): void {
    for (const [id, e] of this.entries) {
      e.batches = e.batches.filter((b) => b.lastOffset < offset);
      if (e.batches.length === 0) this.entries.delete(id);
    }
  }

  toJSON(): [number, ProducerEntry][] {
    return [...this.entries];
  }

  static fromJSON(rows: [number, ProducerEntry][]): ProducerStateTable {
    const t = new ProducerStateTable();
    for (const [id, e] of rows) t.entries.set(id, e);
    return t;
  }

  loadFrom(other: ProducerStateTable): void {
    this.entries.clear();
    for (const [id, e] of other.entries) this.entries.set(id, e);
  }
}
