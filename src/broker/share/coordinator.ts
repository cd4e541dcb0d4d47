// Share groups (KIP-932, "queues for Kafka") on one node: membership, share sessions and the
// share-partitions' state, persisted in the internal log `__share_group_state`.
//
// Membership (ShareGroupHeartbeat): epoch 0 joins (the client's member id, or one made here), a
// positive epoch heartbeats, -1 leaves. Assignment is done here ("simple", as Kafka's share assignor:
// partitions spread over the members subscribed to their topic, shared when there are more members
// than partitions); the records of a shared partition are shared through the share-partition's
// acquisition locks, and ShareFetch is not limited to the assignment. A change of members, subscriptions or partition counts
// bumps the group epoch; a member's epoch follows it at its next heartbeat (no revocation step:
// nothing is owned exclusively). A member silent for group.share.session.timeout.ms is removed.
//
// Share sessions (ShareFetch / ShareAcknowledge), one per (group, member): epoch 0 opens one (a
// previous one of the member is closed), -1 closes it, otherwise the epoch must be the session's
// next one (INVALID_SHARE_SESSION_EPOCH; no session: SHARE_SESSION_NOT_FOUND) and moves on by one.
// A session remembers the partitions it fetches (incremental requests add, ForgottenTopicsData
// removes). A closed session, or a member leaving, releases the records it held.
//
// Persistence (invariant 10's rule: the answer comes after the write): each record of the log is
// JSON, key {"type":"group","groupId"} → {"epoch"} (null: deleted), and
// key {"type":"partition","groupId","topicId","partition"} → SharePartition.snapshot() (null: deleted).
// Acknowledgements, releases, lock expiry and the SPSO's first placement write the partition's whole
// state (the log is compacted by key); acquisitions are not written, so after a restart records that
// were handed out and not acknowledged are available again (their delivery count as last written).
import { randomUUID } from 'node:crypto';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { PartitionLog, Storage, TopicMeta } from '../../storage/types.js';
import { FollowedLog, parseJsonRecord, type InternalRecord } from '../internal-log.js';
import type { Logger } from '../logger.js';
import { checkGroupConfigs, GroupConfigError } from './group-configs.js';
import { AckError, SharePartition, type AckBatch, type AcquiredRange, type SharePartitionLimits, type SharePartitionSnapshot } from './share-partition.js';

export const SHARE_STATE_LOG = '__share_group_state';
/** The only assignor here, as ShareGroupDescribe names it. */
export const SHARE_ASSIGNOR = 'simple';

export interface ShareCoordinatorOptions {
  storage: Storage;
  logger: Logger;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  maxSize: number;
  lockDurationMs: number;
  deliveryCountLimit: number;
  maxRecordLocks: number;
  /** Whether a classic or consumer group of this id exists (one id, one kind of group). */
  otherGroupExists?: (groupId: string) => boolean;
}

export interface TopicAssignment {
  topicId: string;
  topicName: string;
  partitions: number[];
}

interface ShareMember {
  memberId: string;
  epoch: number;
  clientId: string;
  clientHost: string;
  rackId: string | null;
  subscribed: string[];
  assignment: TopicAssignment[];
  timer: NodeJS.Timeout | null;
}

interface ShareGroup {
  groupId: string;
  epoch: number;
  /** The epoch whose assignment the members got (equal to epoch here: assignment is immediate). */
  assignmentEpoch: number;
  members: Map<string, ShareMember>;
  /** Key `${topicId}:${partition}`. */
  partitions: Map<string, SharePartition>;
  /** What the last epoch bump was computed from, to see when partitions or subscriptions change. */
  layout: string;
}

interface ShareSession {
  /** The epoch the next request must carry. */
  epoch: number;
  partitions: Map<string, { topicId: string; partition: number }>;
}

export interface HeartbeatParams {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  rackId: string | null;
  subscribedTopicNames: string[] | null;
  clientId: string;
  clientHost: string;
}

export interface HeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: TopicAssignment[] | null;
}

export interface DescribedShareGroup {
  groupId: string;
  errorCode: number;
  errorMessage: string | null;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  members: { memberId: string; rackId: string | null; memberEpoch: number; clientId: string; clientHost: string; subscribedTopicNames: string[]; assignment: TopicAssignment[] }[];
}

export interface DescribedShareTopic {
  topicName: string;
  /** Zero uuid for a topic that does not exist. */
  topicId: string;
  partitions: { partition: number; startOffset: number }[];
}

export interface DescribedShareOffsets {
  errorCode: number;
  errorMessage: string | null;
  topics: DescribedShareTopic[];
}

export interface AlteredShareTopic {
  topicName: string;
  topicId: string;
  partitions: { partition: number; errorCode: number; errorMessage: string | null }[];
}

export interface AlteredShareOffsets {
  errorCode: number;
  errorMessage: string | null;
  topics: AlteredShareTopic[];
}

