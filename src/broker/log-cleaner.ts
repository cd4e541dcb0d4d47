// The log cleaner's schedule: every log.cleaner.backoff.ms, one compaction pass over each
// partition of each topic whose cleanup.policy holds `compact` (the storage engine's
// PartitionLog.compact does the work: src/storage/file/cleaner.ts), one partition at a time
// (log.cleaner.threads = 1). The internal logs that keep state per key are compacted the same way
// (COMPACTED_INTERNAL_LOGS). See docs/compaction.md.
import type { CleanResult, CompactionSettings, PartitionLog, Storage, TopicMeta } from '../storage/types.js';
import type { BrokerConfig } from './config.js';
import type { Logger } from './logger.js';
import type { Topics } from './topics.js';

/**
 * Internal logs whose records are keyed so that the latest record per key is the state and a
 * deletion is a tombstone: compacting them keeps what a replay rebuilds. `__consumer_offsets` is
 * not here: the group runtime compacts it itself by rewriting its live records.
 */
export const COMPACTED_INTERNAL_LOGS: readonly string[] = ['__transaction_state', '__fjord_scram_credentials', '__fjord_acls', '__fjord_client_quotas', '__share_group_state'];

/** Settings of internal logs: Kafka's defaults for its own compacted topics. */
const INTERNAL_TOPIC_SETTINGS = { deleteRetentionMs: 86_400_000, minCompactionLagMs: 0, maxCompactionLagMs: Infinity, minCleanableDirtyRatio: 0.5 };

export class LogCleanerTask {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;

  constructor(private readonly storage: Storage, private readonly topics: Topics, private readonly logger: Logger, private readonly config: BrokerConfig) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.config.logCleanerBackoffMs);
    this.timer.unref();
  }

  /** Re-arms the timer with the current log.cleaner.backoff.ms (a dynamic broker config changed). */
  reschedule(): void {
    if (!this.timer || this.stopping) return;
    clearInterval(this.timer);
    this.start();
  }

  /** Stops the timer and ends a pass in progress at its next batch (nothing half-replaced). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  private settings(topic: TopicMeta | null, now: number): CompactionSettings {
    const num = (key: string) => Number(topic ? this.topics.configValue(topic, key) : NaN);
    const io = this.config.logCleanerIoMaxBytesPerSecond;
    return {
      ...(topic
        ? { deleteRetentionMs: num('delete.retention.ms'), minCompactionLagMs: num('min.compaction.lag.ms'), maxCompactionLagMs: num('max.compaction.lag.ms'), minCleanableDirtyRatio: num('min.cleanable.dirty.ratio') }
        : INTERNAL_TOPIC_SETTINGS),
      dedupeBufferBytes: this.config.logCleanerDedupeBufferSize,
      ioBytesPerSecond: io >= Number.MAX_VALUE ? Infinity : io,
      segmentBytes: topic ? num('segment.bytes') : this.config.segmentBytes,
      now,
      stopping: () => this.stopping,
    };
  }

  /** One pass over every compacted partition; returns what was cleaned, by partition label. */
  async runOnce(now = Date.now()): Promise<Map<string, CleanResult>> {
    const done = new Map<string, CleanResult>();
    if (this.running) {
      await this.running;
      return done;
    }
    const one = async (label: string, log: PartitionLog, s: CompactionSettings) => {
      if (!log.compact || this.stopping) return;
      try {
        const r = await log.compact(s);
        if (r) {
          done.set(label, r);
          this.logger.info(`log cleaner: ${label}: ${r.recordsIn} record(s) in ${r.segmentsIn} segment(s), ${r.bytesIn} bytes → ${r.recordsOut} record(s), ${r.bytesOut} bytes; clean up to offset ${r.cleanedTo}`);
        }
      } catch (err) {
        if (!this.stopping) this.logger.warn(`log cleaner: ${label}: pass abandoned (${(err as Error).message}); the log is unchanged and is tried again later`);
      }
    };
    const pass = async () => {
      for (const topic of this.storage.topics()) {
        if (!this.topics.configValue(topic, 'cleanup.policy')?.split(',').includes('compact')) continue;
        for (let p = 0; p < topic.partitionCount; p++) {
          const log = this.storage.partition(topic.name, p);
          if (log) await one(`${topic.name}-${p}`, log, this.settings(topic, now));
        }
      }
      const opened = new Set(this.storage.openInternalLogs?.() ?? []);
      for (const name of COMPACTED_INTERNAL_LOGS) {
        if (this.stopping) break;
        if (!opened.has(name)) continue; // never created here: nothing to clean, and nothing is created
        const log = await this.storage.internalLog(name).catch(() => null);
        if (log) await one(`__internal/${name}`, log, this.settings(null, now));
      }
    };
    this.running = pass().finally(() => {
      this.running = null;
    });
    await this.running;
    return done;
  }
}
