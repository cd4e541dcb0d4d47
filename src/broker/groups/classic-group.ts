// The classic group: members, generation, protocol choice. A group id holds either a ClassicGroup
// or a ConsumerGroup (KIP-848, consumer-group.ts): the `Group` union of runtime.ts. Its committed
// offsets and metadata record are the id's, whichever protocol it speaks (group-offsets.ts). This
// file holds state, its transitions and pure helpers; the group and its members also hold their
// timers and parked requests (set only by their methods). When timers run, what they do, and the
// log are classic-protocol.ts's.

import type { GroupValue } from './offsets-store.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

/** States an invariant; a failure is a bug in the coordinator, never a client's doing. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion: ${message}`);
}

/**
 * The coordinator's timers (GroupRuntime): groups and members arm and cancel their own through it, so
 * that a timer field is only ever set by its owner.
 */
export interface Timers {
  schedule(ms: number, fn: () => void): NodeJS.Timeout | null;
  cancel(t: NodeJS.Timeout | null | undefined): null;
}

export interface ProtocolEntry {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncGroupResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, memberId, members: [] };
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
}

export class ClassicMember {
  assignment: Buffer = EMPTY_BYTES;
  /** Resolves this member's pending JoinGroup; set while it awaits the end of the join phase. */
  private joinWaiter: ((r: JoinGroupResult) => void) | null = null;
  /** Resolves this member's pending SyncGroup; set while it awaits the leader's assignment. */
  private syncWaiter: ((r: SyncGroupResult) => void) | null = null;
  /** Joined but not yet through a completed join phase (expires after NEW_MEMBER_JOIN_TIMEOUT_MS). */
  isNew = false;
  /** Ends the member's session unless a heartbeat (or a join/sync answer) restarts it. */
  private sessionTimer: NodeJS.Timeout | null = null;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: ProtocolEntry[],
  ) {}

  /** A rejoin brings the member's current protocols and timeouts. */
  update(protocols: ProtocolEntry[], rebalanceTimeoutMs: number, sessionTimeoutMs: number): void {
    this.protocols = protocols;
    this.rebalanceTimeoutMs = Math.max(0, rebalanceTimeoutMs);
    this.sessionTimeoutMs = sessionTimeoutMs;
  }

  metadata(protocol: string | null): Buffer {
    if (protocol === null) return EMPTY_BYTES;
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: ProtocolEntry[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => p.name === this.protocols[i].name && p.metadata.equals(this.protocols[i].metadata));
  }

  /** The member's most preferred protocol among the candidates. */
  vote(candidates: Set<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }

  get awaitingJoin(): boolean {
    return this.joinWaiter !== null;
  }
  get awaitingSync(): boolean {
    return this.syncWaiter !== null;
  }

  /** Parks a JoinGroup until the join phase answers it; one parked before is answered `replaced` now. */
  parkJoin(replaced: JoinGroupResult): Promise<JoinGroupResult> {
    this.answerJoin(replaced);
    return new Promise((resolve) => {
      this.joinWaiter = resolve;
    });
  }

  /** Answers the parked JoinGroup, if any. */
  answerJoin(r: JoinGroupResult): void {
    const w = this.joinWaiter;
    if (w) {
      this.joinWaiter = null;
      w(r);
    }
  }

  /** Parks a SyncGroup until the leader's assignment is stored; one parked before is answered `replaced` now. */
  parkSync(replaced: SyncGroupResult): Promise<SyncGroupResult> {
    this.answerSync(replaced);
    return new Promise((resolve) => {
      this.syncWaiter = resolve;
    });
  }

  /** Answers the parked SyncGroup, if any. */
  answerSync(r: SyncGroupResult): void {
    const w = this.syncWaiter;
    if (w) {
      this.syncWaiter = null;
      w(r);
    }
  }

  /** (Re)starts the session: `onExpired` runs after `ms` unless restarted or cancelled first. */
  armSessionTimer(timers: Timers, ms: number, onExpired: () => void): void {
    timers.cancel(this.sessionTimer);
    this.sessionTimer = timers.schedule(ms, () => {
      this.sessionTimer = null;
      onExpired();
    });
  }

  cancelSessionTimer(timers: Timers): void {
    this.sessionTimer = timers.cancel(this.sessionTimer);
  }

  /** The coordinator stopped (its timers are cleared): nothing is armed any more. */
  forgetTimers(): void {
    this.sessionTimer = null;
  }
}

