// Time-based retention (retention.ms): periodically advances each partition's log start past
// batches whose max timestamp is older than the topic's retention, letting the storage engine
// drop whole segments below it. Runs every `intervalMs` (log.retention.check.interval.ms).
import type { Storage } from '../storage/types.js';
import type { Logger } from './logger.js';
import type { Topics } from './topics.js';

export class RetentionTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly storage: Storage, private readonly topics: Topics, private readonly logger: Logger, private readonly intervalMs: number) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass over every partition; returns how many partitions moved their log start. */
  async runOnce(now = Date.now()): Promise<number> {
    if (this.running) {
      await this.running;
      return 0;
    }
    let moved = 0;
    const pass = async () => {
      for (const topic of this.storage.topics()) {
        const retentionMs = Number(this.topics.configValue(topic, 'retention.ms'));
        if (!Number.isFinite(retentionMs) || retentionMs < 0) continue; // -1 = keep forever
        const cutoff = now - retentionMs;
        for (let p = 0; p < topic.partitionCount; p++) {
          const log = this.storage.partition(topic.name, p);
          if (!log || log.logEndOffset() === log.logStartOffset()) continue;
          const firstKept = await log.offsetForTimestamp(cutoff);
          const target = firstKept ? firstKept.offset : log.logEndOffset();
          if (target > log.logStartOffset()) {
            const start = await log.deleteBefore(target);
            moved++;
            this.logger.info(`retention: ${topic.name}-${p} now starts at offset ${start} (retention.ms ${retentionMs})`);
          }
        }
      }
    };
    this.running = pass().catch((err) => this.logger.error(`retention pass failed: ${(err as Error).message}`)).finally(() => {
      this.running = null;
    });
    await this.running;
    return moved;
  }
}
