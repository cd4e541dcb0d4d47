// One share-partition (KIP-932): the state a share group keeps for one topic partition.
//
// Offsets below the share-partition start offset (SPSO) are done with. Offsets in [SPSO, SPEO)
// are "in flight", each in one of four states:
//   available     may be handed to a member (again: its delivery count says how often it was)
//   acquired      handed to one member, locked until it acknowledges or the lock runs out
//   acknowledged  ACCEPTed by a member                                     } final: the SPSO moves
//   archived      REJECTed, a GAP, or delivered delivery.count.limit times } past them
// Offsets at or past SPEO were never handed out. Acquisition takes available offsets in order,
// then new ones from SPEO, at most `maxRecordLocks` offsets in flight (SPEO - SPSO). A lock that
// runs out, a RELEASE, or the member's session ending makes a record available again, or archived
// once its delivery count reached the limit. Records are handed out as the whole stored batches
// that hold them; the acquired ranges tell the member which offsets of those batches are its own.
//
// Nothing here does I/O but reading the partition's log: the owner (ShareCoordinator) persists
// `snapshot()` after every change that must survive a restart, and rebuilds with `restore()`.
import { Attr, iterateBatches } from '../../protocol/records.js';
import type { PartitionLog } from '../../storage/types.js';

/** The largest group.share.partition.max.record.locks the settings allow. */
const MAX_IN_FLIGHT_BOUND = 10000;

export type RecordState = 'available' | 'acquired' | 'acknowledged' | 'archived';

/** Kafka's acknowledge types (ShareFetch/ShareAcknowledge AcknowledgeTypes). */
export const AckType = { GAP: 0, ACCEPT: 1, RELEASE: 2, REJECT: 3, RENEW: 4 } as const;

interface InFlight {
  state: RecordState;
  /** Times handed out so far. */
  deliveryCount: number;
  /** The member holding it (acquired only). */
  member: string | null;
  /** When the acquisition lock runs out (acquired only), ms since the epoch. */
  deadline: number;
}

export interface AcquiredRange {
  firstOffset: number;
  lastOffset: number;
  deliveryCount: number;
}

export interface SharePartitionLimits {
  /** group.share.record.lock.duration.ms */
  lockDurationMs: number;
  /** group.share.delivery.count.limit */
  deliveryCountLimit: number;
  /** group.share.partition.max.record.locks: offsets in flight at most. */
  maxRecordLocks: number;
}

/** What is persisted: the SPSO and every in-flight offset that is not plainly available (ranges of equal state and count). */
export interface SharePartitionSnapshot {
  spso: number;
  /** [firstOffset, lastOffset, state ('available' | 'acknowledged' | 'archived'), deliveryCount] */
  ranges: [number, number, string, number][];
}

export interface AckBatch {
  firstOffset: number;
  lastOffset: number;
  acknowledgeTypes: number[];
}

/** Why an acknowledgement cannot be taken: INVALID_REQUEST (malformed) or INVALID_RECORD_STATE (not acquired by this member). */
export class AckError extends Error {
  constructor(readonly kind: 'request' | 'state', message: string) {
    super(message);
  }
}

/** Checks the shape of acknowledgement batches (ascending, disjoint, types 0–3 (0–4 with Renew), one type or one per offset). */
export function checkAckBatches(batches: readonly AckBatch[], allowRenew = false): string | null {
  const maxType = allowRenew ? AckType.RENEW : AckType.REJECT;
  let after = -1;
  for (const b of batches) {
    if (b.firstOffset < 0 || b.lastOffset < b.firstOffset) return `acknowledgement batch ${b.firstOffset}-${b.lastOffset} is not a range`;
    if (b.firstOffset < after) return `acknowledgement batches overlap or are out of order at ${b.firstOffset}`;
    const n = b.lastOffset - b.firstOffset + 1;
    if (b.acknowledgeTypes.length !== 1 && b.acknowledgeTypes.length !== n) return `acknowledgement batch ${b.firstOffset}-${b.lastOffset} has ${b.acknowledgeTypes.length} types for ${n} offsets`;
    if (b.acknowledgeTypes.some((t) => t < 0 || t > maxType)) return `unknown acknowledge type in batch ${b.firstOffset}-${b.lastOffset}`;
    after = b.lastOffset + 1;
  }
  return null;
}

