// One partition of the PostgreSQL engine. Offsets and producer state move synchronously at append
// (invariant 4) from what this broker, the partition's leader under `epoch`, knows; the batches
// then wait for the storage's committer (storage.ts), which stores many appends of many partitions
// in one database transaction that also checks every partition's leader epoch and log end. The
// append resolves after COMMIT, and only then do readers see it (logEndOffset, onAppend, the LSO).
// A failed transaction fails this partition's appends in it and behind it, undoes their producer
// state, and reloads the partition from the database (the truth, also when a COMMIT's outcome was
// unknown); a moved epoch leaves it fenced: every later append fails.
//
// In a cluster (docs/cluster.md) a partition this broker does not lead is a follower: its state
// is loaded at open (so internal logs can be replayed), appends are refused with LeaderEpochError,
// and `lead(epoch)` — called when the database names this broker leader at `epoch` — reloads it
// from the database (whatever the previous leader committed) before it takes appends.
//
// Pseudo-segments: the database has no files, but retention.bytes drops "oldest whole segments";
// rows are grouped, in offset order, into runs of at most the topic's segment.bytes
// (`segmentSizes`), computed at load and extended at each commit.
import { Attr, readBatchHeader, type BatchHeader, type TxnMarker } from '../../protocol/records.js';
import { appendMarker, stampBatches } from '../append.js';
import { ProducerStateTable, type ProducerEntry } from '../producer-state.js';
import { TxnState, txnEventOf, type TxnEvent } from '../txn-state.js';
import { NotLeaderError, StorageError, type AppendOptions, type AppendResult, type PartitionLog, type ReadResult } from '../types.js';

/** An append refused because another broker holds the partition now (its leader epoch moved on). */
export class LeaderEpochError extends NotLeaderError {
  override name = 'LeaderEpochError';
}

/** One batch as a row of fjord_batches. */
export interface BatchRow {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  producerId: number;
  control: boolean;
  bytes: Buffer;
}

export interface AppendJob {
  readonly log: PgPartitionLog;
  readonly baseOffset: number;
  readonly endOffset: number;
  readonly rows: BatchRow[];
  readonly bytes: number;
  readonly sync: boolean;
  readonly txnEvents: TxnEvent[];
  /** Producer entries as they were before this append (undefined = absent), for rollback. */
  readonly undo: Map<number, ProducerEntry | undefined>;
  readonly logAppendTime: number;
  resolve(r: AppendResult): void;
  reject(err: Error): void;
}

/** What a partition needs from its storage: the committer, the database, the shared cache budget. */
export interface PartitionHost {
  enqueue(job: AppendJob): void;
  /** Drops jobs of `log` still waiting for a transaction. */
  dequeue(log: PgPartitionLog): void;
  readBatches(partitionId: number, from: number, below: number, maxBytes: number, minOneBatch: boolean): Promise<Buffer[]>;
  offsetForTimestamp(partitionId: number, timestamp: number, below: number): Promise<{ offset: number; timestamp: number } | null>;
  deleteBefore(log: PgPartitionLog, target: number): Promise<void>;
  /** The partition row as stored now (null: deleted) and the headers needed to rebuild producer and transaction state. */
  loadState(partitionId: number, segmentBytes: number): Promise<PartitionRow | null>;
  /** The partition row's leader as stored now (null: deleted). */
  storedLeader(partitionId: number): Promise<{ node: number | null; epoch: number } | null>;
  /** The topic's segment.bytes: the size of the pseudo-segments retention.bytes removes. */
  segmentBytes(topic: string): number;
  cacheAdmit(log: PgPartitionLog, entry: CacheEntry): void;
  cacheDrop(entry: CacheEntry): void;
  readonly perPartitionCache: number;
  log(level: 'info' | 'warn' | 'error', msg: string): void;
}

export interface PartitionRow {
  logStart: number;
  logEnd: number;
  leaderEpoch: number;
  /** Batches with a producer id, oldest first: the header (61 bytes), or the whole batch for control batches. */
  producerBatches: Buffer[];
  /** The stored rows grouped into runs of at most segment.bytes (retention.bytes), oldest first. */
  segments: { baseOffset: number; bytes: number }[];
  /** The node the database names leader (null: none yet). */
  leaderNode: number | null;
}

