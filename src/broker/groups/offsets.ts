// Committed offsets (OffsetCommit, OffsetFetch, OffsetDelete) for both group protocols, offset
// retention, and the durable removal of groups. The records themselves are in offsets-store.ts.
//
// A commit is answered only after its append resolved; memory is updated from the append's log
// offsets, and commits still in flight (pendingCommits) keep a concurrent deletion from being undone.
import { ErrorCode } from '../../protocol/generated/errors.js';
import { ClassicGroup } from './classic-group.js';
import type { GroupOffsets } from './group-offsets.js';
import { memberSubscribes } from './consumer-group.js';
import type { LogEntry } from './offsets-store.js';
import type { ClassicProtocol } from './classic-protocol.js';
import type { TxnOffsets } from './txn-offsets.js';
import { writeErrorCode, type Group, type GroupRuntime } from './runtime.js';
import { DEFAULT_CONFIG } from '../settings.js';

/** offset.metadata.max.bytes (Kafka compares the string's length in UTF-16 units). */
export const MAX_OFFSET_METADATA_LENGTH = 4096;

export interface OffsetCommitParams {
  groupId: string;
  /** OffsetCommit version (v9+: KIP-848 members, GROUP_ID_NOT_FOUND); absent = not checked. */
  apiVersion?: number;
  /** -1 with an empty memberId: a "simple" commit, allowed while the group has no members. */
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: {
    name: string;
    partitions: {
      partitionIndex: number;
      committedOffset: number;
      committedLeaderEpoch: number;
      committedMetadata: string | null;
      /** OffsetCommit v1 only; -1 = now. */
      commitTimestamp?: number;
    }[];
  }[];
}