export class SharePartition {
  spso: number;
  /** The next offset never handed out. */
  speo: number;
  private readonly inFlight = new Map<number, InFlight>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly topicId: string,
    readonly partition: number,
    spso: number,
    private readonly limits: () => SharePartitionLimits,
    /** Called after locks ran out and changed state (the owner persists and wakes fetchers). */
    private readonly onExpired: (sp: SharePartition) => void,
  ) {
    this.spso = spso;
    this.speo = spso;
  }

  /** Rebuilds from a snapshot: acquired records were never persisted as such, so everything not final is available. */
  static restore(topicId: string, partition: number, snap: SharePartitionSnapshot, limits: () => SharePartitionLimits, onExpired: (sp: SharePartition) => void): SharePartition {
    const sp = new SharePartition(topicId, partition, snap.spso, limits, onExpired);
    // In flight is at most group.share.partition.max.record.locks (≤ 10000) past the SPSO: a range
    // beyond that was not written by this code and is not expanded offset by offset.
    const bound = snap.spso + MAX_IN_FLIGHT_BOUND;
    for (const [first, last, state, count] of snap.ranges) {
      if (last < snap.spso || !Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last >= bound || typeof count !== 'number') continue;
      const s: RecordState = state === 'acknowledged' || state === 'archived' ? state : 'available';
      for (let o = Math.max(first, snap.spso); o <= last; o++) sp.inFlight.set(o, { state: s, deliveryCount: count, member: null, deadline: 0 });
      sp.speo = Math.max(sp.speo, last + 1);
    }
    for (let o = sp.spso; o < sp.speo; o++) if (!sp.inFlight.has(o)) sp.inFlight.set(o, { state: 'available', deliveryCount: 0, member: null, deadline: 0 });
    sp.advance();
    return sp;
  }

  snapshot(): SharePartitionSnapshot {
    const ranges: [number, number, string, number][] = [];
    for (let o = this.spso; o < this.speo; o++) {
      const r = this.inFlight.get(o);
      if (!r) continue;
      // An acquired record is persisted as available with its delivery count: a restart hands it out again.
      const state = r.state === 'acquired' ? 'available' : r.state;
      if (state === 'available' && r.deliveryCount === 0) continue;
      const last = ranges[ranges.length - 1];
      if (last && last[1] === o - 1 && last[2] === state && last[3] === r.deliveryCount) last[1] = o;
      else ranges.push([o, o, state, r.deliveryCount]);
    }
    return { spso: this.spso, ranges };
  }

  /** State of one offset, for describing and tests. */
  stateOf(offset: number): { state: RecordState; deliveryCount: number; member: string | null } | null {
    if (offset < this.spso) return null;
    const r = this.inFlight.get(offset);
    return r ? { state: r.state, deliveryCount: r.deliveryCount, member: r.member } : { state: 'available', deliveryCount: 0, member: null };
  }

  /** Records currently locked by members. */
  acquiredCount(): number {
    let n = 0;
    for (const r of this.inFlight.values()) if (r.state === 'acquired') n++;
    return n;
  }

  /** Listens for records becoming available (lock expiry, release); returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Could a fetch acquire something now (without reading the log)? */
  hasAvailable(logEnd: number): boolean {
    for (const r of this.inFlight.values()) if (r.state === 'available') return true;
    return this.speo < logEnd && this.speo - this.spso < this.limits().maxRecordLocks;
  }

  /**
   * Hands `member` available records: in-flight ones first, then new ones from SPEO, read from
   * `log` as whole batches, at most `maxBytes` of them (the first batch always), and at most
   * `maxRecords` offsets (a batch may be handed out in part: its other offsets stay for others). Control batches
   * (transaction markers) are archived, never handed out. `readCommitted` (share.isolation.level):
   * nothing at or past the last stable offset, and records of aborted transactions are archived.
   */
  async acquire(member: string, log: PartitionLog, maxBytes: number, readCommitted = false, maxRecords = Infinity): Promise<{ records: Buffer[]; acquired: AcquiredRange[] }> {
    this.followLogStart(log.logStartOffset());
    const end = readCommitted ? log.lastStableOffset() : log.logEndOffset();
    const { maxRecordLocks, lockDurationMs } = this.limits();
    let from = -1;
    for (let o = this.spso; o < this.speo; o++) {
      if (this.inFlight.get(o)?.state === 'available') { from = o; break; }
    }
    if (from < 0) {
      if (this.speo >= end || this.speo - this.spso >= maxRecordLocks) return { records: [], acquired: [] };
      from = this.speo;
    }
    const read = await log.read(from, Math.max(1, maxBytes), true);
    // The read awaited: another fetch may have taken records meanwhile, so states are checked now.
    const now = Date.now();
    // read_committed: producers whose transaction (started at firstOffset) was aborted, oldest first.
    const aborted = readCommitted ? log.abortedTransactions(from, end).sort((x, y) => x.firstOffset - y.firstOffset) : [];
    const abortedOpen = new Set<number>();
    const records: Buffer[] = [];
    const taken: { offset: number; count: number }[] = [];
    let stop = false;
    for (const chunk of read.chunks) {
      for (const { header, bytes } of iterateBatches(chunk)) {
        const last = header.baseOffset + header.lastOffsetDelta;
        if (last < from) continue;
        if (header.baseOffset >= end) { stop = true; break; }
        const control = (header.attributes & Attr.CONTROL) !== 0;
        while (aborted.length > 0 && aborted[0].firstOffset <= header.baseOffset) abortedOpen.add(aborted.shift()!.producerId);
        const abortedData = !control && (header.attributes & Attr.TRANSACTIONAL) !== 0 && abortedOpen.has(header.producerId);
        if (control) abortedOpen.delete(header.producerId);
        let mine = false;
        for (let o = Math.max(header.baseOffset, from, this.spso); o <= last; o++) {
          if (taken.length >= maxRecords) { stop = true; break; }
          if (o >= this.speo) {
            if (this.speo - this.spso >= maxRecordLocks) { stop = true; break; }
            // Offsets skipped between batches (compaction, deleted records) are never delivered.
            for (let g = this.speo; g < o; g++) this.inFlight.set(g, { state: 'archived', deliveryCount: 0, member: null, deadline: 0 });
            this.inFlight.set(o, { state: 'available', deliveryCount: 0, member: null, deadline: 0 });
            this.speo = o + 1;
          }
          const r = this.inFlight.get(o);
          if (!r || r.state !== 'available') continue;
          if (control || abortedData) {
            r.state = 'archived';
            continue;
          }
          r.state = 'acquired';
          r.deliveryCount++;
          r.member = member;
          r.deadline = now + lockDurationMs;
          taken.push({ offset: o, count: r.deliveryCount });
          mine = true;
        }
        if (mine) records.push(bytes);
        if (stop) break;
      }
      if (stop) break;
    }
    this.advance();
    if (taken.length > 0) this.armTimer(now + lockDurationMs);
    const acquired: AcquiredRange[] = [];
    for (const t of taken) {
      const prev = acquired[acquired.length - 1];
      if (prev && prev.lastOffset === t.offset - 1 && prev.deliveryCount === t.count) prev.lastOffset = t.offset;
      else acquired.push({ firstOffset: t.offset, lastOffset: t.offset, deliveryCount: t.count });
    }
    return { records, acquired };
  }

  /**
   * Applies `member`'s acknowledgements, all or nothing: every offset named must be acquired by
   * `member` (AckError 'state' otherwise); the batches must be well formed (AckError 'request').
   * With `allowRenew` (v2), type 4 (Renew) keeps a record acquired by `member` with a fresh lock.
   * Returns whether a record became available (fetchers to wake).
   */
  acknowledge(member: string, batches: readonly AckBatch[], allowRenew = false): boolean {
    const problem = checkAckBatches(batches, allowRenew);
    if (problem) throw new AckError('request', problem);
    for (const b of batches) {
      for (let o = b.firstOffset; o <= b.lastOffset; o++) {
        const r = this.inFlight.get(o);
        if (!r || r.state !== 'acquired' || r.member !== member) {
          throw new AckError('state', `offset ${o} is not acquired by this member`);
        }
      }
    }
    let released = false;
    const { deliveryCountLimit, lockDurationMs } = this.limits();
    const now = Date.now();
    for (const b of batches) {
      for (let o = b.firstOffset; o <= b.lastOffset; o++) {
        const r = this.inFlight.get(o)!;
        const type = b.acknowledgeTypes.length === 1 ? b.acknowledgeTypes[0] : b.acknowledgeTypes[o - b.firstOffset];
        if (type === AckType.RENEW) {
          // Still this member's, with a fresh lock (the running timer re-arms for the later deadline).
          r.deadline = now + lockDurationMs;
          continue;
        }
        r.member = null;
        if (type === AckType.ACCEPT) r.state = 'acknowledged';
        else if (type === AckType.RELEASE) {
          r.state = r.deliveryCount >= deliveryCountLimit ? 'archived' : 'available';
          if (r.state === 'available') released = true;
        } else r.state = 'archived'; // REJECT, GAP
      }
    }
    this.advance();
    if (released) this.notify();
    return released;
  }

  /**
   * Releases every record `member` holds (its session ended or it left the group); true if any
   * changed. As Kafka 4.1, such a release takes back the delivery it counted (the member never
   * processed them): the next one is counted as the same delivery again, never archived here.
   */
  releaseMember(member: string): boolean {
    let changed = false;
    for (const r of this.inFlight.values()) {
      if (r.state !== 'acquired' || r.member !== member) continue;
      r.member = null;
      r.state = 'available';
      r.deliveryCount = Math.max(0, r.deliveryCount - 1);
      changed = true;
    }
    if (changed) {
      this.advance();
      this.notify();
    }
    return changed;
  }

  /** Stops the lock timer (the coordinator is stopping or the group was deleted). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
    this.listeners.clear();
  }

  /** Records below the log start are gone: the SPSO follows it (DeleteRecords, retention). */
  private followLogStart(logStart: number): void {
    if (logStart <= this.spso) return;
    for (let o = this.spso; o < Math.min(logStart, this.speo); o++) this.inFlight.delete(o);
    this.spso = logStart;
    this.speo = Math.max(this.speo, logStart);
  }

  /** Moves the SPSO past records that are finished. */
  private advance(): void {
    for (;;) {
      if (this.spso >= this.speo) return;
      const r = this.inFlight.get(this.spso);
      if (r && r.state !== 'acknowledged' && r.state !== 'archived') return;
      this.inFlight.delete(this.spso);
      this.spso++;
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private armTimer(at: number): void {
    if (at >= this.timerAt && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = Date.now();
    const { deliveryCountLimit } = this.limits();
    let changed = false;
    let next = Infinity;
    for (const r of this.inFlight.values()) {
      if (r.state !== 'acquired') continue;
      if (r.deadline <= now) {
        r.member = null;
        r.state = r.deliveryCount >= deliveryCountLimit ? 'archived' : 'available';
        changed = true;
      } else next = Math.min(next, r.deadline);
    }
    if (next !== Infinity) this.armTimer(next);
    if (changed) {
      this.advance();
      this.notify();
      this.onExpired(this);
    }
  }
}
