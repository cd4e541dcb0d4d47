// The workers: `partitionsConsumedConcurrently` loops that take fetched batches from the partition
// queues and run the user's eachMessage or eachBatch on them, each partition's batches strictly in
// order and by one worker at a time. They resolve offsets as messages are handled, give handlers
// heartbeat() and pause(), and after a handler error rewind the partition and back off.
import type { Cluster } from '../cluster.js';
import { FjordNonRetriableError, FjordNumberOfRetriesExceeded } from '../errors.js';
import { ConsumerEvents, type Instrumentation } from '../instrumentation.js';
import type { ClientLogger } from '../logger.js';
import type { KafkaMessage } from '../record-codec.js';
import { RebalanceError } from './classic-protocol.js';
import type { Batch, RunSettings, TopicPartitionOffset } from './types.js';
import { Abandoned } from './hand-off.js';
import type { OffsetCommits } from './offset-commits.js';
import { rewind, type FetchedBatch, type PartitionState } from './partition-state.js';
import type { Session } from './session.js';


/** What the workers ask of the consumer (its public controls and its heartbeat). */
export interface WorkerHost {
  isRunning(): boolean;
  isPaused(topic: string, partition: number): boolean;
  pause(topicPartitions: { topic: string; partitions: number[] }[]): void;
  resume(topicPartitions: { topic: string; partitions: number[] }[]): void;
  /** Heartbeats unless one went out within heartbeatInterval; throws RebalanceError when the member must rejoin. */
  heartbeatIfDue(): Promise<void>;
  commitOffsets(offsets: TopicPartitionOffset[]): Promise<void>;
}

