// The classic group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups),
// modelled on Apache Kafka's GroupCoordinator. State lives in classic-group.ts; this file drives it:
// the join and sync phases, sessions, static members and the group metadata record. It decides when
// timers run and what they do; the group and its members hold them (armJoinTimer, armSessionTimer, …).
//
// A request that has to wait (JoinGroup until the join phase ends, a follower's SyncGroup until the
// leader's assignment is stored) is parked on its ClassicMember (parkJoin/parkSync) and gets its
// answer when the state moves (answerJoin/answerSync).
//
// State machine: Empty → PreparingRebalance (join phase; from Empty it first waits
// initialRebalanceDelayMs, extended while new members keep coming, up to the rebalance timeout) →
// CompletingRebalance (generation bumped, protocol chosen, JoinGroup answered; the leader's
// SyncGroup brings the assignment) → Stable. A membership change sends a Stable or
// CompletingRebalance group back to PreparingRebalance; a join phase that ends with no members
// leaves the group Empty. Deleted groups are Dead (and gone from the map).
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/generated/errors.js';
import {
  EMPTY_BYTES,
  ClassicGroup,
  joinError,
  ClassicMember,
  syncError,
  type GroupState,
  type JoinGroupResult,
  type ProtocolEntry,
  type SyncGroupResult,
} from './classic-group.js';
import type { GroupValue } from './offsets-store.js';
import { writeErrorCode, type GroupRuntime } from './runtime.js';

/** How long a member's first JoinGroup may wait in a join phase before it is dropped (Kafka's value). */
const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

/** Delay before re-checking a join phase in which no member rejoined. */
const MIN_JOIN_RECHECK_MS = 1000;

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

export class ClassicProtocol {
  constructor(private readonly rt: GroupRuntime) {}

  /** After the replay: every loaded member's session starts now. */
  startSessions(): void {
    for (const g of this.rt.classicGroups()) for (const m of g.members.values()) this.scheduleHeartbeat(g, m);
  }

  /** On stop (timers already cleared): parked JoinGroup and SyncGroup requests answer NOT_COORDINATOR. */
  abortWaiting(): void {
    for (const g of this.rt.classicGroups()) {
      g.forgetTimers();
      for (const m of g.members.values()) {
        m.answerJoin(joinError(m.memberId, ErrorCode.NOT_COORDINATOR));
        m.answerSync(syncError(ErrorCode.NOT_COORDINATOR));
      }
    }
  }

  scheduleHeartbeat(g: ClassicGroup, m: ClassicMember, timeoutMs = m.sessionTimeoutMs): void {
    m.armSessionTimer(this.rt, timeoutMs, () => this.onHeartbeatExpired(g, m));
  }

  private onHeartbeatExpired(g: ClassicGroup, m: ClassicMember): void {
    if (this.rt.groups.get(g.groupId) !== g || g.members.get(m.memberId) !== m) return;
    // Members waiting in a join or sync phase are alive by definition (Kafka's hasSatisfiedHeartbeat);
    // their session restarts when that phase answers them.
    if (!m.isNew && (m.awaitingJoin || m.awaitingSync)) return;
    this.rt.logger.info(`group ${g.groupId}: member ${m.memberId} ${m.isNew ? 'did not complete its first join' : 'session expired'}, removing it`);
    this.removeMemberAndUpdateGroup(g, m);
  }

