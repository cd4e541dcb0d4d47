// The classic group coordinator (JoinGroup/SyncGroup/Heartbeat/LeaveGroup membership, committed
// offsets, group administration), modelled on Apache Kafka's GroupCoordinator.
//
// Everything runs on the one event loop, so each method's synchronous part is atomic. A request
// that has to wait (JoinGroup until the join phase ends, a follower's SyncGroup until the leader's
// assignment is stored) parks a resolver on its Member and gets its answer when the state moves.
// Timers (join phase, pending SyncGroups, sessions, pending member ids, retention) are unref'd, live
// in one set, and are all cleared by stop().
//
// State machine: Empty → PreparingRebalance (join phase; from Empty it first waits
// initialRebalanceDelayMs, extended while new members keep coming, up to the rebalance timeout) →
// CompletingRebalance (generation bumped, protocol chosen, JoinGroup answered; the leader's
// SyncGroup brings the assignment) → Stable. A membership change sends a Stable or
// CompletingRebalance group back to PreparingRebalance; a join phase that ends with no members
// leaves the group Empty. Deleted groups are Dead (and gone from the map).
//
// Durability: offsets and group metadata are records in the internal log (format in
// offsets-store.ts). A write answers only after the append resolved, and memory is updated from the
// append's log offsets so that memory always equals what a replay would build.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { StorageError, type Storage } from '../../storage/types.js';
import type { Logger } from '../logger.js';
import {
  EMPTY_BYTES,
  Group,
  joinError,
  Member,
  syncError,
  type CommittedOffset,
  type GroupState,
  type JoinGroupResult,
  type ProtocolEntry,
  type SyncGroupResult,
} from './group.js';
import {
  assign,
  compileRegex,
  CONSUMER_ASSIGNORS,
  ConsumerGroupState,
  ConsumerMember,
  copyPartitions,
  JOIN_EPOCH,
  LEAVE_EPOCH,
  LEAVE_STATIC_EPOCH,
  memberSubscribes,
  reconcile,
  samePartitions,
  type ConsumerGroupStateName,
  type TopicInfo,
  type TopicPartitions,
} from './consumer-group.js';
import { OFFSETS_LOG, OffsetsStore, type GroupValue, type LogEntry, type OffsetValue } from './offsets-store.js';

export type { GroupState, JoinGroupResult, ProtocolEntry, SyncGroupResult } from './group.js';

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

/** How long a member's first JoinGroup may wait in a join phase before it is dropped (Kafka's value). */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;
/** offset.metadata.max.bytes (Kafka compares the string's length in UTF-16 units). */
export const MAX_OFFSET_METADATA_LENGTH = 4096;
const DEFAULT_OFFSETS_RETENTION_MS = 7 * 24 * 3600 * 1000;
const DEFAULT_RETENTION_CHECK_MS = 10 * 60 * 1000;
/** Superseded records in the offsets log before it is compacted (at least as many as live ones). */
const COMPACT_MIN_GARBAGE = 10000;
/** Delay before re-checking a join phase in which no member rejoined. */
const MIN_JOIN_RECHECK_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEFAULT_CONSUMER_SESSION_TIMEOUT_MS = 45000;
const DEFAULT_CONSUMER_HEARTBEAT_INTERVAL_MS = 5000;

// ---------------------------------------------------------------------------------------------
// Request / result shapes (protocol-neutral; the handlers map them to each API version).

export interface JoinGroupParams {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: ProtocolEntry[];
  /** JoinGroup v4+: a new dynamic member first gets MEMBER_ID_REQUIRED and an id to join with. */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a rejoining static leader of a stable group is told to skip the assignment. */
  supportSkippingAssignment: boolean;
  reason?: string | null;
}

export interface SyncGroupParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** SyncGroup v5+; null = not checked. */
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface HeartbeatParams {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export interface LeavingMember {
  memberId: string;
  groupInstanceId: string | null;
  reason?: string | null;
}

export interface LeaveGroupResult {
  errorCode: number;
  members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
}

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

export interface DescribedGroup {
  errorCode: number;
  groupId: string;
  groupState: string;
  protocolType: string;
  protocolData: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    memberMetadata: Buffer;
    memberAssignment: Buffer;
  }[];
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: GroupState | ConsumerGroupStateName;
  groupType: string;
}

export interface ConsumerGroupHeartbeatParams {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  /** -1 = unchanged. */
  rebalanceTimeoutMs: number;
  /** null = unchanged. */
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  /** Partitions the member owns, by topic id; null = unchanged. */
  topicPartitions: { topicId: string; partitions: number[] }[] | null;
  clientId: string;
  clientHost: string;
}

export interface ConsumerGroupHeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** null = unchanged since the last answer. */
  assignment: { topicId: string; topicName: string; partitions: number[] }[] | null;
}

function heartbeatError(errorCode: number, errorMessage: string | null): ConsumerGroupHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
}

/** Every owned partition is in `assigned`. */
function isSubset(owned: TopicPartitions, assigned: TopicPartitions): boolean {
  for (const [topic, parts] of owned) for (const p of parts) if (!assigned.get(topic)?.has(p)) return false;
  return true;
}

type DescribedTopicPartitions = { topicId: string; topicName: string; partitions: number[] }[];

export interface ConsumerGroupDescribed {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: {
    memberId: string;
    instanceId: string | null;
    rackId: string | null;
    memberEpoch: number;
    clientId: string;
    clientHost: string;
    subscribedTopicNames: string[];
    subscribedTopicRegex: string | null;
    assignment: { topicPartitions: DescribedTopicPartitions };
    targetAssignment: { topicPartitions: DescribedTopicPartitions };
  }[];
}

export interface OffsetDeleteResult {
  errorCode: number;
  topics: PartitionErrors;
}

/** Kafka's mapping of a failed coordinator append (KAFKA_STORAGE_ERROR → NOT_COORDINATOR). */
function writeErrorCode(err: unknown): number {
  return err instanceof StorageError ? ErrorCode.NOT_COORDINATOR : ErrorCode.UNKNOWN_SERVER_ERROR;
}

