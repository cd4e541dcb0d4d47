// The bounded pool of open segment files that every partition of one FileStorage shares
// (`--max-open-files`). A segment takes a slot before it opens its file and keeps it while the
// handle is open; when all slots are taken, the least recently used handle that no operation is
// using is closed and its slot passed on (the segment reopens its file at its next use). When every
// slot is in use, openers wait in line until one is let go. So the storage never has more files
// open than the limit, whatever the number of partitions. DESIGN.md invariant 25 says why closing
// an idle handle loses nothing.
import { readFileSync } from 'node:fs';

/** What the pool needs of a file holder (a Segment, or a one-off read during recovery). */
export interface PooledFile {
  /** True while an operation uses (or is opening) the handle: it must not be closed now. */
  busy(): boolean;
  /** Closes the handle because the pool needs its slot; the holder reopens it at its next use. */
  evict(): Promise<void>;
}

/** Used when neither the setting nor the open-files limit says otherwise. */
export const DEFAULT_MAX_OPEN_FILES = 1024;

/**
 * The default limit: 1024, or a quarter of the process's open-files limit (`ulimit -n`) when
 * that is lower, leaving the rest for connections, index and snapshot writes and the runtime.
 * Node has no getrlimit; on Linux /proc/self/limits has it, elsewhere 1024 is used.
 */
export function defaultMaxOpenFiles(limitsText?: string): number {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return DEFAULT_MAX_OPEN_FILES;
    }
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m || m[1] === 'unlimited') return DEFAULT_MAX_OPEN_FILES;
  return Math.max(16, Math.min(DEFAULT_MAX_OPEN_FILES, Math.floor(Number(m[1]) / 4)));
}

export class HandlePool {
  /** Holders with a slot (an open or opening handle), least recently used first. */
  private readonly slots = new Map<PooledFile, true>();
  private readonly waiters: (() => void)[] = [];
  private evictions = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`open-files limit must be an integer >= 1, not ${limit}`);
  }

  /**
   * Takes a slot for the handle `f` is about to open. Resolves once `f` holds one; the handle it
   * displaced, if any, is closed by then, so open files never exceed the limit. `f` must be busy
   * until it opened its file (or gave the slot back with release()).
   */
  async acquire(f: PooledFile): Promise<void> {
    if (this.slots.has(f)) throw new Error('assertion: a file took a second slot');
    let woken = false;
    for (;;) {
      // Newcomers queue behind those already waiting; a woken waiter tries first.
      if (woken || this.waiters.length === 0) {
        if (this.slots.size < this.limit) {
          this.slots.set(f, true);
          return;
        }
        const victim = this.idleVictim();
        if (victim) {
          // The slot passes straight to `f` (nobody else can take it while the old file closes).
          this.slots.delete(victim);
          this.slots.set(f, true);
          this.evictions++;
          await victim.evict().catch(() => undefined); // a failed close still frees the descriptor
          return;
        }
      }
      await new Promise<void>((resolve) => {
        if (woken) this.waiters.unshift(resolve);
        else this.waiters.push(resolve);
      });
      woken = true;
    }
  }

  /** `f` was used: it becomes the most recently used. */
  touch(f: PooledFile): void {
    if (this.slots.delete(f)) this.slots.set(f, true);
  }

  /** `f` is no longer busy: its handle may now be closed for a waiting opener. */
  idle(f: PooledFile): void {
    if (this.waiters.length > 0 && this.slots.has(f)) this.wakeOne();
  }

  /** `f` closed its handle itself (or failed to open it): its slot is free. */
  release(f: PooledFile): void {
    if (this.slots.delete(f)) this.wakeOne();
  }

  /** Open (or opening) handles, openers waiting, handles closed to make room so far — for tests and docs. */
  stats(): { open: number; waiting: number; evictions: number } {
    return { open: this.slots.size, waiting: this.waiters.length, evictions: this.evictions };
  }

  private idleVictim(): PooledFile | undefined {
    for (const f of this.slots.keys()) if (!f.busy()) return f;
    return undefined;
  }

  private wakeOne(): void {
    this.waiters.shift()?.();
  }
}
