// One partition of the file engine: recovery of its segments at open, the append queue (queued
// appends → one writev), rollback of failed writes, the read path (tail cache, index lookups,
// read-ahead), timestamp lookups, fsync, retention and clean close.
import { mkdir, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Attr, readBatchHeader, type BatchHeader, type TxnMarker } from '../../protocol/records.js';
import { appendMarker, stampBatches } from '../append.js';
import { GroupSync } from '../group-commit.js';
import { ProducerStateTable, type ProducerEntry } from '../producer-state.js';
import { CorruptDataError, StorageError, type AppendOptions, type AppendResult, type CleanResult, type CompactionSettings, type PartitionLog, type ReadResult, type SegmentPolicy } from '../types.js';
import { cleanPartition, crashPoint, recoverCleaning, type CleanerView } from './cleaner.js';
import { deferred, Mutex, type Deferred } from './async-util.js';
import type { LogContext } from './context.js';
import { asStorageError, errText, fsyncDir, isNotFound, readAt, readOptional, unlinkQuiet, writeAllAt, writeFileAtomic } from './io.js';
import { findSegment, HDR, INDEX_RE, INT32_MAX, scanHeaders, SCAN_CHUNK, scanValid, Segment, SEGMENT_RE, SegmentGone, segmentName, type SegmentMark } from './segment.js';
import { cloneEntry, parseSnapshot, type ProducerSnapshot } from './producer-snapshot.js';
import { TailCache } from './tail-cache.js';
import { TxnState, txnEventOf, type TxnEvent } from '../txn-state.js';

/** Queued appends written with one writev: at most this many (IOV_MAX is 1024) and bytes. */
const MAX_WRITE_GROUP = 64;
const MAX_WRITE_GROUP_BYTES = 8 * 1024 * 1024;
/** Produced batches below this size are copied out of a larger request frame (see append). */
const SMALL_BATCH_COPY = 64 * 1024;

/** A copy in an allocation of exactly its size. */
function exactCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}
/**
 * A read from disk that stopped at the reader's byte limit starts reading the next range at once,
 * so a consumer catching up sequentially finds its next fetch already in memory.
 */
const READ_AHEAD_BYTES = 1024 * 1024;
/** Read-aheads kept per partition (one per concurrent sequential reader, e.g. two groups). */
const READ_AHEAD_SLOTS = 2;
/** Temp files of writeFileAtomic (`<name>.<pid>.<n>.tmp`): the only temp files open() removes. */
const OWN_TMP_RE = /\.\d+\.\d+\.tmp$/;
/** Files of a removed segment waiting out file.delete.delay.ms (open() deletes any it finds). */
const DELETED_RE = /^\d{20}\.(log|index|timeindex)\.deleted$/;
const OFFSET_ENTRY_BYTES = 8;
const TIME_ENTRY_BYTES = 12;
/** segment.index.bytes when nothing says otherwise (Kafka's log.index.size.max.bytes default). */
const DEFAULT_INDEX_BYTES = 10 * 1024 * 1024;

interface WriteJob {
  seg: Segment;
  /** Set when this append rolled: the segment to seal before `seg`'s file is created. */
  prev: Segment | undefined;
  pos: number;
  buf: Buffer;
  baseOffset: number;
  endOffset: number;
  lasts: number[];
  ends: number[];
  mark: SegmentMark;
  /** Producer entries as they were before this append (undefined = absent), for rollback. */
  undo: Map<number, ProducerEntry | undefined> | undefined;
  /** Transaction events of the batches, applied once they are readable. */
  txnEvents: TxnEvent[] | undefined;
  done: Deferred;
}

interface ReadAhead {
  seg: Segment;
  /** The offset a sequential reader asks for next, and the file position of its batch. */
  offset: number;
  pos: number;
  /** The bytes from `pos`; null if the read failed (the reader then reads for itself). */
  bytes: Promise<Buffer | null>;
}

export class FilePartitionLog implements PartitionLog {
  readonly producers = new ProducerStateTable();
  /** Transactions as readers see the log: applied in completed(), rebuilt by recovery (see txn-state.ts). */
  private readonly txns = new TxnState();
  /** Copy-on-write, so a reader holding the array sees a consistent list. */
  private segments: Segment[] = [];
  private readonly jitters = new WeakMap<Segment, number>();
  /** Timers deleting removed segments' files after file.delete.delay.ms. */
  private readonly pendingDeletes = new Set<NodeJS.Timeout>();
  private startOffset = 0;
  private writtenEnd = 0;
  private assignedNext = 0;
  private queue: WriteJob[] = [];
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly dirty = new Set<Segment>();
  private readonly groupSync: GroupSync;
  private readonly cache: TailCache;
  private readAheads: ReadAhead[] = [];
  private readonly startLock = new Mutex();
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';

  constructor(
    private readonly ctx: LogContext,
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly label: string,
  ) {
    this.cache = new TailCache(ctx.tailCache);
    this.groupSync = new GroupSync(() => this.fsyncDirty(), ctx.options.observer?.fsync);
  }

  logStartOffset(): number {
    return this.startOffset;
  }

  /** The memory the tail cache holds on to (what it counts, and how many appends) — for tests. */
  tailCacheStats(): { pinnedBytes: number; entries: number } {
    return this.cache.stats();
  }

  logEndOffset(): number {
    return this.writtenEnd;
  }

  lastStableOffset(): number {
    return this.txns.lastStable(this.startOffset, this.writtenEnd);
  }

  writeTxnMarker(marker: TxnMarker, options: AppendOptions): Promise<{ offset: number }> {
    return appendMarker(this, marker, options);
  }

  abortedTransactions(from: number, to: number): { producerId: number; firstOffset: number }[] {
    return this.txns.abortedIn(from, to);
  }

