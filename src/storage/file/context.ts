// What a partition log gets from the FileStorage that owns it: options, a logger, fault hooks.
import type { StorageLogger, StorageOptions } from '../types.js';
import type { HandlePool } from './handle-pool.js';
import type { TailCacheBudget } from './tail-cache.js';

export type { StorageLogger } from '../types.js';

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

export interface LogContext {
  readonly options: StorageOptions;
  readonly log: StorageLogger;
  readonly faults: FaultHooks;
  /** The one budget every partition's tail cache shares (StorageOptions.tailCacheBytes). */
  readonly tailCache: TailCacheBudget;
  /** The one pool of open segment files every partition shares (StorageOptions.maxOpenFiles). */
  readonly handles: HandlePool;
}