const partitionKey = (topic: string, partition: number) => `${topic}\0${partition}`;

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<Promise<unknown>>();
  private store: OffsetsStore | null = null;
  private active = false;
  private compacting = false;
  /** Log size at which the next compaction check happens. */
  private compactCheckAt = COMPACT_MIN_GARBAGE;
  private readonly logger: Logger;

  constructor(readonly options: GroupCoordinatorOptions) {
    this.logger = options.logger;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  /** Replays the offsets log into memory; call after storage.open(). */
  async start(): Promise<void> {
    if (this.active) return;
    this.store = new OffsetsStore(await this.options.storage.internalLog(OFFSETS_LOG));
    await this.load(this.store);
    this.active = true;
    for (const g of this.groups.values()) for (const m of g.members.values()) this.scheduleHeartbeat(g, m);
    this.scheduleRetentionCheck();
    this.compactCheckAt = this.nextCompactCheck(this.liveRecordCount());
    this.maybeCompact();
  }

  /** Clears every timer, answers parked requests with NOT_COORDINATOR and waits for pending writes. */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const g of this.groups.values()) {
      g.joinTimer = g.syncTimer = null;
      for (const m of g.members.values()) {
        m.heartbeatTimer = null;
        this.resolveJoin(m, joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        this.resolveSync(m, syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
    this.groups.clear();
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
    for (const [groupId, { value, offset }] of metas) {
      const g = new Group(groupId);
      g.protocolType = value.protocolType;
      g.generationId = value.generation;
      g.persisted = value;
      g.persistedAt = offset;
      if (value.members.length > 0 && value.protocol !== null) {
        g.protocolName = value.protocol;
        for (const mv of value.members) {
          const m = new Member(mv.memberId, mv.groupInstanceId, mv.clientId, mv.clientHost, mv.rebalanceTimeoutMs,
            mv.sessionTimeoutMs, value.protocolType ?? '', [{ name: value.protocol, metadata: mv.subscription }]);
          m.assignment = mv.assignment;
          g.add(m);
        }
        if (value.leader !== null && g.members.has(value.leader)) g.leaderId = value.leader;
        g.subscribedTopics = g.computeSubscribedTopics();
        g.state = 'Stable';
      }
      g.stateTimestamp = value.stateTimestamp;
      this.groups.set(groupId, g);
    }
    for (const [groupId, byTopic] of offsets) {
      let g = this.groups.get(groupId);
      if (!g) this.groups.set(groupId, (g = new Group(groupId)));
      for (const [topic, parts] of byTopic) g.offsets.set(topic, parts);
    }
    if (records > 0) this.logger.info(`group coordinator loaded ${this.groups.size} group(s) from ${records} record(s) of ${OFFSETS_LOG}`);
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  private schedule(ms: number, fn: () => void): NodeJS.Timeout | null {
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

  private cancel(t: NodeJS.Timeout | null | undefined): null {
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
    }
    return null;
  }

  private scheduleHeartbeat(g: Group, m: Member, timeoutMs = m.sessionTimeoutMs): void {
    this.cancel(m.heartbeatTimer);
    m.heartbeatTimer = this.schedule(timeoutMs, () => {
      m.heartbeatTimer = null;
      this.onHeartbeatExpired(g, m);
    });
  }

  private onHeartbeatExpired(g: Group, m: Member): void {
    if (this.groups.get(g.groupId) !== g || g.members.get(m.memberId) !== m) return;
    // Members waiting in a join or sync phase are alive by definition (Kafka's hasSatisfiedHeartbeat);
    // their session restarts when that phase answers them.
    if (!m.isNew && (m.awaitingJoin || m.awaitingSync)) return;
    this.logger.info(`group ${g.groupId}: member ${m.memberId} ${m.isNew ? 'did not complete its first join' : 'session expired'}, removing it`);
    this.removeMemberAndUpdateGroup(g, m);
  }

  private scheduleRetentionCheck(): void {
    const every = this.options.offsetsRetentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_MS;
    this.schedule(every, () => {
      this.expireOffsetsAndGroups();
      this.scheduleRetentionCheck();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Member bookkeeping

  private resolveJoin(m: Member, r: JoinGroupResult): void {
    const w = m.joinWaiter;
    if (w) {
      m.joinWaiter = null;
      w(r);
    }
  }

  private resolveSync(m: Member, r: SyncGroupResult): void {
    const w = m.syncWaiter;
    if (w) {
      m.syncWaiter = null;
      w(r);
    }
  }

  private awaitJoin(m: Member): Promise<JoinGroupResult> {
    // A member that sends JoinGroup again while one is parked: the older request is answered now.
    this.resolveJoin(m, joinError(m.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
    return new Promise((resolve) => {
      m.joinWaiter = resolve;
    });
  }

  private awaitSync(m: Member): Promise<SyncGroupResult> {
    this.resolveSync(m, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    return new Promise((resolve) => {
      m.syncWaiter = resolve;
    });
  }

  /** Takes a member out of the group, answering whatever it has parked with UNKNOWN_MEMBER_ID. */
  private removeMember(g: Group, m: Member): void {
    this.resolveJoin(m, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    this.resolveSync(m, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    m.heartbeatTimer = this.cancel(m.heartbeatTimer);
    g.remove(m.memberId);
  }

  private removeMemberAndUpdateGroup(g: Group, m: Member): void {
    this.removeMember(g, m);
    switch (g.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(g, `member ${m.memberId} left`);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin(g);
        break;
      default:
        break;
    }
  }

  private addPendingMember(g: Group, memberId: string, sessionTimeoutMs: number): void {
    g.pendingMembers.set(memberId, this.schedule(sessionTimeoutMs, () => {
      if (this.groups.get(g.groupId) !== g || !g.pendingMembers.has(memberId)) return;
      this.logger.info(`group ${g.groupId}: pending member ${memberId} never joined, dropping it`);
      this.removePendingMember(g, memberId);
    }));
  }

  private removePendingMember(g: Group, memberId: string): void {
    this.cancel(g.pendingMembers.get(memberId));
    g.pendingMembers.delete(memberId);
    if (g.state === 'PreparingRebalance') this.tryCompleteJoin(g);
    this.maybeDropTransientGroup(g);
  }

  /** A group that only ever held a pending member id or a refused join leaves no trace. */
  private maybeDropTransientGroup(g: Group): void {
    if (g.consumer === null && g.state === 'Empty' && g.generationId === 0 && g.members.size === 0 && g.pendingMembers.size === 0 &&
        g.offsets.size === 0 && g.pendingCommits.size === 0 && g.persistedAt < 0 && this.groups.get(g.groupId) === g) {
      this.groups.delete(g.groupId);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Rebalance machinery

  private maybePrepareRebalance(g: Group, reason: string): void {
    if (g.state === 'Stable' || g.state === 'CompletingRebalance' || g.state === 'Empty') this.prepareRebalance(g, reason);
  }

  private prepareRebalance(g: Group, reason: string): void {
    // Members waiting for an assignment that will never come are told to rejoin.
    if (g.state === 'CompletingRebalance') this.resetAndPropagateAssignmentError(g, ErrorCode.REBALANCE_IN_PROGRESS);
    g.syncTimer = this.cancel(g.syncTimer);
    g.pendingSync.clear();
    g.joinTimer = this.cancel(g.joinTimer);
    const fromEmpty = g.state === 'Empty';
    g.transitionTo('PreparingRebalance');
    this.logger.info(`group ${g.groupId}: preparing to rebalance (generation ${g.generationId}): ${reason}`);
    if (fromEmpty) {
      const delay = Math.max(0, this.options.initialRebalanceDelayMs);
      g.newMemberAdded = false;
      g.initialDelay = { remainingMs: Math.max(g.rebalanceTimeoutMs() - delay, 0) };
      g.joinTimer = this.schedule(delay, () => this.onInitialDelayExpired(g, delay));
    } else {
      g.initialDelay = null;
      g.joinTimer = this.schedule(g.rebalanceTimeoutMs(), () => this.completeJoin(g));
      this.tryCompleteJoin(g);
    }
  }

  /** Kafka's InitialDelayedJoin: while new members keep arriving, wait again (bounded by the rebalance timeout). */
  private onInitialDelayExpired(g: Group, elapsedDelay: number): void {
    g.joinTimer = null;
    const st = g.initialDelay;
    if (!st || g.state !== 'PreparingRebalance') return;
    if (g.newMemberAdded && st.remainingMs !== 0) {
      g.newMemberAdded = false;
      const delay = Math.min(Math.max(0, this.options.initialRebalanceDelayMs), st.remainingMs);
      st.remainingMs = Math.max(st.remainingMs - elapsedDelay, 0);
      g.joinTimer = this.schedule(delay, () => this.onInitialDelayExpired(g, delay));
      return;
    }
    g.initialDelay = null;
    this.completeJoin(g);
  }

  private tryCompleteJoin(g: Group): void {
    if (g.state === 'PreparingRebalance' && g.initialDelay === null && g.allMembersJoined()) this.completeJoin(g);
  }

  /** Ends the join phase: drops dynamic members that did not rejoin and starts the next generation. */
  private completeJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance' || this.groups.get(g.groupId) !== g) return;
    g.joinTimer = this.cancel(g.joinTimer);
    g.initialDelay = null;
    for (const m of [...g.members.values()]) {
      if (!m.awaitingJoin && m.groupInstanceId === null) {
        this.logger.info(`group ${g.groupId}: member ${m.memberId} did not rejoin in time, removing it`);
        this.removeMember(g, m);
      }
    }
    if (!this.electJoinedLeader(g) && g.members.size > 0) {
      // Only static members that have not rejoined are left: wait for them (or their session expiry).
      g.joinTimer = this.schedule(Math.max(g.rebalanceTimeoutMs(), MIN_JOIN_RECHECK_MS), () => this.completeJoin(g));
      return;
    }
    g.initNextGeneration();
    if ((g.state as GroupState) === 'Empty') {
      this.logger.info(`group ${g.groupId}: generation ${g.generationId} is empty`);
      void this.persistGroup(g, new Map());
      return;
    }
    this.logger.info(`group ${g.groupId}: generation ${g.generationId} with ${g.members.size} member(s), protocol ${g.protocolName}, leader ${g.leaderId}`);
    const members = g.currentMemberMetadata();
    for (const m of g.members.values()) {
      this.resolveJoin(m, this.joinResult(g, m, g.isLeader(m.memberId) ? members : []));
      this.scheduleHeartbeat(g, m);
      m.isNew = false;
      g.pendingSync.add(m.memberId);
    }
    // Members that never send SyncGroup (the leader above all) are removed after the rebalance timeout.
    const generation = g.generationId;
    g.syncTimer = this.schedule(g.rebalanceTimeoutMs(), () => this.onPendingSyncExpired(g, generation));
  }

  /** Keeps the leader if it rejoined, else hands leadership to any member that did. */
  private electJoinedLeader(g: Group): boolean {
    if (g.leaderId === null) return false;
    if (g.members.get(g.leaderId)?.awaitingJoin) return true;
    for (const m of g.members.values()) {
      if (m.awaitingJoin) {
        g.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  private onPendingSyncExpired(g: Group, generation: number): void {
    g.syncTimer = null;
    if (this.groups.get(g.groupId) !== g || g.generationId !== generation) return;
    if (g.state !== 'CompletingRebalance' && g.state !== 'Stable') return;
    if (g.pendingSync.size === 0) return;
    const missing = [...g.pendingSync];
    this.logger.info(`group ${g.groupId}: removing member(s) that sent no SyncGroup: ${missing.join(', ')}`);
    for (const id of missing) {
      const m = g.members.get(id);
      if (m) this.removeMember(g, m);
    }
    g.pendingSync.clear();
    this.maybePrepareRebalance(g, 'members did not send SyncGroup in time');
  }

  private joinResult(g: Group, m: Member, members: JoinGroupResult['members'], leader = g.leaderId, skipAssignment = false): JoinGroupResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: g.generationId,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: leader ?? '',
      skipAssignment,
      memberId: m.memberId,
      members,
    };
  }

  private resetAndPropagateAssignmentError(g: Group, errorCode: number): void {
    for (const m of g.members.values()) m.assignment = EMPTY_BYTES;
    for (const m of g.members.values()) {
      if (m.awaitingSync) {
        this.resolveSync(m, syncError(errorCode));
        this.scheduleHeartbeat(g, m);
      }
    }
  }

  private setAndPropagateAssignment(g: Group, assignment: Map<string, Buffer>): void {
    for (const m of g.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
    for (const m of g.members.values()) {
      if (m.awaitingSync) {
        this.resolveSync(m, { errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: m.assignment });
        this.scheduleHeartbeat(g, m);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // JoinGroup

  async joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    if (!this.active) return joinError(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (p.groupId === '') return joinError(p.memberId, ErrorCode.INVALID_GROUP_ID);
    if (p.sessionTimeoutMs < this.options.minSessionTimeoutMs || p.sessionTimeoutMs > this.options.maxSessionTimeoutMs) {
      return joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const isNewMember = p.memberId === '';
    let g = this.groups.get(p.groupId);
    if (g?.consumer) {
      // A KIP-848 group: classic members may not join it while it has members (online migration is
      // not supported); an Empty one becomes a classic group again, keeping its offsets.
      if (g.consumer.members.size > 0) return joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      g.consumer = null;
      g.protocolType = null;
      g.transitionTo('Empty');
    }
    if (!g) {
      if (!isNewMember) return joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      this.groups.set(p.groupId, (g = new Group(p.groupId)));
    }
    const result = isNewMember ? this.newMemberJoin(g, p) : this.currentMemberJoin(g, p);
    if (g.state === 'PreparingRebalance') this.tryCompleteJoin(g);
    this.maybeDropTransientGroup(g);
    return result;
  }

  private newMemberJoin(g: Group, p: JoinGroupParams): JoinGroupResult | Promise<JoinGroupResult> {
    if (!g.supportsProtocols(p.protocolType, p.protocols)) return joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`;
    if (p.groupInstanceId !== null) {
      const oldMemberId = g.staticMembers.get(p.groupInstanceId);
      if (oldMemberId !== undefined) return this.updateStaticMemberAndRebalance(g, oldMemberId, newMemberId, p);
      return this.addMemberAndRebalance(g, newMemberId, p);
    }
    if (p.requireKnownMemberId) {
      this.addPendingMember(g, newMemberId, p.sessionTimeoutMs);
      return joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED);
    }
    return this.addMemberAndRebalance(g, newMemberId, p);
  }

  private currentMemberJoin(g: Group, p: JoinGroupParams): JoinGroupResult | Promise<JoinGroupResult> {
    if (!g.supportsProtocols(p.protocolType, p.protocols)) return joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (g.pendingMembers.has(p.memberId)) {
      // Pending ids are only handed to dynamic members.
      if (p.groupInstanceId !== null) return joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      return this.addMemberAndRebalance(g, p.memberId, p);
    }
    if (g.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return joinError(p.memberId, ErrorCode.FENCED_INSTANCE_ID);
    const m = g.members.get(p.memberId);
    if (!m || (p.groupInstanceId !== null && !g.staticMembers.has(p.groupInstanceId))) {
      return joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
    switch (g.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(g, m, p, 'member rejoined');
      case 'CompletingRebalance':
        // Same metadata: it probably missed the JoinGroup answer, so give it again.
        if (m.matches(p.protocols)) return this.joinResult(g, m, g.isLeader(m.memberId) ? g.currentMemberMetadata() : []);
        return this.updateMemberAndRebalance(g, m, p, `member ${m.memberId} changed its metadata`);
      case 'Stable':
        // The leader may rejoin to force a rebalance (e.g. topic metadata changed); so may a member with new metadata.
        if (g.isLeader(m.memberId)) return this.updateMemberAndRebalance(g, m, p, `leader ${m.memberId} rejoined`);
        if (!m.matches(p.protocols)) return this.updateMemberAndRebalance(g, m, p, `member ${m.memberId} changed its metadata`);
        return this.joinResult(g, m, []);
      default:
        return joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  }

  private addMemberAndRebalance(g: Group, memberId: string, p: JoinGroupParams): Promise<JoinGroupResult> {
    const m = new Member(memberId, p.groupInstanceId, p.clientId, p.clientHost, Math.max(0, p.rebalanceTimeoutMs),
      p.sessionTimeoutMs, p.protocolType, p.protocols);
    m.isNew = true;
    if (g.state === 'PreparingRebalance' && g.generationId === 0) g.newMemberAdded = true;
    this.cancel(g.pendingMembers.get(memberId));
    g.pendingMembers.delete(memberId);
    g.add(m);
    const result = this.awaitJoin(m);
    // A new member cannot heartbeat before its first JoinGroup answer; drop it if that never happens.
    this.scheduleHeartbeat(g, m, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(g, `new member ${memberId} joined`);
    return result;
  }

  private updateMemberAndRebalance(g: Group, m: Member, p: JoinGroupParams, reason: string): Promise<JoinGroupResult> {
    m.protocols = p.protocols;
    m.rebalanceTimeoutMs = Math.max(0, p.rebalanceTimeoutMs);
    m.sessionTimeoutMs = p.sessionTimeoutMs;
    const result = this.awaitJoin(m);
    this.maybePrepareRebalance(g, reason);
    return result;
  }

  /**
   * A static member rejoined with an empty member id (e.g. after a restart): it takes over the old
   * member's place under a new id, the old id is fenced. A stable group whose protocol choice does
   * not change keeps its generation and assignment (no rebalance).
   */
  private updateStaticMemberAndRebalance(g: Group, oldMemberId: string, newMemberId: string, p: JoinGroupParams): Promise<JoinGroupResult> {
    const m = g.members.get(oldMemberId)!;
    const currentLeader = g.leaderId;
    this.resolveJoin(m, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.resolveSync(m, syncError(ErrorCode.FENCED_INSTANCE_ID));
    const old = { protocols: m.protocols, rebalanceTimeoutMs: m.rebalanceTimeoutMs, sessionTimeoutMs: m.sessionTimeoutMs };
    g.replaceStaticMember(m, newMemberId);
    this.scheduleHeartbeat(g, m);
    m.protocols = p.protocols;
    m.rebalanceTimeoutMs = Math.max(0, p.rebalanceTimeoutMs);
    m.sessionTimeoutMs = p.sessionTimeoutMs;
    const result = this.awaitJoin(m);
    this.logger.info(`group ${g.groupId}: static member ${p.groupInstanceId} rejoined as ${newMemberId} (was ${oldMemberId})`);
    switch (g.state) {
      case 'Stable': {
        if (g.selectProtocol() !== g.protocolName) {
          this.maybePrepareRebalance(g, `static member ${p.groupInstanceId} rejoined with other protocols`);
          break;
        }
        const assignment = new Map([...g.members.values()].map((x) => [x.memberId, x.assignment]));
        void this.persistGroup(g, assignment).then((errorCode) => {
          if (errorCode !== ErrorCode.NONE) {
            if (g.members.get(newMemberId) === m) {
              Object.assign(m, old);
              g.replaceStaticMember(m, oldMemberId);
              this.scheduleHeartbeat(g, m);
            }
            this.resolveJoin(m, { ...joinError('', errorCode), generationId: g.generationId, protocolType: g.protocolType, protocolName: g.protocolName, leader: currentLeader ?? '' });
          } else if (p.supportSkippingAssignment) {
            // v9+: the leader learns it leads but must not run the assignor again.
            const isLeader = g.isLeader(m.memberId);
            this.resolveJoin(m, this.joinResult(g, m, isLeader ? g.currentMemberMetadata() : [], g.leaderId, isLeader));
          } else {
            // Older versions: report the previous leader id so a rejoining leader does not reassign.
            this.resolveJoin(m, this.joinResult(g, m, [], currentLeader));
          }
        });
        break;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning to the old member id: start over.
        this.prepareRebalance(g, `static member ${p.groupInstanceId} rejoined during CompletingRebalance`);
        break;
      default:
        break; // PreparingRebalance: it simply takes part in the join phase
    }
    return result;
  }

  // -------------------------------------------------------------------------------------------
  // SyncGroup, Heartbeat, LeaveGroup

  async syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    if (!this.active) return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (p.groupId === '') return syncError(ErrorCode.INVALID_GROUP_ID);
    const g = this.groups.get(p.groupId);
    if (!g) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (g.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return syncError(ErrorCode.FENCED_INSTANCE_ID);
    const m = g.members.get(p.memberId);
    if (!m) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    if (p.generationId !== g.generationId) return syncError(ErrorCode.ILLEGAL_GENERATION);
    if ((p.protocolType !== null && p.protocolType !== g.protocolType) || (p.protocolName !== null && p.protocolName !== g.protocolName)) {
      return syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    switch (g.state) {
      case 'Empty':
        return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
      case 'PreparingRebalance':
        return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
      case 'CompletingRebalance': {
        const result = this.awaitSync(m);
        g.pendingSync.delete(m.memberId);
        if (g.isLeader(m.memberId) && g.storingGeneration !== g.generationId) {
          const assignment = new Map<string, Buffer>();
          for (const a of p.assignments) if (g.members.has(a.memberId)) assignment.set(a.memberId, a.assignment ?? EMPTY_BYTES);
          for (const id of g.members.keys()) if (!assignment.has(id)) assignment.set(id, EMPTY_BYTES);
          const generation = g.generationId;
          g.storingGeneration = generation;
          void this.persistGroup(g, assignment).then((errorCode) => {
            if (g.state !== 'CompletingRebalance' || g.generationId !== generation || this.groups.get(g.groupId) !== g) return;
            g.storingGeneration = -1;
            if (errorCode !== ErrorCode.NONE) {
              this.resetAndPropagateAssignmentError(g, errorCode);
              this.maybePrepareRebalance(g, 'storing the assignment failed');
            } else {
              this.setAndPropagateAssignment(g, assignment);
              g.transitionTo('Stable');
              this.logger.info(`group ${g.groupId}: stable at generation ${generation}`);
            }
          });
        }
        return result;
      }
      case 'Stable':
        g.pendingSync.delete(m.memberId);
        this.scheduleHeartbeat(g, m);
        return { errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: m.assignment };
      default:
        return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }

  heartbeat(p: HeartbeatParams): number {
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (p.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const g = this.groups.get(p.groupId);
    if (!g) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (g.isStaticMemberFenced(p.groupInstanceId, p.memberId)) return ErrorCode.FENCED_INSTANCE_ID;
    const m = g.members.get(p.memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (p.generationId !== g.generationId) return ErrorCode.ILLEGAL_GENERATION;
    switch (g.state) {
      case 'CompletingRebalance': // members heartbeat between their JoinGroup and SyncGroup answers
      case 'Stable':
        this.scheduleHeartbeat(g, m);
        return ErrorCode.NONE;
      case 'PreparingRebalance':
        this.scheduleHeartbeat(g, m);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.UNKNOWN_MEMBER_ID;
    }
  }

  /** LeaveGroup; a member with an empty member id is looked up by its group instance id (admin removal). */
  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const g = this.groups.get(groupId);
    const out = (l: LeavingMember, errorCode: number) => ({ memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode });
    if (!g) return { errorCode: ErrorCode.NONE, members: leaving.map((l) => out(l, ErrorCode.UNKNOWN_MEMBER_ID)) };
    const members = leaving.map((l) => {
      const why = l.reason ? ` (${l.reason})` : '';
      if (l.memberId === '') {
        const current = l.groupInstanceId === null ? undefined : g.staticMembers.get(l.groupInstanceId);
        const m = current === undefined ? undefined : g.members.get(current);
        if (!m) return out(l, ErrorCode.UNKNOWN_MEMBER_ID);
        this.logger.info(`group ${groupId}: static member ${l.groupInstanceId} removed${why}`);
        this.removeMemberAndUpdateGroup(g, m);
        return out(l, ErrorCode.NONE);
      }
      if (g.pendingMembers.has(l.memberId)) {
        this.removePendingMember(g, l.memberId);
        return out(l, ErrorCode.NONE);
      }
      if (g.isStaticMemberFenced(l.groupInstanceId, l.memberId)) return out(l, ErrorCode.FENCED_INSTANCE_ID);
      const m = g.members.get(l.memberId);
      if (!m) return out(l, ErrorCode.UNKNOWN_MEMBER_ID);
      this.logger.info(`group ${groupId}: member ${l.memberId} left${why}`);
      this.removeMemberAndUpdateGroup(g, m);
      return out(l, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members };
  }

  // -------------------------------------------------------------------------------------------
  // Offsets

  async commitOffsets(p: OffsetCommitParams): Promise<PartitionErrors> {
    const results: PartitionErrors = p.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((x) => ({ partitionIndex: x.partitionIndex, errorCode: ErrorCode.NONE })),
    }));
    const known: { topic: string; part: OffsetCommitParams['topics'][number]['partitions'][number]; res: { errorCode: number } }[] = [];
    p.topics.forEach((t, i) => {
      const meta = this.options.storage.topic(t.name);
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
    let g = checked;
    if (!g) this.groups.set(p.groupId, (g = new Group(p.groupId))); // a simple (non-member) commit creates the group

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
    const group = g;
    const keys = entries.map((e) => (e.type === 'offset' ? partitionKey(e.topic, e.partition) : ''));
    for (const key of keys) group.pendingCommits.set(key, (group.pendingCommits.get(key) ?? 0) + 1);
    try {
      await this.write(entries, (base) => {
        entries.forEach((e, i) => {
          if (e.type === 'offset') this.applyOffset(group, e.topic, e.partition, e.value, base + i);
        });
      });
    } catch (err) {
      const code = writeErrorCode(err);
      this.logger.warn(`group ${p.groupId}: offset commit failed: ${(err as Error).message}`);
      for (const t of targets) t.errorCode = code;
    } finally {
      for (const key of keys) {
        const n = (group.pendingCommits.get(key) ?? 1) - 1;
        if (n > 0) group.pendingCommits.set(key, n);
        else {
          group.pendingCommits.delete(key);
          group.tombstones.delete(key);
        }
      }
    }
    return results;
  }

  /** The group a commit applies to (undefined: none yet, simple commit), or the error for all partitions. */
  private validateCommit(p: OffsetCommitParams): Group | undefined | number {
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const g = this.groups.get(p.groupId);
    if (!g && p.generationId >= 0) {
      // A generation of a group that is gone (v9+ says so plainly).
      return (p.apiVersion ?? 0) >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION;
    }
    if (g?.consumer) {
      // KIP-848 group: the "generation" is the member epoch; anyone may commit while it is empty.
      const cg = g.consumer;
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
        if (m) this.scheduleHeartbeat(g, m);
        return g;
      }
      case 'CompletingRebalance':
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /** Applies a durable offset record (value null = delete) unless a later record already did. */
  private applyOffset(g: Group, topic: string, partition: number, value: OffsetValue | null, logOffset: number): void {
    if (g.state === 'Dead') return; // its deletion was written after this record
    const key = partitionKey(topic, partition);
    const current = g.offset(topic, partition);
    if (current && current.logOffset > logOffset) return;
    const deletedAt = g.tombstones.get(key);
    if (deletedAt !== undefined && deletedAt > logOffset) return;
    if (value === null) {
      const parts = g.offsets.get(topic);
      parts?.delete(partition);
      if (parts && parts.size === 0) g.offsets.delete(topic);
      if (g.hasPendingCommit(topic, partition)) g.tombstones.set(key, logOffset);
    } else {
      let parts = g.offsets.get(topic);
      if (!parts) g.offsets.set(topic, (parts = new Map()));
      parts.set(partition, { ...value, logOffset });
      g.tombstones.delete(key);
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
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const g = this.groups.get(groupId);
    // v9+: a KIP-848 member identifies itself; a stale epoch or unknown member gets an error.
    if (g?.consumer && (member.memberId !== null || member.memberEpoch >= 0)) {
      const m = member.memberId === null ? undefined : g.consumer.members.get(member.memberId);
      if (!m) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, topics: [] };
      if (member.memberEpoch !== m.memberEpoch) return { errorCode: ErrorCode.STALE_MEMBER_EPOCH, topics: [] };
    }
    const none = (partitionIndex: number, errorCode: number = ErrorCode.NONE): FetchedOffset => ({
      partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode,
    });
    const one = (topic: string, partitionIndex: number): FetchedOffset => {
      if (!g) return none(partitionIndex);
      if (requireStable && g.hasPendingCommit(topic, partitionIndex)) return none(partitionIndex, ErrorCode.UNSTABLE_OFFSET_COMMIT);
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

  // -------------------------------------------------------------------------------------------
  // KIP-848 consumer groups: ConsumerGroupHeartbeat, ConsumerGroupDescribe

  private consumerHeartbeatIntervalMs(): number {
    return this.options.consumerHeartbeatIntervalMs ?? DEFAULT_CONSUMER_HEARTBEAT_INTERVAL_MS;
  }

  private consumerSessionTimeoutMs(): number {
    return this.options.consumerSessionTimeoutMs ?? DEFAULT_CONSUMER_SESSION_TIMEOUT_MS;
  }

  private topicInfos(): TopicInfo[] {
    return this.options.storage.topics().map((t) => ({ name: t.name, topicId: t.topicId, partitionCount: t.partitionCount }));
  }

  /** Request-level checks of ConsumerGroupHeartbeat (Kafka's rules); an error result or null. */
  private checkConsumerHeartbeat(p: ConsumerGroupHeartbeatParams): ConsumerGroupHeartbeatResult | null {
    const invalid = (message: string) => heartbeatError(ErrorCode.INVALID_REQUEST, message);
    if (p.groupId === '') return invalid('GroupId can\'t be empty.');
    if (p.instanceId === '') return invalid('InstanceId can\'t be empty.');
    if (p.rackId === '') return invalid('RackId can\'t be empty.');
    if (p.memberEpoch > 0 || p.memberEpoch === LEAVE_EPOCH) {
      if (p.memberId === '') return invalid('MemberId can\'t be empty.');
    } else if (p.memberEpoch === JOIN_EPOCH) {
      if (p.rebalanceTimeoutMs === -1) return invalid('RebalanceTimeoutMs must be provided in first request.');
      if (p.topicPartitions === null || p.topicPartitions.length > 0) return invalid('TopicPartitions must be empty when (re-)joining.');
      const names = p.subscribedTopicNames !== null && p.subscribedTopicNames.length > 0;
      if (!names && !p.subscribedTopicRegex) return invalid('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    } else if (p.memberEpoch === LEAVE_STATIC_EPOCH) {
      if (p.memberId === '') return invalid('MemberId can\'t be empty.');
      if (p.instanceId === null) return invalid('InstanceId can\'t be null.');
    } else {
      return invalid('MemberEpoch is invalid.');
    }
    if (p.serverAssignor !== null && !(CONSUMER_ASSIGNORS as readonly string[]).includes(p.serverAssignor)) {
      return heartbeatError(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${p.serverAssignor} is not supported. Supported assignors: ${CONSUMER_ASSIGNORS.join(', ')}.`);
    }
    if (p.subscribedTopicRegex && compileRegex(p.subscribedTopicRegex) === null) {
      return heartbeatError(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex ${p.subscribedTopicRegex} is not a valid regular expression.`);
    }
    return null;
  }

  /**
   * The group a heartbeat applies to: an existing consumer group; on a join (epoch 0) a new one, or
   * an Empty classic group converted (its offsets are kept). A classic group with members is not a
   * consumer group (GROUP_ID_NOT_FOUND, as Kafka with online migration off).
   */
  private consumerGroupFor(p: ConsumerGroupHeartbeatParams): Group | ConsumerGroupHeartbeatResult {
    let g = this.groups.get(p.groupId);
    if (g?.consumer) return g;
    const classicInUse = g !== undefined && (g.members.size > 0 || g.pendingMembers.size > 0 || g.state !== 'Empty');
    if (classicInUse) return heartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} is not a consumer group.`);
    if (p.memberEpoch !== JOIN_EPOCH) {
      // Unknown here (e.g. consumer-group membership does not survive a broker restart): the member rejoins.
      return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`);
    }
    if (!g) this.groups.set(p.groupId, (g = new Group(p.groupId)));
    g.joinTimer = this.cancel(g.joinTimer);
    g.syncTimer = this.cancel(g.syncTimer);
    g.consumer = new ConsumerGroupState();
    g.consumer.groupEpoch = g.consumer.assignmentEpoch = 0;
    g.protocolType = 'consumer';
    g.protocolName = null;
    g.leaderId = null;
    g.subscribedTopics = null;
    this.logger.info(`group ${p.groupId}: created as a consumer (KIP-848) group`);
    return g;
  }

  consumerGroupHeartbeat(p: ConsumerGroupHeartbeatParams): ConsumerGroupHeartbeatResult {
    if (!this.active) return heartbeatError(ErrorCode.COORDINATOR_NOT_AVAILABLE, null);
    const bad = this.checkConsumerHeartbeat(p);
    if (bad) return bad;
    const found = this.consumerGroupFor(p);
    if (!(found instanceof Group)) return found;
    const g = found;
    const cg = g.consumer!;
    if (p.memberEpoch === LEAVE_EPOCH || p.memberEpoch === LEAVE_STATIC_EPOCH) return this.consumerLeave(g, p);

    // Find or create the member.
    let m: ConsumerMember | undefined;
    let isNew = false;
    if (p.memberEpoch === JOIN_EPOCH) {
      const memberId = p.memberId !== '' ? p.memberId : randomUUID();
      if (p.instanceId !== null) {
        const currentId = cg.staticMembers.get(p.instanceId);
        const current = currentId === undefined ? undefined : cg.members.get(currentId);
        if (current && current.memberId !== memberId) {
          if (current.memberEpoch !== LEAVE_STATIC_EPOCH) {
            return heartbeatError(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${memberId} with instance id ${p.instanceId} cannot join the group because the instance id is owned by ${current.memberId}.`);
          }
          m = this.replaceStaticConsumerMember(g, current, memberId);
        }
      }
      if (!m) {
        m = cg.members.get(memberId);
        if (m) {
          // A known member rejoining from scratch: it owns nothing now.
          m.assigned = new Map();
          m.pendingRevocation = new Map();
          m.state = 'stable';
          m.previousMemberEpoch = -1;
          m.memberEpoch = 0;
          cg.releaseAll(m);
        } else {
          m = new ConsumerMember(memberId);
          isNew = true;
        }
      }
    } else {
      m = cg.members.get(p.memberId);
      if (!m) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`);
      if (p.instanceId !== null && cg.staticMembers.get(p.instanceId) !== m.memberId) {
        return heartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${p.memberId} with instance id ${p.instanceId} was fenced by another member.`);
      }
      const owned = p.topicPartitions === null ? null : this.ownedByName(p.topicPartitions);
      if (p.memberEpoch > m.memberEpoch) {
        return heartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `The member epoch ${p.memberEpoch} is greater than the coordinator's ${m.memberEpoch}. The member must abandon all its partitions and rejoin.`);
      }
      if (p.memberEpoch < m.memberEpoch && (p.memberEpoch !== m.previousMemberEpoch || owned === null || !isSubset(owned, m.assigned))) {
        return heartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `The member epoch ${p.memberEpoch} is smaller than the coordinator's ${m.memberEpoch}. The member must abandon all its partitions and rejoin.`);
      }
    }

    // Update what the request carries (null = unchanged).
    const before = { names: m.subscribedTopicNames.join('\0'), regex: m.subscribedTopicRegex, assignor: m.serverAssignor };
    if (p.instanceId !== null) m.instanceId = p.instanceId;
    if (p.rackId !== null) m.rackId = p.rackId;
    if (p.rebalanceTimeoutMs !== -1) m.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    if (p.serverAssignor !== null) m.serverAssignor = p.serverAssignor;
    if (p.subscribedTopicNames !== null) m.subscribedTopicNames = [...new Set(p.subscribedTopicNames)].sort();
    if (p.subscribedTopicRegex !== null) m.subscribedTopicRegex = p.subscribedTopicRegex === '' ? null : p.subscribedTopicRegex; // "" clears it
    m.clientId = p.clientId;
    m.clientHost = p.clientHost;
    const subscriptionChanged = isNew || before.names !== m.subscribedTopicNames.join('\0') || before.regex !== m.subscribedTopicRegex || before.assignor !== m.serverAssignor;
    if (isNew) {
      cg.members.set(m.memberId, m);
      if (m.instanceId !== null) cg.staticMembers.set(m.instanceId, m.memberId);
      if (g.state === 'Empty') g.transitionTo('Stable');
      this.logger.info(`group ${g.groupId}: consumer member ${m.memberId}${m.instanceId ? ` (instance ${m.instanceId})` : ''} joined`);
    }

    // Bump the group epoch when the assignment's inputs changed, and compute the new target.
    this.maybeBumpConsumerGroup(g, subscriptionChanged ? `member ${m.memberId} joined or changed its subscription` : null);

    // Move the member towards its target.
    const assignedBefore = copyPartitions(m.assigned);
    const owned = p.topicPartitions === null ? null : this.ownedByName(p.topicPartitions);
    reconcile(m, cg.assignmentEpoch, cg.target.get(m.memberId) ?? new Map(), p.memberEpoch === JOIN_EPOCH ? new Map() : owned, (t, q) => cg.ownerOf(t, q));
    cg.updateOwners(m);
    this.scheduleConsumerSession(g, m);
    this.scheduleRevocationTimeout(g, m);

    const full = p.memberEpoch === JOIN_EPOCH || (p.rebalanceTimeoutMs !== -1 && p.subscribedTopicNames !== null && p.topicPartitions !== null);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      heartbeatIntervalMs: this.consumerHeartbeatIntervalMs(),
      assignment: full || !samePartitions(assignedBefore, m.assigned) ? this.withTopicIds(m.assigned) : null,
    };
  }

  /** Owned partitions reported by topic id → by topic name (unknown ids are dropped). */
  private ownedByName(tps: { topicId: string; partitions: number[] }[]): TopicPartitions {
    const byId = new Map(this.options.storage.topics().map((t) => [t.topicId, t.name]));
    const out: TopicPartitions = new Map();
    for (const tp of tps) {
      const name = byId.get(tp.topicId);
      if (name === undefined) continue;
      out.set(name, new Set([...(out.get(name) ?? []), ...tp.partitions]));
    }
    return out;
  }

  private withTopicIds(tp: TopicPartitions): { topicId: string; topicName: string; partitions: number[] }[] {
    const out = [];
    for (const [name, parts] of [...tp].sort((a, b) => a[0].localeCompare(b[0]))) {
      const meta = this.options.storage.topic(name);
      if (!meta || parts.size === 0) continue;
      out.push({ topicId: meta.topicId, topicName: name, partitions: [...parts].sort((a, b) => a - b) });
    }
    return out;
  }

  /**
   * Bumps the group epoch when `reason` is given or the subscribed topics' metadata changed (a topic
   * created, deleted or grown), then recomputes the target assignment if it is behind.
   */
  private maybeBumpConsumerGroup(g: Group, reason: string | null): void {
    const cg = g.consumer!;
    const topics = cg.subscribedTopics(this.topicInfos());
    const metadata = JSON.stringify(topics.map((t) => [t.name, t.topicId, t.partitionCount]));
    if (metadata !== cg.subscriptionMetadata) {
      cg.subscriptionMetadata = metadata;
      reason ??= 'subscribed topic metadata changed';
    }
    if (reason !== null) {
      cg.groupEpoch += 1;
      this.logger.info(`group ${g.groupId}: epoch ${cg.groupEpoch}: ${reason}`);
    }
    if (cg.groupEpoch > cg.assignmentEpoch) {
      const assignor = cg.preferredAssignor();
      const members = [...cg.members.values()];
      const target = assign(assignor, { members, topics, current: cg.target });
      cg.target.clear();
      for (const m of members) cg.target.set(m.memberId, target.get(m.memberId) ?? new Map());
      cg.assignmentEpoch = cg.groupEpoch;
    }
  }

  private scheduleConsumerSession(g: Group, m: ConsumerMember): void {
    this.cancel(m.sessionTimer);
    m.sessionTimer = this.schedule(this.consumerSessionTimeoutMs(), () => {
      m.sessionTimer = null;
      if (this.groups.get(g.groupId) !== g || g.consumer?.members.get(m.memberId) !== m) return;
      this.logger.info(`group ${g.groupId}: consumer member ${m.memberId} session expired, removing it`);
      this.removeConsumerMember(g, m, 'session expired');
    });
  }

  /** A member that has partitions to revoke gets its rebalance timeout to do so, or is fenced. */
  private scheduleRevocationTimeout(g: Group, m: ConsumerMember): void {
    if (m.state !== 'unrevoked_partitions') {
      m.revocationTimer = this.cancel(m.revocationTimer);
      m.revocationEpoch = -1;
      return;
    }
    if (m.revocationTimer && m.revocationEpoch === m.memberEpoch) return;
    this.cancel(m.revocationTimer);
    m.revocationEpoch = m.memberEpoch;
    m.revocationTimer = this.schedule(m.rebalanceTimeoutMs, () => {
      m.revocationTimer = null;
      if (this.groups.get(g.groupId) !== g || g.consumer?.members.get(m.memberId) !== m) return;
      if (m.state !== 'unrevoked_partitions' || m.memberEpoch !== m.revocationEpoch) return;
      this.logger.info(`group ${g.groupId}: consumer member ${m.memberId} did not revoke its partitions within ${m.rebalanceTimeoutMs} ms, removing it`);
      this.removeConsumerMember(g, m, 'revocation timed out');
    });
  }

  private removeConsumerMember(g: Group, m: ConsumerMember, reason: string): void {
    const cg = g.consumer!;
    m.sessionTimer = this.cancel(m.sessionTimer);
    m.revocationTimer = this.cancel(m.revocationTimer);
    cg.releaseAll(m);
    cg.members.delete(m.memberId);
    cg.target.delete(m.memberId);
    if (m.instanceId !== null && cg.staticMembers.get(m.instanceId) === m.memberId) cg.staticMembers.delete(m.instanceId);
    if (cg.members.size === 0) g.transitionTo('Empty');
    this.maybeBumpConsumerGroup(g, `member ${m.memberId} left (${reason})`);
  }

  /** A static member came back under a new member id: it takes over the old member's place. */
  private replaceStaticConsumerMember(g: Group, old: ConsumerMember, memberId: string): ConsumerMember {
    const cg = g.consumer!;
    const m = new ConsumerMember(memberId);
    Object.assign(m, {
      memberEpoch: old.previousMemberEpoch >= 0 ? old.previousMemberEpoch : 0, previousMemberEpoch: -1, state: old.state,
      assigned: old.assigned, pendingRevocation: old.pendingRevocation, instanceId: old.instanceId, rackId: old.rackId,
      rebalanceTimeoutMs: old.rebalanceTimeoutMs, subscribedTopicNames: old.subscribedTopicNames,
      subscribedTopicRegex: old.subscribedTopicRegex, serverAssignor: old.serverAssignor,
    });
    old.sessionTimer = this.cancel(old.sessionTimer);
    old.revocationTimer = this.cancel(old.revocationTimer);
    cg.releaseAll(old);
    cg.members.delete(old.memberId);
    cg.members.set(memberId, m);
    cg.target.set(memberId, cg.target.get(old.memberId) ?? new Map());
    cg.target.delete(old.memberId);
    cg.staticMembers.set(m.instanceId!, memberId);
    cg.updateOwners(m);
    this.logger.info(`group ${g.groupId}: static member ${m.instanceId} rejoined as ${memberId} (was ${old.memberId})`);
    return m;
  }

  private consumerLeave(g: Group, p: ConsumerGroupHeartbeatParams): ConsumerGroupHeartbeatResult {
    const cg = g.consumer!;
    let m: ConsumerMember | undefined;
    if (p.instanceId !== null) {
      const id = cg.staticMembers.get(p.instanceId);
      m = id === undefined ? undefined : cg.members.get(id);
      if (!m) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${p.instanceId} is unknown.`);
      if (m.memberId !== p.memberId) return heartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${p.memberId} with instance id ${p.instanceId} was fenced by member ${m.memberId}.`);
    } else {
      m = cg.members.get(p.memberId);
      if (!m) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`);
    }
    if (p.memberEpoch === LEAVE_STATIC_EPOCH) {
      // A static member that will be back: it keeps its partitions until its session expires.
      if (m.memberEpoch !== LEAVE_STATIC_EPOCH) m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = LEAVE_STATIC_EPOCH;
      this.scheduleConsumerSession(g, m);
      this.logger.info(`group ${g.groupId}: static member ${m.instanceId} (${m.memberId}) left temporarily`);
    } else {
      this.logger.info(`group ${g.groupId}: consumer member ${m.memberId} left`);
      this.removeConsumerMember(g, m, 'left the group');
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: m.memberId, memberEpoch: p.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  consumerGroupDescribe(groupIds: string[]): ConsumerGroupDescribed[] {
    return groupIds.map((groupId) => {
      const blank = { groupId, errorMessage: null as string | null, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [] };
      if (!this.active) return { ...blank, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      if (groupId === '') return { ...blank, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'GroupId can\'t be empty.' };
      const g = this.groups.get(groupId);
      if (!g?.consumer) {
        return { ...blank, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: g ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.` };
      }
      const cg = g.consumer;
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        groupId,
        groupState: cg.stateName(),
        groupEpoch: cg.groupEpoch,
        assignmentEpoch: cg.assignmentEpoch,
        assignorName: cg.preferredAssignor(),
        members: [...cg.members.values()].map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: { topicPartitions: this.withTopicIds(m.assigned) },
          targetAssignment: { topicPartitions: this.withTopicIds(cg.target.get(m.memberId) ?? new Map()) },
        })),
      };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Administration

  describeGroups(groupIds: string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const blank = { groupId, protocolType: '', protocolData: '', members: [] };
      if (!this.active) return { ...blank, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groupState: '' };
      const g = this.groups.get(groupId);
      // Kafka answers for classic groups only: a KIP-848 group is described by ConsumerGroupDescribe.
      if (!g || g.consumer) return { ...blank, errorCode: ErrorCode.NONE, groupState: 'Dead' };
      // Like Kafka, member metadata and assignments (and the protocol) are shown only when Stable.
      const stable = g.state === 'Stable';
      return {
        errorCode: ErrorCode.NONE,
        groupId,
        groupState: g.state,
        protocolType: g.protocolType ?? '',
        protocolData: stable ? g.protocolName ?? '' : '',
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: stable ? m.metadata(g.protocolName) : EMPTY_BYTES,
          memberAssignment: stable ? m.assignment : EMPTY_BYTES,
        })),
      };
    });
  }

  /** Groups, optionally filtered by state and type (case-insensitive): "classic" or "consumer" (KIP-848). */
  listGroups(statesFilter: string[] = [], typesFilter: string[] = []): { errorCode: number; groups: ListedGroup[] } {
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const groups: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      const state = g.consumer ? g.consumer.stateName() : g.state;
      if (states.size > 0 && !states.has(state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(g.type)) continue;
      groups.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', groupState: state, groupType: g.type });
    }
    return { errorCode: ErrorCode.NONE, groups };
  }

  /** Deletes Empty groups with their offsets: GROUP_ID_NOT_FOUND for unknown ones, NON_EMPTY_GROUP for live ones. */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results = [...new Set(groupIds)].map((groupId) => ({ groupId, errorCode: ErrorCode.NONE as number }));
    const eligible: { g: Group; res: { errorCode: number } }[] = [];
    for (const res of results) {
      const g = this.groups.get(res.groupId);
      if (!this.active) res.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      else if (!g) res.errorCode = ErrorCode.GROUP_ID_NOT_FOUND;
      else if (g.state !== 'Empty') res.errorCode = ErrorCode.NON_EMPTY_GROUP;
      else eligible.push({ g, res });
    }
    if (eligible.length > 0) {
      const code = await this.removeGroupsDurably(eligible.map((e) => e.g));
      for (const e of eligible) e.res.errorCode = code;
    }
    return results;
  }

  /**
   * Marks the groups Dead and forgets them at once (so nothing can join them meanwhile), then writes
   * their tombstones. If the write fails they come back as they were.
   */
  private async removeGroupsDurably(groups: Group[]): Promise<number> {
    const entries: LogEntry[] = [];
    for (const g of groups) {
      for (const [topic, parts] of g.offsets) {
        for (const partition of parts.keys()) entries.push({ type: 'offset', group: g.groupId, topic, partition, value: null });
      }
      if (g.persistedAt >= 0) entries.push({ type: 'group', group: g.groupId, value: null });
      g.transitionTo('Dead');
      for (const t of g.pendingMembers.values()) this.cancel(t);
      g.pendingMembers.clear();
      g.joinTimer = this.cancel(g.joinTimer);
      g.syncTimer = this.cancel(g.syncTimer);
      this.groups.delete(g.groupId);
    }
    if (entries.length === 0) return ErrorCode.NONE;
    try {
      await this.write(entries, () => undefined);
      for (const g of groups) this.logger.info(`group ${g.groupId}: deleted`);
      return ErrorCode.NONE;
    } catch (err) {
      this.logger.warn(`deleting group(s) ${groups.map((g) => g.groupId).join(', ')} failed: ${(err as Error).message}`);
      for (const g of groups) {
        g.state = 'Empty';
        const now = this.groups.get(g.groupId);
        if (!now) {
          this.groups.set(g.groupId, g);
          continue;
        }
        // A group of the same name appeared meanwhile: it inherits the offsets that are still in the log.
        for (const [topic, parts] of g.offsets) {
          for (const [partition, o] of parts) if (!now.offset(topic, partition)) this.applyOffset(now, topic, partition, o, o.logOffset);
        }
      }
      return writeErrorCode(err);
    }
  }

  /** OffsetDelete: removes committed offsets of partitions the group does not consume. */
  async deleteOffsets(groupId: string, topics: { name: string; partitions: number[] }[]): Promise<OffsetDeleteResult> {
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, topics: [] };
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, topics: [] };
    const g = this.groups.get(groupId);
    if (!g) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, topics: [] };
    const consumerGroupRebalancingOrStable = g.state !== 'Empty' && g.protocolType === 'consumer';
    if (g.state !== 'Empty' && !consumerGroupRebalancingOrStable) return { errorCode: ErrorCode.NON_EMPTY_GROUP, topics: [] };
    const results: PartitionErrors = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.NONE })),
    }));
    const entries: LogEntry[] = [];
    const targets: { errorCode: number }[] = [];
    topics.forEach((t, i) => {
      const meta = this.options.storage.topic(t.name);
      // Unknown subscriptions (unreadable metadata) count as subscribed, as in Kafka.
      const subscribed = consumerGroupRebalancingOrStable && (g.consumer
        ? [...g.consumer.members.values()].some((m) => memberSubscribes(m, t.name))
        : g.subscribedTopics === null || g.subscribedTopics.has(t.name));
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
        await this.write(entries, (base) => {
          entries.forEach((e, i) => {
            if (e.type === 'offset') this.applyOffset(g, e.topic, e.partition, null, base + i);
          });
        });
      } catch (err) {
        const code = writeErrorCode(err);
        for (const t of targets) t.errorCode = code;
      }
    }
    return { errorCode: ErrorCode.NONE, topics: results };
  }

  // -------------------------------------------------------------------------------------------
  // Persistence

  /**
   * Appends `entries` durably, then runs `onWritten` with the offset of the first one before anything
   * else can observe the log (so compaction never sees a write that memory does not reflect yet).
   */
  private write(entries: LogEntry[], onWritten: (baseOffset: number) => void): Promise<void> {
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

  /** Writes the group metadata record (with this assignment); resolves with an error code. */
  private persistGroup(g: Group, assignment: Map<string, Buffer>): Promise<number> {
    const value: GroupValue = {
      protocolType: g.protocolType,
      generation: g.generationId,
      protocol: g.protocolName,
      leader: g.leaderId,
      stateTimestamp: g.stateTimestamp,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: m.metadata(g.protocolName),
        assignment: assignment.get(m.memberId) ?? EMPTY_BYTES,
      })),
    };
    return this.write([{ type: 'group', group: g.groupId, value }], (offset) => {
      if (offset > g.persistedAt) {
        g.persistedAt = offset;
        g.persisted = value;
      }
    }).then(
      () => ErrorCode.NONE,
      (err) => {
        this.logger.warn(`group ${g.groupId}: storing group metadata failed: ${(err as Error).message}`);
        return writeErrorCode(err);
      },
    );
  }

  private liveRecordCount(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.offsetCount() + (g.persisted !== null ? 1 : 0);
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
  private maybeCompact(): void {
    const store = this.store;
    if (!store || !this.active || this.compacting || this.inflight.size > 0 || store.size() < this.compactCheckAt) return;
    const live = this.liveRecordCount();
    this.compactCheckAt = this.nextCompactCheck(live);
    if (store.size() - live < Math.max(COMPACT_MIN_GARBAGE, live)) return;
    const entries: LogEntry[] = [];
    for (const g of this.groups.values()) {
      if (g.persisted !== null) entries.push({ type: 'group', group: g.groupId, value: g.persisted as GroupValue });
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

  /**
   * Offset retention (offsets.retention.minutes): an Empty consumer group loses its offsets once it
   * has been empty that long; a group used only for commits loses each offset that long after its
   * commit. Empty groups left without offsets are then removed.
   */
  private expireOffsetsAndGroups(): void {
    const retention = this.options.offsetsRetentionMs ?? DEFAULT_OFFSETS_RETENTION_MS;
    const now = Date.now();
    const expired: { g: Group; topic: string; partition: number }[] = [];
    const removable: Group[] = [];
    for (const g of this.groups.values()) {
      const simple = g.protocolType === null;
      let expiring = 0;
      if (g.state === 'Empty' || simple) {
        for (const [topic, parts] of g.offsets) {
          for (const [partition, o] of parts) {
            const since = simple ? o.commitTimestamp : g.stateTimestamp;
            if (now - since >= retention && !g.hasPendingCommit(topic, partition)) {
              expired.push({ g, topic, partition });
              expiring++;
            }
          }
        }
      }
      if (g.state === 'Empty' && g.members.size === 0 && g.pendingMembers.size === 0 && g.pendingCommits.size === 0 && g.offsetCount() === expiring) {
        removable.push(g);
      }
    }
    const partial = expired.filter((t) => !removable.includes(t.g)); // removed groups lose all offsets anyway
    if (removable.length === 0 && partial.length === 0) return;
    this.logger.info(`offset retention: expiring ${expired.length} offset(s), removing ${removable.length} empty group(s)`);
    if (removable.length > 0) void this.removeGroupsDurably(removable);
    if (partial.length > 0) {
      const entries: LogEntry[] = partial.map((t) => ({ type: 'offset', group: t.g.groupId, topic: t.topic, partition: t.partition, value: null }));
      void this.write(entries, (base) => {
        partial.forEach((t, i) => this.applyOffset(t.g, t.topic, t.partition, null, base + i));
      }).catch((err) => this.logger.warn(`offset retention: write failed: ${(err as Error).message}`));
    }
  }
}
