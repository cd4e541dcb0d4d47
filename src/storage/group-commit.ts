// fsync group commit, shared by engines that sync: waiters that arrive while an fsync runs share
// the next one, so N concurrent acks=-1 appends cost two fsyncs, not N (DESIGN invariant 6).

/** Group commit: many callers wait on one fsync; a call made while one runs waits for the next. */
export class GroupSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  /** `onSync`, when given, is told each fsync's duration in seconds and whether it failed (metrics). */
  constructor(private readonly doSync: () => Promise<void>, private readonly onSync?: (seconds: number, failed: boolean) => void) {}

  sync(): Promise<void> {
    if (!this.running) {
      const onSync = this.onSync;
      const started = onSync ? performance.now() : 0;
      const run = this.doSync();
      const timed = onSync ? run.then(
        () => onSync((performance.now() - started) / 1000, false),
        (err: unknown) => { onSync((performance.now() - started) / 1000, true); throw err; },
      ) : run;
      this.running = timed.finally(() => {
        this.running = null;
      });
      return this.running;
    }
    if (!this.queued) {
      this.queued = this.running.catch(() => undefined).then(() => {
        this.queued = null;
        return this.sync();
      });
    }
    return this.queued;
  }
}