export interface DeletedShareTopic {
  topicName: string;
  topicId: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface DeletedShareOffsets {
  errorCode: number;
  errorMessage: string | null;
  topics: DeletedShareTopic[];
}

export interface SharePartitionRequest {
  topicId: string;
  partition: number;
  /** False: acknowledgements only (ShareFetch PartitionMaxBytes 0, ShareAcknowledge). */
  fetch: boolean;
  acknowledgements: AckBatch[];
}

export interface SharePartitionResult {
  topicId: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  acknowledgeErrorCode: number;
  acknowledgeErrorMessage: string | null;
  records: Buffer[];
  acquired: AcquiredRange[];
}

export interface ShareRequestParams {
  groupId: string | null;
  memberId: string | null;
  shareSessionEpoch: number;
  partitions: SharePartitionRequest[];
  forgotten: { topicId: string; partitions: number[] }[];
  /** ShareAcknowledge: no fetching, and epoch 0 is not allowed. */
  acknowledgeOnly: boolean;
  maxWaitMs: number;
  maxBytes: number;
  /** Records acquired at most, over all partitions (ShareFetch v1 MaxRecords; v0: no cap). */
  maxRecords: number;
  /** v2: acknowledge type 4 (Renew) is allowed. */
  allowRenew?: boolean;
  /** v2 IsRenewAck on ShareFetch: acknowledgements (renewals) only, nothing is acquired. */
  renewOnly?: boolean;
  /** ShareFetch v1 BatchSize: AcquiredRecords entries of at most this many offsets (0: no split). */
  batchSize: number;
}

export interface ShareRequestResult {
  errorCode: number;
  errorMessage: string | null;
  partitions: SharePartitionResult[];
}

const pkey = (topicId: string, partition: number) => `${topicId}:${partition}`;

/** Acquired ranges cut into pieces of at most `size` offsets (ShareFetch v1 BatchSize; 0 or less: as they are). */
export function splitRanges(ranges: AcquiredRange[], size: number): AcquiredRange[] {
  if (size <= 0) return ranges;
  const out: AcquiredRange[] = [];
  for (const r of ranges) {
    for (let first = r.firstOffset; first <= r.lastOffset; first += size) {
      out.push({ firstOffset: first, lastOffset: Math.min(r.lastOffset, first + size - 1), deliveryCount: r.deliveryCount });
    }
  }
  return out;
}

export class ShareCoordinator {
  private readonly groups = new Map<string, ShareGroup>();
  private readonly sessions = new Map<string, ShareSession>();
  private readonly log: FollowedLog;
  /** Group configs (share.*) by group id, set or not the group exists (group-configs.ts). */
  private readonly configs = new Map<string, Record<string, string>>();
  /** Wakes the ShareFetch requests waiting for records (stop() answers them at once). */
  private readonly waiters = new Set<() => void>();
  active = false;

  constructor(readonly options: ShareCoordinatorOptions) {
    this.log = new FollowedLog(SHARE_STATE_LOG, 'share-group state store', (key, value, offset, skipped) => this.apply(key, value, offset, skipped), options.logger);
  }

  async start(): Promise<void> {
    if (this.active) return;
    await this.log.open(this.options.storage);
    this.active = true;
  }