export class Workers {
  private rotation = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly instrumentation: Instrumentation,
    private readonly log: ClientLogger,
    private readonly groupId: string,
    private readonly partitions: ReadonlyMap<string, PartitionState>,
    private readonly commits: OffsetCommits,
    private readonly host: WorkerHost,
  ) {}

  /** Next partition with queued data that no worker holds, in rotation. */
  private nextReady(): PartitionState | null {
    const list = [...this.partitions.values()];
    for (let k = 0; k < list.length; k++) {
      const s = list[(this.rotation + k) % list.length];
      if (s.busy || s.queue.length === 0 || this.host.isPaused(s.topic, s.partition)) continue;
      this.rotation = (this.rotation + k + 1) % list.length;
      return s;
    }
    return null;
  }

  /** One worker: takes the next ready partition's oldest batch and runs the handler on it, until the session ends. */
  async workerLoop(session: Session, cfg: RunSettings): Promise<void> {
    while (session.active) {
      const s = this.nextReady();
      if (!s) {
        await session.waitForWork();
        continue;
      }
      const batch = s.queue.shift()!;
      s.queuedBytes -= batch.bytes;
      session.wake(); // the fetcher may fetch this partition again
      if (batch.epoch !== s.epoch) continue;
      s.busy = true;
      try {
        await this.handleBatch(session, s, batch, cfg);
      } finally {
        s.busy = false;
      }
      session.wake();
    }
  }

  /**
   * Runs the handler on one fetched batch; resolves offsets as messages are handled and, with
   * autoCommit, commits when due. A handler error rewinds the partition to its first unhandled
   * message and backs off; once more than `retries` come in a row the session ends with a crash.
   */
  private async handleBatch(session: Session, s: PartitionState, fetched: FetchedBatch, cfg: RunSettings): Promise<void> {
    const { topic, partition } = s;
    const epoch = s.epoch;
    // Skip what was already processed (a seek backwards is a new epoch, so this only drops repeats).
    let messages = fetched.messages;
    if (s.resolved >= 0 && Number(messages[0].offset) < s.resolved) messages = messages.filter((m) => Number(m.offset) >= s.resolved);
    if (messages.length === 0) return;
    const stale = () => !session.active || s.epoch !== epoch || s.revoked;
    let pausedHere = false;
    const pause = () => {
      this.host.pause([{ topic, partitions: [partition] }]);
      pausedHere = true;
      return () => this.host.resume([{ topic, partitions: [partition] }]);
    };
    const heartbeat = async () => {
      try {
        await this.host.heartbeatIfDue();
      } catch (err) {
        if (err instanceof RebalanceError) session.end('rejoin');
        throw err;
      }
    };
    const batch = makeBatch(topic, partition, fetched.highWatermark, messages);
    const startedAt = Date.now();
    const info = { topic, partition, highWatermark: batch.highWatermark, offsetLag: batch.offsetLag(), offsetLagLow: batch.offsetLagLow(), batchSize: messages.length, firstOffset: batch.firstOffset(), lastOffset: batch.lastOffset() };
    this.instrumentation.emit(ConsumerEvents.START_BATCH_PROCESS, info);
    try {
      if (cfg.eachMessage) {
        for (let i = 0; i < messages.length; i++) {
          if (stale() || pausedHere || this.host.isPaused(topic, partition)) {
            // Not processed: fetch from here again when the partition runs again.
            if (!stale()) rewind(s, Number(messages[i].offset));
            break;
          }
          const message = messages[i];
          await cfg.eachMessage({ topic, partition, message, heartbeat, pause });
          if (s.epoch === epoch) s.resolved = Number(message.offset) + 1;
          this.commits.uncommittedMessages++;
        }
      } else {
        let resolvedInBatch = -1;
        await cfg.eachBatch!({
          batch,
          resolveOffset: (offset: string) => {
            if (s.epoch !== epoch) return;
            const next = Number(offset) + 1;
            if (next > s.resolved) {
              this.commits.uncommittedMessages += resolvedInBatch < 0 ? 1 : next - resolvedInBatch;
              s.resolved = next;
              resolvedInBatch = next;
            }
          },
          heartbeat,
          pause,
          commitOffsetsIfNecessary: async (offsets) => {
            if (offsets) await this.host.commitOffsets(offsets.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset }))));
            else await this.commits.commitIfNecessary(cfg);
          },
          uncommittedOffsets: () => this.commits.uncommittedOffsets(),
          isRunning: () => this.host.isRunning() && session.active,
          isStale: stale,
        });
        if (cfg.eachBatchAutoResolve && !stale() && !pausedHere) {
          const last = Number(messages[messages.length - 1].offset) + 1;
          if (last > s.resolved) s.resolved = last;
        }
      }
      s.failures = 0;
    } catch (err) {
      if (err instanceof RebalanceError || err instanceof Abandoned) return;
      const error = err instanceof Error ? err : new Error(String(err));
      this.log.error(`error processing ${topic}/${partition}: ${error.message}`, { groupId: this.groupId, attempt: s.failures + 1 });
      // Commit what was processed, then fetch again from the first unprocessed message.
      if (cfg.autoCommit) await this.commits.commitResolved(false).catch(() => undefined);
      const current = !stale();
      if (current) rewind(s, s.resolved >= 0 ? Math.max(s.resolved, Number(messages[0].offset)) : Number(messages[0].offset));
      // kafkajs' schedule: errors it calls unrecoverable crash at once; others are retried after
      // the consumer's `retry` backoff, `retries` times, then crash with NumberOfRetriesExceeded.
      if (!handlerErrorRetriable(error)) {
        s.failures = 0;
        session.end('crash', new FjordNonRetriableError(error, { cause: error }));
        return;
      }
      const retries = this.cluster.retrier.options.retries;
      const wait = this.cluster.retrier.delay(s.failures);
      if (s.failures >= retries) {
        const retryCount = s.failures;
        s.failures = 0;
        session.end('crash', new FjordNumberOfRetriesExceeded(error, { retryCount, retryTime: wait }));
        return;
      }
      s.failures++;
      if (current) s.notBefore = Date.now() + wait;
      return;
    } finally {
      this.instrumentation.emit(ConsumerEvents.END_BATCH_PROCESS, { ...info, duration: Date.now() - startedAt });
    }
    if (cfg.autoCommit) await this.commits.commitIfNecessary(cfg).catch((err) => {
      if (err instanceof RebalanceError) session.end('rejoin');
      else this.log.warn(`auto-commit failed: ${(err as Error).message}`, { groupId: this.groupId });
    });
  }
}

/** kafkajs' rule for what its retrier tries again: not `retriable: false`, not a programming error. */
function handlerErrorRetriable(e: Error): boolean {
  if (e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof SyntaxError) return false;
  return (e as Error & { retriable?: unknown }).retriable !== false;
}

function makeBatch(topic: string, partition: number, highWatermark: number, messages: KafkaMessage[]): Batch {
  const hw = String(highWatermark);
  return {
    topic, partition, highWatermark: hw, messages,
    isEmpty: () => messages.length === 0,
    firstOffset: () => (messages.length ? messages[0].offset : null),
    lastOffset: () => (messages.length ? messages[messages.length - 1].offset : String(highWatermark - 1)),
    offsetLag: () => String(Math.max(0, highWatermark - 1 - (messages.length ? Number(messages[messages.length - 1].offset) : highWatermark - 1))),
    offsetLagLow: () => String(Math.max(0, highWatermark - 1 - (messages.length ? Number(messages[0].offset) : highWatermark - 1))),
  };
}