  txnFirstOffset(producerId: number): number {
    return this.txns.firstOffsetOf(producerId);
  }

  private get interval(): number {
    return this.policy().indexIntervalBytes;
  }

  /** The topic's segment settings (segment.*, index.interval.bytes, file.delete.delay.ms), else the storage's. */
  private policy(): SegmentPolicy {
    const o = this.ctx.options;
    return o.segmentPolicy?.(this.topic) ?? {
      segmentBytes: o.segmentBytes, segmentMs: o.segmentMs, segmentJitterMs: 0, segmentIndexBytes: DEFAULT_INDEX_BYTES,
      indexIntervalBytes: o.indexIntervalBytes, fileDeleteDelayMs: 0,
    };
  }

  /** Segments and their sizes, oldest first (retention.bytes). */
  segmentSizes(): { baseOffset: number; bytes: number }[] {
    return this.segments.map((s) => ({ baseOffset: s.base, bytes: s.assignedSize }));
  }

  /** segment.jitter.ms: a random amount drawn once per segment, below both the jitter and segment.ms. */
  private jitterOf(seg: Segment, o: SegmentPolicy): number {
    if (o.segmentJitterMs <= 0) return 0;
    let j = this.jitters.get(seg);
    if (j === undefined) this.jitters.set(seg, (j = Math.floor(Math.random() * Math.min(o.segmentJitterMs, o.segmentMs))));
    return j;
  }

  private active(): Segment {
    const s = this.segments[this.segments.length - 1];
    if (!s) throw new Error(`assertion: ${this.label} has no segment`);
    return s;
  }

  // ----- recovery -------------------------------------------------------------------------------

  /** Loads (or, for a new partition, creates) the folder and recovers segments and producer state. */
  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error(`assertion: ${this.label} opened twice`);
    await mkdir(this.dir, { recursive: true });
    await recoverCleaning(this.dir, (level, msg) => this.ctx.log(level, msg));
    const names = await readdir(this.dir);
    const bases: number[] = [];
    for (const n of names) {
      const m = SEGMENT_RE.exec(n);
      if (m) bases.push(Number(m[1]));
      else if (OWN_TMP_RE.test(n) || DELETED_RE.test(n)) await unlinkQuiet(join(this.dir, n)); // only our own temp and set-aside files
    }
    for (const n of names) {
      // Index files whose segment is gone: a deletion interrupted by a crash.
      const m = INDEX_RE.exec(n);
      if (m && !bases.includes(Number(m[1]))) await unlinkQuiet(join(this.dir, n));
    }
    bases.sort((a, b) => a - b);
    const storedStart = await this.readLogStart();
    const snapshot = await this.takeSnapshot();

