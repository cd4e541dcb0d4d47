// The one-slot hand-off between the workers and consumer.messages() (the async iterator).

/** Thrown into the worker when the iterator ended before taking a message: it stays unprocessed. */
export class Abandoned extends Error {}

/** A one-slot hand-off used by messages(): a message counts as processed when the next is taken. */
export class HandOff<T> {
  private taker: ((r: IteratorResult<T>) => void) | null = null;
  private waiting: { item: T; processed: () => void; abandoned: (e: Error) => void } | null = null;
  private lastProcessed: (() => void) | null = null;
  closed = false;

  put(item: T): Promise<void> {
    return new Promise((processed, abandoned) => {
      if (this.closed) return abandoned(new Abandoned());
      if (this.taker) {
        const t = this.taker;
        this.taker = null;
        this.lastProcessed = processed;
        t({ value: item, done: false });
      } else {
        this.waiting = { item, processed, abandoned };
      }
    });
  }

  take(): Promise<IteratorResult<T>> {
    if (this.lastProcessed) {
      const p = this.lastProcessed;
      this.lastProcessed = null;
      p();
    }
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      this.lastProcessed = w.processed;
      return Promise.resolve({ value: w.item, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => { this.taker = resolve; });
  }

  /** Ends the iteration. The message last handed out counts as processed (as after a poll). */
  close(): void {
    this.closed = true;
    this.taker?.({ value: undefined, done: true });
    this.taker = null;
    this.lastProcessed?.();
    this.lastProcessed = null;
    this.waiting?.abandoned(new Abandoned());
    this.waiting = null;
  }
}
