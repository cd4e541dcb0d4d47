// The KIP-848 consumer group ("consumer" protocol: ConsumerGroupHeartbeat / ConsumerGroupDescribe):
// state, server-side assignors and the per-member reconciliation. Pure data and functions: every
// change of epochs, members or assignments is a ConsumerGroup / ConsumerMember method; the protocol
// (consumer-protocol.ts) drives them and answers the requests. A member holds its own timers
// (armSessionTimer, armRevocationTimer), armed through the coordinator's Timers.
//
// Epochs. The group epoch is bumped whenever the inputs of the assignment change (a member joins,
// leaves or changes its subscription or assignor; a subscribed topic appears, disappears or grows).
// The target assignment is then recomputed and stamped with that epoch (the assignment epoch).
// Each member moves towards its target on its own heartbeats:
//   - partitions it holds that are no longer in its target are first revoked: the member stays at
//     its epoch, is told its shrunk assignment, and must report (in a later heartbeat's owned
//     partitions) that it let them go — "unrevoked_partitions";
//   - then it advances to the assignment epoch and gets the target partitions that nobody else
//     holds any more; partitions still held by another member (assigned or pending revocation)
//     come later, on a later heartbeat — "unreleased_partitions";
//   - with everything reconciled it is "stable".
// So a partition is given to a new owner only after the previous owner acknowledged its revocation.

import type { ClassicGroup, Timers } from './classic-group.js';

export type MemberState = 'stable' | 'unrevoked_partitions' | 'unreleased_partitions';

/** States an invariant; a failure is a bug in the coordinator, never a client's doing. */
function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`assertion: ${message}`);
}

/** What a ConsumerGroupHeartbeat tells about its member; null (and -1 for the timeout) = unchanged. */
export interface MemberUpdate {
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  subscribedTopicNames: string[] | null;
  /** "" clears the regex. */
  subscribedTopicRegex: string | null;
  clientId: string;
  clientHost: string;
}

/** topic name → partitions. */
export type TopicPartitions = Map<string, Set<number>>;

export interface TopicInfo {
  name: string;
  topicId: string;
  partitionCount: number;
}

export const CONSUMER_ASSIGNORS = ['uniform', 'range'] as const;
export type AssignorName = (typeof CONSUMER_ASSIGNORS)[number];

/** ConsumerGroupHeartbeat member epochs with a special meaning. */
export const JOIN_EPOCH = 0;
export const LEAVE_EPOCH = -1;
export const LEAVE_STATIC_EPOCH = -2;

export class ConsumerMember {
  memberEpoch = 0;
  previousMemberEpoch = -1;
  state: MemberState = 'stable';
  assigned: TopicPartitions = new Map();
  pendingRevocation: TopicPartitions = new Map();
  instanceId: string | null = null;
  rackId: string | null = null;
  clientId = '';
  clientHost = '';
  rebalanceTimeoutMs = 300000;
  subscribedTopicNames: string[] = [];
  subscribedTopicRegex: string | null = null;
  serverAssignor: string | null = null;
  /** Removes the member unless a heartbeat restarts it (group.consumer.session.timeout.ms). */
  private sessionTimer: NodeJS.Timeout | null = null;
  /** Running while the member has partitions to revoke (its rebalance timeout); the epoch it was started at. */
  private revocationTimer: NodeJS.Timeout | null = null;
  private revocationEpoch = -1;

  constructor(public memberId: string) {}