    if (bases.length === 0) {
      const seg = new Segment(this.dir, storedStart ?? 0, this.interval, this.ctx.handles);
      await seg.create();
      seg.finished = true;
      await fsyncDir(this.dir);
      this.segments = [seg];
    } else {
      const segs = bases.map((b) => new Segment(this.dir, b, this.interval, this.ctx.handles));
      for (let i = 0; i < segs.length - 1; i++) await this.loadSegment(segs[i], segs[i + 1].base);
      await this.recoverLast(segs[segs.length - 1]);
      this.segments = segs;
    }
    const last = this.active();
    this.writtenEnd = this.assignedNext = last.writtenEnd;
    this.startOffset = Math.max(storedStart ?? 0, this.segments[0].base);
    if (this.startOffset > this.writtenEnd) {
      // The log start was persisted but the tail it pointed into was lost (never fsynced): start a
      // fresh segment there, so offsets a consumer may have seen are never reused.
      this.ctx.log('warn', `recovered ${this.label}: log start ${this.startOffset} is past the recovered end ${this.writtenEnd}; continuing from the log start`);
      last.sealTimeIndex();
      await last.writeIndexes(true);
      const seg = new Segment(this.dir, this.startOffset, this.interval, this.ctx.handles);
      await seg.create();
      seg.finished = true;
      await fsyncDir(this.dir);
      this.segments = [...this.segments, seg];
      this.writtenEnd = this.assignedNext = this.startOffset;
    }
    await this.dropSegmentsBelow(this.startOffset);
    await this.recoverProducers(snapshot);
    this.state = 'open';
  }

  private async readLogStart(): Promise<number | undefined> {
    const b = await readOptional(join(this.dir, 'log-start-offset'));
    if (b === null) return undefined;
    const v = Number(b.toString('utf8').trim());
    if (!Number.isSafeInteger(v) || v < 0) {
      this.ctx.log('warn', `${this.label}: ignoring unreadable log-start-offset file`);
      return undefined;
    }
    return v;
  }

  /** Reads and deletes the producer snapshot, so a later crash never trusts a stale one. */
  private async takeSnapshot(): Promise<ProducerSnapshot | null> {
    const file = join(this.dir, 'producer-state.json');
    const b = await readOptional(file);
    if (b === null) return null;
    let snap: ProducerSnapshot | null = null;
    try {
      snap = parseSnapshot(b.toString('utf8'));
    } catch {
      snap = null;
    }
    if (!snap) this.ctx.log('warn', `${this.label}: ignoring malformed producer-state.json`);
    await unlink(file);
    await fsyncDir(this.dir);
    return snap;
  }

  /** An older segment: trusted as written; indexes loaded, or rebuilt when missing or malformed. */
  private async loadSegment(seg: Segment, nextBase: number): Promise<void> {
    const st = await stat(seg.logPath);
    seg.writtenSize = seg.assignedSize = st.size;
    seg.writtenEnd = seg.assignedEnd = nextBase;
    seg.fileReady = true;
    const idx = await readOptional(seg.indexPath);
    const tidx = await readOptional(seg.timeIndexPath);
    let ok = idx !== null && tidx !== null && seg.offsets.decode(idx, st.size) && seg.times.decode(tidx, nextBase - seg.base);
    const lastEntry = seg.offsets.lastEntry();
    if (ok && lastEntry) {
      // The last entry must point at a batch header with the offset it claims.
      const h = await seg.peek(async (fh) => readBatchHeader(await readAt(fh, lastEntry.pos, HDR)));
      ok = h.magic === 2 && h.baseOffset === seg.base + lastEntry.rel;
    }
    if (ok) {
      seg.maxTimestamp = seg.times.lastTimestamp();
      seg.finished = true;
      // Cheap check: the header chain from the last index entry must end exactly at the file end.
      const from = lastEntry ?? { rel: 0, pos: 0 };
      await this.checkChain(seg, from.pos, seg.base + from.rel, nextBase, st.size, () => undefined);
      return;
    }
    seg.offsets.clear();
    seg.times.clear();
    // Rebuilding walks every header anyway: the same check covers the whole segment.
    await this.checkChain(seg, 0, seg.base, nextBase, st.size, (h, pos) => seg.note(pos, h));
    seg.sealTimeIndex();
    await seg.writeIndexes(this.ctx.options.flush !== 'os');
    this.ctx.log('info', `${this.label}: rebuilt indexes of segment ${segmentName(seg.base)}`);
  }

  /**
   * Walks the batch headers of an older segment from `pos` (a batch that must start at `offset`)
   * to its end: magic 2, consecutive offsets below `nextBase`, lengths that end exactly at the
   * file size. Damage is reported (once), never cut off: the bytes after it stay for an operator.
   */
  private async checkChain(seg: Segment, pos: number, offset: number, nextBase: number, size: number, visit: (h: BatchHeader, pos: number) => void): Promise<void> {
    let expect = offset;
    let bad: { pos: number; why: string } | null = null;
    const r = await seg.peek((fh) =>
      scanHeaders(fh, pos, size, (h, at) => {
        // Offsets only increase: a compacted segment has gaps between batches (cleaner.ts).
        if (h.magic !== 2 || h.baseOffset < expect || h.lastOffsetDelta < 0 || h.baseOffset + h.lastOffsetDelta >= nextBase) {
          bad = { pos: at, why: `batch header does not follow on (offset ${h.baseOffset}, ${expect} or later due)` };
          return false;
        }
        visit(h, at);
        expect = h.baseOffset + h.lastOffsetDelta + 1;
      }),
    );
    const found = bad ?? (r.clean ? null : { pos: r.pos, why: 'torn or impossible batch length' });
    if (found) this.damaged(seg, found.pos, `found at start: ${found.why}`);
  }

  /** The last segment: every batch checked; a torn or corrupt tail is cut off. */
  private async recoverLast(seg: Segment): Promise<void> {
    await seg.use(async (fh) => {
      const st = await fh.stat();
      const { validSize, nextOffset } = await scanValid(fh, st.size, seg.base, (h, pos) => seg.note(pos, h));
      if (validSize < st.size) {
        await fh.truncate(validSize);
        await fh.sync();
        this.ctx.log('warn', `recovered ${this.label}: truncated torn tail at offset ${nextOffset} (${st.size - validSize} bytes)`);
      }
      seg.writtenSize = seg.assignedSize = validSize;
      seg.writtenEnd = seg.assignedEnd = nextOffset;
      seg.fileReady = true;
      seg.finished = true;
      // Age for segment.ms: when the file was created, as near as the file system tells.
      seg.firstAppendMs = validSize > 0 ? st.birthtimeMs || st.mtimeMs : undefined;
    });
  }

  /**
   * Producer and transaction state: from the clean-close snapshot when it fits the recovered log,
   * then (or, without one, from the first segment) by replaying batch headers; a control batch's
   * record is read to tell COMMIT from ABORT.
   */
  private async recoverProducers(snapshot: ProducerSnapshot | null): Promise<void> {
    let from = this.segments[0].base;
    let table = new ProducerStateTable();
    this.txns.clear();
    if (snapshot && snapshot.endOffset <= this.writtenEnd && snapshot.endOffset >= from) {
      table = ProducerStateTable.fromJSON(snapshot.producers);
      this.txns.loadFrom(snapshot.txns);
      from = snapshot.endOffset;
    } else if (snapshot) {
      this.ctx.log('warn', `${this.label}: producer snapshot at ${snapshot.endOffset} does not fit the log [${from}, ${this.writtenEnd}); rebuilding`);
    }
    const noBytes = (): Buffer => { throw new Error('assertion: data batches need no bytes'); };
    for (const seg of this.segments) {
      if (seg.writtenEnd <= from || seg.writtenSize === 0) continue;
      let pos = from > seg.base ? seg.offsets.lookup(from - seg.base) : 0;
      for (;;) {
        // The scan stops at each control batch, whose bytes are read before it goes on.
        let control: { h: BatchHeader; at: number } | undefined;
        const r = await seg.peek((fh) =>
          scanHeaders(fh, pos, seg.writtenSize, (h, at) => {
            if (h.baseOffset < from) return;
            if (h.producerId >= 0 && h.attributes & Attr.CONTROL) {
              control = { h, at };
              return false;
            }
            table.update(h);
            this.txns.apply(txnEventOf(h, noBytes));
          }),
        );
        if (!control) {
          if (!r.clean) this.ctx.log('error', `${this.label}: producer state replay stopped at a bad batch in segment ${segmentName(seg.base)}`);
          break;
        }
        const { h, at } = control;
        const bytes = await seg.peek((fh) => readAt(fh, at, h.size));
        const ev = txnEventOf(h, () => bytes);
        table.update(h, ev?.control?.coordinatorEpoch);
        this.txns.apply(ev);
        pos = at + h.size;
      }
    }
    this.producers.loadFrom(table);
    this.txns.dropBefore(this.startOffset);
  }

  // ----- append ---------------------------------------------------------------------------------

  async append(batches: Buffer, headers: BatchHeader[], options: AppendOptions): Promise<AppendResult> {
    // Everything up to the first await runs synchronously, so offsets follow call order.
    if (this.state !== 'open') throw new StorageError(`${this.label} is closed`);
    if (headers.length === 0) throw new Error('assertion: append without batches');
    let covered = 0;
    let count = 0;
    for (const h of headers) {
      covered += h.size;
      count += h.lastOffsetDelta + 1;
    }
    if (covered !== batches.length) throw new Error(`assertion: headers cover ${covered} of ${batches.length} bytes`);
    // The request bytes are not reused by the server, so they are kept as they are; the tail cache
    // counts the whole allocation they pin (and skips frames bigger than itself). Only small
    // batches that are a minor part of their allocation (a socket chunk carrying several requests)
    // are copied, which is cheap and lets the rest of the chunk go. The copy gets an allocation of
    // its own (not a slice of Node's shared pool, 8 KiB on Node 20 but 64 KiB on Node 24), so what
    // the cache counts is what it pins.
    const own = batches.length < SMALL_BATCH_COPY && batches.length * 2 < batches.buffer.byteLength ? exactCopy(batches) : batches;
    const now = Date.now();
    let seg = this.active();
    let prev: Segment | undefined;
    if (this.shouldRoll(seg, own.length, count, headers.length, now)) {
      prev = seg;
      seg = new Segment(this.dir, this.assignedNext, this.interval, this.ctx.handles);
      this.segments = [...this.segments, seg];
    }
    const mark = seg.mark();
    if (seg.assignedSize === 0) seg.firstAppendMs = now;
    const baseOffset = this.assignedNext;
    const endOffset = stampBatches(own, headers, baseOffset, options.logAppendTime);
    let undo: Map<number, ProducerEntry | undefined> | undefined;
    let txnEvents: TxnEvent[] | undefined;
    const lasts: number[] = [];
    const ends: number[] = [];
    let at = 0;
    for (const h of headers) {
      // Idempotent batches and transaction markers change the producer's entry.
      if (h.producerId >= 0 && (h.baseSequence >= 0 || h.attributes & Attr.CONTROL)) {
        undo ??= new Map();
        if (!undo.has(h.producerId)) {
          const e = this.producers.entry(h.producerId);
          undo.set(h.producerId, e ? cloneEntry(e) : undefined);
        }
      }
      const from = at;
      const ev = txnEventOf(h, () => own.subarray(from, from + h.size));
      if (ev) (txnEvents ??= []).push(ev);
      this.producers.update(h, ev?.control?.coordinatorEpoch);
      seg.note(seg.assignedSize + at, h);
      at += h.size;
      lasts.push(h.baseOffset + h.lastOffsetDelta);
      ends.push(at);
    }
    const job: WriteJob = { seg, prev, pos: seg.assignedSize, buf: own, baseOffset, endOffset, lasts, ends, mark, undo, txnEvents, done: deferred() };
    seg.assignedSize += own.length;
    seg.assignedEnd = endOffset;
    this.assignedNext = endOffset;
    this.queue.push(job);
    if (!this.draining) {
      this.draining = true;
      void this.drain();
    }

    await job.done.promise;
    if (options.sync && this.ctx.options.flush === 'always') {
      try {
        await this.groupSync.sync();
      } catch (err) {
        throw asStorageError(`${this.label}: fsync failed`, err);
      }
    }
    return { baseOffset, lastOffset: endOffset - 1, logAppendTime: options.logAppendTime ?? -1, logStartOffset: this.startOffset };
  }

  private shouldRoll(seg: Segment, len: number, count: number, batches: number, now: number): boolean {
    if (seg.assignedSize === 0) return false;
    const o = this.policy();
    if (seg.assignedSize + len > o.segmentBytes) return true;
    if (seg.firstAppendMs !== undefined && now - seg.firstAppendMs >= o.segmentMs - this.jitterOf(seg, o)) return true;
    // Each batch may add one entry to each index (and sealing one more to the time index).
    if ((seg.offsets.length + batches) * OFFSET_ENTRY_BYTES > o.segmentIndexBytes) return true;
    if ((seg.times.length + batches + 1) * TIME_ENTRY_BYTES > o.segmentIndexBytes) return true;
    // Relative offsets are int32 in the index files.
    return this.assignedNext + count - seg.base > INT32_MAX;
  }

  /**
   * Runs queued writes in call order. Appends queued back to back for the same segment go to the
   * file as one positioned writev (one syscall and one thread-pool trip for many small produces).
   */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.takeWriteGroup();
      try {
        await this.runJobs(group);
      } catch (err) {
        try {
          await this.failFrom(group, err);
        } catch (bug) {
          this.ctx.log('error', `${this.label}: rollback after a failed write went wrong: ${errText(bug)}`);
        }
        continue;
      }
      for (const job of group) this.completed(job);
    }
    this.draining = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** The first queued job and those after it that continue it in the same segment without a roll. */
  private takeWriteGroup(): WriteJob[] {
    const first = this.queue.shift()!;
    const group = [first];
    let end = first.pos + first.buf.length;
    let bytes = first.buf.length;
    while (this.queue.length > 0 && group.length < MAX_WRITE_GROUP && bytes < MAX_WRITE_GROUP_BYTES) {
      const next = this.queue[0];
      if (next.prev || next.seg !== first.seg || next.pos !== end) break;
      group.push(this.queue.shift()!);
      end += next.buf.length;
      bytes += next.buf.length;
    }
    return group;
  }

  private idle(): Promise<void> {
    if (!this.draining) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async runJobs(group: WriteJob[]): Promise<void> {
    const job = group[0];
    const seg = job.seg;
    if (job.prev) {
      // Roll: the old segment's indexes go to disk before the new file exists, so after a crash
      // every segment but the last has its indexes (the last one is always rebuilt). Recovery only
      // checks the last segment, so unless flushing is left to the OS the old one is fsynced too.
      const durable = this.ctx.options.flush !== 'os';
      if (durable) {
        await job.prev.use((fh) => fh.datasync());
        this.dirty.delete(job.prev);
      }
      job.prev.sealTimeIndex();
      await job.prev.writeIndexes(durable);
      await seg.create();
      await fsyncDir(this.dir);
    }
    if (!seg.fileReady || seg.writtenSize !== job.pos) {
      throw new Error(`assertion: write at ${job.pos} of ${seg.logPath} (ready ${seg.fileReady}, written ${seg.writtenSize})`);
    }
    const bufs = group.map((j) => j.buf);
    await seg.use(async (fh) => {
      const length = bufs.reduce((n, b) => n + b.length, 0);
      const inject = this.ctx.faults.onWrite?.(seg.logPath, length);
      if (inject !== undefined) {
        if (inject > 0) await fh.write(Buffer.concat(bufs, length), 0, Math.min(inject, length), job.pos);
        throw Object.assign(new Error('injected write failure'), { code: 'EIO' });
      }
      await writeAllAt(fh, bufs, job.pos);
    });
  }

  private completed(job: WriteJob): void {
    const seg = job.seg;
    seg.writtenSize = job.pos + job.buf.length;
    seg.writtenEnd = job.endOffset;
    this.writtenEnd = job.endOffset;
    for (const ev of job.txnEvents ?? []) this.txns.apply(ev);
    this.dirty.add(seg);
    this.cache.add({ base: job.baseOffset, end: job.endOffset, buf: job.buf, lasts: job.lasts, ends: job.ends });
    job.done.resolve();
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.ctx.log('error', `${this.label}: append listener threw: ${errText(err)}`);
      }
    }
  }

  /**
   * A write failed: that append and every one queued behind it (their offsets depended on it) are
   * rejected; offsets, indexes, segments and producer state go back to the written end; the
   * partial bytes are cut off. Later appends start from a clean state.
   */
  private async failFrom(group: WriteJob[], err: unknown): Promise<void> {
    const job = group[0];
    const failed = [...group, ...this.queue.splice(0)];
    this.ctx.log('error', `${this.label}: write at offset ${job.baseOffset} failed (${errText(err)}); rejecting ${failed.length} append(s)`);
    try {
      this.assignedNext = this.writtenEnd;

      const rows = new Map(this.producers.toJSON());
      for (let i = failed.length - 1; i >= 0; i--) {
        for (const [id, e] of failed[i].undo ?? []) {
          if (e) rows.set(id, e);
          else rows.delete(id);
        }
      }
      this.producers.loadFrom(ProducerStateTable.fromJSON([...rows]));

      // Segments rolled by failed appends go, unless one is ready and starts exactly at the written
      // end (it may be kept as the empty active segment; its predecessor may already be deleted).
      const keep = this.segments.filter((s) => s.fileReady && s.base <= this.writtenEnd);
      const removed = this.segments.filter((s) => !keep.includes(s));
      if (keep.length === 0) throw new Error(`assertion: ${this.label} lost every segment in a rollback`);
      this.segments = keep;
      const restored = new Set<Segment>();
      for (const f of failed) {
        if (keep.includes(f.seg) && !restored.has(f.seg)) {
          f.seg.restore(f.mark);
          restored.add(f.seg);
        }
      }
      if (this.active().assignedEnd !== this.writtenEnd) throw new Error(`assertion: ${this.label} active segment ends at ${this.active().assignedEnd}, log at ${this.writtenEnd}`);

      for (const s of removed) {
        this.dirty.delete(s);
        await s.dispose(true).catch((e: unknown) => this.ctx.log('error', `${this.label}: removing ${s.logPath}: ${errText(e)}`));
      }
      if (keep.includes(job.seg)) {
        const seg = job.seg;
        try {
          await seg.use((fh) => fh.truncate(seg.writtenSize));
        } catch (e) {
          // The next write overwrites from the same position; recovery cuts any leftover tail.
          this.ctx.log('error', `${this.label}: truncating ${seg.logPath} to ${seg.writtenSize}: ${errText(e)}`);
        }
      }
    } finally {
      // Rejected only now, so a caller that sees the error also sees the log cleaned up.
      const error = new StorageError(`${this.label}: write failed: ${errText(err)}`);
      this.ctx.options.observer?.error?.('write');
      for (const f of failed) f.done.reject(error);
    }
  }

  // ----- read -----------------------------------------------------------------------------------

  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.readOnce(offset, maxBytes, minOneBatch);
      } catch (err) {
        // A segment deleted under us (retention): start over from the new log start.
        if (err instanceof SegmentGone && attempt < 3) continue;
        if (!(err instanceof CorruptDataError) && this.state === 'open') this.ctx.options.observer?.error?.('read');
        throw asStorageError(`${this.label}: read at ${offset} failed`, err);
      }
    }
  }

  private async readOnce(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    if (this.state === 'closed') throw new StorageError(`${this.label} is closed`);
    const end = this.writtenEnd;
    if (offset < this.startOffset) offset = this.startOffset;
    const chunks: Buffer[] = [];
    let bytes = 0;
    while (offset < end) {
      const room = maxBytes - bytes;
      const needOne = minOneBatch && bytes === 0;
      if (room <= 0 && !needOne) break;
      const cached = this.cache.collect(offset, room, needOne);
      if (cached) {
        chunks.push(...cached.chunks);
        bytes += cached.bytes;
        break;
      }
      const segs = this.segments;
      const seg = segs[findSegment(segs, offset)];
      let r: Awaited<ReturnType<FilePartitionLog['readSegment']>>;
      try {
        r = await this.readSegment(seg, offset, room, needOne);
      } catch (err) {
        // Damage at the start of the next segment: serve what was read before it.
        if (err instanceof CorruptDataError && bytes > 0) break;
        throw err;
      }
      if (r.chunks.length > 0) {
        chunks.push(...r.chunks);
        bytes += r.bytes;
      }
      if (!r.more) break;
      if (r.next <= offset) throw new Error(`assertion: read of ${this.label} made no progress at ${offset}`);
      offset = r.next;
    }
    return { chunks, bytes };
  }

  /**
   * Whole batches of one segment from the one containing `offset`. `more` says the segment's
   * written end was reached with room left, so the caller may go on at `next`.
   */
  private async readSegment(seg: Segment, offset: number, room: number, needOne: boolean): Promise<ReadResult & { next: number; more: boolean }> {
    // Snapshot the written extent first: bytes past it may be in flight.
    const size = seg.writtenSize;
    const segEnd = seg.writtenEnd;
    if (offset >= segEnd || size === 0) return { chunks: [], bytes: 0, next: segEnd, more: true };
    const aheadAt = this.readAheads.findIndex((a) => a.seg === seg && a.offset === offset);
    const ahead = aheadAt >= 0 ? this.readAheads.splice(aheadAt, 1)[0] : undefined;
    return seg.use(async (fh) => {
      let pos = seg.offsets.lookup(offset - seg.base);
      let win: Buffer = Buffer.alloc(0);
      let winPos = 0;
      const covers = (p: number, len: number) => p >= winPos && p + len <= winPos + win.length;
      const load = async (p: number, len: number) => {
        win = await readAt(fh, p, Math.min(size - p, len));
        winPos = p;
      };
      /** The offset the batch at `pos` must start at (-1 when not known yet). */
      let expect = pos === 0 ? seg.base : -1;
      const damaged = (p: number, why: string) => this.damaged(seg, p, why);
      /** What is wrong with the header at `pos`, if anything (the header itself must be in `win`). */
      const check = (h: BatchHeader): string | null => {
        if (h.size < HDR || h.size > size - pos) return `impossible batch length ${h.size}`;
        if (h.magic !== 2) return `magic ${h.magic}`;
        if (h.lastOffsetDelta < 0 || h.baseOffset < seg.base || h.baseOffset + h.lastOffsetDelta >= segEnd) return `offsets ${h.baseOffset}+${h.lastOffsetDelta} outside the segment`;
        // Compacted segments have gaps between batches: offsets only have to increase.
        if (expect >= 0 && h.baseOffset < expect) return `offset ${h.baseOffset} where ${expect} or later was due`;
        return null;
      };

      const early = ahead ? await ahead.bytes : null;
      if (ahead && early && early.length > 0) {
        // Bytes below the written size never change, so what was read ahead is still the log.
        pos = ahead.pos;
        expect = -1; // ahead.offset may lie inside the batch at pos
        win = early;
        winPos = pos;
      } else {
        // One read usually covers the walk from the index entry and the answer.
        await load(pos, Math.max(SCAN_CHUNK, Math.min(room, size) + this.interval + HDR));
      }
      for (;;) {
        // An older segment shorter than its successor's base claims: nothing more here.
        if (pos === size) return { chunks: [], bytes: 0, next: segEnd, more: true };
        if (size - pos < HDR) throw damaged(pos, 'cut-off batch header');
        if (!covers(pos, HDR)) await load(pos, Math.max(SCAN_CHUNK, Math.min(room, size) + HDR));
        const h = readBatchHeader(win, pos - winPos);
        const bad = check(h);
        if (bad) throw damaged(pos, bad);
        if (h.baseOffset + h.lastOffsetDelta >= offset) break;
        expect = h.baseOffset + h.lastOffsetDelta + 1;
        pos += h.size;
      }

      const chunks: Buffer[] = [];
      let bytes = 0;
      let next = offset;
      let chunkStart = pos;
      const flush = () => {
        if (pos > chunkStart) chunks.push(win.subarray(chunkStart - winPos, pos - winPos));
      };
      let stopped = false;
      let failed: CorruptDataError | null = null;
      while (pos < size) {
        if (size - pos < HDR) {
          failed = damaged(pos, 'cut-off batch header');
          break;
        }
        if (!covers(pos, HDR)) {
          flush();
          await load(pos, Math.max(HDR, room - bytes));
          chunkStart = pos;
        }
        const h = readBatchHeader(win, pos - winPos);
        const bad = check(h);
        if (bad) {
          failed = damaged(pos, bad);
          break;
        }
        if (bytes + h.size > room && !(needOne && bytes === 0)) {
          stopped = true;
          break;
        }
        if (!covers(pos, h.size)) {
          flush();
          await load(pos, Math.max(h.size, room - bytes));
          chunkStart = pos;
        }
        bytes += h.size;
        next = h.baseOffset + h.lastOffsetDelta + 1;
        expect = next;
        pos += h.size;
      }
      flush();
      if (failed) {
        // The good batches before the damage are served; a read that starts at it fails.
        if (bytes === 0) throw failed;
        return { chunks, bytes, next, more: false };
      }
      if (!stopped) next = segEnd;
      else if (pos < size) this.startReadAhead(seg, next, pos, Math.min(size - pos, READ_AHEAD_BYTES));
      return { chunks, bytes, next, more: !stopped };
    });
  }

  /** Damage found at `pos` of `seg`: logged once per segment; the error the reader gets. */
  private damaged(seg: Segment, pos: number, why: string): CorruptDataError {
    const what = `segment ${segmentName(seg.base)} of ${this.label} is damaged at file position ${pos} (${why})`;
    if (!seg.damageReported) {
      seg.damageReported = true;
      this.ctx.log('error', `${what}; reads before it are served, reads in it answer CORRUPT_MESSAGE; the file is kept as it is for an operator`);
    }
    return new CorruptDataError(what);
  }

  private startReadAhead(seg: Segment, offset: number, pos: number, len: number): void {
    if (this.readAheads.some((a) => a.seg === seg && a.offset === offset)) return;
    const bytes = seg.use((fh) => readAt(fh, pos, len)).catch(() => null);
    this.readAheads.push({ seg, offset, pos, bytes });
    if (this.readAheads.length > READ_AHEAD_SLOTS) this.readAheads.shift();
  }

  async offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.offsetForTimestampOnce(timestamp);
      } catch (err) {
        if (err instanceof SegmentGone && attempt < 3) continue;
        throw asStorageError(`${this.label}: timestamp lookup failed`, err);
      }
    }
  }

  private async offsetForTimestampOnce(timestamp: number): Promise<{ offset: number; timestamp: number } | null> {
    if (this.state === 'closed') throw new StorageError(`${this.label} is closed`);
    const start = this.startOffset;
    const segs = this.segments;
    for (let i = findSegment(segs, start); i < segs.length; i++) {
      const seg = segs[i];
      const size = seg.writtenSize;
      if (size === 0) continue;
      const pos = seg.offsets.lookup(seg.times.lookup(timestamp));
      const hit: { offset: number; timestamp: number }[] = [];
      let bad = -1;
      const r = await seg.use((fh) =>
        scanHeaders(fh, pos, size, (h, at) => {
          if (h.magic !== 2 || h.lastOffsetDelta < 0) {
            bad = at;
            return false;
          }
          if (h.baseOffset + h.lastOffsetDelta < start || h.maxTimestamp < timestamp) return true;
          hit.push({ offset: Math.max(h.baseOffset, start), timestamp: h.maxTimestamp });
          return false;
        }),
      );
      if (hit.length > 0) return hit[0];
      // The answer may lie in the damaged range: say so rather than skip past it.
      if (bad >= 0) throw this.damaged(seg, bad, 'bad batch header');
      if (!r.clean) throw this.damaged(seg, r.pos, 'impossible batch length');
    }
    return null;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ----- durability, retention, close -----------------------------------------------------------

  hasUnsynced(): boolean {
    return this.dirty.size > 0 && this.state === 'open';
  }

  async sync(): Promise<void> {
    try {
      await this.groupSync.sync();
    } catch (err) {
      throw asStorageError(`${this.label}: fsync failed`, err);
    }
  }

  private async fsyncDirty(): Promise<void> {
    const segs = [...this.dirty];
    this.dirty.clear();
    try {
      await Promise.all(
        segs.map((s) =>
          s.use((fh) => fh.datasync()).catch((err: unknown) => {
            if (!(err instanceof SegmentGone)) throw err; // deleted meanwhile: nothing to keep
          }),
        ),
      );
    } catch (err) {
      for (const s of segs) this.dirty.add(s);
      throw err;
    }
  }

  async deleteBefore(offset: number): Promise<number> {
    return this.startLock.run(async () => {
      const target = Math.min(offset, this.writtenEnd);
      if (target <= this.startOffset) {
        // Nothing new to delete, but a segment left below the start by an earlier call (its
        // successor's roll was in flight then) can go now.
        await this.dropSegmentsBelow(this.startOffset);
        return this.startOffset;
      }
      try {
        await writeFileAtomic(join(this.dir, 'log-start-offset'), `${target}\n`);
      } catch (err) {
        throw asStorageError(`${this.label}: persisting log start ${target}`, err);
      }
      this.startOffset = target;
      this.txns.dropBefore(target);
      await this.dropSegmentsBelow(target);
      return this.startOffset;
    });
  }

  /** Deletes whole segments below `offset`; never the last one, nor one whose roll is in flight. */
  private async dropSegmentsBelow(offset: number): Promise<void> {
    const segs = this.segments;
    let n = 0;
    while (n < segs.length - 1 && segs[n + 1].base <= offset && segs[n + 1].fileReady && segs[n].finished) n++;
    if (n === 0) return;
    this.segments = segs.slice(n);
    const delay = this.policy().fileDeleteDelayMs;
    for (const s of segs.slice(0, n)) {
      this.dirty.delete(s);
      if (delay <= 0) {
        await s.dispose(true).catch((e: unknown) => this.ctx.log('error', `${this.label}: deleting ${s.logPath}: ${errText(e)}`));
        continue;
      }
      const closed = s.dispose(false);
      try {
        await this.setAside(s);
      } catch (e) {
        this.ctx.log('error', `${this.label}: setting ${s.logPath} aside for deletion: ${errText(e)}`);
      }
      await closed.catch((e: unknown) => this.ctx.log('error', `${this.label}: closing ${s.logPath}: ${errText(e)}`));
      this.deleteLater(s, delay);
    }
  }

  /**
   * file.delete.delay.ms, step one: renames a removed segment's files to *.deleted (open() deletes
   * those after a crash). Retention and the cleaner both go through here.
   */
  private async setAside(s: Segment): Promise<void> {
    for (const f of [s.logPath, s.indexPath, s.timeIndexPath]) await rename(f, `${f}.deleted`).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
  }

  /** Step two: deletes the *.deleted files of `s` once `delay` ms have passed (close() leaves them to the next open). */
  private deleteLater(s: Segment, delay: number): void {
    const files = [s.logPath, s.indexPath, s.timeIndexPath].map((f) => `${f}.deleted`);
    const timer = setTimeout(() => {
      this.pendingDeletes.delete(timer);
      void Promise.all(files.map((f) => unlinkQuiet(f))).catch((e: unknown) => this.ctx.log('error', `${this.label}: deleting ${s.logPath}.deleted: ${errText(e)}`));
    }, delay);
    timer.unref();
    this.pendingDeletes.add(timer);
  }

  // ----- compaction (cleaner.ts) ------------------------------------------------------------------

  compact(settings: CompactionSettings): Promise<CleanResult | null> {
    if (this.state !== 'open') return Promise.resolve(null);
    return cleanPartition(this.cleanerView(), settings);
  }

  private cleanerView(): CleanerView {
    return {
      dir: this.dir,
      label: this.label,
      segments: this.segments,
      startOffset: this.startOffset,
      lastStable: this.lastStableOffset(),
      indexInterval: this.interval,
      newSegment: (base) => new Segment(this.dir, base, this.interval, this.ctx.handles),
      producerKeeps: (id, lastOffset) => this.producers.entry(id)?.batches.some((b) => b.lastOffset === lastOffset) ?? false,
      aborted: (id, offset) => this.txns.abortedIn(offset, offset + 1).some((a) => a.producerId === id),
      replace: (old, fresh, cleanedPath, swapPath, end) => this.replaceSegments(old, fresh, cleanedPath, swapPath, end),
      log: (level, msg) => this.ctx.log(level, msg),
    };
  }

  /**
   * Puts a cleaned segment in the place of `old` (cleaner.ts has the on-disk protocol): the
   * rename to the swap name commits; readers of the old segments finish on their files; readers
   * of `fresh` wait at its gate until its file is in place.
   */
  private replaceSegments(old: readonly Segment[], fresh: Segment, cleanedPath: string, swapPath: string, end: number): Promise<boolean> {
    return this.startLock.run(async () => {
      const segs = this.segments;
      const i = segs.indexOf(old[0]);
      const same = this.state === 'open' && i >= 0 && old.every((s, k) => segs[i + k] === s) && segs[i + old.length]?.base === end;
      if (!same) {
        await unlinkQuiet(cleanedPath);
        return false;
      }
      await rename(cleanedPath, swapPath);
      await fsyncDir(this.dir);
      crashPoint('after-swap');
      let opened!: () => void;
      fresh.gate = new Promise<void>((resolve) => { opened = resolve; });
      fresh.fileReady = true;
      const now = this.segments;
      const j = now.indexOf(old[0]);
      this.segments = [...now.slice(0, j), fresh, ...now.slice(j + old.length)];
      // Cached batches of the replaced range would serve records the cleaner removed.
      this.cache.clear();
      this.readAheads = [];
      const delay = this.policy().fileDeleteDelayMs;
      try {
        for (const s of old) this.dirty.delete(s);
        await Promise.all(old.map((s) => s.dispose(false)));
        if (delay > 0) {
          // file.delete.delay.ms, as retention: every old file (the first segment's <base>.log too,
          // before the swap takes its name) is set aside as *.deleted and deleted later.
          for (const s of old) await this.setAside(s);
        } else {
          for (const s of old) {
            if (s !== old[0]) await unlinkQuiet(s.logPath); // old[0]'s name is taken over by the rename below
            await unlinkQuiet(s.indexPath);
            await unlinkQuiet(s.timeIndexPath);
          }
        }
        crashPoint('after-unlink');
        await rename(swapPath, fresh.logPath);
        await fsyncDir(this.dir);
        crashPoint('after-rename');
        if (delay > 0) for (const s of old) this.deleteLater(s, delay);
        await fresh.writeIndexes(this.ctx.options.flush !== 'os');
      } catch (err) {
        // The swap is committed on disk: the next open finishes it. Until then the segment is unusable.
        this.ctx.log('error', `${this.label}: moving cleaned segment ${segmentName(fresh.base)} into place failed (${errText(err)}); a restart finishes it`);
        void fresh.dispose(false);
        throw err;
      } finally {
        fresh.gate = null;
        opened();
      }
      return true;
    });
  }

  /**
   * Waits for queued writes, then (with `snapshot`) fsyncs and writes the producer snapshot that
   * lets the next open skip the header replay; closes every handle.
   */
  async close(snapshot = true): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    await this.idle();
    if (snapshot) {
      try {
        await this.groupSync.sync();
        const snap: ProducerSnapshot = { endOffset: this.writtenEnd, producers: this.producers.toJSON(), txns: this.txns.toJSON() };
        await writeFileAtomic(join(this.dir, 'producer-state.json'), JSON.stringify(snap));
      } catch (err) {
        this.ctx.log('error', `${this.label}: clean shutdown incomplete (${errText(err)}); the next open will replay the log`);
      }
    }
    this.state = 'closed';
    // Segments waiting out file.delete.delay.ms stay as *.deleted; the next open deletes them.
    for (const t of this.pendingDeletes) clearTimeout(t);
    this.pendingDeletes.clear();
    this.listeners.clear();
    this.cache.clear();
    this.dirty.clear();
    await Promise.all(this.segments.map((s) => s.dispose(false).catch((e: unknown) => this.ctx.log('error', `${this.label}: closing ${s.logPath}: ${errText(e)}`))));
  }
}