export class ClassicGroup {
  /** Discriminates the `Group` union (ListGroups v5 groupType). */
  readonly type = 'classic';
  /** Changed only by the transition methods below, which assert where the group may come from. */
  state: GroupState = 'Empty';
  /** When the group entered its current state (ms); persisted, used for offset expiry of Empty groups. */
  stateTimestamp = Date.now();
  protocolType: string | null = null;
  protocolName: string | null = null;
  generationId = 0;
  leaderId: string | null = null;
  /** memberId → member, in join order (the first one becomes leader when the leader goes). */
  readonly members = new Map<string, ClassicMember>();
  /** groupInstanceId → memberId of static members. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used; value: their expiry timer. */
  readonly pendingMembers = new Map<string, NodeJS.Timeout | null>();
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSync = new Set<string>();
  /** Topics the members subscribe to (consumer protocol), or null when unknown. */
  subscribedTopics: Set<string> | null = null;

  /** The join phase's timer: the initial delay, the rebalance timeout, or a re-check for static members. */
  private joinTimer: NodeJS.Timeout | null = null;
  /** Removes members that send no SyncGroup within the rebalance timeout. */
  private syncTimer: NodeJS.Timeout | null = null;
  /** Set while the initial rebalance delay (group.initial.rebalance.delay.ms) runs. */
  initialDelay: { remainingMs: number } | null = null;
  newMemberAdded = false;
  /** Generation whose leader assignment is being written, so a repeated leader SyncGroup does not write twice. */
  storingGeneration = -1;

  constructor(readonly groupId: string) {}

  /**
   * An Empty consumer group of this id becomes classic again: Empty, with the generation the classic
   * group had reached before it became a consumer group (the next join phase goes on from there).
   */
  static afterConsumerGroup(groupId: string, generationId: number): ClassicGroup {
    const g = new ClassicGroup(groupId);
    g.generationId = generationId;
    return g;
  }

  /** Arms the join phase's timer (replacing one that runs). */
  armJoinTimer(timers: Timers, ms: number, onFired: () => void): void {
    timers.cancel(this.joinTimer);
    this.joinTimer = timers.schedule(ms, () => {
      this.joinTimer = null;
      onFired();
    });
  }

  cancelJoinTimer(timers: Timers): void {
    this.joinTimer = timers.cancel(this.joinTimer);
  }

  /** Arms the sync phase's timer (replacing one that runs). */
  armSyncTimer(timers: Timers, ms: number, onFired: () => void): void {
    timers.cancel(this.syncTimer);
    this.syncTimer = timers.schedule(ms, () => {
      this.syncTimer = null;
      onFired();
    });
  }

  cancelSyncTimer(timers: Timers): void {
    this.syncTimer = timers.cancel(this.syncTimer);
  }

  /** Cancels the join and sync phase timers (the group is replaced by a consumer group or deleted). */
  cancelPhaseTimers(timers: Timers): void {
    this.cancelJoinTimer(timers);
    this.cancelSyncTimer(timers);
  }

  /** The coordinator stopped (its timers are cleared): nothing is armed any more. */
  forgetTimers(): void {
    this.joinTimer = this.syncTimer = null;
    for (const m of this.members.values()) m.forgetTimers();
  }

  private enter(state: GroupState): void {
    this.state = state;
    this.stateTimestamp = Date.now();
  }

  /** A group as its last metadata record left it: Stable with its members, or Empty. */
  static restore(groupId: string, value: GroupValue): ClassicGroup {
    const g = new ClassicGroup(groupId);
    g.protocolType = value.protocolType;
    g.generationId = value.generation;
    if (value.members.length > 0 && value.protocol !== null) {
      g.protocolName = value.protocol;
      for (const mv of value.members) {
        const m = new ClassicMember(mv.memberId, mv.groupInstanceId, mv.clientId, mv.clientHost, mv.rebalanceTimeoutMs,
          mv.sessionTimeoutMs, value.protocolType ?? '', [{ name: value.protocol, metadata: mv.subscription }]);
        m.assignment = mv.assignment;
        g.addMember(m);
      }
      if (value.leader !== null && g.members.has(value.leader)) g.leaderId = value.leader;
      g.subscribedTopics = g.computeSubscribedTopics();
      g.state = 'Stable';
    }
    g.stateTimestamp = value.stateTimestamp;
    return g;
  }

  /**
   * Starts a join phase (from Empty, Stable or CompletingRebalance); returns whether the group was
   * Empty, in which case the initial rebalance delay (`initialDelayMs`) applies first.
   */
  startRebalance(initialDelayMs: number): boolean {
    assert(this.state === 'Empty' || this.state === 'Stable' || this.state === 'CompletingRebalance',
      `group ${this.groupId} cannot rebalance from ${this.state}`);
    this.pendingSync.clear();
    const fromEmpty = this.state === 'Empty';
    this.enter('PreparingRebalance');
    if (fromEmpty) {
      this.newMemberAdded = false;
      this.initialDelay = { remainingMs: Math.max(this.rebalanceTimeoutMs() - initialDelayMs, 0) };
    } else {
      this.initialDelay = null;
    }
    return fromEmpty;
  }

