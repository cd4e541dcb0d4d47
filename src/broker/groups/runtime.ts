// What the parts of the group coordinator share: the groups by id, their committed offsets by id,
// the timers, and the writes to the internal log `__consumer_offsets` (replay on start, appends,
// compaction).
//
// A group id holds one `Group`: a ClassicGroup or a ConsumerGroup (KIP-848), never both (invariant
// 14). Its committed offsets and metadata record are kept apart, in `offsets` (group-offsets.ts), so
// that they stay when an Empty group switches protocol. Every id in `offsets` has a group; a group
// may have no entry there yet.
//
// Everything runs on the one event loop, so each method's synchronous part is atomic. Timers are
// unref'd, live in one set, and are all cleared when the coordinator stops.
//
// Durability: offsets and group metadata are records in the internal log (format in
// offsets-store.ts). A write answers only after the append resolved, and memory is updated from the
// append's log offsets so that memory always equals what a replay would build.
import { ErrorCode } from '../../protocol/generated/errors.js';
import { StorageError, type Storage } from '../../storage/types.js';
import type { Logger } from '../logger.js';
import { internalTopicId, internalTopicInfos, isInternalTopic, type InternalTopicInfo } from '../topics.js';
import { ClassicGroup } from './classic-group.js';
import type { ConsumerGroup } from './consumer-group.js';
import { GroupOffsets, type CommittedOffset } from './group-offsets.js';
import { OFFSETS_LOG, OffsetsStore, type GroupValue, type LogEntry } from './offsets-store.js';

export interface GroupCoordinatorOptions {
  storage: Storage;
  logger: Logger;
  /** group.initial.rebalance.delay.ms */
  initialRebalanceDelayMs: number;
  /** group.min.session.timeout.ms / group.max.session.timeout.ms */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** offsets.retention.minutes, in ms (default 7 days). */
  offsetsRetentionMs?: number;
  /** offsets.retention.check.interval.ms (default 10 minutes). */
  offsetsRetentionCheckIntervalMs?: number;
  /** group.consumer.session.timeout.ms for KIP-848 consumer groups (default 45 s). */
  consumerSessionTimeoutMs?: number;
  /** group.consumer.heartbeat.interval.ms for KIP-848 consumer groups (default 5 s). */
  consumerHeartbeatIntervalMs?: number;
}