  private awaitJoin(m: ClassicMember): Promise<JoinGroupResult> {
    // A member that sends JoinGroup again while one is parked: the older request is answered now.
    return m.parkJoin(joinError(m.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
  }

  private awaitSync(m: ClassicMember): Promise<SyncGroupResult> {
    return m.parkSync(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
  }

  /** Takes a member out of the group, answering whatever it has parked with UNKNOWN_MEMBER_ID. */
  private removeMember(g: ClassicGroup, m: ClassicMember): void {
    m.answerJoin(joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    m.answerSync(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    m.cancelSessionTimer(this.rt);
    g.removeMember(m.memberId);
  }

  private removeMemberAndUpdateGroup(g: ClassicGroup, m: ClassicMember): void {
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

  private addPendingMember(g: ClassicGroup, memberId: string, sessionTimeoutMs: number): void {
    g.addPendingMember(this.rt, memberId, sessionTimeoutMs, () => {
      if (this.rt.groups.get(g.groupId) !== g || !g.pendingMembers.has(memberId)) return;
      this.rt.logger.info(`group ${g.groupId}: pending member ${memberId} never joined, dropping it`);
      this.removePendingMember(g, memberId);
    });
  }

  private removePendingMember(g: ClassicGroup, memberId: string): void {
    g.removePendingMember(this.rt, memberId);
    if (g.state === 'PreparingRebalance') this.tryCompleteJoin(g);
    this.maybeDropTransientGroup(g);
  }

  /** A group that only ever held a pending member id or a refused join leaves no trace. */
  private maybeDropTransientGroup(g: ClassicGroup): void {
    if (g.state === 'Empty' && g.generationId === 0 && g.members.size === 0 && g.pendingMembers.size === 0 &&
        (this.rt.offsets.get(g.groupId)?.isBlank() ?? true) && this.rt.groups.get(g.groupId) === g) {
      this.rt.forget(g.groupId);
    }
  }

  private maybePrepareRebalance(g: ClassicGroup, reason: string): void {
    if (g.state === 'Stable' || g.state === 'CompletingRebalance' || g.state === 'Empty') this.prepareRebalance(g, reason);
  }

  private prepareRebalance(g: ClassicGroup, reason: string): void {
    // Members waiting for an assignment that will never come are told to rejoin.
    if (g.state === 'CompletingRebalance') this.resetAndPropagateAssignmentError(g, ErrorCode.REBALANCE_IN_PROGRESS);
    g.cancelPhaseTimers(this.rt);
    const delay = Math.max(0, this.rt.options.initialRebalanceDelayMs);
    const fromEmpty = g.startRebalance(delay);
    this.rt.logger.info(`group ${g.groupId}: preparing to rebalance (generation ${g.generationId}): ${reason}`);
    if (fromEmpty) {
      g.armJoinTimer(this.rt, delay, () => this.onInitialDelayExpired(g, delay));
    } else {
      g.armJoinTimer(this.rt, g.rebalanceTimeoutMs(), () => this.completeJoin(g));
      this.tryCompleteJoin(g);
    }
  }

  /** Kafka's InitialDelayedJoin: while new members keep arriving, wait again (bounded by the rebalance timeout). */
  private onInitialDelayExpired(g: ClassicGroup, elapsedDelay: number): void {
    if (!g.initialDelay || g.state !== 'PreparingRebalance') return;
    const delay = g.initialDelayExpired(Math.max(0, this.rt.options.initialRebalanceDelayMs), elapsedDelay);
    if (delay !== null) {
      g.armJoinTimer(this.rt, delay, () => this.onInitialDelayExpired(g, delay));
      return;
    }
    this.completeJoin(g);
  }

  private tryCompleteJoin(g: ClassicGroup): void {
    if (g.state === 'PreparingRebalance' && g.initialDelay === null && g.allMembersJoined()) this.completeJoin(g);
  }

  /** Ends the join phase: drops dynamic members that did not rejoin and starts the next generation. */
  private completeJoin(g: ClassicGroup): void {
    if (g.state !== 'PreparingRebalance' || this.rt.groups.get(g.groupId) !== g) return;
    g.cancelJoinTimer(this.rt);
    g.endInitialDelay();
    for (const m of [...g.members.values()]) {
      if (!m.awaitingJoin && m.groupInstanceId === null) {
        this.rt.logger.info(`group ${g.groupId}: member ${m.memberId} did not rejoin in time, removing it`);
        this.removeMember(g, m);
      }
    }
    if (!g.electJoinedLeader() && g.members.size > 0) {
      // Only static members that have not rejoined are left: wait for them (or their session expiry).
      g.armJoinTimer(this.rt, Math.max(g.rebalanceTimeoutMs(), MIN_JOIN_RECHECK_MS), () => this.completeJoin(g));
      return;
    }
    g.initNextGeneration();
    if ((g.state as GroupState) === 'Empty') {
      this.rt.logger.info(`group ${g.groupId}: generation ${g.generationId} is empty`);
      void this.persistGroup(g, new Map());
      return;
    }
    this.rt.logger.info(`group ${g.groupId}: generation ${g.generationId} with ${g.members.size} member(s), protocol ${g.protocolName}, leader ${g.leaderId}`);
    const members = g.currentMemberMetadata();
    for (const m of g.members.values()) {
      m.answerJoin(this.joinResult(g, m, g.isLeader(m.memberId) ? members : []));
      this.scheduleHeartbeat(g, m);
    }
    // Members that never send SyncGroup (the leader above all) are removed after the rebalance timeout.
    const generation = g.generationId;
    g.armSyncTimer(this.rt, g.rebalanceTimeoutMs(), () => this.onPendingSyncExpired(g, generation));
  }

  private onPendingSyncExpired(g: ClassicGroup, generation: number): void {
    if (this.rt.groups.get(g.groupId) !== g || g.generationId !== generation) return;
    if (g.state !== 'CompletingRebalance' && g.state !== 'Stable') return;
    if (g.pendingSync.size === 0) return;
    const missing = [...g.pendingSync];
    this.rt.logger.info(`group ${g.groupId}: removing member(s) that sent no SyncGroup: ${missing.join(', ')}`);
    for (const id of missing) {
      const m = g.members.get(id);
      if (m) this.removeMember(g, m);
    }
    g.clearPendingSync();
    this.maybePrepareRebalance(g, 'members did not send SyncGroup in time');
  }

  private joinResult(g: ClassicGroup, m: ClassicMember, members: JoinGroupResult['members'], leader = g.leaderId, skipAssignment = false): JoinGroupResult {
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

  private resetAndPropagateAssignmentError(g: ClassicGroup, errorCode: number): void {
    g.clearAssignments();
    for (const m of g.members.values()) {
      if (m.awaitingSync) {
        m.answerSync(syncError(errorCode));
        this.scheduleHeartbeat(g, m);
      }
    }
  }

  /** Answers the SyncGroups waiting for the assignment that completed the rebalance. */
  private propagateAssignment(g: ClassicGroup): void {
    for (const m of g.members.values()) {
      if (m.awaitingSync) {
        m.answerSync({ errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: m.assignment });
        this.scheduleHeartbeat(g, m);
      }
    }
  }

  async joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    if (!this.rt.active) return joinError(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (p.groupId === '') return joinError(p.memberId, ErrorCode.INVALID_GROUP_ID);
    if (p.sessionTimeoutMs < this.rt.options.minSessionTimeoutMs || p.sessionTimeoutMs > this.rt.options.maxSessionTimeoutMs) {
      return joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const isNewMember = p.memberId === '';
    const found = this.rt.groups.get(p.groupId);
    let g: ClassicGroup | undefined;
    if (found?.type === 'consumer') {
      // A KIP-848 group: classic members may not join it while it has members (online migration is
      // not supported); an Empty one becomes a classic group again (its offsets are the id's and stay).
      if (found.members.size > 0) return joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      this.rt.groups.set(p.groupId, (g = ClassicGroup.afterConsumerGroup(p.groupId, found.classicGenerationId)));
      this.rt.logger.info(`group ${p.groupId}: the empty consumer (KIP-848) group becomes a classic group`);
    } else {
      g = found;
    }
    if (!g) {
      if (!isNewMember) return joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      this.rt.groups.set(p.groupId, (g = new ClassicGroup(p.groupId)));
    }
    const result = isNewMember ? this.newMemberJoin(g, p) : this.currentMemberJoin(g, p);
    if (g.state === 'PreparingRebalance') this.tryCompleteJoin(g);
    this.maybeDropTransientGroup(g);
    return result;
  }

  private newMemberJoin(g: ClassicGroup, p: JoinGroupParams): JoinGroupResult | Promise<JoinGroupResult> {
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

  private currentMemberJoin(g: ClassicGroup, p: JoinGroupParams): JoinGroupResult | Promise<JoinGroupResult> {
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

  private addMemberAndRebalance(g: ClassicGroup, memberId: string, p: JoinGroupParams): Promise<JoinGroupResult> {
    const m = new ClassicMember(memberId, p.groupInstanceId, p.clientId, p.clientHost, Math.max(0, p.rebalanceTimeoutMs),
      p.sessionTimeoutMs, p.protocolType, p.protocols);
    g.addNewMember(this.rt, m);
    const result = this.awaitJoin(m);
    // A new member cannot heartbeat before its first JoinGroup answer; drop it if that never happens.
    this.scheduleHeartbeat(g, m, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(g, `new member ${memberId} joined`);
    return result;
  }

  private updateMemberAndRebalance(g: ClassicGroup, m: ClassicMember, p: JoinGroupParams, reason: string): Promise<JoinGroupResult> {
    m.update(p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs);
    const result = this.awaitJoin(m);
    this.maybePrepareRebalance(g, reason);
    return result;
  }

  /**
   * A static member rejoined with an empty member id (e.g. after a restart): it takes over the old
   * member's place under a new id, the old id is fenced. A stable group whose protocol choice does
   * not change keeps its generation and assignment (no rebalance).
   */
  private updateStaticMemberAndRebalance(g: ClassicGroup, oldMemberId: string, newMemberId: string, p: JoinGroupParams): Promise<JoinGroupResult> {
    const m = g.members.get(oldMemberId)!;
    const currentLeader = g.leaderId;
    m.answerJoin(joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    m.answerSync(syncError(ErrorCode.FENCED_INSTANCE_ID));
    const old = { protocols: m.protocols, rebalanceTimeoutMs: m.rebalanceTimeoutMs, sessionTimeoutMs: m.sessionTimeoutMs };
    g.replaceStaticMember(m, newMemberId);
    this.scheduleHeartbeat(g, m);
    m.update(p.protocols, p.rebalanceTimeoutMs, p.sessionTimeoutMs);
    const result = this.awaitJoin(m);
    this.rt.logger.info(`group ${g.groupId}: static member ${p.groupInstanceId} rejoined as ${newMemberId} (was ${oldMemberId})`);
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
              m.update(old.protocols, old.rebalanceTimeoutMs, old.sessionTimeoutMs);
              g.replaceStaticMember(m, oldMemberId);
              this.scheduleHeartbeat(g, m);
            }
            m.answerJoin({ ...joinError('', errorCode), generationId: g.generationId, protocolType: g.protocolType, protocolName: g.protocolName, leader: currentLeader ?? '' });
          } else if (p.supportSkippingAssignment) {
            // v9+: the leader learns it leads but must not run the assignor again.
            const isLeader = g.isLeader(m.memberId);
            m.answerJoin(this.joinResult(g, m, isLeader ? g.currentMemberMetadata() : [], g.leaderId, isLeader));
          } else {
            // Older versions: report the previous leader id so a rejoining leader does not reassign.
            m.answerJoin(this.joinResult(g, m, [], currentLeader));
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

  async syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    if (!this.rt.active) return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (p.groupId === '') return syncError(ErrorCode.INVALID_GROUP_ID);
    const g = this.rt.classicGroup(p.groupId);
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
        g.markSynced(m.memberId);
        if (g.isLeader(m.memberId) && g.storingGeneration !== g.generationId) {
          const assignment = new Map<string, Buffer>();
          for (const a of p.assignments) if (g.members.has(a.memberId)) assignment.set(a.memberId, a.assignment ?? EMPTY_BYTES);
          for (const id of g.members.keys()) if (!assignment.has(id)) assignment.set(id, EMPTY_BYTES);
          const generation = g.generationId;
          g.startStoringAssignment(generation);
          void this.persistGroup(g, assignment).then((errorCode) => {
            if (g.state !== 'CompletingRebalance' || g.generationId !== generation || this.rt.groups.get(g.groupId) !== g) return;
            g.assignmentWriteEnded();
            if (errorCode !== ErrorCode.NONE) {
              this.resetAndPropagateAssignmentError(g, errorCode);
              this.maybePrepareRebalance(g, 'storing the assignment failed');
            } else {
              g.completeRebalance(assignment);
              this.propagateAssignment(g);
              this.rt.logger.info(`group ${g.groupId}: stable at generation ${generation}`);
            }
          });
        }
        return result;
      }
      case 'Stable':
        g.markSynced(m.memberId);
        this.scheduleHeartbeat(g, m);
        return { errorCode: ErrorCode.NONE, protocolType: g.protocolType, protocolName: g.protocolName, assignment: m.assignment };
      default:
        return syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
  }

  heartbeat(p: HeartbeatParams): number {
    if (!this.rt.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (p.groupId === '') return ErrorCode.INVALID_GROUP_ID;
    const g = this.rt.classicGroup(p.groupId);
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
    if (!this.rt.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    if (groupId === '') return { errorCode: ErrorCode.INVALID_GROUP_ID, members: [] };
    const g = this.rt.classicGroup(groupId);
    const out = (l: LeavingMember, errorCode: number) => ({ memberId: l.memberId, groupInstanceId: l.groupInstanceId, errorCode });
    if (!g) return { errorCode: ErrorCode.NONE, members: leaving.map((l) => out(l, ErrorCode.UNKNOWN_MEMBER_ID)) };
    const members = leaving.map((l) => {
      const why = l.reason ? ` (${l.reason})` : '';
      if (l.memberId === '') {
        const current = l.groupInstanceId === null ? undefined : g.staticMembers.get(l.groupInstanceId);
        const m = current === undefined ? undefined : g.members.get(current);
        if (!m) return out(l, ErrorCode.UNKNOWN_MEMBER_ID);
        this.rt.logger.info(`group ${groupId}: static member ${l.groupInstanceId} removed${why}`);
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
      this.rt.logger.info(`group ${groupId}: member ${l.memberId} left${why}`);
      this.removeMemberAndUpdateGroup(g, m);
      return out(l, ErrorCode.NONE);
    });
    return { errorCode: ErrorCode.NONE, members };
  }

  describeGroups(groupIds: string[]): DescribedGroup[] {
    return groupIds.map((groupId) => {
      const blank = { groupId, protocolType: '', protocolData: '', members: [] };
      if (!this.rt.active) return { ...blank, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groupState: '' };
      const g = this.rt.classicGroup(groupId);
      // Kafka answers for classic groups only: a KIP-848 group is described by ConsumerGroupDescribe.
      if (!g) return { ...blank, errorCode: ErrorCode.NONE, groupState: 'Dead' };
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

  /** Writes the group metadata record (with this assignment); resolves with an error code. */
  private persistGroup(g: ClassicGroup, assignment: Map<string, Buffer>): Promise<number> {
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
    const stored = this.rt.offsetsOf(g.groupId); // the id's record, whatever the group is by the time it is written
    return this.rt.write([{ type: 'group', group: g.groupId, value }], (offset) => {
      stored.markPersisted(offset, value);
    }).then(
      () => ErrorCode.NONE,
      (err) => {
        this.rt.logger.warn(`group ${g.groupId}: storing group metadata failed: ${(err as Error).message}`);
        return writeErrorCode(err);
      },
    );
  }
}