export type PartitionErrors = { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[];

export interface FetchedOffset {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface OffsetFetchResult {
  errorCode: number;
  topics: { name: string; partitions: FetchedOffset[] }[];
}

export interface OffsetDeleteResult {
  errorCode: number;
  topics: PartitionErrors;
}


export class OffsetManager {
  constructor(
    private readonly rt: GroupRuntime,
    private readonly classic: ClassicProtocol,
    private readonly txnOffsets: TxnOffsets,
  ) {}

  scheduleRetentionCheck(): void {
    const every = this.rt.options.offsetsRetentionCheckIntervalMs ?? DEFAULT_CONFIG.offsetsRetentionCheckIntervalMs;
    this.rt.schedule(every, () => {
      this.expireOffsetsAndGroups();
      this.scheduleRetentionCheck();
    });
  }

  async commitOffsets(p: OffsetCommitParams): Promise<PartitionErrors> {
    // The internal topics that exist take commits too, as in Kafka (waits only for a request naming one).
    if (this.rt.needsInternalTopics(p.topics)) await this.rt.refreshInternalTopics();
    const results: PartitionErrors = p.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode: ErrorCode.NONE })),
    }));
    const known: { topic: string; part: OffsetCommitParams['topics'][number]['partitions'][number]; res: { errorCode: number } }[] = [];
    p.topics.forEach((t, i) => {
      const meta = this.rt.groupTopic(t.name);
      t.partitions.forEach((part, j) => {
        const res = results[i].partitions[j];
        if (!meta || part.partitionIndex < 0 || part.partitionIndex >= meta.partitionCount) res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else known.push({ topic: t.name, part, res });
      });
    });
    if (known.length === 0) return results;

    const checked = this.validateCommit(p);
    if (typeof checked === 'number') {
      for (const k of known) k.res.errorCode = checked;
      return results;
    }
    if (!checked) this.rt.groups.set(p.groupId, new ClassicGroup(p.groupId)); // a simple (non-member) commit creates the group

    const now = Date.now();
    const entries: LogEntry[] = [];
    const targets: { errorCode: number }[] = [];
    for (const k of known) {
      const metadata = k.part.committedMetadata ?? '';
      if (metadata.length > MAX_OFFSET_METADATA_LENGTH) {
        k.res.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        continue;
      }
      const ts = k.part.commitTimestamp;
      entries.push({
        type: 'offset', group: p.groupId, topic: k.topic, partition: k.part.partitionIndex,
        value: { offset: k.part.committedOffset, leaderEpoch: k.part.committedLeaderEpoch ?? -1, metadata, commitTimestamp: ts !== undefined && ts >= 0 ? ts : now },
      });
      targets.push(k.res);
    }
    if (entries.length === 0) return results;
    const group = this.rt.offsetsOf(p.groupId);
    const committing = entries.flatMap((e) => (e.type === 'offset' ? [{ topic: e.topic, partition: e.partition }] : []));
    group.startCommits(committing);
    try {
      await this.rt.write(entries, (base) => {
        entries.forEach((e, i) => {
          if (e.type !== 'offset') return;
          group.applyOffset(e.topic, e.partition, e.value, base + i);
          this.txnOffsets.notePlainCommit(p.groupId, e.topic, e.partition);
        });
      });
    } catch (err) {
      const code = writeErrorCode(err);
      this.rt.logger.warn(`group ${p.groupId}: offset commit failed: ${(err as Error).message}`);
      for (const t of targets) t.errorCode = code;
    } finally {
      group.endCommits(committing);
    }
    return results;
  }

  /**
   * TxnOffsetCommit's member check: none without member information (v0–2, or a producer outside
   * the group), as in Kafka; otherwise OffsetCommit's (NONE or the error for all partitions).
   */
  checkTxnCommitMember(p: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }): number {
    if (!this.rt.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (p.generationId < 0 && p.memberId === '' && p.groupInstanceId === null) return ErrorCode.NONE;
    const checked = this.validateCommit({ ...p, topics: [] });
    return typeof checked === 'number' ? checked : ErrorCode.NONE;
  }

  /** The group a commit applies to (undefined: none yet, simple commit), or the error for all partitions. */
  private validateCommit(p: OffsetCommitParams): Group | undefined | number {
    if (!this.rt.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const g = this.rt.groups.get(p.groupId);
    if (!g && p.generationId >= 0) {
      // A generation of a group that is gone (v9+ says so plainly).
      return (p.apiVersion ?? 0) >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION;
    }
    if (g?.type === 'consumer') {
      // KIP-848 group: the "generation" is the member epoch; anyone may commit while it is empty.
      const cg = g;
      if (p.generationId < 0 && cg.members.size === 0) return g;
      const m = cg.members.get(p.memberId);
      if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
      if ((p.apiVersion ?? 9) < 9) return ErrorCode.UNSUPPORTED_VERSION;
      if (p.generationId > m.memberEpoch) return ErrorCode.FENCED_MEMBER_EPOCH;
      if (p.generationId < m.memberEpoch) return ErrorCode.STALE_MEMBER_EPOCH;
      return g;
    }
    if (p.generationId >= 0 || p.memberId !== '' || p.groupInstanceId !== null) {
      if (!g) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (p.groupInstanceId !== null && !g.staticMembers.has(p.groupInstanceId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (g.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
      if (!g.has(p.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (p.generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (g && g.state !== 'Empty') {
      return ErrorCode.UNKNOWN_MEMBER_ID; // only members commit to a group that has members
    }
    if (!g) return undefined;
    switch (g.state) {
      case 'Empty':
        return g;
      case 'Stable':
      case 'PreparingRebalance': {
        // Still accepted while preparing: the member learns of the rebalance from its heartbeat.
        const m = g.members.get(p.memberId);
        if (m) this.classic.scheduleHeartbeat(g, m);
        return g;
      }
      case 'CompletingRebalance':
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /**
   * Committed offsets of a group; `topics` null = every committed partition. Partitions never
   * committed answer offset -1, metadata "", NONE.
   */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    requireStable = false,
    member: { memberId: string | null; memberEpoch: number } = { memberId: null, memberEpoch: -1 },
  ): OffsetFetchResult {
    if (!this.rt.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const group = this.rt.groups.get(groupId);
    // v9+: a KIP-848 member identifies itself; a stale epoch or unknown member gets an error.
    if (group?.type === 'consumer' && (member.memberId !== null || member.memberEpoch >= 0)) {
      const m = member.memberId === null ? undefined : group.members.get(member.memberId);
      if (!m) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, topics: [] };
      if (member.memberEpoch !== m.memberEpoch) return { errorCode: ErrorCode.STALE_MEMBER_EPOCH, topics: [] };
    }
    const none = (partitionIndex: number, errorCode: number = ErrorCode.NONE): FetchedOffset => ({
      partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode,
    });
    const g = this.rt.offsets.get(groupId);
    const one = (topic: string, partitionIndex: number): FetchedOffset => {
      if (!g) return requireStable && this.txnOffsets.isPending(groupId, topic, partitionIndex) ? none(partitionIndex, ErrorCode.UNSTABLE_OFFSET_COMMIT) : none(partitionIndex);
      if (requireStable && (g.hasPendingCommit(topic, partitionIndex) || this.txnOffsets.isPending(groupId, topic, partitionIndex))) {
        return none(partitionIndex, ErrorCode.UNSTABLE_OFFSET_COMMIT);
      }
      const o = g.offset(topic, partitionIndex);
      if (!o) return none(partitionIndex);
      return { partitionIndex, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch, metadata: o.metadata, errorCode: ErrorCode.NONE };
    };
    if (topics !== null) {
      return { errorCode: ErrorCode.NONE, topics: topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((i) => one(t.name, i)) })) };
    }
    if (!g) return { errorCode: ErrorCode.NONE, topics: [] };
    const names = [...g.offsets.keys()].sort();
    return {
      errorCode: ErrorCode.NONE,
      topics: names.map((name) => ({
        name,
        partitions: [...g.offsets.get(name)!.keys()].sort((a, b) => a - b).map((i) => one(name, i)),
      })),
    };
  }

  /** OffsetDelete: removes committed offsets of partitions the group does not consume. */
  async deleteOffsets(groupId: string, topics: { name: string; partitions: number[] }[]): Promise<OffsetDeleteResult> {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    if (this.rt.needsInternalTopics(topics)) await this.rt.refreshInternalTopics(); // before the synchronous part below
    if (!this.rt.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const group = this.rt.groups.get(groupId);
    if (!group) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    // A group with members that uses the consumer protocol (a classic one of protocol type
    // "consumer", or a KIP-848 one): topics it subscribes to keep their offsets.
    const consumerGroupRebalancingOrStable = group.type === 'consumer'
      ? group.members.size > 0
      : group.state !== 'Empty' && group.protocolType === 'consumer';
    if (group.type === 'classic' && group.state !== 'Empty' && !consumerGroupRebalancingOrStable) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    const g = this.rt.offsetsOf(groupId);
    const results: PartitionErrors = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.NONE })),
    }));
    const entries: LogEntry[] = [];
    const targets: { errorCode: number }[] = [];
    topics.forEach((t, i) => {
      const meta = this.rt.groupTopic(t.name);
      // Unknown subscriptions (unreadable metadata) count as subscribed, as in Kafka.
      const subscribed = consumerGroupRebalancingOrStable && (group.type === 'consumer'
        ? [...group.members.values()].some((m) => memberSubscribes(m, t.name))
        : group.subscribedTopics === null || group.subscribedTopics.has(t.name));
      t.partitions.forEach((partition, j) => {
        const res = results[i].partitions[j];
        if (!meta || partition < 0 || partition >= meta.partitionCount) res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (subscribed) res.errorCode = ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC;
        else if (g.offset(t.name, partition)) {
          entries.push({ type: 'offset', group: groupId, topic: t.name, partition, value: null });
          targets.push(res);
        }
      });
    });
    if (entries.length > 0) {
      try {
        await this.rt.write(entries, (base) => {
          entries.forEach((e, i) => {
            if (e.type === 'offset') g.applyOffset(e.topic, e.partition, null, base + i);
          });
        });
      } catch (err) {
        const code = writeErrorCode(err);
        for (const t of targets) t.errorCode = code;
      }
    }
    return { errorCode: ErrorCode.NONE, topics: results };
  }

  /**
   * Marks the groups Dead and forgets them with their offsets at once (so nothing can join them
   * meanwhile), then writes their tombstones. If the write fails they come back as they were.
   */
  async removeGroupsDurably(groups: Group[]): Promise<number> {
    const entries: LogEntry[] = [];
    const removed: { g: Group; stored: GroupOffsets | undefined }[] = [];
    for (const g of groups) {
      const stored = this.rt.offsets.get(g.groupId);
      if (stored) {
        // Commits still being written land in the log before these tombstones, so they are covered.
        for (const { topic, partition } of stored.partitionsToTombstone()) {
          entries.push({ type: 'offset', group: g.groupId, topic, partition, value: null });
        }
        stored.markDeleted();
      }
      // Always: a metadata record may still be on its way to the log (persistedAt not yet set), and
      // a tombstone for a group the log never had replays as nothing.
      entries.push({ type: 'group', group: g.groupId, value: null });
      if (g.type === 'classic') {
        g.markDead(this.rt);
      }
      this.rt.forget(g.groupId);
      removed.push({ g, stored });
    }
    if (entries.length === 0) return ErrorCode.NONE;
    try {
      await this.rt.write(entries, () => undefined);
      for (const g of groups) {
        this.txnOffsets.forgetGroup(g.groupId);
        this.rt.logger.info(`group ${g.groupId}: deleted`);
      }
      return ErrorCode.NONE;
    } catch (err) {
      this.rt.logger.warn(`deleting group(s) ${groups.map((g) => g.groupId).join(', ')} failed: ${(err as Error).message}`);
      for (const { g, stored } of removed) {
        if (g.type === 'classic') g.undoDead();
        stored?.undoDeleted();
        if (!this.rt.groups.has(g.groupId)) {
          this.rt.groups.set(g.groupId, g);
          if (stored) this.rt.offsets.set(g.groupId, stored);
          continue;
        }
        if (!stored) continue;
        // A group of the same name appeared meanwhile: it inherits the offsets that are still in the log.
        const now = this.rt.offsetsOf(g.groupId);
        for (const [topic, parts] of stored.offsets) {
          for (const [partition, o] of parts) if (!now.offset(topic, partition)) now.applyOffset(topic, partition, o, o.logOffset);
        }
      }
      return writeErrorCode(err);
    }
  }

  /**
   * Offset retention (offsets.retention.minutes): an Empty consumer group loses its offsets once it
   * has been empty that long; a group used only for commits loses each offset that long after its
   * commit. Empty groups left without offsets are then removed.
   */
  private expireOffsetsAndGroups(): void {
    const retention = this.rt.options.offsetsRetentionMs ?? DEFAULT_CONFIG.offsetsRetentionMinutes * 60 * 1000;
    const now = Date.now();
    const expired: { g: GroupOffsets; topic: string; partition: number }[] = [];
    const removable: Group[] = [];
    for (const group of this.rt.groups.values()) {
      // A group used only for commits (never joined) has no protocol type.
      const simple = group.type === 'classic' && group.protocolType === null;
      const empty = group.type === 'consumer' ? group.members.size === 0 : group.state === 'Empty';
      const unused = group.type === 'consumer' ? empty : group.isUnused();
      const g = this.rt.offsets.get(group.groupId);
      let expiring = 0;
      if (g && (empty || simple)) {
        for (const [topic, parts] of g.offsets) {
          for (const [partition, o] of parts) {
            const since = simple ? o.commitTimestamp : group.stateTimestamp;
            if (now - since >= retention && !g.hasPendingCommit(topic, partition)) {
              expired.push({ g, topic, partition });
              expiring++;
            }
          }
        }
      }
      if (unused && (g?.pendingCommits.size ?? 0) === 0 && (g?.offsetCount() ?? 0) === expiring) removable.push(group);
    }
    const removedIds = new Set(removable.map((g) => g.groupId));
    const partial = expired.filter((t) => !removedIds.has(t.g.groupId)); // removed groups lose all offsets anyway
    if (removable.length === 0 && partial.length === 0) return;
    this.rt.logger.info(`offset retention: expiring ${expired.length} offset(s), removing ${removable.length} empty group(s)`);
    if (removable.length > 0) void this.removeGroupsDurably(removable);
    if (partial.length > 0) {
      const entries: LogEntry[] = partial.map((t) => ({ type: 'offset', group: t.g.groupId, topic: t.topic, partition: t.partition, value: null }));
      void this.rt.write(entries, (base) => {
        partial.forEach((t, i) => t.g.applyOffset(t.topic, t.partition, null, base + i));
      }).catch((err) => this.rt.logger.warn(`offset retention: write failed: ${(err as Error).message}`));
    }
  }
}
