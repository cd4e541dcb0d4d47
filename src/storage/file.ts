// Durable storage engine: Kafka's on-disk shape (segmented logs with sparse indexes), our own code.
//
// dataDir/
//   meta.json                 { version, clusterId, producerIdHighWater } — ids below the mark may be in use
//   topics.json               the catalog: [{ name, topicId, partitionCount, configs }]
//   <topic>-<p>/              one folder per partition
//     <base:20 digits>.log    RecordBatch v2 bytes back to back, exactly as appended (offsets stamped)
//     <base>.index            sparse: int32 offset - base, int32 file position of that batch
//     <base>.timeindex        int64 max timestamp so far, int32 offset - base of the batch that reached it
//     log-start-offset        decimal text, written atomically by deleteBefore
//     producer-state.json     written at clean close, deleted once loaded
//   __internal/<name>/        internal logs, same segment format, not in the catalog
//
// Only the last segment of a partition is scanned (and CRC-checked) at open; older segments are
// trusted, their indexes loaded from disk (or rebuilt when missing or malformed). The indexes of
// the active segment live in memory and reach disk when it rolls.
import { randomBytes, randomUUID } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BATCH_HEADER_SIZE, batchCrc, readBatchHeader, type BatchHeader } from '../protocol/records.js';
import { GroupSync, stampBatches } from './append.js';
import { ProducerStateTable, type ProducerEntry } from './producer-state.js';
import {
  StorageError,
  type AppendOptions,
  type AppendResult,
  type PartitionLog,
  type ReadResult,
  type Storage,
  type StorageOptions,
  type TopicMeta,
} from './types.js';

export type StorageLogger = (level: 'info' | 'warn' | 'error', msg: string) => void;

/**
 * Fault injection for tests: lets a test make data writes fail without a full disk. Not used in
 * production; an empty object costs one property check per write.
 */
export interface FaultHooks {
  /**
   * Called before each data write to a `.log` file. Return a number n to write only the first n
   * bytes and then fail with EIO (a torn write); throw to fail before writing anything; return
   * undefined to write normally.
   */
  onWrite?: (file: string, length: number) => number | undefined;
}

const HDR = BATCH_HEADER_SIZE;
const INT32_MAX = 2147483647;
const OFFSET_ENTRY = 8;
const TIME_ENTRY = 12;
/** Read size when walking batch headers (recovery replay, index lookups, timestamp search). */
const SCAN_CHUNK = 64 * 1024;
/** Read size when CRC-checking the last segment at open. */
const RECOVERY_CHUNK = 1024 * 1024;
/** Queued appends written with one writev: at most this many (IOV_MAX is 1024) and bytes. */
const MAX_WRITE_GROUP = 64;
const MAX_WRITE_GROUP_BYTES = 8 * 1024 * 1024;
/** Per-partition cache of the newest written bytes, so tailing consumers skip the disk. */
export const TAIL_CACHE_BYTES = 4 * 1024 * 1024;
/** Produced batches below this size are copied out of a larger request frame (see append). */
const SMALL_BATCH_COPY = 64 * 1024;
/**
 * A read from disk that stopped at the reader's byte limit starts reading the next range at once,
 * so a consumer catching up sequentially finds its next fetch already in memory.
 */
const READ_AHEAD_BYTES = 1024 * 1024;
/** Read-aheads kept per partition (one per concurrent sequential reader, e.g. two groups). */
const READ_AHEAD_SLOTS = 2;
/** Producer ids are reserved on disk this many at a time. */
const PRODUCER_ID_BLOCK = 1000;
const FIRST_PRODUCER_ID = 1000;
/** Below any real timestamp (Kafka uses -1 for "none"), so the first batch always raises it. */
const NO_TIMESTAMP = Number.MIN_SAFE_INTEGER;
const RECOVERY_PARALLELISM = 8;

const SEGMENT_RE = /^(\d{20})\.log$/;
const INDEX_RE = /^(\d{20})\.(index|timeindex)$/;
const PARTITION_DIR_RE = /^(.+)-(\d+)$/;
const DELETED_DIR_RE = /\.[0-9a-f-]{36}-delete$/;

const segmentName = (base: number) => String(base).padStart(20, '0');
const errText = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  return e && typeof e === 'object' ? (e.code ? `${e.code}: ${e.message}` : e.message) : String(err);
};
const isNotFound = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ENOENT';
const asStorageError = (what: string, err: unknown) =>
  err instanceof StorageError ? err : new StorageError(`${what}: ${errText(err)}`);

// ---------------------------------------------------------------------------------------------
// Small file helpers

async function readExact(fh: FileHandle, buf: Buffer, off: number, len: number, pos: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await fh.read(buf, off + done, len - done, pos + done);
    if (bytesRead === 0) throw new StorageError(`short read at file position ${pos + done}`);
    done += bytesRead;
  }
}

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer> {
  const b = Buffer.allocUnsafe(len);
  await readExact(fh, b, 0, len, pos);
  return b;
}