  /** Takes in what a heartbeat carries; returns whether the assignment's inputs (subscription, assignor) changed. */
  update(u: MemberUpdate): boolean {
    const before = { names: this.subscribedTopicNames.join('\0'), regex: this.subscribedTopicRegex, assignor: this.serverAssignor };
    if (u.instanceId !== null) this.instanceId = u.instanceId;
    if (u.rackId !== null) this.rackId = u.rackId;
    if (u.rebalanceTimeoutMs !== -1) this.rebalanceTimeoutMs = u.rebalanceTimeoutMs;
    if (u.serverAssignor !== null) this.serverAssignor = u.serverAssignor;
    if (u.subscribedTopicNames !== null) this.subscribedTopicNames = [...new Set(u.subscribedTopicNames)].sort();
    if (u.subscribedTopicRegex !== null) this.subscribedTopicRegex = u.subscribedTopicRegex === '' ? null : u.subscribedTopicRegex;
    this.clientId = u.clientId;
    this.clientHost = u.clientHost;
    return before.names !== this.subscribedTopicNames.join('\0') || before.regex !== this.subscribedTopicRegex || before.assignor !== this.serverAssignor;
  }

  /** (Re)starts the session: `onExpired` runs after `ms` unless restarted or cancelled first. */
  armSessionTimer(timers: Timers, ms: number, onExpired: () => void): void {
    timers.cancel(this.sessionTimer);
    this.sessionTimer = timers.schedule(ms, () => {
      this.sessionTimer = null;
      onExpired();
    });
  }

  /**
   * A member with partitions to revoke gets its rebalance timeout to do so from the epoch it was
   * told at (a running timer for that epoch keeps running); `onExpired` runs if it has not revoked
   * them by then. Without partitions to revoke nothing runs.
   */
  armRevocationTimer(timers: Timers, onExpired: () => void): void {
    if (this.state !== 'unrevoked_partitions') {
      this.revocationTimer = timers.cancel(this.revocationTimer);
      this.revocationEpoch = -1;
      return;
    }
    if (this.revocationTimer && this.revocationEpoch === this.memberEpoch) return;
    timers.cancel(this.revocationTimer);
    this.revocationEpoch = this.memberEpoch;
    this.revocationTimer = timers.schedule(this.rebalanceTimeoutMs, () => {
      this.revocationTimer = null;
      if (this.state === 'unrevoked_partitions' && this.memberEpoch === this.revocationEpoch) onExpired();
    });
  }

  /** The member leaves the group (or is replaced): its timers stop. */
  cancelTimers(timers: Timers): void {
    this.sessionTimer = timers.cancel(this.sessionTimer);
    this.revocationTimer = timers.cancel(this.revocationTimer);
  }

  /** A static member leaving for a moment (epoch -2): it keeps its partitions, and the epoch to come back at. */
  leaveTemporarily(): void {
    if (this.memberEpoch !== LEAVE_STATIC_EPOCH) this.previousMemberEpoch = this.memberEpoch;
    this.memberEpoch = LEAVE_STATIC_EPOCH;
  }
}

export type ConsumerGroupStateName = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable';

export class ConsumerGroup {
  /** Discriminates the `Group` union (ListGroups v5 groupType). */
  readonly type = 'consumer';
  /** When the group last became Empty or non-empty (ms): offset retention counts from it. */
  stateTimestamp: number;
  /** Epochs, members and targets change only through the methods below (assignmentEpoch ≤ groupEpoch). */
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ConsumerMember>();
  /** instance id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** member id → target assignment (as of assignmentEpoch). */
  readonly target = new Map<string, TopicPartitions>();
  /** "topic\0partition" → id of the member that holds it (assigned or pending revocation). */
  readonly owners = new Map<string, string>();
  /** The subscribed topics' partition counts the current target was computed from (JSON, for change detection). */
  subscriptionMetadata = '{}';

  /**
   * `classicGenerationId`: the generation a classic group of this id had reached (0 if none); it is
   * not used here, only handed back if the group becomes classic again (ClassicGroup.afterConsumerGroup).
   * `emptySince`: when the group id became Empty (an Empty classic group keeps its timestamp).
   */
  constructor(readonly groupId: string, readonly classicGenerationId = 0, emptySince = Date.now()) {
    this.stateTimestamp = emptySince;
  }

