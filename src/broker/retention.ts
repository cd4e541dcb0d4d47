// Retention: periodically advances each partition's log start, letting the storage engine drop
// whole segments below it. By time (retention.ms): past batches whose max timestamp is older than
// the topic's retention. By size (retention.bytes): past the oldest whole segments while the
// partition stays above the bound without them, never the active segment (as Kafka). Runs every
// `intervalMs` (log.retention.check.interval.ms).
import type { PartitionLog, Storage } from '../storage/types.js';
import type { Logger } from './logger.js';
import type { Topics } from './topics.js';

/**
 * The log start that leaves the partition at most `limit` bytes by dropping its oldest whole
 * segments, never the last (active) one; the current start when nothing can go.
 */
function sizeTarget(log: PartitionLog, limit: number): number {
  const segs = log.segmentSizes?.() ?? [];
  let excess = segs.reduce((sum, s) => sum + s.bytes, 0) - limit;
  let target = log.logStartOffset();
  for (let i = 0; i < segs.length - 1 && excess >= segs[i].bytes; i++) {
    excess -= segs[i].bytes;
    target = Math.max(target, segs[i + 1].baseOffset);
  }
  return target;
}

/** Whether a whole segment lies below the log start (the engine could not drop it when the start moved). */
function leftBehind(log: PartitionLog): boolean {
  const segs = log.segmentSizes?.() ?? [];
  return segs.length > 1 && segs[1].baseOffset <= log.logStartOffset();
}

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
        // cleanup.policy=compact alone: records go only through the log cleaner, never by age or size.
        if (!(this.topics.configValue(topic, 'cleanup.policy') ?? 'delete').split(',').includes('delete')) continue;
        const retentionMs = Number(this.topics.configValue(topic, 'retention.ms'));
        const retentionBytes = Number(this.topics.configValue(topic, 'retention.bytes'));
        const byTime = Number.isFinite(retentionMs) && retentionMs >= 0; // -1 = keep forever
        const bySize = Number.isFinite(retentionBytes) && retentionBytes >= 0;
        if (!byTime && !bySize) continue;
        for (let p = 0; p < topic.partitionCount; p++) {
          const log = this.storage.partition(topic.name, p);
          if (!log || log.logEndOffset() === log.logStartOffset()) continue;
          const why: string[] = [];
          let target = log.logStartOffset();
          if (byTime) {
            const firstKept = await log.offsetForTimestamp(now - retentionMs);
            const t = firstKept ? firstKept.offset : log.logEndOffset();
            if (t > target) {
              target = t;
              why.push(`retention.ms ${retentionMs}`);
            }
          }
          if (bySize) {
            const t = sizeTarget(log, retentionBytes);
            if (t > target) {
              target = t;
              why.push(`retention.bytes ${retentionBytes}`);
            }
          }
          if (target > log.logStartOffset()) {
            const start = await log.deleteBefore(target);
            moved++;
            this.logger.info(`retention: ${topic.name}-${p} now starts at offset ${start} (${why.join(', ')})`);
          } else if (leftBehind(log)) {
            // An earlier pass moved the start while the next segment's roll was still in flight, so
            // the segment below it stayed: remove it now (deleteBefore at the current start does that).
            await log.deleteBefore(log.logStartOffset());
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
