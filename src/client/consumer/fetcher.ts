// The fetch loops: one per leader broker, each keeping one Fetch (a long poll) in flight on the
// fetch connection for the assigned partitions it leads. Decoded messages go into each partition's
// bounded queue (see PartitionState); a partition is not fetched again while its queue holds
// maxBytesPerPartition bytes, which is the backpressure. Also resets offsets out of range and backs
// off after errors, per partition (a partition error) or per loop (a failed request).
//
// A long poll is given up on (the loop stops waiting for it and fetches again at once) when a
// partition it asked for was moved (a seek, a handler error's rewind: the answer would be for the
// old position) or when a partition it did not ask for became fetchable (its retry delay ended, it
// was resumed, its queue drained) while every partition it asked for was caught up, so the broker
// is holding it for up to maxWaitTimeInMs. The next Fetch then goes out on the leader's other fetch
// connection (a broker answers a connection's requests in order, so it would wait behind the
// abandoned poll); when both have a request out, the older one's connection is closed.
import { ApiKey } from '../../protocol/apis.js';
import type { FetchRequestFetchPartition, FetchResponse } from '../../protocol/generated/types.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { STALE_METADATA_CODES, type Cluster, type Pool } from '../cluster.js';
import { FjordNonRetriableError, FjordProtocolError, isRetriable } from '../errors.js';
import { ConsumerEvents, type Instrumentation } from '../instrumentation.js';
import type { ClientLogger } from '../logger.js';
import { decodeRecordSet } from '../record-codec.js';
import { sleep } from '../retry.js';
import { rewind, tpKey, type PartitionState } from './partition-state.js';
import type { Session } from './session.js';

export interface FetchSettings {
  maxWait: number;
  minBytes: number;
  maxBytes: number;
  maxBytesPerPartition: number;
  readCommitted: boolean;
  rackId: string;
}

/** What the consumer decides for the fetcher: paused partitions, and where a reset goes. */
export interface FetchPolicy {
  isPaused(topic: string, partition: number): boolean;
  /** Whether a partition of this topic without a valid offset starts at the earliest offset. */
  fromBeginning(topic: string): boolean;
}

const LANES: readonly Pool[] = ['fetch', 'fetch-alt'];

/** A Fetch request still out on one of a leader's fetch connections. */
interface Outstanding {
  sentAt: number;
  settled: Promise<void>;
}

export class Fetcher {
  /** Requests out per `lane:leader` (also those of ended sessions and abandoned polls). */
  private readonly outstanding = new Map<string, Outstanding>();

  constructor(
    private readonly cluster: Cluster,
    private readonly instrumentation: Instrumentation,
    private readonly log: ClientLogger,
    private readonly partitions: ReadonlyMap<string, PartitionState>,
    private readonly policy: FetchPolicy,
    private readonly settings: FetchSettings,
  ) {}

  private fetchable(s: PartitionState, now: number): boolean {
    return s.fetchOffset >= 0 && s.queuedBytes < s.partitionMaxBytes && s.notBefore <= now && !this.policy.isPaused(s.topic, s.partition);
  }