export interface CacheEntry {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
  live: boolean;
}

const cloneEntry = (e: ProducerEntry): ProducerEntry => ({ ...e, batches: e.batches.map((b) => ({ ...b })) });
const RELOAD_RETRY_MS = 500;

export class PgPartitionLog implements PartitionLog {
  readonly producers = new ProducerStateTable();
  private readonly txns = new TxnState();
  private startOffset = 0;
  /** The end readers see: everything below it is committed. */
  private endOffset = 0;
  /** The next offset to assign. */
  private assignedEnd = 0;
  private state: 'open' | 'recovering' | 'fenced' | 'follower' | 'closed' = 'open';
  /** Leadership as the database last said (cluster mode): node and epoch; Metadata reports them. */
  leaderNode: number | null = null;
  leaderEpoch = 0;
  private segments: { baseOffset: number; bytes: number }[] = [];
  /** Bumped by every lead()/follow(), so an older lead() that finishes late does nothing. */
  private turn = 0;
  private fencedBecause = '';
  /** Appends handed to the committer and not yet committed or failed, in offset order. */
  private pending: AppendJob[] = [];
  private idleWaiters: (() => void)[] = [];
  private listeners = new Set<() => void>();
  /** The newest committed batches, contiguous up to endOffset. */
  private cache: CacheEntry[] = [];
  private cacheBytes = 0;
  readonly label: string;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** fjord_partitions.id */
    readonly id: number,
    /** The leader epoch this broker claimed (or follows); every append's transaction checks it. */
    public epoch: number,
    private readonly host: PartitionHost,
  ) {
    this.label = `${topic}-${partition}`;
  }

  /** Sets the state from the stored row (open, and after a failure). */
  restore(row: PartitionRow): void {
    this.startOffset = row.logStart;
    this.endOffset = row.logEnd;
    this.assignedEnd = row.logEnd;
    const producers = new ProducerStateTable();
    this.txns.clear();
    for (const bytes of row.producerBatches) {
      const h = readBatchHeader(bytes);
      const ev = txnEventOf(h, () => bytes);
      producers.update(h, ev?.control?.coordinatorEpoch);
      this.txns.apply(ev);
    }
    this.txns.dropBefore(this.startOffset);
    this.producers.loadFrom(producers);
    this.segments = row.segments.map((x) => ({ ...x }));
    this.leaderNode = row.leaderNode;
    this.leaderEpoch = row.leaderEpoch;
    this.clearCache();
  }

  /** Runs of stored rows of at most segment.bytes, oldest first (retention.bytes). */
  segmentSizes(): { baseOffset: number; bytes: number }[] {
    return this.segments.map((x) => ({ ...x }));
  }

  /** Cluster mode: another broker leads (or nobody yet); appends are refused until lead(). */
  follow(leaderNode: number | null, leaderEpoch: number): void {
    this.leaderNode = leaderNode;
    this.leaderEpoch = leaderEpoch;
    if (this.state === 'closed' || this.state === 'follower') return;
    this.turn++;
    this.state = 'follower';
    this.fencedBecause = `${this.label}: led by ${leaderNode === null ? 'no broker yet' : `node ${leaderNode}`} in leader epoch ${leaderEpoch}`;
  }

  /**
   * Cluster mode, a follower only: the log's bounds as the database says now (another broker
   * appended), so reads reach the new records. The leader's own bounds are never touched.
   */
  followTo(logStart: number, logEnd: number): void {
    if (this.state !== 'follower' || logEnd < this.endOffset) return;
    if (logEnd === this.endOffset && logStart === this.startOffset) return;
    this.clearCache();
    this.startOffset = Math.max(this.startOffset, logStart);
    this.endOffset = logEnd;
    this.assignedEnd = logEnd;
  }

  /** Whether this broker takes appends for the partition now (it leads and has loaded the state). */
  leading(): boolean {
    return this.state === 'open' || this.state === 'recovering';
  }

  /**
   * Cluster mode: the database names this broker leader at `epoch`. Waits for appends still in
   * flight under an older epoch (they fail the epoch check or committed), reloads the partition
   * from the database and takes appends; resolves false when the row says otherwise by then.
   */
  async lead(epoch: number): Promise<boolean> {
    if (this.state === 'closed') return false;
    if (this.epoch === epoch && (this.state === 'open' || this.state === 'recovering')) return true;
    const turn = ++this.turn;
    this.state = 'follower';
    this.fencedBecause = `${this.label}: this broker is taking leadership over (epoch ${epoch}); retry`;
    await this.idle();
    for (;;) {
      if (turn !== this.turn || !this.isOpen()) return false;
      try {
        const row = await this.host.loadState(this.id, this.host.segmentBytes(this.topic));
        if (turn !== this.turn || !this.isOpen()) return false;
        if (!row) {
          this.state = 'closed';
          return false;
        }
        if (row.leaderEpoch !== epoch) {
          this.follow(row.leaderNode, row.leaderEpoch);
          return false;
        }
        const before = this.endOffset;
        this.restore(row);
        this.epoch = epoch;
        this.state = 'open';
        if (this.endOffset !== before) for (const l of this.listeners) l();
        return true;
      } catch (err) {
        this.host.log('warn', `${this.label}: loading state to lead it failed (${err instanceof Error ? err.message : String(err)}); retrying`);
        await new Promise((r) => setTimeout(r, RELOAD_RETRY_MS));
      }
    }
  }

  logStartOffset(): number { return this.startOffset; }
  logEndOffset(): number { return this.endOffset; }
  lastStableOffset(): number { return this.txns.lastStable(this.startOffset, this.endOffset); }
  abortedTransactions(from: number, to: number) { return this.txns.abortedIn(from, to); }
  txnFirstOffset(producerId: number): number { return this.txns.firstOffsetOf(producerId); }

  writeTxnMarker(marker: TxnMarker, options: AppendOptions): Promise<{ offset: number }> {
    return appendMarker(this, marker, options);
  }

  /** Why append() refuses now, or null; the produce handler asks before it checks sequences (stale while not leading). */
  appendRefusal(): StorageError | null {
    return this.refusal();
  }

  /**
   * Before a sequence error is answered: whether the database still names this broker's epoch.
   * A broker deposed without noticing yet (its poll has not run) still takes appends — they fail
   * at COMMIT — but its producer state misses what the new leader appended since, so its
   * OUT_OF_ORDER verdict would be wrong: NotLeaderError then, and the log fenced.
   */
  async confirmLeader(): Promise<StorageError | null> {
    const epoch = this.epoch;
    const stored = await this.host.storedLeader(this.id);
    if (stored === null) return new StorageError(`${this.label} no longer exists`);
    if (stored.epoch !== epoch) {
      const reason = `${this.label}: this broker led it in leader epoch ${epoch}, the database has epoch ${stored.epoch} now (node ${stored.node ?? 'none'})`;
      if (this.epoch === epoch && this.state === 'open') this.fence(reason);
      return new LeaderEpochError(reason);
    }
    return this.refusal();
  }

  private refusal(): StorageError | null {
    switch (this.state) {
      case 'open': return null;
      case 'closed': return new StorageError(`${this.label} is closed`);
      case 'fenced': case 'follower': return new LeaderEpochError(this.fencedBecause);
      case 'recovering': return new StorageError(`${this.label} is reloading its state from the database after a failed write; retry`);
    }
  }

  async append(batches: Buffer, headers: BatchHeader[], options: AppendOptions): Promise<AppendResult> {
    // Everything up to the first await runs synchronously, so offsets follow call order.
    const refused = this.refusal();
    if (refused) throw refused;
    if (headers.length === 0) throw new Error('assertion: append without batches');
    // Our own exact copy: the request buffer belongs to the connection.
    const own = Buffer.allocUnsafeSlow(batches.length);
    batches.copy(own);
    const baseOffset = this.assignedEnd;
    const endOffset = stampBatches(own, headers, baseOffset, options.logAppendTime);
    const rows: BatchRow[] = [];
    const txnEvents: TxnEvent[] = [];
    const undo = new Map<number, ProducerEntry | undefined>();
    let at = 0;
    for (const h of headers) {
      const bytes = own.subarray(at, at + h.size);
      at += h.size;
      const control = (h.attributes & Attr.CONTROL) !== 0;
      if (h.producerId >= 0 && (h.baseSequence >= 0 || control) && !undo.has(h.producerId)) {
        const e = this.producers.entry(h.producerId);
        undo.set(h.producerId, e ? cloneEntry(e) : undefined);
      }
      const ev = txnEventOf(h, () => bytes);
      if (ev) txnEvents.push(ev);
      this.producers.update(h, ev?.control?.coordinatorEpoch);
      rows.push({ baseOffset: h.baseOffset, lastOffset: h.baseOffset + h.lastOffsetDelta, maxTimestamp: h.maxTimestamp, producerId: h.producerId, control, bytes });
    }
    this.assignedEnd = endOffset;
    return new Promise<AppendResult>((resolve, reject) => {
      const job: AppendJob = { log: this, baseOffset, endOffset, rows, bytes: own.length, sync: options.sync, txnEvents, undo, logAppendTime: options.logAppendTime ?? -1, resolve, reject };
      this.pending.push(job);
      this.host.enqueue(job);
    });
  }

  /** The committer stored `job` (COMMIT returned): readers may see it now. Called in offset order. */
  committed(job: AppendJob): void {
    if (this.pending[0] !== job) throw new Error(`assertion: ${this.label} committed out of order`);
    this.pending.shift();
    for (const ev of job.txnEvents) this.txns.apply(ev);
    this.endOffset = job.endOffset;
    for (const row of job.rows) {
      const entry: CacheEntry = { baseOffset: row.baseOffset, lastOffset: row.lastOffset, bytes: row.bytes, live: true };
      this.cache.push(entry);
      this.cacheBytes += row.bytes.length;
      this.host.cacheAdmit(this, entry);
    }
    while (this.cacheBytes > this.host.perPartitionCache && this.cache.length > 0) this.evictFront();
    const segmentBytes = this.host.segmentBytes(this.topic);
    for (const row of job.rows) {
      const last = this.segments[this.segments.length - 1];
      if (last && last.bytes + row.bytes.length <= segmentBytes) last.bytes += row.bytes.length;
      else this.segments.push({ baseOffset: row.baseOffset, bytes: row.bytes.length });
    }
    job.resolve({ baseOffset: job.baseOffset, lastOffset: job.endOffset - 1, logAppendTime: job.logAppendTime, logStartOffset: this.startOffset });
    for (const l of this.listeners) l();
    this.wakeIdle();
  }

  /**
   * The transaction holding some of this partition's appends failed (or refused this partition):
   * every pending append fails (later ones were stamped after it), producer state goes back, and
   * the partition reloads from the database before it takes appends again.
   */
  failed(err: Error, fenced: boolean): void {
    if (this.pending.length === 0 && this.state !== 'open') return;
    const jobs = this.pending.splice(0);
    this.host.dequeue(this);
    const rows = new Map(this.producers.toJSON());
    for (let i = jobs.length - 1; i >= 0; i--) {
      for (const [id, e] of jobs[i].undo) {
        if (e) rows.set(id, e);
        else rows.delete(id);
      }
    }
    this.producers.loadFrom(ProducerStateTable.fromJSON([...rows]));
    this.assignedEnd = this.endOffset;
    const reason = fenced ? `${this.label}: the stored leader epoch or log end no longer matches this broker's (epoch ${this.epoch}, end ${this.endOffset})` : `${this.label}: write failed: ${err.message}`;
    if (jobs.length > 0) this.host.log('error', `${reason}; rejecting ${jobs.length} append(s)`);
    const error = fenced ? new LeaderEpochError(reason) : new StorageError(reason);
    for (const j of jobs) j.reject(error);
    this.wakeIdle();
    if (this.state === 'open') {
      this.state = 'recovering';
      void this.reload();
    }
  }

  private async reload(): Promise<void> {
    while (this.state === 'recovering') {
      try {
        const row = await this.host.loadState(this.id, this.host.segmentBytes(this.topic));
        if (this.state !== 'recovering') return;
        if (!row) {
          this.state = 'closed';
          return;
        }
        if (row.leaderEpoch !== this.epoch) {
          this.state = 'fenced';
          this.fencedBecause = `${this.label}: this broker led it in leader epoch ${this.epoch}, the database has epoch ${row.leaderEpoch} now; it no longer writes here`;
          this.host.log('warn', this.fencedBecause);
          return;
        }
        const before = this.endOffset;
        this.restore(row);
        this.state = 'open';
        this.host.log('info', `${this.label}: reloaded from the database (log [${this.startOffset}, ${this.endOffset}))`);
        if (this.endOffset !== before) for (const l of this.listeners) l();
        return;
      } catch (err) {
        this.host.log('warn', `${this.label}: reloading from the database failed (${err instanceof Error ? err.message : String(err)}); retrying`);
        await new Promise((r) => setTimeout(r, RELOAD_RETRY_MS));
      }
    }
  }

  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    if (this.state === 'closed') throw new StorageError(`${this.label} is closed`);
    const end = this.endOffset;
    const from = Math.max(offset, this.startOffset);
    if (from >= end) return { chunks: [], bytes: 0 };
    const chunks: Buffer[] = [];
    let bytes = 0;
    const c = this.cache;
    if (c.length > 0 && c[0].baseOffset <= from) {
      let lo = 0, hi = c.length - 1, i = c.length;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (c[mid].lastOffset >= from) { i = mid; hi = mid - 1; } else lo = mid + 1;
      }
      for (; i < c.length && c[i].baseOffset < end; i++) {
        const b = c[i].bytes;
        if (bytes + b.length > maxBytes && !(minOneBatch && chunks.length === 0)) break;
        chunks.push(b);
        bytes += b.length;
      }
      return { chunks, bytes };
    }
    try {
      for (const b of await this.host.readBatches(this.id, from, end, maxBytes, minOneBatch)) {
        chunks.push(b);
        bytes += b.length;
      }
    } catch (err) {
      throw new StorageError(`${this.label}: read at ${offset} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { chunks, bytes };
  }

  async offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    if (this.state === 'closed') throw new StorageError(`${this.label} is closed`);
    let found;
    try {
      found = await this.host.offsetForTimestamp(this.id, timestamp, this.endOffset);
    } catch (err) {
      throw new StorageError(`${this.label}: timestamp lookup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    return found && { offset: Math.max(found.offset, this.startOffset), timestamp: found.timestamp };
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every acknowledged append is committed already; this waits for the ones in flight. */
  sync(): Promise<void> {
    return this.idle();
  }

  async deleteBefore(offset: number): Promise<number> {
    const refused = this.refusal();
    if (refused) throw refused;
    const target = Math.min(offset, this.endOffset);
    if (target <= this.startOffset) return this.startOffset;
    try {
      await this.host.deleteBefore(this, target);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`${this.label}: deleting records below ${target} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (target > this.startOffset) {
      this.startOffset = target;
      this.txns.dropBefore(target);
      while (this.cache.length > 0 && this.cache[0].lastOffset < target) this.evictFront();
      // Runs wholly below the new start are gone; one that straddles it keeps its size until the next load.
      while (this.segments.length > 1 && this.segments[1].baseOffset <= target) this.segments.shift();
      if (this.segments.length > 0 && this.segments[0].baseOffset < target) this.segments[0].baseOffset = target;
    }
    return this.startOffset;
  }

  /** A moved leader epoch found by someone else (deleteBefore): no more writes here. */
  fence(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'fenced';
    this.fencedBecause = reason;
  }

  isOpen(): boolean {
    return this.state !== 'closed';
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    await this.idle();
    this.state = 'closed';
    this.listeners.clear();
    this.clearCache();
  }

  private idle(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    if (this.pending.length > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private evictFront(): void {
    const e = this.cache.shift();
    if (!e) return;
    this.cacheBytes -= e.bytes.length;
    this.host.cacheDrop(e);
  }

  /** The shared budget evicts `entry`: it and everything older in this cache go (the cache stays contiguous). */
  evictUpTo(entry: CacheEntry): void {
    if (!entry.live) return;
    while (this.cache.length > 0) {
      const front = this.cache[0];
      this.evictFront();
      if (front === entry) return;
    }
  }

  private clearCache(): void {
    while (this.cache.length > 0) this.evictFront();
  }
}