/** Superseded records in the offsets log before it is compacted (at least as many as live ones). */
const COMPACT_MIN_GARBAGE = 10000;

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Kafka's mapping of a failed coordinator append (KAFKA_STORAGE_ERROR → NOT_COORDINATOR). */
export function writeErrorCode(err: unknown): number {
  return err instanceof StorageError ? ErrorCode.NOT_COORDINATOR : ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** What a group id holds: `type` tells which protocol it speaks. */
export type Group = ClassicGroup | ConsumerGroup;

export class GroupRuntime {
  /** Every group this coordinator knows, by id. */
  readonly groups = new Map<string, Group>();
  /** Committed offsets and metadata record of a group id, whichever protocol its group speaks. */
  readonly offsets = new Map<string, GroupOffsets>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<Promise<unknown>>();
  private store: OffsetsStore | null = null;
  /** Between start() and stop(); requests answer COORDINATOR_NOT_AVAILABLE outside it. */
  active = false;
  private compacting = false;
  /** Log size at which the next compaction check happens. */
  private compactCheckAt = COMPACT_MIN_GARBAGE;
  readonly logger: Logger;

  constructor(readonly options: GroupCoordinatorOptions) {
    this.logger = options.logger;
  }

  /** Opens the offsets log and replays it into `groups`; the coordinator is then active. */
  async open(): Promise<void> {
    this.store = new OffsetsStore(await this.options.storage.internalLog(OFFSETS_LOG));
    await this.load(this.store);
    this.active = true;
    this.compactCheckAt = this.nextCompactCheck(this.liveRecordCount());
  }

  /** Inactive from now on: clears every timer, then waits for the writes in flight and forgets the groups. */
  async close(beforeWait: () => void): Promise<void> {
    this.active = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    beforeWait();
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    this.groups.clear();
    this.offsets.clear();
  }

  /**
   * Kafka's internal topics that exist, as last seen by `refreshInternalTopics` (group requests
   * refresh it before their synchronous part; timers use what was seen last). `__consumer_offsets`,
   * this coordinator's own log, is there from the start.
   */
  private internalTopics: readonly InternalTopicInfo[] | null = null;

  async refreshInternalTopics(): Promise<void> {
    try {
      this.internalTopics = await internalTopicInfos(this.options.storage);
    } catch {
      // storage closing or failing: keep what was seen last (the request itself then answers as it can)
    }
  }

  /** Whether these topics name an internal one not seen yet (then `refreshInternalTopics` first). */
  needsInternalTopics(topics: readonly { name: string }[]): boolean {
    return topics.some((t) => isInternalTopic(t.name) && !this.options.storage.topic(t.name) && !this.internalTopicList().some((i) => i.name === t.name));
  }

  private internalTopicList(): readonly InternalTopicInfo[] {
    this.internalTopics ??= [{ name: OFFSETS_LOG, topicId: internalTopicId(this.options.storage.clusterId, OFFSETS_LOG), partitionCount: 1 }];
    return this.internalTopics;
  }

  /**
   * The topics a group can subscribe to and commit offsets of: the user topics and Kafka's internal
   * topics that exist (Kafka resolves subscriptions over every topic of its metadata image; a user
   * topic of an internal name, from an old data dir, wins).
   */
  groupTopics(): { name: string; topicId: string; partitionCount: number }[] {
    const user = this.options.storage.topics().map((t) => ({ name: t.name, topicId: t.topicId, partitionCount: t.partitionCount }));
    const names = new Set(user.map((t) => t.name));
    return [...user, ...this.internalTopicList().filter((t) => !names.has(t.name))];
  }

  /** One topic of `groupTopics()` by name. */
  groupTopic(name: string): { name: string; topicId: string; partitionCount: number } | undefined {
    const meta = this.options.storage.topic(name);
    if (meta) return { name: meta.name, topicId: meta.topicId, partitionCount: meta.partitionCount };
    return this.internalTopicList().find((t) => t.name === name);
  }

  /** The offsets of a group id, created empty on first use. */
  offsetsOf(groupId: string): GroupOffsets {
    let o = this.offsets.get(groupId);
    if (!o) this.offsets.set(groupId, (o = new GroupOffsets(groupId)));
    return o;
  }

  /** The classic group of this id; undefined when there is none or it is a consumer group. */
  classicGroup(groupId: string): ClassicGroup | undefined {
    const g = this.groups.get(groupId);
    return g?.type === 'classic' ? g : undefined;
  }

  *classicGroups(): Generator<ClassicGroup> {
    for (const g of this.groups.values()) if (g.type === 'classic') yield g;
  }

  /** A group id is forgotten: its group and its offsets. */
  forget(groupId: string): void {
    this.groups.delete(groupId);
    this.offsets.delete(groupId);
  }

  private async load(store: OffsetsStore): Promise<void> {
    const metas = new Map<string, { value: GroupValue; offset: number }>();
    const offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();
    let records = 0;
    await store.replay(
      (e, offset) => {
        records++;
        if (e.type === 'group') {
          if (e.value === null) metas.delete(e.group);
          else metas.set(e.group, { value: e.value, offset });
          return;
        }
        let byTopic = offsets.get(e.group);
        if (!byTopic) offsets.set(e.group, (byTopic = new Map()));
        let parts = byTopic.get(e.topic);
        if (e.value === null) {
          parts?.delete(e.partition);
          if (parts?.size === 0) byTopic.delete(e.topic);
          if (byTopic.size === 0) offsets.delete(e.group);
          return;
        }
        if (!parts) byTopic.set(e.topic, (parts = new Map()));
        parts.set(e.partition, { ...e.value, logOffset: offset });
      },
      (reason, offset) => this.logger.warn(`${OFFSETS_LOG}: skipped ${reason} at offset ${offset}`),
    );
    // The log holds classic group metadata only (KIP-848 membership is not persisted): every group
    // comes back classic, one known only from its offsets as an Empty one.
    for (const [groupId, { value, offset }] of metas) {
      this.groups.set(groupId, ClassicGroup.restore(groupId, value));
      this.offsetsOf(groupId).markPersisted(offset, value);
    }
    for (const [groupId, byTopic] of offsets) {
      if (!this.groups.has(groupId)) this.groups.set(groupId, new ClassicGroup(groupId));
      const o = this.offsetsOf(groupId);
      for (const [topic, parts] of byTopic) o.restoreOffsets(topic, parts);
    }
    if (records > 0) this.logger.info(`group coordinator loaded ${this.groups.size} group(s) from ${records} record(s) of ${OFFSETS_LOG}`);
  }

  schedule(ms: number, fn: () => void): NodeJS.Timeout | null {
    if (!this.active) return null;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.active) return;
      try {
        fn();
      } catch (err) {
        this.logger.error(`group coordinator timer failed: ${(err as Error).stack ?? err}`);
      }
    }, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    t.unref();
    this.timers.add(t);
    return t;
  }

  cancel(t: NodeJS.Timeout | null | undefined): null {
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
    }
    return null;
  }

  /**
   * Appends `entries` durably, then runs `onWritten` with the offset of the first one before anything
   * else can observe the log (so compaction never sees a write that memory does not reflect yet).
   */
  write(entries: LogEntry[], onWritten: (baseOffset: number) => void): Promise<void> {
    if (!this.store) return Promise.reject(new Error('group coordinator not started'));
    const p = this.store.append(entries).then(onWritten);
    this.inflight.add(p);
    p.then(
      () => {
        this.inflight.delete(p);
        this.maybeCompact();
      },
      () => this.inflight.delete(p),
    );
    return p;
  }

  private liveRecordCount(): number {
    let n = 0;
    for (const o of this.offsets.values()) n += o.offsetCount() + (o.persisted !== null ? 1 : 0);
    return n;
  }

  private nextCompactCheck(live: number): number {
    return live + Math.max(COMPACT_MIN_GARBAGE, live);
  }

  /**
   * Compaction: when superseded records outnumber live ones (and at least COMPACT_MIN_GARBAGE),
   * appends the live state as fresh records and deletes everything before them. Runs only while no
   * other write is in flight, so memory is exactly the log's state.
   */
  maybeCompact(): void {
    const store = this.store;
    if (!store || !this.active || this.compacting || this.inflight.size > 0 || store.size() < this.compactCheckAt) return;
    const live = this.liveRecordCount();
    this.compactCheckAt = this.nextCompactCheck(live);
    if (store.size() - live < Math.max(COMPACT_MIN_GARBAGE, live)) return;
    const entries: LogEntry[] = [];
    // In the groups' order (as a replay lists them), then any offsets whose group is gone from the
    // map: every live record is written again, so compaction can never drop a committed offset.
    const order = new Set([...this.groups.keys(), ...this.offsets.keys()]);
    for (const groupId of order) {
      const g = this.offsets.get(groupId);
      if (!g) continue;
      if (g.persisted !== null) entries.push({ type: 'group', group: g.groupId, value: g.persisted });
      for (const [topic, parts] of g.offsets) {
        for (const [partition, o] of parts) {
          entries.push({ type: 'offset', group: g.groupId, topic, partition, value: { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: o.commitTimestamp } });
        }
      }
    }
    this.compacting = true;
    const before = store.size();
    const run = (async () => {
      const keepFrom = entries.length > 0 ? await store.append(entries) : store.endOffset();
      await store.deleteBefore(keepFrom);
    })();
    this.inflight.add(run);
    run.then(
      () => this.logger.info(`${OFFSETS_LOG}: compacted ${before} record(s) to ${entries.length}`),
      (err) => this.logger.warn(`${OFFSETS_LOG}: compaction failed: ${(err as Error).message}`),
    ).finally(() => {
      this.inflight.delete(run);
      this.compacting = false;
      this.compactCheckAt = this.nextCompactCheck(this.liveRecordCount());
    });
  }
}