  /** Answers waiting ShareFetch requests (with what they have), clears timers and forgets members and sessions. */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    for (const wake of [...this.waiters]) wake();
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) if (m.timer) clearTimeout(m.timer);
      for (const sp of g.partitions.values()) sp.close();
    }
    this.groups.clear();
    this.sessions.clear();
  }

  private limits(groupId: string): () => SharePartitionLimits {
    return () => {
      const own = this.configs.get(groupId)?.['share.record.lock.duration.ms'];
      const o = this.options;
      return { lockDurationMs: own !== undefined ? Number(own) : o.lockDurationMs, deliveryCountLimit: o.deliveryCountLimit, maxRecordLocks: o.maxRecordLocks };
    };
  }

  /** The acquisition lock duration of the group (its share.record.lock.duration.ms, else the broker's): ShareFetch v1 AcquisitionLockTimeoutMs. */
  lockDurationMs(groupId: string): number {
    return this.limits(groupId)().lockDurationMs;
  }

  /** The group's own configs (none set: empty). */
  groupConfigs(groupId: string): Record<string, string> {
    return { ...(this.configs.get(groupId) ?? {}) };
  }

  /** Replaces the group's configs (checked: GroupConfigError), durably. */
  async setGroupConfigs(groupId: string, next: Record<string, string>): Promise<void> {
    // Not running (cluster mode has no share coordinator yet): an answer for the resource, not a
    // thrown error that would close the client's connection.
    if (!this.active) throw new GroupConfigError('The share-group coordinator is not available', ErrorCode.COORDINATOR_NOT_AVAILABLE);
    checkGroupConfigs(next);
    const empty = Object.keys(next).length === 0;
    const record: InternalRecord = {
      key: Buffer.from(JSON.stringify({ type: 'config', groupId })),
      value: empty ? null : Buffer.from(JSON.stringify({ configs: next })),
    };
    await this.log.write([record], () => {
      if (empty) this.configs.delete(groupId);
      else this.configs.set(groupId, { ...next });
    });
  }

  /** Whether `groupId` is a share group here. */
  has(groupId: string): boolean {
    return this.groups.has(groupId);
  }

  private apply(key: Buffer | null, value: Buffer | null, offset: number, skipped: (reason: string, offset: number) => void): void {
    const rec = parseJsonRecord(key, value);
    if (typeof rec === 'string') return skipped(rec, offset);
    const k = rec.key as { type?: unknown; groupId?: unknown; topicId?: unknown; partition?: unknown };
    if (typeof k.groupId !== 'string') return skipped('record without a group id', offset);
    if (k.type === 'config') {
      const v = rec.value as { configs?: unknown } | null;
      if (v === null) this.configs.delete(k.groupId);
      else if (v.configs && typeof v.configs === 'object') this.configs.set(k.groupId, { ...(v.configs as Record<string, string>) });
      return;
    }
    if (k.type === 'group') {
      if (rec.value === null) {
        this.groups.delete(k.groupId);
        return;
      }
      const v = rec.value as { epoch?: unknown };
      const g = this.groupOrNew(k.groupId);
      if (typeof v.epoch === 'number') g.epoch = g.assignmentEpoch = v.epoch;
      return;
    }
    if (k.type === 'partition' && typeof k.topicId === 'string' && typeof k.partition === 'number') {
      const g = this.groupOrNew(k.groupId);
      const id = pkey(k.topicId, k.partition);
      g.partitions.get(id)?.close();
      if (rec.value === null) {
        g.partitions.delete(id);
        return;
      }
      const snap = rec.value as SharePartitionSnapshot;
      if (!Number.isSafeInteger(snap.spso) || snap.spso < 0 || !Array.isArray(snap.ranges)) return skipped('share-partition state without spso/ranges', offset);
      g.partitions.set(id, SharePartition.restore(k.topicId, k.partition, snap, this.limits(k.groupId), (sp) => this.expired(g, sp)));
      return;
    }
    skipped('record of an unknown type', offset);
  }

  private groupOrNew(groupId: string): ShareGroup {
    let g = this.groups.get(groupId);
    if (!g) {
      g = { groupId, epoch: 0, assignmentEpoch: 0, members: new Map(), partitions: new Map(), layout: '' };
      this.groups.set(groupId, g);
    }
    return g;
  }

  private groupRecord(g: ShareGroup, deleted = false): InternalRecord {
    return {
      key: Buffer.from(JSON.stringify({ type: 'group', groupId: g.groupId })),
      value: deleted ? null : Buffer.from(JSON.stringify({ epoch: g.epoch })),
    };
  }

  private partitionRecord(groupId: string, sp: SharePartition, deleted = false): InternalRecord {
    return {
      key: Buffer.from(JSON.stringify({ type: 'partition', groupId, topicId: sp.topicId, partition: sp.partition })),
      value: deleted ? null : Buffer.from(JSON.stringify(sp.snapshot())),
    };
  }

  /** Persists the current state of `parts` (their snapshot when the write happens: later writes carry later state). */
  private persist(groupId: string, parts: Iterable<SharePartition>): Promise<void> {
    const list = [...parts];
    if (list.length === 0) return Promise.resolve();
    return this.log.write(list.map((sp) => this.partitionRecord(groupId, sp)), () => undefined);
  }

  private expired(g: ShareGroup, sp: SharePartition): void {
    if (!this.active || this.groups.get(g.groupId) !== g) return;
    this.persist(g.groupId, [sp]).catch((err: Error) => this.options.logger.warn(`share group ${g.groupId}: writing lock expiry failed: ${err.message}`));
  }

  // Membership

  private assignmentFor(subscribed: readonly string[]): TopicAssignment[] {
    const out: TopicAssignment[] = [];
    for (const name of [...new Set(subscribed)].sort()) {
      const t = this.options.storage.topic(name);
      if (t) out.push({ topicId: t.topicId, topicName: t.name, partitions: Array.from({ length: t.partitionCount }, (_, i) => i) });
    }
    return out;
  }

  /**
   * The "simple" assignor, per topic, over the members subscribed to it (sorted by member id): with
   * at least as many partitions as members each partition goes to one member (partition i to member
   * i mod M), with more members than partitions each member gets one partition (member j gets
   * partition j mod P) and the members share it. As Kafka's share assignor: every partition has a
   * consumer, the records are shared through the acquisition locks either way.
   */
  private assign(g: ShareGroup): void {
    const members = [...g.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
    const got = new Map<string, TopicAssignment[]>(members.map((m) => [m.memberId, []]));
    const topics = new Set(members.flatMap((m) => m.subscribed));
    for (const name of [...topics].sort()) {
      const t = this.options.storage.topic(name);
      if (!t || t.partitionCount === 0) continue;
      const subs = members.filter((m) => m.subscribed.includes(name));
      const parts = new Map<string, number[]>(subs.map((m) => [m.memberId, []]));
      if (t.partitionCount >= subs.length) {
        for (let p = 0; p < t.partitionCount; p++) parts.get(subs[p % subs.length].memberId)!.push(p);
      } else {
        subs.forEach((m, j) => parts.get(m.memberId)!.push(j % t.partitionCount));
      }
      for (const [memberId, partitions] of parts) got.get(memberId)!.push({ topicId: t.topicId, topicName: t.name, partitions });
    }
    for (const m of members) m.assignment = got.get(m.memberId)!;
  }

  /** Members, their subscriptions and the partition counts they resolve to: a change bumps the group epoch. */
  private layoutOf(g: ShareGroup): string {
    const parts: string[] = [];
    for (const m of [...g.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
      parts.push(`${m.memberId}=${this.assignmentFor(m.subscribed).map((t) => `${t.topicId}/${t.partitions.length}`).join(',')}`);
    }
    return parts.join(';');
  }

  private refreshEpoch(g: ShareGroup): boolean {
    const layout = this.layoutOf(g);
    if (layout === g.layout) return false;
    g.layout = layout;
    g.epoch++;
    g.assignmentEpoch = g.epoch;
    this.assign(g);
    return true;
  }

  private armSession(g: ShareGroup, m: ShareMember): void {
    if (m.timer) clearTimeout(m.timer);
    m.timer = setTimeout(() => {
      if (this.groups.get(g.groupId) !== g || g.members.get(m.memberId) !== m) return;
      this.options.logger.info(`share group ${g.groupId}: member ${m.memberId} removed after ${this.options.sessionTimeoutMs} ms without a heartbeat`);
      this.removeMember(g, m).catch((err: Error) => this.options.logger.warn(`share group ${g.groupId}: removing ${m.memberId} failed: ${err.message}`));
    }, this.options.sessionTimeoutMs);
    m.timer.unref();
  }

  /** Removes a member: its session closes and what it held is released (and written). */
  private async removeMember(g: ShareGroup, m: ShareMember): Promise<void> {
    if (m.timer) clearTimeout(m.timer);
    g.members.delete(m.memberId);
    this.sessions.delete(`${g.groupId}\0${m.memberId}`);
    const changed = [...g.partitions.values()].filter((sp) => sp.releaseMember(m.memberId));
    const bumped = this.refreshEpoch(g);
    const records = changed.map((sp) => this.partitionRecord(g.groupId, sp));
    if (bumped) records.push(this.groupRecord(g));
    if (records.length > 0) await this.log.write(records, () => undefined);
  }

  async heartbeat(p: HeartbeatParams): Promise<HeartbeatResult> {
    const fail = (errorCode: number, errorMessage: string): HeartbeatResult => ({ errorCode, errorMessage, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null });
    if (!this.active) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The share-group coordinator is not available');
    if (p.groupId === '') return fail(ErrorCode.INVALID_REQUEST, 'GroupId can\'t be empty.');
    const interval = this.options.heartbeatIntervalMs;
    let g = this.groups.get(p.groupId);
    if (p.memberEpoch === 0) {
      if (!p.subscribedTopicNames || p.subscribedTopicNames.length === 0) return fail(ErrorCode.INVALID_REQUEST, 'SubscribedTopicNames must be set in first request.');
      if (!g && this.options.otherGroupExists?.(p.groupId)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} is not a share group.`);
      const memberId = p.memberId !== '' ? p.memberId : randomUUID();
      const existing = g?.members.get(memberId);
      if (!existing && g && g.members.size >= this.options.maxSize) {
        return fail(ErrorCode.GROUP_MAX_SIZE_REACHED, `The share group has reached its maximum size of ${this.options.maxSize} members.`);
      }
      const created = !g;
      g ??= this.groupOrNew(p.groupId);
      const m: ShareMember = existing ?? { memberId, epoch: 0, clientId: p.clientId, clientHost: p.clientHost, rackId: p.rackId, subscribed: [], assignment: [], timer: null };
      m.subscribed = [...p.subscribedTopicNames];
      m.clientId = p.clientId;
      m.clientHost = p.clientHost;
      if (p.rackId !== null) m.rackId = p.rackId;
      g.members.set(memberId, m);
      const bumped = this.refreshEpoch(g);
      m.epoch = g.epoch;
      this.armSession(g, m);
      if (bumped || created) await this.log.write([this.groupRecord(g)], () => undefined);
      return { errorCode: ErrorCode.NONE, errorMessage: null, memberId, memberEpoch: m.epoch, heartbeatIntervalMs: interval, assignment: m.assignment };
    }
    const m = g?.members.get(p.memberId);
    if (!g || !m) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of share group ${p.groupId}.`);
    if (p.memberEpoch === -1) {
      await this.removeMember(g, m);
      return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: m.memberId, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null };
    }
    if (p.memberEpoch !== m.epoch) {
      return fail(ErrorCode.FENCED_MEMBER_EPOCH, `The member's epoch ${p.memberEpoch} is not its current epoch ${m.epoch}.`);
    }
    if (p.subscribedTopicNames !== null) m.subscribed = [...p.subscribedTopicNames];
    if (p.rackId !== null) m.rackId = p.rackId;
    this.armSession(g, m);
    const bumped = this.refreshEpoch(g);
    const changed = m.epoch !== g.epoch;
    m.epoch = g.epoch;
    if (bumped) await this.log.write([this.groupRecord(g)], () => undefined);
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: m.memberId, memberEpoch: m.epoch, heartbeatIntervalMs: interval, assignment: changed ? m.assignment : null };
  }

  describe(groupIds: string[]): DescribedShareGroup[] {
    return groupIds.map((groupId): DescribedShareGroup => {
      const g = this.groups.get(groupId);
      const base = { groupId, groupState: 'Dead', groupEpoch: -1, assignmentEpoch: -1, members: [] };
      if (!this.active) return { ...base, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null };
      if (!g) {
        const other = this.options.otherGroupExists?.(groupId);
        return { ...base, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: other ? `Group ${groupId} is not a share group.` : `Group ${groupId} not found.` };
      }
      return {
        groupId, errorCode: ErrorCode.NONE, errorMessage: null,
        groupState: g.members.size === 0 ? 'Empty' : 'Stable',
        groupEpoch: g.epoch,
        assignmentEpoch: g.assignmentEpoch,
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId, rackId: m.rackId, memberEpoch: m.epoch, clientId: m.clientId, clientHost: m.clientHost,
          subscribedTopicNames: [...m.subscribed], assignment: m.assignment,
        })),
      };
    });
  }

  /** Share groups for ListGroups: id and state ("Empty" / "Stable"). */
  list(): { groupId: string; state: 'Empty' | 'Stable' }[] {
    return [...this.groups.values()].map((g) => ({ groupId: g.groupId, state: g.members.size === 0 ? 'Empty' : 'Stable' }));
  }

  /** DeleteGroups of a share group: NON_EMPTY_GROUP with members, else its state is deleted (tombstones) and NONE. */
  async deleteGroup(groupId: string): Promise<number> {
    const g = this.groups.get(groupId);
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (!g) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (g.members.size > 0) return ErrorCode.NON_EMPTY_GROUP;
    const records = [...g.partitions.values()].map((sp) => this.partitionRecord(groupId, sp, true));
    records.push(this.groupRecord(g, true));
    await this.log.write(records, () => undefined);
    for (const sp of g.partitions.values()) sp.close();
    this.groups.delete(groupId);
    return ErrorCode.NONE;
  }

  /** Start offset, end offset and records locked, per share-partition (docs, tests, DescribeShareGroupOffsets). */
  partitionState(groupId: string, topicId: string, partition: number): { spso: number; speo: number; acquired: number; partition: SharePartition } | null {
    const sp = this.groups.get(groupId)?.partitions.get(pkey(topicId, partition));
    return sp ? { spso: sp.spso, speo: sp.speo, acquired: sp.acquiredCount(), partition: sp } : null;
  }

  // Admin: DescribeShareGroupOffsets, AlterShareGroupOffsets, DeleteShareGroupOffsets (90–92)

  /**
   * The share-partition start offsets of a group. `topics` null: every share-partition the group
   * has state for (none for an unknown group, as Kafka: no error); named partitions without state,
   * of an unknown group or topic, answer -1.
   */
  describeOffsets(groupId: string, topics: { topicName: string; partitions: number[] }[] | null): DescribedShareOffsets {
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'The share-group coordinator is not available', topics: [] };
    const g = this.groups.get(groupId);
    const byName = new Map(this.options.storage.topics().map((t) => [t.name, t]));
    if (topics === null) {
      const out = new Map<string, DescribedShareTopic>();
      for (const sp of g?.partitions.values() ?? []) {
        const t = this.topicById(sp.topicId);
        if (!t) continue;
        let entry = out.get(t.topicId);
        if (!entry) out.set(t.topicId, (entry = { topicName: t.name, topicId: t.topicId, partitions: [] }));
        entry.partitions.push({ partition: sp.partition, startOffset: sp.spso });
      }
      for (const entry of out.values()) entry.partitions.sort((a, b) => a.partition - b.partition);
      return { errorCode: ErrorCode.NONE, errorMessage: null, topics: [...out.values()] };
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: topics.map((t) => {
        const meta = byName.get(t.topicName);
        return {
          topicName: t.topicName,
          topicId: meta?.topicId ?? ZERO_UUID,
          partitions: t.partitions.map((partition) => ({
            partition,
            startOffset: meta ? (g?.partitions.get(pkey(meta.topicId, partition))?.spso ?? -1) : -1,
          })),
        };
      }),
    };
  }

  /**
   * Sets share-partition start offsets (only while the group has no members: NON_EMPTY_GROUP). A
   * group id that is not a share group yet becomes one (Empty); another kind of group's id answers
   * GROUP_ID_NOT_FOUND. Each partition starts afresh at its new offset: nothing in flight.
   */
  async alterOffsets(groupId: string, topics: { topicName: string; partitions: { partition: number; startOffset: number }[] }[]): Promise<AlteredShareOffsets> {
    const fail = (errorCode: number, errorMessage: string): AlteredShareOffsets => ({ errorCode, errorMessage, topics: [] });
    if (!this.active) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The share-group coordinator is not available');
    if (!groupId) return fail(ErrorCode.INVALID_GROUP_ID, 'The group id is empty.');
    const existing = this.groups.get(groupId);
    if (!existing && this.options.otherGroupExists?.(groupId)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} is not a share group.`);
    if (existing && existing.members.size > 0) return fail(ErrorCode.NON_EMPTY_GROUP, 'The group is not empty.');
    const byName = new Map(this.options.storage.topics().map((t) => [t.name, t]));
    const changes: { topicId: string; partition: number; startOffset: number }[] = [];
    const result: AlteredShareTopic[] = topics.map((t) => {
      const meta = byName.get(t.topicName);
      return {
        topicName: t.topicName,
        topicId: meta?.topicId ?? ZERO_UUID,
        partitions: t.partitions.map(({ partition, startOffset }) => {
          if (!meta || partition < 0 || partition >= meta.partitionCount) {
            return { partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' };
          }
          if (!Number.isSafeInteger(startOffset) || startOffset < 0) {
            return { partition, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Start offset ${startOffset} is not valid.` };
          }
          changes.push({ topicId: meta.topicId, partition, startOffset });
          return { partition, errorCode: ErrorCode.NONE, errorMessage: null };
        }),
      };
    });
    if (changes.length === 0) return { errorCode: ErrorCode.NONE, errorMessage: null, topics: result };
    const g = existing ?? this.groupOrNew(groupId);
    const fresh = changes.map((c) => new SharePartition(c.topicId, c.partition, c.startOffset, this.limits(groupId), (sp) => this.expired(g, sp)));
    const records = fresh.map((sp) => this.partitionRecord(groupId, sp));
    if (!existing) records.unshift(this.groupRecord(g));
    try {
      await this.log.write(records, () => {
        for (const sp of fresh) {
          const id = pkey(sp.topicId, sp.partition);
          g.partitions.get(id)?.close();
          g.partitions.set(id, sp);
        }
      });
    } catch (err) {
      if (!existing && g.partitions.size === 0) this.groups.delete(groupId);
      throw err;
    }
    for (const wake of [...this.waiters]) wake();
    return { errorCode: ErrorCode.NONE, errorMessage: null, topics: result };
  }

  /**
   * Deletes a group's share-partition state for whole topics (only while it has no members:
   * NON_EMPTY_GROUP; unknown group: GROUP_ID_NOT_FOUND). Per topic: UNKNOWN_TOPIC_OR_PARTITION for
   * an unknown topic, or one the group has no state for (as Kafka: "no offset information").
   */
  async deleteOffsets(groupId: string, topicNames: string[]): Promise<DeletedShareOffsets> {
    const fail = (errorCode: number, errorMessage: string): DeletedShareOffsets => ({ errorCode, errorMessage, topics: [] });
    if (!this.active) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The share-group coordinator is not available');
    if (!groupId) return fail(ErrorCode.INVALID_GROUP_ID, 'The group id is empty.');
    const g = this.groups.get(groupId);
    if (!g) return fail(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${groupId} not found.`);
    if (g.members.size > 0) return fail(ErrorCode.NON_EMPTY_GROUP, 'The group is not empty.');
    const byName = new Map(this.options.storage.topics().map((t) => [t.name, t]));
    const gone: SharePartition[] = [];
    const topics = [...new Set(topicNames)].map((topicName): DeletedShareTopic => {
      const meta = byName.get(topicName);
      if (!meta) return { topicName, topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' };
      const parts = [...g.partitions.values()].filter((sp) => sp.topicId === meta.topicId);
      if (parts.length === 0) return { topicName, topicId: ZERO_UUID, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'There is no offset information to delete.' };
      gone.push(...parts);
      return { topicName, topicId: meta.topicId, errorCode: ErrorCode.NONE, errorMessage: null };
    });
    if (gone.length > 0) {
      await this.log.write(gone.map((sp) => this.partitionRecord(groupId, sp, true)), () => {
        for (const sp of gone) {
          sp.close();
          g.partitions.delete(pkey(sp.topicId, sp.partition));
        }
      });
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, topics };
  }

  // Share sessions, fetch and acknowledge

  private topicById(topicId: string): TopicMeta | undefined {
    return this.options.storage.topics().find((t) => t.topicId === topicId);
  }

  /** The share-partition, made on first use with its SPSO at the log end, or start (share.auto.offset.reset). */
  private sharePartition(g: ShareGroup, topicId: string, partition: number, log: PartitionLog): { sp: SharePartition; created: boolean } {
    const id = pkey(topicId, partition);
    let sp = g.partitions.get(id);
    if (sp) return { sp, created: false };
    const earliest = this.configs.get(g.groupId)?.['share.auto.offset.reset'] === 'earliest';
    sp = new SharePartition(topicId, partition, earliest ? log.logStartOffset() : log.logEndOffset(), this.limits(g.groupId), (s) => this.expired(g, s));
    g.partitions.set(id, sp);
    return { sp, created: true };
  }

  async shareRequest(p: ShareRequestParams): Promise<ShareRequestResult> {
    const fail = (errorCode: number, errorMessage: string): ShareRequestResult => ({ errorCode, errorMessage, partitions: [] });
    if (!this.active) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'The share-group coordinator is not available');
    if (!p.groupId || !p.memberId) return fail(ErrorCode.INVALID_REQUEST, 'GroupId and MemberId must be set.');
    const g = this.groups.get(p.groupId);
    const member = g?.members.get(p.memberId);
    if (!g || !member) return fail(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of share group ${p.groupId}.`);
    const sessionKey = `${p.groupId}\0${p.memberId}`;
    let session = this.sessions.get(sessionKey);
    const epoch = p.shareSessionEpoch;
    const hasAcks = p.partitions.some((x) => x.acknowledgements.length > 0);
    const closing = epoch === -1;
    if (epoch === 0) {
      if (p.acknowledgeOnly) return fail(ErrorCode.INVALID_SHARE_SESSION_EPOCH, 'ShareAcknowledge cannot open a share session (epoch 0).');
      if (hasAcks) return fail(ErrorCode.INVALID_REQUEST, 'Acknowledgements cannot be sent when opening a share session (epoch 0).');
      // A new session replaces the member's previous one: what it held is released.
      if (session) await this.releaseHeld(g, p.memberId);
      session = { epoch: 1, partitions: new Map() };
      this.sessions.set(sessionKey, session);
    } else if (epoch < -1) {
      return fail(ErrorCode.INVALID_SHARE_SESSION_EPOCH, `Share session epoch ${epoch} is not valid.`);
    } else {
      if (!session) return fail(ErrorCode.SHARE_SESSION_NOT_FOUND, `No share session for member ${p.memberId}.`);
      if (!closing && epoch !== session.epoch) return fail(ErrorCode.INVALID_SHARE_SESSION_EPOCH, `Share session epoch ${epoch} is not the expected ${session.epoch}.`);
      if (closing && p.partitions.some((x) => x.fetch)) return fail(ErrorCode.INVALID_REQUEST, 'A request closing the share session (epoch -1) cannot fetch.');
      session.epoch = session.epoch >= 2147483647 ? 1 : session.epoch + 1;
    }

    // Session partitions: those asked for join, forgotten ones leave.
    for (const f of p.forgotten) for (const part of f.partitions) session.partitions.delete(pkey(f.topicId, part));
    for (const x of p.partitions) if (x.fetch && !p.acknowledgeOnly) session.partitions.set(pkey(x.topicId, x.partition), { topicId: x.topicId, partition: x.partition });

    const results = new Map<string, SharePartitionResult>();
    const resultFor = (topicId: string, partition: number): SharePartitionResult => {
      const id = pkey(topicId, partition);
      let r = results.get(id);
      if (!r) {
        r = { topicId, partition, errorCode: ErrorCode.NONE, errorMessage: null, acknowledgeErrorCode: ErrorCode.NONE, acknowledgeErrorMessage: null, records: [], acquired: [] };
        results.set(id, r);
      }
      return r;
    };
    const locate = (topicId: string, partition: number): { log: PartitionLog } | { errorCode: number; message: string } => {
      const t = this.topicById(topicId);
      if (!t) return { errorCode: ErrorCode.UNKNOWN_TOPIC_ID, message: 'This server does not host this topic ID.' };
      const log = partition >= 0 && partition < t.partitionCount ? this.options.storage.partition(t.name, partition) : undefined;
      if (!log) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: 'This server does not host this topic-partition.' };
      return { log };
    };

    // Acknowledgements first (piggy-backed on ShareFetch, or ShareAcknowledge).
    const toWrite = new Set<SharePartition>();
    for (const x of p.partitions) {
      const r = resultFor(x.topicId, x.partition);
      const where = locate(x.topicId, x.partition);
      if ('errorCode' in where) {
        r.errorCode = where.errorCode;
        r.errorMessage = where.message;
        if (x.acknowledgements.length > 0) {
          r.acknowledgeErrorCode = where.errorCode;
          r.acknowledgeErrorMessage = where.message;
        }
        session.partitions.delete(pkey(x.topicId, x.partition));
        continue;
      }
      if (x.acknowledgements.length === 0) continue;
      const sp = g.partitions.get(pkey(x.topicId, x.partition));
      try {
        if (!sp) throw new AckError('state', 'no records of this partition were acquired');
        sp.acknowledge(p.memberId, x.acknowledgements, p.allowRenew ?? false);
        toWrite.add(sp);
      } catch (err) {
        if (!(err instanceof AckError)) throw err;
        r.acknowledgeErrorCode = err.kind === 'request' ? ErrorCode.INVALID_REQUEST : ErrorCode.INVALID_RECORD_STATE;
        r.acknowledgeErrorMessage = err.message;
      }
    }
    if (closing) {
      this.sessions.delete(sessionKey);
      for (const sp of g.partitions.values()) if (sp.releaseMember(p.memberId)) toWrite.add(sp);
    }
    const written = this.persist(p.groupId, toWrite);

    if (!closing && !p.acknowledgeOnly && !p.renewOnly && session.partitions.size > 0 && p.maxRecords > 0) {
      await this.fetchInto(g, p, [...session.partitions.values()], resultFor, locate);
    }
    await written;
    return { errorCode: ErrorCode.NONE, errorMessage: null, partitions: [...results.values()] };
  }

  private async releaseHeld(g: ShareGroup, memberId: string): Promise<void> {
    const changed = [...g.partitions.values()].filter((sp) => sp.releaseMember(memberId));
    await this.persist(g.groupId, changed);
  }

  /** Acquires records from the session's partitions; waits up to maxWaitMs for some when none are there. */
  private async fetchInto(
    g: ShareGroup,
    p: ShareRequestParams,
    parts: { topicId: string; partition: number }[],
    resultFor: (topicId: string, partition: number) => SharePartitionResult,
    locate: (topicId: string, partition: number) => { log: PartitionLog } | { errorCode: number; message: string },
  ): Promise<void> {
    const deadline = Date.now() + Math.max(0, p.maxWaitMs);
    let retried = false;
    for (;;) {
      let budget = Math.max(1, p.maxBytes);
      let recordsLeft = p.maxRecords;
      let got = false;
      const created: SharePartition[] = [];
      const waitOn: { log: PartitionLog; sp: SharePartition }[] = [];
      for (const { topicId, partition } of parts) {
        const where = locate(topicId, partition);
        if ('errorCode' in where) {
          const r = resultFor(topicId, partition);
          r.errorCode = where.errorCode;
          r.errorMessage = where.message;
          continue;
        }
        if (!this.active || this.groups.get(g.groupId) !== g || !g.members.has(p.memberId!)) return;
        const { sp, created: isNew } = this.sharePartition(g, topicId, partition, where.log);
        if (isNew) created.push(sp);
        waitOn.push({ log: where.log, sp });
        if (budget <= 0 || recordsLeft <= 0) continue;
        const committed = this.configs.get(g.groupId)?.['share.isolation.level'] === 'read_committed';
        const { records, acquired } = await sp.acquire(p.memberId!, where.log, budget, committed, recordsLeft);
        if (acquired.length === 0) continue;
        const r = resultFor(topicId, partition);
        r.records.push(...records);
        r.acquired.push(...splitRanges(acquired, p.batchSize));
        budget -= records.reduce((n, b) => n + b.length, 0);
        recordsLeft -= acquired.reduce((n, a) => n + a.lastOffset - a.firstOffset + 1, 0);
        got = true;
      }
      // A share-partition's first SPSO (the log end when it was made) is written before records
      // past it are acknowledged, so a restart does not move it.
      if (created.length > 0) await this.persist(g.groupId, created);
      const left = deadline - Date.now();
      if (got || left <= 0 || waitOn.length === 0) return;
      // Records became available while this pass ran: one more pass before waiting.
      if (!retried && waitOn.some(({ log, sp }) => sp.hasAvailable(log.logEndOffset()))) {
        retried = true;
        continue;
      }
      retried = false;
      if (!this.active) return;
      await new Promise<void>((done) => {
        const offs: (() => void)[] = [];
        const finish = () => {
          clearTimeout(timer);
          for (const off of offs) off();
          this.waiters.delete(finish);
          done();
        };
        const timer = setTimeout(finish, left);
        timer.unref();
        this.waiters.add(finish);
        for (const { log, sp } of waitOn) {
          offs.push(log.onAppend(finish));
          offs.push(sp.onChange(finish));
        }
      });
    }
  }
}
