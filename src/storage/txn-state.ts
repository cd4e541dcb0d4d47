// Per-partition transaction bookkeeping shared by both engines: which producers have a transaction
// open on this partition (and its first offset), and the aborted ranges read_committed readers
// must skip. Fed, in offset order, with the transactional batches that became readable; a
// transaction opens at its first transactional data batch and ends at its control batch (COMMIT
// clears it, ABORT records {producerId, firstOffset, lastOffset = marker offset}).
import { Attr, controlTypeOf, ControlType, decodeBatchRecordsSync, type BatchHeader } from '../protocol/records.js';

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** The offset of the ABORT marker. */
  lastOffset: number;
}

/** What one batch means for transactions; null for a batch outside any transaction. */
export interface TxnEvent {
  producerId: number;
  offset: number;
  /** Absent for data; for a control batch: COMMIT, ABORT or unreadable (ignored). */
  control?: { type: 'commit' | 'abort' | 'unknown'; coordinatorEpoch: number };
}

/** The marker a control batch holds (its first record's key and value), or 'unknown' when unreadable. */
export function readControl(bytes: Buffer, h: BatchHeader): NonNullable<TxnEvent['control']> {
  try {
    const rec = decodeBatchRecordsSync(bytes, h)[0];
    const t = controlTypeOf(rec?.key ?? null);
    const value = rec?.value;
    const coordinatorEpoch = value && value.length >= 6 ? value.readInt32BE(2) : -1;
    return { type: t === ControlType.COMMIT ? 'commit' : t === ControlType.ABORT ? 'abort' : 'unknown', coordinatorEpoch };
  } catch {
    return { type: 'unknown', coordinatorEpoch: -1 };
  }
}

/** The batch's transaction event (`bytes` = the whole batch, needed only for control batches). */
export function txnEventOf(h: BatchHeader, bytes: () => Buffer): TxnEvent | null {
  if (h.producerId < 0) return null;
  if (h.attributes & Attr.CONTROL) return { producerId: h.producerId, offset: h.baseOffset, control: readControl(bytes(), h) };
  if (h.attributes & Attr.TRANSACTIONAL) return { producerId: h.producerId, offset: h.baseOffset };
  return null;
}

export interface TxnSnapshot {
  open: [number, number][];
  aborted: AbortedTxn[];
}

export class TxnState {
  /** producer id → first offset of its open transaction (insertion order = offset order). */
  private readonly open = new Map<number, number>();
  /** Ordered by lastOffset (markers are applied in offset order). */
  private aborted: AbortedTxn[] = [];
  /** The longest aborted range (lastOffset - firstOffset), to bound searches. */
  private maxSpan = 0;

  /** Applies one batch's event; call in offset order, once the batch is readable. */
  apply(ev: TxnEvent | null): void {
    if (!ev) return;
    if (!ev.control) {
      if (!this.open.has(ev.producerId)) this.open.set(ev.producerId, ev.offset);
      return;
    }
    if (ev.control.type === 'unknown') return;
    const first = this.open.get(ev.producerId);
    // A marker with nothing open (a retry after a crash, or a transaction with no data here) ends nothing.
    if (first === undefined) return;
    this.open.delete(ev.producerId);
    if (ev.control.type === 'abort') this.addAborted({ producerId: ev.producerId, firstOffset: first, lastOffset: ev.offset });
  }

  private addAborted(a: AbortedTxn): void {
    this.aborted.push(a);
    this.maxSpan = Math.max(this.maxSpan, a.lastOffset - a.firstOffset);
  }

  /** First offset of `producerId`'s open transaction, or -1. */
  firstOffsetOf(producerId: number): number {
    return this.open.get(producerId) ?? -1;
  }

  /** The last stable offset given the log's readable [start, end). */
  lastStable(start: number, end: number): number {
    let lso = end;
    for (const first of this.open.values()) if (first < lso) lso = first;
    return Math.max(start, lso);
  }

  /** Aborted ranges intersecting [from, to), oldest first (by first offset). */
  abortedIn(from: number, to: number): { producerId: number; firstOffset: number }[] {
    const a = this.aborted;
    let lo = 0, hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid].lastOffset < from) lo = mid + 1; else hi = mid;
    }
    const out: AbortedTxn[] = [];
    for (let i = lo; i < a.length; i++) {
      if (a[i].lastOffset - this.maxSpan >= to) break; // nothing further can start below `to`
      if (a[i].firstOffset < to) out.push(a[i]);
    }
    out.sort((x, y) => x.firstOffset - y.firstOffset);
    return out.map((x) => ({ producerId: x.producerId, firstOffset: x.firstOffset }));
  }

  /** Forgets aborted ranges that end below `offset` (the new log start): no read can reach them. */
  dropBefore(offset: number): void {
    let n = 0;
    while (n < this.aborted.length && this.aborted[n].lastOffset < offset) n++;
    if (n > 0) this.aborted = this.aborted.slice(n);
  }

  clear(): void {
    this.open.clear();
    this.aborted = [];
    this.maxSpan = 0;
  }

  toJSON(): TxnSnapshot {
    return { open: [...this.open], aborted: this.aborted.map((a) => ({ ...a })) };
  }

  loadFrom(s: TxnSnapshot): void {
    this.clear();
    for (const [pid, first] of [...s.open].sort((x, y) => x[1] - y[1])) this.open.set(pid, first);
    for (const a of [...s.aborted].sort((x, y) => x.lastOffset - y.lastOffset)) this.addAborted({ ...a });
  }

  /** Defensive parse of a snapshot's `txns` field; null when it does not check out. */
  static parse(x: unknown): TxnSnapshot | null {
    if (!x || typeof x !== 'object') return null;
    const s = x as { open?: unknown; aborted?: unknown };
    if (!Array.isArray(s.open) || !Array.isArray(s.aborted)) return null;
    const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    const open: [number, number][] = [];
    for (const row of s.open as unknown[]) {
      if (!Array.isArray(row) || row.length !== 2 || !int(row[0]) || !int(row[1])) return null;
      open.push([row[0], row[1]]);
    }
    const aborted: AbortedTxn[] = [];
    for (const r of s.aborted as unknown[]) {
      const a = r as Partial<AbortedTxn> | null;
      if (!a || !int(a.producerId) || !int(a.firstOffset) || !int(a.lastOffset) || a.firstOffset > a.lastOffset) return null;
      aborted.push({ producerId: a.producerId, firstOffset: a.firstOffset, lastOffset: a.lastOffset });
    }
    return { open, aborted };
  }
}