  /**
   * The initial delay ran out after `elapsedMs`: if new members came meanwhile, the next delay to
   * wait (Kafka's InitialDelayedJoin, bounded by the rebalance timeout); else null, the delay is over.
   */
  initialDelayExpired(initialDelayMs: number, elapsedMs: number): number | null {
    const st = this.initialDelay;
    assert(st !== null && this.state === 'PreparingRebalance', `group ${this.groupId} has no initial delay running`);
    if (this.newMemberAdded && st.remainingMs !== 0) {
      this.newMemberAdded = false;
      const delay = Math.min(initialDelayMs, st.remainingMs);
      st.remainingMs = Math.max(st.remainingMs - elapsedMs, 0);
      return delay;
    }
    this.initialDelay = null;
    return null;
  }

  endInitialDelay(): void {
    this.initialDelay = null;
  }

  /** The leader's assignment is stored: every member gets its part, the group is Stable. */
  completeRebalance(assignment: Map<string, Buffer>): void {
    assert(this.state === 'CompletingRebalance', `group ${this.groupId} cannot complete a rebalance in ${this.state}`);
    for (const m of this.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
    this.enter('Stable');
  }

  /** Assignments are void (the rebalance failed or starts over). */
  clearAssignments(): void {
    for (const m of this.members.values()) m.assignment = EMPTY_BYTES;
  }

  /** Leader's assignment for `generation` is being written (a repeated leader SyncGroup must not write again). */
  startStoringAssignment(generation: number): void {
    assert(generation === this.generationId && this.storingGeneration !== generation, `group ${this.groupId} stores generation ${generation} twice`);
    this.storingGeneration = generation;
  }

  assignmentWriteEnded(): void {
    this.storingGeneration = -1;
  }

  /** The member sent its SyncGroup for this generation. */
  markSynced(memberId: string): void {
    this.pendingSync.delete(memberId);
  }

  /** Members that did not send SyncGroup in time were removed: nobody is awaited any more. */
  clearPendingSync(): void {
    this.pendingSync.clear();
  }

  /** A new member id handed out with MEMBER_ID_REQUIRED; `onExpired` runs after `ms` if it never joins. */
  addPendingMember(timers: Timers, memberId: string, ms: number, onExpired: () => void): void {
    assert(!this.members.has(memberId) && !this.pendingMembers.has(memberId), `group ${this.groupId}: member id ${memberId} handed out twice`);
    this.pendingMembers.set(memberId, timers.schedule(ms, onExpired));
  }

  /** Forgets a pending member id and its expiry timer. */
  removePendingMember(timers: Timers, memberId: string): void {
    timers.cancel(this.pendingMembers.get(memberId));
    this.pendingMembers.delete(memberId);
  }

  /** Whether this Empty group may become a consumer group: nobody joined, nobody holds a member id. */
  isUnused(): boolean {
    return this.state === 'Empty' && this.members.size === 0 && this.pendingMembers.size === 0;
  }

  /** Deletion: only an Empty group dies; returns the timers of pending member ids to cancel. */
  markDead(timers: Timers): void {
    assert(this.state === 'Empty', `group ${this.groupId} cannot be deleted in ${this.state}`);
    this.enter('Dead');
    for (const expiry of this.pendingMembers.values()) timers.cancel(expiry);
    this.pendingMembers.clear();
    this.cancelPhaseTimers(timers);
  }

  /** Writing the deletion failed: the group is Empty again (its state timestamp stays that of the deletion). */
  undoDead(): void {
    assert(this.state === 'Dead', `group ${this.groupId} was not deleted`);
    this.state = 'Empty';
  }

  has(memberId: string): boolean {
    return this.members.has(memberId);
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** A static member presenting a member id that is not the one the coordinator knows for its instance. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false;
    const current = this.staticMembers.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /** Largest rebalance timeout among members (the join phase waits this long). */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  allMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (!m.awaitingJoin) return false;
    return true;
  }

  /** Protocols every member supports. */
  candidateProtocols(): Set<string> {
    const counts = new Map<string, number>();
    for (const m of this.members.values()) {
      for (const name of new Set(m.protocols.map((p) => p.name))) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const out = new Set<string>();
    for (const [name, n] of counts) if (n === this.members.size) out.add(name);
    return out;
  }

  /**
   * Whether a member with these protocols may join: an Empty group takes any non-empty protocol type
   * and protocol list; otherwise the type must match and one protocol must be supported by everyone
   * (trivially true while a rebalancing group has no members left).
   */
  supportsProtocols(protocolType: string, protocols: ProtocolEntry[]): boolean {
    if (this.state === 'Empty') return protocolType !== '' && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    if (this.members.size === 0) return protocols.length > 0;
    const candidates = this.candidateProtocols();
    return protocols.some((p) => candidates.has(p.name));
  }

  /**
   * Each member votes for its most preferred protocol among those all support; most votes wins,
   * ties go to the protocol listed first by the first member.
   */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const v = m.vote(candidates);
      if (v !== undefined) votes.set(v, (votes.get(v) ?? 0) + 1);
    }
    const first = this.members.values().next().value as ClassicMember | undefined;
    const order = first ? first.protocols.map((p) => p.name) : [...votes.keys()];
    let best: string | undefined;
    let bestVotes = -1;
    for (const name of order) {
      const n = votes.get(name) ?? 0;
      if (votes.has(name) && n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    if (best === undefined) throw new Error(`assertion: group ${this.groupId} has no protocol in common`);
    return best;
  }

  /** Keeps the leader if it rejoined, else hands leadership to any member that did. */
  electJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    if (this.members.get(this.leaderId)?.awaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.awaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  /** A member joining for the first time: it must get through a join phase (NEW_MEMBER_JOIN_TIMEOUT_MS). */
  addNewMember(timers: Timers, member: ClassicMember): void {
    member.isNew = true;
    if (this.state === 'PreparingRebalance' && this.generationId === 0) this.newMemberAdded = true;
    this.removePendingMember(timers, member.memberId);
    this.addMember(member);
  }

  /** Adds a member; the first member fixes the protocol type and the first leaderless one leads. */
  addMember(member: ClassicMember): void {
    assert(!this.members.has(member.memberId), `group ${this.groupId} already has member ${member.memberId}`);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
  }

  /** Removes a member from the maps (no callbacks, no timers: see ClassicProtocol.removeMember). */
  removeMember(memberId: string): ClassicMember | undefined {
    const m = this.members.get(memberId);
    if (m) {
      this.members.delete(memberId);
      if (m.groupInstanceId !== null && this.staticMembers.get(m.groupInstanceId) === memberId) {
        this.staticMembers.delete(m.groupInstanceId);
      }
    }
    if (this.leaderId === memberId) {
      const next = this.members.keys().next();
      this.leaderId = next.done ? null : next.value;
    }
    this.pendingSync.delete(memberId);
    return m;
  }

  /** Moves a static member to a new member id (it keeps its assignment and place as leader). */
  replaceStaticMember(member: ClassicMember, newMemberId: string): void {
    const oldId = member.memberId;
    this.members.delete(oldId);
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.leaderId === oldId) this.leaderId = newMemberId;
    if (this.pendingSync.delete(oldId)) this.pendingSync.add(newMemberId);
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, newMemberId);
  }

  /**
   * Ends the join phase with the next generation: CompletingRebalance, every member awaited in
   * SyncGroup and none new any more; or Empty when nobody is left.
   */
  initNextGeneration(): void {
    assert(this.state === 'PreparingRebalance', `group ${this.groupId} ends a join phase in ${this.state}`);
    this.generationId += 1;
    this.pendingSync.clear();
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.enter('CompletingRebalance');
      for (const m of this.members.values()) {
        m.isNew = false;
        this.pendingSync.add(m.memberId);
      }
    } else {
      this.protocolName = null;
      this.subscribedTopics = null;
      this.enter('Empty');
    }
  }

  /** Topics named in the members' consumer-protocol subscriptions, or null if any cannot be read. */
  computeSubscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const t = decodeSubscriptionTopics(m.metadata(this.protocolName));
      if (t === null) return null;
      for (const name of t) topics.add(name);
    }
    return topics;
  }

  /** The member list the leader receives in its JoinGroup response. */
  currentMemberMetadata(): JoinGroupResult['members'] {
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      metadata: m.metadata(this.protocolName),
    }));
  }
}

/**
 * The topic list of a consumer-protocol Subscription (any version: int16 version, then the topics
 * as an int32-counted array of int16-length strings). Null when the bytes do not parse.
 */
export function decodeSubscriptionTopics(bytes: Buffer): string[] | null {
  try {
    if (bytes.length < 6) return null;
    const version = bytes.readInt16BE(0);
    if (version < 0) return null;
    const count = bytes.readInt32BE(2);
    if (count < 0 || count > bytes.length) return null;
    let at = 6;
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const len = bytes.readInt16BE(at);
      at += 2;
      if (len < 0 || at + len > bytes.length) return null;
      out.push(bytes.toString('utf8', at, at + len));
      at += len;
    }
    return out;
  } catch {
    return null;
  }
}
