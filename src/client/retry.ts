// Retries with exponential backoff and jitter, configured like kafkajs' `retry` option:
// the first retry waits about initialRetryTime ms (± factor), each later one `multiplier` times
// longer, capped at maxRetryTime; after `retries` retries the last error is thrown wrapped in
// FjordNumberOfRetriesExceeded. Errors that are not retriable stop at once.
import { FjordNumberOfRetriesExceeded, isRetriable } from './errors.js';

export interface RetryOptions {
  /** Longest wait between two attempts (ms). Default 30000. */
  maxRetryTime?: number;
  /** Wait before the first retry (ms). Default 300. */
  initialRetryTime?: number;
  /** Randomisation of each wait, 0–1. Default 0.2. */
  factor?: number;
  /** Growth of the wait per retry. Default 2. */
  multiplier?: number;
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** Consumer only: restart after a crash caused by a retriable error. Default true. */
  restartOnFailure?: (error: Error) => Promise<boolean>;
}

export const RETRY_DEFAULTS = { maxRetryTime: 30000, initialRetryTime: 300, factor: 0.2, multiplier: 2, retries: 5 };

export type Bail = (error: Error) => never;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Retrier {
  readonly options: Required<Omit<RetryOptions, 'restartOnFailure'>>;
  constructor(options: RetryOptions = {}) {
    this.options = { ...RETRY_DEFAULTS, ...stripUndefined(options) };
  }

  /** The wait before retry number `attempt` (0-based), with jitter. */
  delay(attempt: number): number {
    const { initialRetryTime, factor, multiplier, maxRetryTime } = this.options;
    const base = Math.min(initialRetryTime * multiplier ** attempt, maxRetryTime);
    const jitter = base * factor * (Math.random() * 2 - 1);
    return Math.max(0, Math.min(Math.ceil(base + jitter), maxRetryTime));
  }

  /**
   * Runs `fn` until it resolves, retrying retriable errors. `fn` gets `bail` (throw a final
   * error at once) and the attempt number. `onRetry` runs before each wait (e.g. to refresh metadata).
   */
  async run<T>(fn: (bail: Bail, attempt: number) => Promise<T>, onRetry?: (error: Error, attempt: number) => void | Promise<void>): Promise<T> {
    let bailed: Error | null = null;
    const bail: Bail = (error: Error) => {
      bailed = error;
      throw error;
    };
    let spent = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(bail, attempt);
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        if (bailed) throw bailed;
        if (!isRetriable(error)) throw error;
        if (attempt >= this.options.retries) {
          throw new FjordNumberOfRetriesExceeded(error, { retryCount: attempt, retryTime: spent });
        }
        if (onRetry) await onRetry(error, attempt);
        const wait = this.delay(attempt);
        spent += wait;
        await sleep(wait);
      }
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
