// Tail cache: the newest written appends, contiguous up to the written end of the log. Each
// partition has its own (at most TAIL_CACHE_BYTES); all the caches of one storage share one
// TailCacheBudget (--tail-cache-bytes), which evicts the oldest entry of all when over it.
import type { ReadResult } from '../types.js';

/** Most a partition's cache of the newest written bytes holds, so tailing consumers skip the disk. */
export const TAIL_CACHE_BYTES = 4 * 1024 * 1024;
/** All partitions together, when StorageOptions.tailCacheBytes is not given (the broker always gives it). */
export const DEFAULT_TAIL_CACHE_BUDGET = 64 * 1024 * 1024;

export interface CacheEntry {
  base: number;
  end: number;
  buf: Buffer;
  /** Per batch: last offset and end position inside `buf`. */
  lasts: number[];
  ends: number[];
  /** Set by the cache: the entry's place in the shared budget. */
  ticket?: Ticket;
}

/** An entry as the shared budget sees it: its size and cache, never its bytes (it must not pin them). */
interface Ticket {
  readonly cache: TailCache;
  readonly size: number;
  live: boolean;
}

/**
 * The bytes every tail cache of one storage may pin together. Entries are admitted in append
 * order across partitions; when the total passes the limit the oldest live entry of all goes,
 * which is always the oldest entry of its own cache (each cache evicts from its front only).
 */
export class TailCacheBudget {
  private used = 0;
  private live = 0;
  private tickets: Ticket[] = [];
  private head = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 0)) throw new Error(`tail cache budget must be >= 0 bytes, not ${limit}`);
  }

  /** The cap of one partition's cache under this budget. */
  get perCache(): number {
    return Math.min(TAIL_CACHE_BYTES, this.limit);
  }

  stats(): { pinnedBytes: number; entries: number } {
    return { pinnedBytes: this.used, entries: this.live };
  }

  admit(cache: TailCache, size: number): Ticket {
    const t: Ticket = { cache, size, live: true };
    this.tickets.push(t);
    this.used += size;
    this.live++;
    while (this.used > this.limit && this.head < this.tickets.length) {
      const oldest = this.tickets[this.head++];
      if (oldest.live) oldest.cache.evictFront(oldest);
    }
    // Dead tickets (entries a cache dropped itself) are swept out once they are the majority.
    if (this.head > 0 && this.head * 2 > this.tickets.length) {
      this.tickets = this.tickets.slice(this.head);
      this.head = 0;
    } else if (this.tickets.length - this.head > 2 * this.live + 64) {
      this.tickets = this.tickets.filter((x, i) => i >= this.head && x.live);
      this.head = 0;
    }
    return t;
  }

  drop(t: Ticket): void {
    if (!t.live) return;
    t.live = false;
    this.used -= t.size;
    this.live--;
  }
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
  private readonly cap: number;
  constructor(private readonly budget: TailCacheBudget) {
    this.cap = budget.perCache;
  }

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
    while (this.bytes > this.cap) this.dropFront();
    this.compact();
    // After our own cap: the shared budget may then evict from any cache (never `e`: it fits).
    e.ticket = this.budget.admit(this, size);
  }

  /** The shared budget evicts this cache's oldest entry, which `t` must be. */
  evictFront(t: Ticket): void {
    if (this.head >= this.entries.length || this.entries[this.head].ticket !== t) {
      throw new Error('assertion: the tail cache budget evicted an entry that is not the oldest of its cache');
    }
    this.dropFront();
    this.compact();
  }

  private dropFront(): void {
    // Drop the reference as well as the count: evicted buffers must be collectable at once.
    const e = this.entries[this.head];
    this.bytes -= pinnedBytes(e.buf);
    if (e.ticket) this.budget.drop(e.ticket);
    this.entries[this.head++] = EVICTED;
  }

  private compact(): void {
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    for (let k = this.head; k < this.entries.length; k++) {
      const t = this.entries[k].ticket;
      if (t) this.budget.drop(t);
    }
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
