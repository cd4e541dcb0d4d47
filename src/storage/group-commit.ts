// fsync group commit, shared by engines that sync: waiters that arrive while an fsync runs share
// the next one, so N concurrent acks=-1 appends cost two fsyncs, not N (DESIGN invariant 6).

/** Group commit: many callers wait on one fsync; a call made while one runs waits for the next. */
export class GroupSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  constructor(private readonly doSync: () => Promise<void>) {}

  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.doSync().finally(() => {
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