  /** The consumer group that takes the place of an unused classic group of this id (or of none). */
  static replacing(groupId: string, classic: ClassicGroup | undefined): ConsumerGroup {
    if (!classic) return new ConsumerGroup(groupId);
    assert(classic.groupId === groupId && classic.isUnused(), `group ${classic.groupId} is not an empty classic group`);
    return new ConsumerGroup(groupId, classic.generationId, classic.stateTimestamp);
  }

  stateName(): ConsumerGroupStateName {
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) {
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== 'stable') return 'Reconciling';
    }
    return 'Stable';
  }

  /** The assignor named by most members (ties: the order of CONSUMER_ASSIGNORS), else the default. */
  preferredAssignor(): AssignorName {
    const votes = new Map<string, number>();
    for (const m of this.members.values()) if (m.serverAssignor) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let best: AssignorName = CONSUMER_ASSIGNORS[0];
    let bestVotes = 0;
    for (const name of CONSUMER_ASSIGNORS) {
      const n = votes.get(name) ?? 0;
      if (n > bestVotes) {
        best = name;
        bestVotes = n;
      }
    }
    return best;
  }

  /** Adds a member that just joined (it owns nothing yet). */
  addMember(m: ConsumerMember): void {
    assert(!this.members.has(m.memberId), `member ${m.memberId} joined twice`);
    this.members.set(m.memberId, m);
    if (m.instanceId !== null) this.staticMembers.set(m.instanceId, m.memberId);
    if (this.members.size === 1) this.stateTimestamp = Date.now();
  }

  /** A known member rejoining from scratch (epoch 0): it owns nothing now. */
  resetMember(m: ConsumerMember): void {
    assert(this.members.get(m.memberId) === m, `member ${m.memberId} is not in the group`);
    m.assigned = new Map();
    m.pendingRevocation = new Map();
    m.state = 'stable';
    m.previousMemberEpoch = -1;
    m.memberEpoch = 0;
    this.releaseAll(m);
  }

  /** Takes a member out with everything it held or was to get. */
  removeMember(m: ConsumerMember): void {
    assert(this.members.get(m.memberId) === m, `member ${m.memberId} is not in the group`);
    this.releaseAll(m);
    this.members.delete(m.memberId);
    this.target.delete(m.memberId);
    if (m.instanceId !== null && this.staticMembers.get(m.instanceId) === m.memberId) this.staticMembers.delete(m.instanceId);
    if (this.members.size === 0) this.stateTimestamp = Date.now();
  }

  /** A static member came back under a new member id: a new member takes over the old one's place, epoch and partitions. */
  replaceStaticMember(old: ConsumerMember, memberId: string): ConsumerMember {
    assert(this.members.get(old.memberId) === old && old.instanceId !== null,
      `member ${old.memberId} cannot be replaced by ${memberId}`);
    const m = new ConsumerMember(memberId);
    Object.assign(m, {
      memberEpoch: old.previousMemberEpoch >= 0 ? old.previousMemberEpoch : 0, previousMemberEpoch: -1, state: old.state,
      assigned: old.assigned, pendingRevocation: old.pendingRevocation, instanceId: old.instanceId, rackId: old.rackId,
      rebalanceTimeoutMs: old.rebalanceTimeoutMs, subscribedTopicNames: old.subscribedTopicNames,
      subscribedTopicRegex: old.subscribedTopicRegex, serverAssignor: old.serverAssignor,
    });
    this.releaseAll(old);
    this.members.delete(old.memberId);
    this.members.set(memberId, m);
    this.target.set(memberId, this.target.get(old.memberId) ?? new Map());
    this.target.delete(old.memberId);
    this.staticMembers.set(old.instanceId, memberId);
    this.updateOwners(m);
    return m;
  }

  /**
   * Notes the subscribed topics' metadata (name, id, partition count); returns whether it changed
   * since the target assignment was last computed.
   */
  updateSubscriptionMetadata(topics: TopicInfo[]): boolean {
    const metadata = JSON.stringify(topics.map((t) => [t.name, t.topicId, t.partitionCount]));
    if (metadata === this.subscriptionMetadata) return false;
    this.subscriptionMetadata = metadata;
    return true;
  }

  /** The inputs of the assignment changed: a new group epoch, whose target is yet to be computed. */
  bumpGroupEpoch(): void {
    this.groupEpoch += 1;
  }

  /** Computes the target assignment of the current group epoch (when it is behind) with the preferred assignor. */
  updateTargetAssignment(topics: TopicInfo[]): void {
    assert(this.assignmentEpoch <= this.groupEpoch, `assignment epoch ${this.assignmentEpoch} is ahead of group epoch ${this.groupEpoch}`);
    if (this.groupEpoch === this.assignmentEpoch) return;
    const members = [...this.members.values()];
    const target = assign(this.preferredAssignor(), { members, topics, current: this.target });
    this.target.clear();
    for (const m of members) this.target.set(m.memberId, target.get(m.memberId) ?? new Map());
    this.assignmentEpoch = this.groupEpoch;
  }

  /**
   * Moves a member one step towards its target given the partitions it reports it owns (null: not
   * said), and records what it holds now.
   */
  reconcileMember(m: ConsumerMember, owned: TopicPartitions | null): void {
    assert(this.members.get(m.memberId) === m, `member ${m.memberId} is not in the group`);
    reconcile(m, this.assignmentEpoch, this.target.get(m.memberId) ?? new Map(), owned, (t, q) => this.ownerOf(t, q));
    this.updateOwners(m);
  }

  /** Records which partitions `member` holds now (call after its assignment changed). */
  updateOwners(member: ConsumerMember): void {
    this.releaseAll(member);
    for (const tp of [member.assigned, member.pendingRevocation]) {
      for (const [topic, parts] of tp) for (const p of parts) this.owners.set(`${topic}\0${p}`, member.memberId);
    }
  }

  /** Forgets every partition `member` holds. */
  releaseAll(member: ConsumerMember): void {
    for (const [key, owner] of this.owners) if (owner === member.memberId) this.owners.delete(key);
  }

  ownerOf(topic: string, partition: number): string | undefined {
    return this.owners.get(`${topic}\0${partition}`);
  }

  /** Topics the members subscribe to, by name or regex, among `topics`. */
  subscribedTopics(topics: TopicInfo[]): TopicInfo[] {
    const out = new Map<string, TopicInfo>();
    const byName = new Map(topics.map((t) => [t.name, t]));
    for (const m of this.members.values()) {
      for (const name of m.subscribedTopicNames) {
        const t = byName.get(name);
        if (t) out.set(name, t);
      }
      if (m.subscribedTopicRegex !== null) {
        const re = compileRegex(m.subscribedTopicRegex);
        if (re) for (const t of topics) if (re.test(t.name)) out.set(t.name, t);
      }
    }
    return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Kafka matches the whole topic name against the subscribed regex (RE2J; JS syntax here). */
export function compileRegex(source: string): RegExp | null {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return null;
  }
}