  /** Fetches from one leader while the session is active: one Fetch in flight at a time. */
  async fetchLoop(session: Session, leader: number): Promise<void> {
    let failures = 0;
    while (session.active) {
      const now = Date.now();
      const wanted: PartitionState[] = [];
      let nextRetry = Infinity;
      for (const s of this.partitions.values()) {
        if (this.cluster.leaderOf(s.topic, s.partition) !== leader) continue;
        if (this.fetchable(s, now)) wanted.push(s);
        else if (s.notBefore > now) nextRetry = Math.min(nextRetry, s.notBefore);
      }
      if (wanted.length === 0) {
        if (nextRetry !== Infinity) await Promise.race([session.waitForWork(), sleep(nextRetry - now)]);
        else await session.waitForWork();
        continue;
      }
      const epochs = wanted.map((s) => s.epoch);
      const offsets = wanted.map((s) => s.fetchOffset);
      const byTopic = new Map<string, FetchRequestFetchPartition[]>();
      for (const s of wanted) {
        let list = byTopic.get(s.topic);
        if (!list) byTopic.set(s.topic, (list = []));
        list.push({ partition: s.partition, currentLeaderEpoch: -1, fetchOffset: s.fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: s.partitionMaxBytes });
      }
      const started = Date.now();
      this.instrumentation.emit(ConsumerEvents.FETCH_START, { nodeId: leader });
      let res: FetchResponse;
      try {
        const lane = await this.freeLane(leader);
        const conn = await this.cluster.connection(leader, lane);
        const sent = conn.request(ApiKey.Fetch, {
          replicaId: -1, maxWaitMs: this.settings.maxWait, minBytes: this.settings.minBytes, maxBytes: this.settings.maxBytes,
          isolationLevel: this.settings.readCommitted ? 1 : 0, sessionId: 0, sessionEpoch: -1,
          topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
          forgottenTopicsData: [], rackId: this.settings.rackId,
        }, { timeout: this.cluster.options.requestTimeout + this.settings.maxWait });
        const key = `${lane}:${leader}`;
        const entry: Outstanding = { sentAt: started, settled: sent.then(() => undefined, () => undefined) };
        this.outstanding.set(key, entry);
        void entry.settled.then(() => { if (this.outstanding.get(key) === entry) this.outstanding.delete(key); });
        // Caught up when sent: the broker will likely hold this request for maxWait.
        const parked = wanted.every((s, i) => s.highWatermark >= 0 && offsets[i] >= s.highWatermark);
        const answer = await this.untilAnsweredOrMoved(session, leader, sent, wanted, epochs, parked);
        if (answer === null) {
          sent.catch(() => undefined); // abandoned: its answer (or failure) is dropped
          if (!session.active) return;
          continue;
        }
        res = answer;
        failures = 0;
      } catch (err) {
        if (!session.active) return;
        failures++;
        if (!isRetriable(err) || failures > this.cluster.retrier.options.retries) {
          session.end('crash', err as Error);
          return;
        }
        this.log.warn(`fetch from broker ${leader} failed: ${(err as Error).message}`, { attempt: failures });
        await sleep(this.cluster.retrier.delay(failures - 1));
        await this.cluster.refreshMetadata().catch(() => undefined);
        continue;
      }
      if (!session.active) return;
      let batches = 0;
      let needRefresh = false;
      for (const t of res.responses) {
        for (const p of t.partitions) {
          const i = wanted.findIndex((s) => s.topic === t.topic && s.partition === p.partitionIndex);
          if (i < 0) continue;
          const s = wanted[i];
          if (s.epoch !== epochs[i] || this.partitions.get(tpKey(s.topic, s.partition)) !== s) continue;
          if (p.errorCode !== 0) {
            if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
              await this.resetOutOfRange(s);
            } else {
              if (STALE_METADATA_CODES.has(p.errorCode)) needRefresh = true;
              s.notBefore = Date.now() + this.cluster.retrier.delay(Math.min(s.failures++, 8));
              this.log.warn(`fetch ${s.topic}/${s.partition}: ${new FjordProtocolError(p.errorCode).message}`);
            }
            continue;
          }
          s.highWatermark = p.highWatermark;
          const records = p.records as Buffer | null; // the decoder gives one Buffer; lists are for encoding
          if (!records || records.length === 0) continue;
          let decoded;
          try {
            decoded = await decodeRecordSet(records, { minOffset: offsets[i], readCommitted: this.settings.readCommitted, abortedTransactions: p.abortedTransactions });
          } catch (err) {
            session.end('crash', new FjordNonRetriableError(`could not decode records of ${s.topic}/${s.partition} at offset ${offsets[i]}: ${(err as Error).message}`));
            return;
          }
          if (s.epoch !== epochs[i] || !session.active) continue;
          if (decoded.nextOffset <= s.fetchOffset) {
            // Not even one whole batch fitted: ask for more bytes next time.
            s.partitionMaxBytes = Math.min(s.partitionMaxBytes * 2, 1 << 30);
            continue;
          }
          s.partitionMaxBytes = this.settings.maxBytesPerPartition;
          s.fetchOffset = decoded.nextOffset;
          const messages = decoded.messages;
          if (messages.length === 0) continue;
          s.queue.push({ epoch: s.epoch, messages, highWatermark: p.highWatermark, bytes: records.length });
          s.queuedBytes += records.length;
          batches++;
        }
      }
      if (needRefresh) await this.cluster.refreshMetadata().catch(() => undefined);
      this.instrumentation.emit(ConsumerEvents.FETCH, { numberOfBatches: batches, duration: Date.now() - started, nodeId: leader });
      if (batches > 0) session.wake();
    }
  }

  /**
   * A fetch connection to `leader` with no request out: the first lane when it is free, else the
   * other; when both are busy (polls given up on), the older one's connection is closed.
   */
  private async freeLane(leader: number): Promise<Pool> {
    let oldest: Pool = LANES[0];
    let oldestAt = Infinity;
    for (const lane of LANES) {
      const o = this.outstanding.get(`${lane}:${leader}`);
      if (!o) return lane;
      if (o.sentAt < oldestAt) { oldest = lane; oldestAt = o.sentAt; }
    }
    this.outstanding.delete(`${oldest}:${leader}`);
    await this.cluster.closeConnection(leader, oldest);
    return oldest;
  }

  /**
   * Waits for the Fetch's answer, or returns null when it is no longer worth waiting for: the
   * session ended, a partition in it was moved (and may be fetched now), or (`parked`: the broker
   * is holding it) another partition of this leader became fetchable.
   */
  private async untilAnsweredOrMoved(session: Session, leader: number, sent: Promise<FetchResponse>, wanted: PartitionState[], epochs: number[], parked: boolean): Promise<FetchResponse | null> {
    let answered = false;
    const answer = sent.finally(() => { answered = true; session.wake(); });
    answer.catch(() => undefined);
    const inRequest = new Set(wanted);
    for (;;) {
      if (answered) return answer;
      if (!session.active) return null;
      const now = Date.now();
      let next = Infinity;
      for (let i = 0; i < wanted.length; i++) {
        const s = wanted[i];
        if (s.epoch === epochs[i] || this.partitions.get(tpKey(s.topic, s.partition)) !== s) continue;
        if (this.fetchable(s, now)) return null;
        if (s.notBefore > now) next = Math.min(next, s.notBefore);
      }
      if (parked) {
        for (const s of this.partitions.values()) {
          if (inRequest.has(s) || this.cluster.leaderOf(s.topic, s.partition) !== leader) continue;
          if (this.fetchable(s, now)) return null;
          if (s.notBefore > now) next = Math.min(next, s.notBefore);
        }
      }
      await wakeOrTimeout(session, next - now);
    }
  }

  private async resetOutOfRange(s: PartitionState): Promise<void> {
    const earliest = this.policy.fromBeginning(s.topic);
    try {
      const offsets = await this.listOffsets([{ topic: s.topic, partition: s.partition, timestamp: earliest ? -2 : -1 }]);
      const o = offsets.get(tpKey(s.topic, s.partition));
      if (o !== undefined) {
        this.log.info(`offset ${s.fetchOffset} of ${s.topic}/${s.partition} is out of range; resetting to the ${earliest ? 'earliest' : 'latest'} offset ${o}`);
        rewind(s, o);
      }
    } catch (err) {
      s.notBefore = Date.now() + this.cluster.retrier.delay(0);
      this.log.warn(`could not reset ${s.topic}/${s.partition}: ${(err as Error).message}`);
    }
  }

  /** ListOffsets for partitions (timestamp -2 earliest, -1 latest, else a time). */
  async listOffsets(list: { topic: string; partition: number; timestamp: number }[]): Promise<Map<string, number>> {
    return this.cluster.retrier.run(async () => {
      const byLeader = new Map<number, typeof list>();
      for (const x of list) {
        const leader = this.cluster.leaderOf(x.topic, x.partition);
        let l = byLeader.get(leader);
        if (!l) byLeader.set(leader, (l = []));
        l.push(x);
      }
      const out = new Map<string, number>();
      await Promise.all([...byLeader].map(async ([leader, items]) => {
        const byTopic = new Map<string, typeof list>();
        for (const x of items) {
          let l = byTopic.get(x.topic);
          if (!l) byTopic.set(x.topic, (l = []));
          l.push(x);
        }
        const res = await this.cluster.request(leader, ApiKey.ListOffsets, {
          replicaId: -1,
          isolationLevel: this.settings.readCommitted ? 1 : 0,
          topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p.partition, currentLeaderEpoch: -1, timestamp: p.timestamp, maxNumOffsets: 1 })) })),
        });
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== 0) throw new FjordProtocolError(p.errorCode, `ListOffsets ${t.name}/${p.partitionIndex}`);
            out.set(tpKey(t.name, p.partitionIndex), p.offset ?? -1); // v1+ (this client's minimum) always has it
          }
        }
      }));
      return out;
    }, async () => { await this.cluster.refreshMetadata().catch(() => undefined); });
  }
}

/** Resolves at the session's next wake-up, or after `ms` (Infinity: no timer). */
function wakeOrTimeout(session: Session, ms: number): Promise<void> {
  const woken = session.waitForWork();
  if (!Number.isFinite(ms)) return woken;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    timer.unref();
    void woken.then(() => { clearTimeout(timer); resolve(); });
  });
}