/** Writes `bufs` back to back from `pos`: one writev, continued only after a short write. */
async function writeAllAt(fh: FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  let rest = bufs;
  for (;;) {
    const { bytesWritten } = rest.length === 1 ? await fh.write(rest[0], 0, rest[0].length, pos) : await fh.writev(rest, pos);
    let left = bytesWritten;
    if (left <= 0) throw new Error('write made no progress');
    pos += left;
    let k = 0;
    while (k < rest.length && left >= rest[k].length) left -= rest[k++].length;
    if (k === rest.length) return;
    rest = [rest[k].subarray(left), ...rest.slice(k + 1)];
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

let tmpCounter = 0;
/** Write-to-temp, fsync, rename, fsync dir: readers see the old or the new file, never a mix. */
async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  await fsyncDir(join(file, '..'));
}

async function writeWholeFile(file: string, data: Buffer, sync: boolean): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(data);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readOptional(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

async function unlinkQuiet(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Serialises async critical sections (catalog writes, meta writes, log-start moves). */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.tail.then(fn);
    this.tail = r.catch(() => undefined);
    return r;
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Walks batch headers in [start, end) of a file without reading batch bodies. Stops when `visit`
 * returns false. Returns where it stopped and whether the walk ended cleanly (false when a header
 * is cut off or a length is impossible).
 */
async function scanHeaders(
  fh: FileHandle,
  start: number,
  end: number,
  visit: (h: BatchHeader, pos: number) => boolean | void,
): Promise<{ pos: number; clean: boolean }> {
  const buf = Buffer.allocUnsafe(SCAN_CHUNK);
  let bufPos = 0;
  let bufLen = 0;
  let pos = start;
  while (pos < end) {
    if (end - pos < HDR) return { pos, clean: false };
    if (pos < bufPos || pos + HDR > bufPos + bufLen) {
      bufLen = Math.min(SCAN_CHUNK, end - pos);
      await readExact(fh, buf, 0, bufLen, pos);
      bufPos = pos;
    }
    const h = readBatchHeader(buf, pos - bufPos);
    if (h.size < HDR || h.size > end - pos) return { pos, clean: false };
    if (visit(h, pos) === false) return { pos, clean: true };
    pos += h.size;
  }
  return { pos, clean: true };
}

/**
 * Checks every batch of a segment from the start: whole header, magic 2, sane length, fits in the
 * file, consecutive offsets and a matching CRC32C. Returns the end of the last good batch.
 */
async function scanValid(
  fh: FileHandle,
  size: number,
  base: number,
  visit: (h: BatchHeader, pos: number) => void,
): Promise<{ validSize: number; nextOffset: number }> {
  const buf = Buffer.allocUnsafe(Math.min(RECOVERY_CHUNK, size));
  let bufPos = 0;
  let bufLen = 0;
  let pos = 0;
  let next = base;
  while (size - pos >= HDR) {
    if (pos < bufPos || pos + HDR > bufPos + bufLen) {
      bufLen = Math.min(buf.length, size - pos);
      await readExact(fh, buf, 0, bufLen, pos);
      bufPos = pos;
    }
    const h = readBatchHeader(buf, pos - bufPos);
    if (h.magic !== 2 || h.size < HDR || h.size > size - pos || h.baseOffset !== next || h.lastOffsetDelta < 0) break;
    let batch: Buffer;
    if (pos + h.size <= bufPos + bufLen) {
      batch = buf.subarray(pos - bufPos, pos - bufPos + h.size);
    } else if (h.size <= buf.length) {
      bufLen = Math.min(buf.length, size - pos);
      await readExact(fh, buf, 0, bufLen, pos);
      bufPos = pos;
      batch = buf.subarray(0, h.size);
    } else {
      batch = await readAt(fh, pos, h.size);
    }
    if (batchCrc(batch) !== h.crc) break;
    visit(h, pos);
    next = h.baseOffset + h.lastOffsetDelta + 1;
    pos += h.size;
  }
  return { validSize: pos, nextOffset: next };
}

// ---------------------------------------------------------------------------------------------
// Indexes (in memory: growable typed arrays; on disk: the same entries big-endian)

class OffsetIndex {
  private rel = new Int32Array(16);
  private pos = new Int32Array(16);
  length = 0;

  push(rel: number, pos: number): void {
    if (this.length > 0 && (rel <= this.rel[this.length - 1] || pos <= this.pos[this.length - 1])) {
      throw new Error(`assertion: offset index entry (${rel}, ${pos}) not after the last one`);
    }
    if (this.length === this.rel.length) {
      const r = new Int32Array(this.length * 2);
      const p = new Int32Array(this.length * 2);
      r.set(this.rel);
      p.set(this.pos);
      this.rel = r;
      this.pos = p;
    }
    this.rel[this.length] = rel;
    this.pos[this.length] = pos;
    this.length++;
  }

  /** Position of the last entry at or before this batch (file position 0 when none). */
  lastPosition(): number {
    return this.length > 0 ? this.pos[this.length - 1] : 0;
  }

  lastEntry(): { rel: number; pos: number } | null {
    return this.length > 0 ? { rel: this.rel[this.length - 1], pos: this.pos[this.length - 1] } : null;
  }

  /** File position of a batch starting at or before relative offset `rel`. */
  lookup(rel: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.rel[mid] <= rel) {
        found = this.pos[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops entries at or past `size` (bytes truncated after a failed write). */
  truncateTo(size: number): void {
    while (this.length > 0 && this.pos[this.length - 1] >= size) this.length--;
  }

  clear(): void {
    this.length = 0;
  }

  encode(): Buffer {
    const b = Buffer.allocUnsafe(this.length * OFFSET_ENTRY);
    for (let i = 0; i < this.length; i++) {
      b.writeInt32BE(this.rel[i], i * OFFSET_ENTRY);
      b.writeInt32BE(this.pos[i], i * OFFSET_ENTRY + 4);
    }
    return b;
  }

  /** Loads entries written by encode(); false (and empty) when they are not plausible. */
  decode(b: Buffer, fileSize: number): boolean {
    this.clear();
    if (b.length % OFFSET_ENTRY !== 0) return false;
    for (let at = 0; at < b.length; at += OFFSET_ENTRY) {
      const rel = b.readInt32BE(at);
      const pos = b.readInt32BE(at + 4);
      const last = this.lastEntry();
      if (rel < 0 || pos < 0 || pos >= fileSize || (last && (rel <= last.rel || pos <= last.pos))) {
        this.clear();
        return false;
      }
      this.push(rel, pos);
    }
    return true;
  }
}

class TimeIndex {
  private ts = new Float64Array(16);
  private rel = new Int32Array(16);
  length = 0;

  lastTimestamp(): number {
    return this.length > 0 ? this.ts[this.length - 1] : NO_TIMESTAMP;
  }

  push(ts: number, rel: number): void {
    if (this.length > 0 && (ts <= this.ts[this.length - 1] || rel < this.rel[this.length - 1])) {
      throw new Error(`assertion: time index entry (${ts}, ${rel}) not after the last one`);
    }
    if (this.length === this.ts.length) {
      const t = new Float64Array(this.length * 2);
      const r = new Int32Array(this.length * 2);
      t.set(this.ts);
      r.set(this.rel);
      this.ts = t;
      this.rel = r;
    }
    this.ts[this.length] = ts;
    this.rel[this.length] = rel;
    this.length++;
  }

  /**
   * Relative offset from which to scan for the first batch with max timestamp >= `ts`: every
   * batch up to an entry has a timestamp <= the entry's, so the last entry below `ts` is safe.
   */
  lookup(ts: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.ts[mid] < ts) {
        found = this.rel[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops entries for batches at or past relative offset `rel`. */
  truncateTo(rel: number): void {
    while (this.length > 0 && this.rel[this.length - 1] >= rel) this.length--;
  }

  clear(): void {
    this.length = 0;
  }

  encode(): Buffer {
    const b = Buffer.allocUnsafe(this.length * TIME_ENTRY);
    for (let i = 0; i < this.length; i++) {
      b.writeBigInt64BE(BigInt(this.ts[i]), i * TIME_ENTRY);
      b.writeInt32BE(this.rel[i], i * TIME_ENTRY + 8);
    }
    return b;
  }

  decode(b: Buffer, relLimit: number): boolean {
    this.clear();
    if (b.length % TIME_ENTRY !== 0) return false;
    for (let at = 0; at < b.length; at += TIME_ENTRY) {
      const ts = Number(b.readBigInt64BE(at));
      const rel = b.readInt32BE(at + 8);
      const bad =
        rel < 0 ||
        rel >= relLimit ||
        (this.length > 0 && (ts <= this.ts[this.length - 1] || rel < this.rel[this.length - 1]));
      if (bad) {
        this.clear();
        return false;
      }
      this.push(ts, rel);
    }
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Segments

/** Thrown when a segment was deleted under a reader; the read restarts from the new log start. */
class SegmentGone extends Error {}

/** The assignment-side state of a segment before an append, restored if that append fails. */
interface SegmentMark {
  assignedSize: number;
  assignedEnd: number;
  maxTimestamp: number;
  lastBatchRel: number;
  firstAppendMs: number | undefined;
}

class Segment {
  readonly logPath: string;
  readonly indexPath: string;
  readonly timeIndexPath: string;
  readonly offsets = new OffsetIndex();
  readonly times = new TimeIndex();
  /** Bytes / next offset as far as writes have completed (what readers may see). */
  writtenSize = 0;
  writtenEnd: number;
  /** Bytes / next offset as far as appends have been stamped (writes may be pending). */
  assignedSize = 0;
  assignedEnd: number;
  maxTimestamp = NO_TIMESTAMP;
  lastBatchRel = -1;
  firstAppendMs: number | undefined;
  /** The file exists on disk (a rolled segment's file is created by the write queue). */
  fileReady = false;
  /** Indexes are on disk: the segment may be deleted without racing its roll. */
  finished = false;

  private fhp: Promise<FileHandle> | null = null;
  private users = 0;
  private disposed = false;
  private unlinkOnRelease = false;
  private released: Deferred | null = null;

  constructor(dir: string, readonly base: number, private readonly interval: number) {
    const name = segmentName(base);
    this.logPath = join(dir, `${name}.log`);
    this.indexPath = join(dir, `${name}.index`);
    this.timeIndexPath = join(dir, `${name}.timeindex`);
    this.writtenEnd = base;
    this.assignedEnd = base;
  }

  /** Indexes one batch at file position `pos` (same rule at append time and at rebuild). */
  note(pos: number, h: BatchHeader): void {
    const rel = h.baseOffset - this.base;
    if (rel < 0 || rel > INT32_MAX) throw new Error(`assertion: offset ${h.baseOffset} outside segment ${this.base}`);
    if (h.maxTimestamp > this.maxTimestamp) this.maxTimestamp = h.maxTimestamp;
    this.lastBatchRel = rel;
    // An entry each time `interval` bytes were appended since the last one (counting from 0).
    if (pos - this.offsets.lastPosition() >= this.interval) {
      this.offsets.push(rel, pos);
      if (this.maxTimestamp > this.times.lastTimestamp()) this.times.push(this.maxTimestamp, rel);
    }
  }

  /** Closes the time index with the segment's max timestamp, so lookups can skip the whole segment. */
  sealTimeIndex(): void {
    if (this.lastBatchRel >= 0 && this.maxTimestamp > this.times.lastTimestamp()) this.times.push(this.maxTimestamp, this.lastBatchRel);
  }

  mark(): SegmentMark {
    return {
      assignedSize: this.assignedSize,
      assignedEnd: this.assignedEnd,
      maxTimestamp: this.maxTimestamp,
      lastBatchRel: this.lastBatchRel,
      firstAppendMs: this.firstAppendMs,
    };
  }

  /** Undoes the assignments of failed appends: back to `m`, indexes trimmed to written bytes. */
  restore(m: SegmentMark): void {
    if (m.assignedSize !== this.writtenSize || m.assignedEnd !== this.writtenEnd) {
      throw new Error(`assertion: restoring ${this.logPath} to ${m.assignedSize}/${m.assignedEnd}, written ${this.writtenSize}/${this.writtenEnd}`);
    }
    this.assignedSize = m.assignedSize;
    this.assignedEnd = m.assignedEnd;
    this.maxTimestamp = m.maxTimestamp;
    this.lastBatchRel = m.lastBatchRel;
    this.firstAppendMs = m.firstAppendMs;
    this.offsets.truncateTo(this.writtenSize);
    this.times.truncateTo(this.writtenEnd - this.base);
  }

  async create(): Promise<void> {
    if (this.fhp) throw new Error(`assertion: ${this.logPath} already open`);
    const p = open(this.logPath, 'w+');
    this.fhp = p;
    try {
      await p;
    } catch (err) {
      this.fhp = null;
      throw err;
    }
    this.fileReady = true;
  }

  /** Runs `fn` with the segment's long-lived handle (opened on first use), holding off its close. */
  async use<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    if (this.disposed) throw new SegmentGone(this.logPath);
    this.users++;
    try {
      if (!this.fhp) {
        const p = open(this.logPath, 'r+');
        this.fhp = p;
        p.catch(() => {
          if (this.fhp === p) this.fhp = null;
        });
      }
      return await fn(await this.fhp);
    } finally {
      this.users--;
      if (this.disposed && this.users === 0) void this.release();
    }
  }

  /** Like use(), but without keeping a handle open afterwards (old segments during recovery). */
  async peek<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    if (this.fhp) return this.use(fn);
    const fh = await open(this.logPath, 'r');
    try {
      return await fn(fh);
    } finally {
      await fh.close();
    }
  }

  async writeIndexes(sync: boolean): Promise<void> {
    await writeWholeFile(this.indexPath, this.offsets.encode(), sync);
    await writeWholeFile(this.timeIndexPath, this.times.encode(), sync);
    this.finished = true;
  }

  /** Closes the handle once no reader uses it; with `unlink` also removes the files. */
  dispose(unlink: boolean): Promise<void> {
    if (unlink) this.unlinkOnRelease = true;
    if (!this.released) {
      this.released = deferred();
      this.disposed = true;
      if (this.users === 0) void this.release();
    }
    return this.released.promise;
  }

  private releasing = false;
  private async release(): Promise<void> {
    if (this.releasing || !this.released) return;
    this.releasing = true;
    const done = this.released;
    try {
      const p = this.fhp;
      this.fhp = null;
      const fh = p ? await p.catch(() => null) : null;
      if (fh) await fh.close();
      if (this.unlinkOnRelease) {
        await unlinkQuiet(this.logPath);
        await unlinkQuiet(this.indexPath);
        await unlinkQuiet(this.timeIndexPath);
      }
      done.resolve();
    } catch (err) {
      done.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Tail cache: the newest written appends, contiguous up to the written end of the log.

interface CacheEntry {
  base: number;
  end: number;
  buf: Buffer;
  /** Per batch: last offset and end position inside `buf`. */
  lasts: number[];
  ends: number[];
}

/**
 * What keeping `buf` costs: its whole allocation (a request frame or socket chunk it is part of).
 * Entries sharing one frame (partitions of one produce) each count it, so the cap is conservative.
 */
function pinnedBytes(buf: Buffer): number {
  return Math.max(buf.length, buf.buffer.byteLength);
}

const EVICTED: CacheEntry = { base: -1, end: -1, buf: Buffer.alloc(0), lasts: [], ends: [] };

class TailCache {
  private entries: CacheEntry[] = [];
  private head = 0;
  private bytes = 0;
  constructor(private readonly cap: number) {}

  add(e: CacheEntry): void {
    const last = this.entries[this.entries.length - 1];
    const size = pinnedBytes(e.buf);
    if (size > this.cap || (last && this.head < this.entries.length && last.end !== e.base)) {
      // Too big to keep, or not contiguous: the cache must never have holes, so start over.
      this.clear();
      if (size > this.cap) return;
    }
    this.entries.push(e);
    this.bytes += size;
    while (this.bytes > this.cap) {
      // Drop the reference as well as the count: evicted buffers must be collectable at once.
      this.bytes -= pinnedBytes(this.entries[this.head].buf);
      this.entries[this.head++] = EVICTED;
    }
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
  }

  stats(): { pinnedBytes: number; entries: number } {
    return { pinnedBytes: this.bytes, entries: this.entries.length - this.head };
  }

  /** Serves a read from memory if `offset` is inside the cache; null sends the caller to disk. */
  collect(offset: number, room: number, needOne: boolean): ReadResult | null {
    const n = this.entries.length;
    if (this.head >= n || offset < this.entries[this.head].base || offset >= this.entries[n - 1].end) return null;
    let lo = this.head;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid].end > offset) hi = mid;
      else lo = mid + 1;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (let k = lo; k < n; k++) {
      const e = this.entries[k];
      let j = 0;
      if (k === lo) while (e.lasts[j] < offset) j++;
      const from = j === 0 ? 0 : e.ends[j - 1];
      let to = from;
      let stopped = false;
      for (; j < e.lasts.length; j++) {
        const size = e.ends[j] - to;
        if (bytes + size > room && !(needOne && bytes === 0)) {
          stopped = true;
          break;
        }
        bytes += size;
        to = e.ends[j];
      }
      if (to > from) chunks.push(e.buf.subarray(from, to));
      if (stopped) break;
    }
    return { chunks, bytes };
  }
}

// ---------------------------------------------------------------------------------------------
// Partition log

interface LogContext {
  readonly options: StorageOptions;
  readonly log: StorageLogger;
  readonly faults: FaultHooks;
}

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

interface ProducerSnapshot {
  endOffset: number;
  producers: [number, ProducerEntry][];
}

function isProducerEntry(x: unknown): x is ProducerEntry {
  if (!x || typeof x !== 'object') return false;
  const e = x as { epoch?: unknown; batches?: unknown; lastTimestamp?: unknown };
  return (
    typeof e.epoch === 'number' &&
    typeof e.lastTimestamp === 'number' &&
    Array.isArray(e.batches) &&
    e.batches.every(
      (b: unknown) =>
        !!b &&
        typeof b === 'object' &&
        ['firstSeq', 'lastSeq', 'baseOffset', 'lastOffset'].every((k) => typeof (b as Record<string, unknown>)[k] === 'number'),
    )
  );
}

function parseSnapshot(text: string): ProducerSnapshot | null {
  const x: unknown = JSON.parse(text);
  if (!x || typeof x !== 'object') return null;
  const s = x as { endOffset?: unknown; producers?: unknown };
  if (typeof s.endOffset !== 'number' || !Array.isArray(s.producers)) return null;
  const rows: [number, ProducerEntry][] = [];
  for (const row of s.producers as unknown[]) {
    if (!Array.isArray(row) || row.length !== 2 || typeof row[0] !== 'number' || !isProducerEntry(row[1])) return null;
    rows.push([row[0], row[1]]);
  }
  return { endOffset: s.endOffset, producers: rows };
}

const cloneEntry = (e: ProducerEntry): ProducerEntry => ({
  epoch: e.epoch,
  lastTimestamp: e.lastTimestamp,
  batches: e.batches.map((b) => ({ ...b })),
});

export class FilePartitionLog implements PartitionLog {
  readonly producers = new ProducerStateTable();
  /** Copy-on-write, so a reader holding the array sees a consistent list. */
  private segments: Segment[] = [];
  private startOffset = 0;
  private writtenEnd = 0;
  private assignedNext = 0;
  private queue: WriteJob[] = [];
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly dirty = new Set<Segment>();
  private readonly groupSync = new GroupSync(() => this.fsyncDirty());
  private readonly cache = new TailCache(TAIL_CACHE_BYTES);
  private readAheads: ReadAhead[] = [];
  private readonly startLock = new Mutex();
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';

  constructor(
    private readonly ctx: LogContext,
    readonly topic: string,
    readonly partition: number,
    readonly dir: string,
    private readonly label: string,
  ) {}

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

  private get interval(): number {
    return this.ctx.options.indexIntervalBytes;
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
    const names = await readdir(this.dir);
    const bases: number[] = [];
    for (const n of names) {
      const m = SEGMENT_RE.exec(n);
      if (m) bases.push(Number(m[1]));
      else if (n.endsWith('.tmp')) await unlinkQuiet(join(this.dir, n));
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
      const seg = new Segment(this.dir, storedStart ?? 0, this.interval);
      await seg.create();
      seg.finished = true;
      await fsyncDir(this.dir);
      this.segments = [seg];
    } else {
      const segs = bases.map((b) => new Segment(this.dir, b, this.interval));
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
      const seg = new Segment(this.dir, this.startOffset, this.interval);
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
      return;
    }
    seg.offsets.clear();
    seg.times.clear();
    const r = await seg.peek((fh) => scanHeaders(fh, 0, st.size, (h, pos) => seg.note(pos, h)));
    if (!r.clean) this.ctx.log('error', `${this.label}: segment ${segmentName(seg.base)} has a bad batch at position ${r.pos}; indexed up to there`);
    seg.sealTimeIndex();
    await seg.writeIndexes(this.ctx.options.flush !== 'os');
    this.ctx.log('info', `${this.label}: rebuilt indexes of segment ${segmentName(seg.base)}`);
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

  private async recoverProducers(snapshot: ProducerSnapshot | null): Promise<void> {
    let from = this.segments[0].base;
    let table = new ProducerStateTable();
    if (snapshot && snapshot.endOffset <= this.writtenEnd && snapshot.endOffset >= from) {
      table = ProducerStateTable.fromJSON(snapshot.producers);
      from = snapshot.endOffset;
    } else if (snapshot) {
      this.ctx.log('warn', `${this.label}: producer snapshot at ${snapshot.endOffset} does not fit the log [${from}, ${this.writtenEnd}); rebuilding`);
    }
    for (const seg of this.segments) {
      if (seg.writtenEnd <= from || seg.writtenSize === 0) continue;
      const pos = from > seg.base ? seg.offsets.lookup(from - seg.base) : 0;
      const r = await seg.peek((fh) =>
        scanHeaders(fh, pos, seg.writtenSize, (h) => {
          if (h.baseOffset >= from) table.update(h);
        }),
      );
      if (!r.clean) this.ctx.log('error', `${this.label}: producer state replay stopped at a bad batch in segment ${segmentName(seg.base)}`);
    }
    this.producers.loadFrom(table);
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
    // are copied, which is cheap and lets the rest of the chunk go.
    const own = batches.length < SMALL_BATCH_COPY && batches.length * 2 < batches.buffer.byteLength ? Buffer.from(batches) : batches;
    const now = Date.now();
    let seg = this.active();
    let prev: Segment | undefined;
    if (this.shouldRoll(seg, own.length, count, now)) {
      prev = seg;
      seg = new Segment(this.dir, this.assignedNext, this.interval);
      this.segments = [...this.segments, seg];
    }
    const mark = seg.mark();
    if (seg.assignedSize === 0) seg.firstAppendMs = now;
    const baseOffset = this.assignedNext;
    const endOffset = stampBatches(own, headers, baseOffset, options.logAppendTime);
    let undo: Map<number, ProducerEntry | undefined> | undefined;
    const lasts: number[] = [];
    const ends: number[] = [];
    let at = 0;
    for (const h of headers) {
      if (h.producerId >= 0 && h.baseSequence >= 0) {
        undo ??= new Map();
        if (!undo.has(h.producerId)) {
          const e = this.producers.entry(h.producerId);
          undo.set(h.producerId, e ? cloneEntry(e) : undefined);
        }
      }
      this.producers.update(h);
      seg.note(seg.assignedSize + at, h);
      at += h.size;
      lasts.push(h.baseOffset + h.lastOffsetDelta);
      ends.push(at);
    }
    const job: WriteJob = { seg, prev, pos: seg.assignedSize, buf: own, baseOffset, endOffset, lasts, ends, mark, undo, done: deferred() };
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

  private shouldRoll(seg: Segment, len: number, count: number, now: number): boolean {
    if (seg.assignedSize === 0) return false;
    const o = this.ctx.options;
    if (seg.assignedSize + len > o.segmentBytes) return true;
    if (seg.firstAppendMs !== undefined && now - seg.firstAppendMs >= o.segmentMs) return true;
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
      const r = await this.readSegment(seg, offset, room, needOne);
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
      const corrupt = (p: number) => new StorageError(`${this.label}: bad batch at position ${p} of ${seg.logPath}`);

      const early = ahead ? await ahead.bytes : null;
      if (ahead && early && early.length > 0) {
        // Bytes below the written size never change, so what was read ahead is still the log.
        pos = ahead.pos;
        win = early;
        winPos = pos;
      } else {
        // One read usually covers the walk from the index entry and the answer.
        await load(pos, Math.max(SCAN_CHUNK, Math.min(room, size) + this.interval + HDR));
      }
      for (;;) {
        // An older segment shorter than its successor's base claims: nothing more here.
        if (pos === size) return { chunks: [], bytes: 0, next: segEnd, more: true };
        if (size - pos < HDR) throw corrupt(pos);
        if (!covers(pos, HDR)) await load(pos, Math.max(SCAN_CHUNK, Math.min(room, size) + HDR));
        const h = readBatchHeader(win, pos - winPos);
        if (h.size < HDR || h.size > size - pos) throw corrupt(pos);
        if (h.baseOffset + h.lastOffsetDelta >= offset) break;
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
      while (pos < size) {
        if (size - pos < HDR) throw corrupt(pos);
        if (!covers(pos, HDR)) {
          flush();
          await load(pos, Math.max(HDR, room - bytes));
          chunkStart = pos;
        }
        const h = readBatchHeader(win, pos - winPos);
        if (h.size < HDR || h.size > size - pos) throw corrupt(pos);
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
        pos += h.size;
      }
      flush();
      if (!stopped) next = segEnd;
      else if (pos < size) this.startReadAhead(seg, next, pos, Math.min(size - pos, READ_AHEAD_BYTES));
      return { chunks, bytes, next, more: !stopped };
    });
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
      await seg.use((fh) =>
        scanHeaders(fh, pos, size, (h) => {
          if (h.baseOffset + h.lastOffsetDelta < start || h.maxTimestamp < timestamp) return true;
          hit.push({ offset: Math.max(h.baseOffset, start), timestamp: h.maxTimestamp });
          return false;
        }),
      );
      if (hit.length > 0) return hit[0];
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
      if (target <= this.startOffset) return this.startOffset;
      try {
        await writeFileAtomic(join(this.dir, 'log-start-offset'), `${target}\n`);
      } catch (err) {
        throw asStorageError(`${this.label}: persisting log start ${target}`, err);
      }
      this.startOffset = target;
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
    for (const s of segs.slice(0, n)) {
      this.dirty.delete(s);
      await s.dispose(true).catch((e: unknown) => this.ctx.log('error', `${this.label}: deleting ${s.logPath}: ${errText(e)}`));
    }
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
        const snap = { endOffset: this.writtenEnd, producers: this.producers.toJSON() };
        await writeFileAtomic(join(this.dir, 'producer-state.json'), JSON.stringify(snap));
      } catch (err) {
        this.ctx.log('error', `${this.label}: clean shutdown incomplete (${errText(err)}); the next open will replay the log`);
      }
    }
    this.state = 'closed';
    this.listeners.clear();
    this.cache.clear();
    this.dirty.clear();
    await Promise.all(this.segments.map((s) => s.dispose(false).catch((e: unknown) => this.ctx.log('error', `${this.label}: closing ${s.logPath}: ${errText(e)}`))));
  }
}

/** Index of the last segment whose base offset is <= `offset` (0 when none is). */
function findSegment(segs: Segment[], offset: number): number {
  let lo = 0;
  let hi = segs.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segs[mid].base <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Storage: catalog, producer ids, internal logs

interface MetaFile {
  version: 1;
  clusterId: string;
  /** Producer ids below this may have been handed out; a restart continues from here. */
  producerIdHighWater: number;
}

function parseMeta(text: string): MetaFile | null {
  const x: unknown = JSON.parse(text);
  if (!x || typeof x !== 'object') return null;
  const m = x as { clusterId?: unknown; producerIdHighWater?: unknown };
  if (typeof m.clusterId !== 'string' || typeof m.producerIdHighWater !== 'number') return null;
  return { version: 1, clusterId: m.clusterId, producerIdHighWater: m.producerIdHighWater };
}

function parseCatalog(text: string): TopicMeta[] | null {
  const x: unknown = JSON.parse(text);
  if (!x || typeof x !== 'object' || !Array.isArray((x as { topics?: unknown }).topics)) return null;
  const out: TopicMeta[] = [];
  for (const t of (x as { topics: unknown[] }).topics) {
    if (!t || typeof t !== 'object') return null;
    const r = t as Record<string, unknown>;
    const configs = r.configs;
    if (typeof r.name !== 'string' || typeof r.topicId !== 'string' || typeof r.partitionCount !== 'number') return null;
    if (!configs || typeof configs !== 'object' || Object.values(configs).some((v) => typeof v !== 'string')) return null;
    out.push({ name: r.name, topicId: r.topicId, partitionCount: r.partitionCount, configs: { ...(configs as Record<string, string>) } });
  }
  return out;
}

function checkName(kind: string, name: string): void {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) throw new Error(`invalid ${kind} name ${JSON.stringify(name)}`);
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class FileStorage implements Storage {
  readonly kind = 'file';
  /** Test-only fault injection (see FaultHooks). */
  readonly faults: FaultHooks = {};
  private meta: MetaFile | null = null;
  private readonly catalog = new Map<string, TopicMeta>();
  private readonly logs = new Map<string, FilePartitionLog[]>();
  private readonly internal = new Map<string, Promise<FilePartitionLog>>();
  private readonly catalogLock = new Mutex();
  private readonly metaLock = new Mutex();
  private readonly ctx: LogContext;
  private readonly background = new Set<Promise<void>>();
  private nextProducerId = 0;
  private timer: NodeJS.Timeout | null = null;
  private state: 'new' | 'open' | 'closed' = 'new';

  constructor(
    readonly dataDir: string,
    readonly options: StorageOptions,
    private readonly log: StorageLogger = (level, msg) => {
      if (level !== 'info') console.error(`[fjord storage] ${level}: ${msg}`);
    },
  ) {
    if (!(options.segmentBytes > 0 && options.segmentBytes <= INT32_MAX)) throw new Error(`segmentBytes must be in 1..${INT32_MAX}`);
    if (!(options.indexIntervalBytes >= 0)) throw new Error('indexIntervalBytes must be >= 0');
    if (typeof options.flush === 'number' && !(options.flush > 0)) throw new Error('flush interval must be > 0 ms');
    this.ctx = { options, log, faults: this.faults };
  }

  get clusterId(): string {
    if (!this.meta) throw new Error('assertion: storage not open');
    return this.meta.clusterId;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new StorageError(`storage is ${this.state === 'new' ? 'not open' : 'closed'}`);
  }

  private partitionDir(topic: string, p: number): string {
    return join(this.dataDir, `${topic}-${p}`);
  }

  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error('assertion: storage opened twice');
    await mkdir(this.dataDir, { recursive: true });
    for (const n of await readdir(this.dataDir)) if (n.endsWith('.tmp')) await unlinkQuiet(join(this.dataDir, n));

    const metaPath = join(this.dataDir, 'meta.json');
    const metaBytes = await readOptional(metaPath);
    if (metaBytes === null) {
      this.meta = { version: 1, clusterId: randomBytes(16).toString('base64url'), producerIdHighWater: FIRST_PRODUCER_ID };
      await writeFileAtomic(metaPath, JSON.stringify(this.meta, null, 2));
    } else {
      this.meta = parseMeta(metaBytes.toString('utf8'));
      if (!this.meta) throw new StorageError(`${metaPath} is malformed`);
    }
    this.nextProducerId = this.meta.producerIdHighWater;

    const catalogPath = join(this.dataDir, 'topics.json');
    const catalogBytes = await readOptional(catalogPath);
    if (catalogBytes === null) {
      await this.persistCatalog([]);
    } else {
      const topics = parseCatalog(catalogBytes.toString('utf8'));
      if (!topics) throw new StorageError(`${catalogPath} is malformed`);
      for (const t of topics) this.catalog.set(t.name, t);
    }

    await this.removeOrphans();
    const work: { t: TopicMeta; p: number; logs: FilePartitionLog[] }[] = [];
    for (const t of this.catalog.values()) {
      const logs: FilePartitionLog[] = [];
      this.logs.set(t.name, logs);
      for (let p = 0; p < t.partitionCount; p++) work.push({ t, p, logs });
    }
    await mapLimit(work, RECOVERY_PARALLELISM, async ({ t, p, logs }) => {
      const l = new FilePartitionLog(this.ctx, t.name, p, this.partitionDir(t.name, p), `${t.name}-${p}`);
      await l.open();
      logs[p] = l;
    });

    if (typeof this.options.flush === 'number') {
      this.timer = setInterval(() => this.flushAll(), this.options.flush);
      this.timer.unref();
    }
    this.state = 'open';
  }

  /** Partition folders that the catalog does not know (a deletion interrupted by a crash) go. */
  private async removeOrphans(): Promise<void> {
    for (const ent of await readdir(this.dataDir, { withFileTypes: true })) {
      if (!ent.isDirectory() || ent.name === '__internal') continue;
      const full = join(this.dataDir, ent.name);
      if (DELETED_DIR_RE.test(ent.name)) {
        this.removeInBackground(full);
        continue;
      }
      const m = PARTITION_DIR_RE.exec(ent.name);
      if (!m) continue;
      const t = this.catalog.get(m[1]);
      if (t && Number(m[2]) < t.partitionCount) continue;
      this.log('warn', `removing ${ent.name}: not a partition of any topic in the catalog`);
      await this.moveAsideAndRemove(full);
    }
  }

  private removeInBackground(path: string): void {
    const p = rm(path, { recursive: true, force: true })
      .catch((err: unknown) => this.log('error', `removing ${path}: ${errText(err)}`))
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }

  /** Rename first (instant, and the name is free again at once), then delete the tree in the background. */
  private async moveAsideAndRemove(dir: string): Promise<void> {
    const aside = `${dir}.${randomUUID()}-delete`;
    try {
      await rename(dir, aside);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.removeInBackground(aside);
  }

  private async persistCatalog(topics: TopicMeta[]): Promise<void> {
    const body = { version: 1, topics: topics.map((t) => ({ name: t.name, topicId: t.topicId, partitionCount: t.partitionCount, configs: t.configs })) };
    try {
      await writeFileAtomic(join(this.dataDir, 'topics.json'), JSON.stringify(body, null, 2));
    } catch (err) {
      throw asStorageError('writing topics.json', err);
    }
  }

  /** Opens brand-new partition logs, moving aside any leftover folder of the same name first. */
  private async createLogs(name: string, from: number, to: number): Promise<FilePartitionLog[]> {
    const out: FilePartitionLog[] = [];
    try {
      for (let p = from; p < to; p++) {
        const dir = this.partitionDir(name, p);
        await this.moveAsideAndRemove(dir);
        const l = new FilePartitionLog(this.ctx, name, p, dir, `${name}-${p}`);
        await l.open();
        out.push(l);
      }
      await fsyncDir(this.dataDir);
    } catch (err) {
      for (const l of out) await l.close(false);
      throw asStorageError(`creating partitions of ${name}`, err);
    }
    return out;
  }

  topics(): TopicMeta[] {
    return [...this.catalog.values()];
  }

  topic(name: string): TopicMeta | undefined {
    return this.catalog.get(name);
  }

  async createTopic(name: string, partitionCount: number, configs: Record<string, string>): Promise<TopicMeta> {
    this.assertOpen();
    checkName('topic', name);
    if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new Error(`invalid partition count ${partitionCount}`);
    return this.catalogLock.run(async () => {
      if (this.catalog.has(name)) throw new Error(`topic ${name} exists`);
      const t: TopicMeta = { name, topicId: randomUUID(), partitionCount, configs: { ...configs } };
      // The catalog is the commit point; folders missing after a crash are created at open.
      await this.persistCatalog([...this.catalog.values(), t]);
      let logs: FilePartitionLog[];
      try {
        logs = await this.createLogs(name, 0, partitionCount);
      } catch (err) {
        await this.persistCatalog([...this.catalog.values()]).catch(() => undefined);
        throw err;
      }
      this.catalog.set(name, t);
      this.logs.set(name, logs);
      return t;
    });
  }

  async deleteTopic(name: string): Promise<void> {
    this.assertOpen();
    await this.catalogLock.run(async () => {
      const t = this.catalog.get(name);
      if (!t) return;
      await this.persistCatalog([...this.catalog.values()].filter((x) => x !== t));
      const logs = this.logs.get(name) ?? [];
      this.catalog.delete(name);
      this.logs.delete(name);
      await Promise.all(logs.map((l) => l.close(false)));
      for (let p = 0; p < t.partitionCount; p++) {
        await this.moveAsideAndRemove(this.partitionDir(name, p)).catch((err: unknown) =>
          this.log('error', `deleting ${name}-${p}: ${errText(err)}; it is removed at the next open`),
        );
      }
    });
  }

  async addPartitions(name: string, partitionCount: number): Promise<void> {
    this.assertOpen();
    await this.catalogLock.run(async () => {
      const t = this.catalog.get(name);
      const logs = this.logs.get(name);
      if (!t || !logs) throw new Error(`no topic ${name}`);
      if (partitionCount < t.partitionCount) throw new Error(`topic ${name} has ${t.partitionCount} partitions, cannot shrink to ${partitionCount}`);
      if (partitionCount === t.partitionCount) return;
      await this.persistCatalog([...this.catalog.values()].map((x) => (x === t ? { ...t, partitionCount } : x)));
      const added = await this.createLogs(name, t.partitionCount, partitionCount);
      logs.push(...added);
      t.partitionCount = partitionCount;
    });
  }

  async alterTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    this.assertOpen();
    await this.catalogLock.run(async () => {
      const t = this.catalog.get(name);
      if (!t) throw new Error(`no topic ${name}`);
      await this.persistCatalog([...this.catalog.values()].map((x) => (x === t ? { ...t, configs: { ...configs } } : x)));
      t.configs = { ...configs };
    });
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(topic)?.[partition];
  }

  async allocateProducerIds(count: number): Promise<number> {
    this.assertOpen();
    if (!Number.isInteger(count) || count < 1) throw new Error(`invalid producer id count ${count}`);
    return this.metaLock.run(async () => {
      const meta = this.meta;
      if (!meta) throw new Error('assertion: storage not open');
      if (this.nextProducerId + count > meta.producerIdHighWater) {
        // Persist the new reservation before handing out any id from it.
        const next = { ...meta, producerIdHighWater: this.nextProducerId + count + PRODUCER_ID_BLOCK };
        try {
          await writeFileAtomic(join(this.dataDir, 'meta.json'), JSON.stringify(next, null, 2));
        } catch (err) {
          throw asStorageError('reserving producer ids', err);
        }
        this.meta = next;
      }
      const first = this.nextProducerId;
      this.nextProducerId += count;
      return first;
    });
  }

  async internalLog(name: string): Promise<PartitionLog> {
    this.assertOpen();
    checkName('internal log', name);
    let p = this.internal.get(name);
    if (!p) {
      const l = new FilePartitionLog(this.ctx, name, 0, join(this.dataDir, '__internal', name), `__internal/${name}`);
      p = l.open().then(() => l);
      this.internal.set(name, p);
      p.catch(() => this.internal.delete(name));
    }
    return p;
  }

  private flushAll(): void {
    const all = [...this.logs.values()].flat();
    for (const l of all) {
      if (l.hasUnsynced()) l.sync().catch((err: unknown) => this.log('error', errText(err)));
    }
    for (const p of this.internal.values()) {
      void p.then((l) => {
        if (l.hasUnsynced()) return l.sync();
      }).catch((err: unknown) => this.log('error', errText(err)));
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    this.state = 'closed';
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.catalogLock.run(async () => undefined);
    const logs: FilePartitionLog[] = [...this.logs.values()].flat();
    for (const p of this.internal.values()) {
      const l = await p.catch(() => null);
      if (l) logs.push(l);
    }
    await Promise.all(logs.map((l) => l.close(true)));
    await Promise.all([...this.background]);
  }
}