/** Whether a member subscribes to a topic (by name or regex). */
export function memberSubscribes(m: ConsumerMember, topic: string): boolean {
  if (m.subscribedTopicNames.includes(topic)) return true;
  if (m.subscribedTopicRegex === null) return false;
  return compileRegex(m.subscribedTopicRegex)?.test(topic) ?? false;
}

export function copyPartitions(tp: TopicPartitions): TopicPartitions {
  return new Map([...tp].map(([t, s]) => [t, new Set(s)]));
}

export function samePartitions(a: TopicPartitions, b: TopicPartitions): boolean {
  const size = (x: TopicPartitions) => [...x.values()].reduce((n, s) => n + s.size, 0);
  if (size(a) !== size(b)) return false;
  for (const [t, s] of a) {
    const o = b.get(t);
    for (const p of s) if (!o?.has(p)) return false;
  }
  return true;
}

function add(tp: TopicPartitions, topic: string, p: number): void {
  let s = tp.get(topic);
  if (!s) tp.set(topic, (s = new Set()));
  s.add(p);
}

// -----------------------------------------------------------------------------------------------
// Assignors. Both take the members (with their subscriptions), the subscribed topics and the
// current target (for stickiness) and return a new target for every member.

export interface AssignorInput {
  members: ConsumerMember[];
  topics: TopicInfo[];
  current: Map<string, TopicPartitions>;
}

