// One segment of a partition: its .log file (RecordBatch v2 bytes back to back), its two indexes,
// the file handle readers and writers share (a slot of the storage's HandlePool: opened at first
// use, closed when the pool needs the slot and nothing uses it, reopened at the next use), and the
// scans over its batch headers.
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { BATCH_HEADER_SIZE, batchCrc, readBatchHeader, type BatchHeader } from '../../protocol/records.js';
import { deferred, type Deferred } from './async-util.js';
import type { HandlePool, PooledFile } from './handle-pool.js';
import { readAt, readExact, unlinkQuiet, writeWholeFile } from './io.js';
import { OffsetIndex } from './offset-index.js';
import { NO_TIMESTAMP, TimeIndex } from './time-index.js';

export const HDR = BATCH_HEADER_SIZE;
export const INT32_MAX = 2147483647;
/** Read size when walking batch headers (recovery replay, index lookups, timestamp search). */
export const SCAN_CHUNK = 64 * 1024;
/** Read size when CRC-checking the last segment at open. */
const RECOVERY_CHUNK = 1024 * 1024;

export const SEGMENT_RE = /^(\d{20})\.log$/;
export const INDEX_RE = /^(\d{20})\.(index|timeindex)$/;

export const segmentName = (base: number) => String(base).padStart(20, '0');

/**
 * Walks batch headers in [start, end) of a file without reading batch bodies. Stops when `visit`
 * returns false. Returns where it stopped and whether the walk ended cleanly (false when a header
 * is cut off or a length is impossible).
 */
export async function scanHeaders(
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
export async function scanValid(
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

/** Thrown when a segment was deleted under a reader; the read restarts from the new log start. */
export class SegmentGone extends Error {}

/** The assignment-side state of a segment before an append, restored if that append fails. */
export interface SegmentMark {
  assignedSize: number;
  assignedEnd: number;
  maxTimestamp: number;
  lastBatchRel: number;
  firstAppendMs: number | undefined;
}

export class Segment implements PooledFile {
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
  /** Damage found in this segment has been logged (once per segment, not once per read). */
  damageReported = false;

  /**
   * Set while a compacted segment's file is being moved into place (cleaner.ts): uses wait for it,
   * so nothing opens the path before it holds this segment's bytes.
   */
  gate: Promise<void> | null = null;

  /** The open (or opening) handle; null when closed (never used yet, or evicted by the pool). */
  private fhp: Promise<FileHandle> | null = null;
  private users = 0;
  private disposed = false;
  private unlinkOnRelease = false;
  private released: Deferred | null = null;

  constructor(dir: string, readonly base: number, private readonly interval: number, private readonly pool: HandlePool) {
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

  /** Creates the (empty) file; its handle stays in the pool like any other. */
  async create(): Promise<void> {
    if (this.fhp) throw new Error(`assertion: ${this.logPath} already open`);
    await this.run('w+', async () => undefined);
    this.fileReady = true;
  }

  /** Runs `fn` with the segment's handle (reopened if the pool closed it), holding off its close. */
  use<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    return this.run('r+', fn);
  }

  private async run<T>(flags: 'r+' | 'w+', fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    if (this.gate) await this.gate;
    if (this.disposed) throw new SegmentGone(this.logPath);
    this.users++;
    try {
      if (this.fhp) this.pool.touch(this);
      else {
        const p = this.openPooled(flags);
        this.fhp = p;
        p.catch(() => {
          if (this.fhp === p) this.fhp = null;
        });
      }
      return await fn(await this.fhp);
    } finally {
      this.users--;
      if (this.users === 0) {
        if (this.disposed) void this.release();
        else this.pool.idle(this);
      }
    }
  }

  /** Takes a pool slot, then opens the file; the slot goes back if the open fails. Runs with users > 0. */
  private async openPooled(flags: 'r+' | 'w+'): Promise<FileHandle> {
    await this.pool.acquire(this);
    try {
      return await open(this.logPath, flags);
    } catch (err) {
      this.pool.release(this);
      throw err;
    }
  }

  busy(): boolean {
    return this.users > 0;
  }

  /** The pool's call: nobody uses the handle (busy() is false), so it is closed; the next use reopens. */
  async evict(): Promise<void> {
    const p = this.fhp;
    this.fhp = null;
    const fh = p ? await p.catch(() => null) : null;
    if (fh) await fh.close();
  }

  /**
   * Like use(), but without keeping a handle open afterwards (old segments during recovery). The
   * one-off handle takes a pool slot too, so recovery stays within the limit.
   */
  async peek<T>(fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    if (this.fhp) return this.use(fn);
    const slot: PooledFile = { busy: () => true, evict: async () => undefined };
    await this.pool.acquire(slot);
    try {
      const fh = await open(this.logPath, 'r');
      try {
        return await fn(fh);
      } finally {
        await fh.close();
      }
    } finally {
      this.pool.release(slot);
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
      if (fh) await fh.close().finally(() => this.pool.release(this));
      else this.pool.release(this);
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

/** Index of the last segment whose base offset is <= `offset` (0 when none is). */
export function findSegment(segs: Segment[], offset: number): number {
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
