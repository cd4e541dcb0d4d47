// Tail cache: the newest written appends, contiguous up to the written end of the log.
import type { ReadResult } from '../types.js';

/** Per-partition cache of the newest written bytes, so tailing consumers skip the disk. */
export const TAIL_CACHE_BYTES = 4 * 1024 * 1024;

export interface CacheEntry {
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

export class TailCache {
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