/**
 * uniform: every partition goes to a member that subscribes to its topic, partition counts per
 * member differ by at most one among members with the same subscriptions, and partitions stay
 * where they were in the current target whenever that keeps the balance.
 */
export function uniformAssign({ members, topics, current }: AssignorInput): Map<string, TopicPartitions> {
  const ids = members.map((m) => m.memberId).sort();
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const out = new Map<string, TopicPartitions>(ids.map((id) => [id, new Map()]));
  const count = new Map<string, number>(ids.map((id) => [id, 0]));
  const owner = new Map<string, string>();
  const eligible = new Map<string, string[]>(); // topic → member ids subscribing
  for (const t of topics) eligible.set(t.name, ids.filter((id) => memberSubscribes(byId.get(id)!, t.name)));
  const total = (id: string) => count.get(id)!;
  const give = (id: string, topic: string, p: number) => {
    add(out.get(id)!, topic, p);
    count.set(id, total(id) + 1);
    owner.set(`${topic}\0${p}`, id);
  };
  const take = (id: string, topic: string, p: number) => {
    out.get(id)!.get(topic)!.delete(p);
    if (out.get(id)!.get(topic)!.size === 0) out.get(id)!.delete(topic);
    count.set(id, total(id) - 1);
    owner.delete(`${topic}\0${p}`);
  };
  // A fair share for a member: partitions it could take divided among the members competing for them.
  const all: { topic: string; p: number }[] = [];
  for (const t of topics) for (let p = 0; p < t.partitionCount; p++) all.push({ topic: t.name, p });
  const share = new Map<string, number>();
  for (const id of ids) {
    let s = 0;
    for (const t of topics) {
      const e = eligible.get(t.name)!;
      if (e.includes(id)) s += t.partitionCount / e.length;
    }
    share.set(id, Math.ceil(s));
  }
  // 1. Sticky: keep current partitions that are still valid, up to the fair share.
  for (const id of ids) {
    const prev = current.get(id);
    if (!prev) continue;
    const keep: { topic: string; p: number }[] = [];
    for (const [topic, parts] of prev) {
      const t = topics.find((x) => x.name === topic);
      if (!t || !eligible.get(topic)!.includes(id)) continue;
      for (const p of parts) if (p < t.partitionCount) keep.push({ topic, p });
    }
    keep.sort((a, b) => a.topic.localeCompare(b.topic) || a.p - b.p);
    for (const k of keep.slice(0, share.get(id)!)) if (!owner.has(`${k.topic}\0${k.p}`)) give(id, k.topic, k.p);
  }
  // 2. The rest goes to the eligible member with the fewest partitions.
  for (const { topic, p } of all) {
    if (owner.has(`${topic}\0${p}`)) continue;
    const e = eligible.get(topic)!;
    if (e.length === 0) continue;
    const id = e.reduce((best, x) => (total(x) < total(best) ? x : best));
    give(id, topic, p);
  }
  // 3. Even out: move partitions from a member to an eligible one with at least two fewer.
  for (let moved = true, rounds = 0; moved && rounds < all.length + 1; rounds++) {
    moved = false;
    for (const { topic, p } of all) {
      const from = owner.get(`${topic}\0${p}`);
      if (from === undefined) continue;
      const to = eligible.get(topic)!.reduce((best, x) => (total(x) < total(best) ? x : best));
      if (total(to) + 1 < total(from)) {
        take(from, topic, p);
        give(to, topic, p);
        moved = true;
      }
    }
  }
  return out;
}

/**
 * range: per topic, its subscribers (sorted by member id) get contiguous ranges of partitions,
 * the first (partitions % members) one more — so co-partitioned topics line up.
 */
export function rangeAssign({ members, topics }: AssignorInput): Map<string, TopicPartitions> {
  const ids = members.map((m) => m.memberId).sort();
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const out = new Map<string, TopicPartitions>(ids.map((id) => [id, new Map()]));
  for (const t of topics) {
    const subs = ids.filter((id) => memberSubscribes(byId.get(id)!, t.name));
    if (subs.length === 0) continue;
    const base = Math.floor(t.partitionCount / subs.length);
    const extra = t.partitionCount % subs.length;
    let next = 0;
    subs.forEach((id, i) => {
      const n = base + (i < extra ? 1 : 0);
      for (let k = 0; k < n; k++) add(out.get(id)!, t.name, next++);
    });
  }
  return out;
}

export function assign(name: AssignorName, input: AssignorInput): Map<string, TopicPartitions> {
  return name === 'range' ? rangeAssign(input) : uniformAssign(input);
}

// -----------------------------------------------------------------------------------------------
// Reconciliation of one member towards its target.

/**
 * Moves `m` one step towards `target` (at `assignmentEpoch`), given the partitions it reports it
 * owns (`owned`, null when the heartbeat did not say) and who holds what (`ownerOf`). Mutates `m`.
 */
export function reconcile(
  m: ConsumerMember,
  assignmentEpoch: number,
  target: TopicPartitions,
  owned: TopicPartitions | null,
  ownerOf: (topic: string, p: number) => string | undefined,
): void {
  const stillOwnsAny = (revoking: TopicPartitions) => {
    if (owned === null) return true;
    for (const [topic, parts] of revoking) for (const p of parts) if (owned.get(topic)?.has(p)) return true;
    return false;
  };
  switch (m.state) {
    case 'stable':
      if (m.memberEpoch === assignmentEpoch) return;
      next(m.memberEpoch);
      return;
    case 'unrevoked_partitions':
      if (stillOwnsAny(m.pendingRevocation)) return;
      next(m.memberEpoch + 1);
      return;
    case 'unreleased_partitions':
      next(m.memberEpoch);
      return;
  }

  function setEpoch(epoch: number): void {
    if (epoch !== m.memberEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = epoch;
    }
  }

  function next(epochIfRevoking: number): void {
    const assigned: TopicPartitions = new Map();
    const revoking: TopicPartitions = new Map();
    const toAssign: TopicPartitions = new Map();
    let unreleased = false;
    const topics = new Set([...target.keys(), ...m.assigned.keys()]);
    for (const topic of topics) {
      const want = target.get(topic) ?? new Set<number>();
      const have = m.assigned.get(topic) ?? new Set<number>();
      for (const p of have) {
        if (want.has(p)) add(assigned, topic, p);
        else add(revoking, topic, p);
      }
      for (const p of want) {
        if (have.has(p)) continue;
        const holder = ownerOf(topic, p);
        if (holder !== undefined && holder !== m.memberId) unreleased = true;
        else add(toAssign, topic, p);
      }
    }
    if (revoking.size > 0 && stillOwnsAny(revoking)) {
      m.state = 'unrevoked_partitions';
      setEpoch(epochIfRevoking);
      m.assigned = assigned;
      m.pendingRevocation = revoking;
      return;
    }
    for (const [topic, parts] of toAssign) for (const p of parts) add(assigned, topic, p);
    m.state = unreleased ? 'unreleased_partitions' : 'stable';
    setEpoch(assignmentEpoch);
    m.assigned = assigned;
    m.pendingRevocation = new Map();
  }
}
