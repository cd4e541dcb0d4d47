// Kafka's consumer protocol (the bytes consumers put in JoinGroup metadata and SyncGroup
// assignments, protocol type "consumer") and the built-in partition assigners.
//
// Subscription: version int16 | topics [string] | userData bytes (nullable)
//               | v1+ ownedPartitions [topic string, partitions [int32]] | v2+ generationId int32
//               | v3+ rackId nullable string
// Assignment:   version int16 | [topic string, partitions [int32]] | userData bytes (nullable)
// Later versions only append fields, so a reader stops after what it knows.
//
// Assigners have kafkajs' shape: a factory ({ cluster, groupId, logger }) returning
// { name, version, assign({ members, topics }), protocol({ topics }) }, so kafkajs custom
// assigners work unchanged.
import { Reader, Writer } from '../../protocol/primitives.js';

export interface MemberSubscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions?: { topic: string; partitions: number[] }[];
  generationId?: number;
  rackId?: string | null;
}

export interface MemberAssignmentData {
  version: number;
  assignment: { [topic: string]: number[] };
  userData: Buffer | null;
}

export const MemberMetadata = {
  encode({ version = 0, topics, userData = Buffer.alloc(0), ownedPartitions = [], generationId = -1, rackId = null }: Partial<MemberSubscription> & { topics: string[] }): Buffer {
    const w = new Writer(64);
    w.int16(version).int32(topics.length);
    for (const t of topics) w.string(t);
    w.bytes(userData);
    if (version >= 1) {
      w.int32(ownedPartitions.length);
      for (const o of ownedPartitions) {
        w.string(o.topic).int32(o.partitions.length);
        for (const p of o.partitions) w.int32(p);
      }
    }
    if (version >= 2) w.int32(generationId);
    if (version >= 3) w.string(rackId);
    return Buffer.from(w.finish());
  },
  decode(buffer: Buffer): MemberSubscription {
    const r = new Reader(buffer);
    const version = r.int16();
    const n = r.arrayLength(false);
    const topics: string[] = [];
    for (let i = 0; i < n; i++) topics.push(r.string() ?? '');
    const userData = r.remaining >= 4 ? r.bytes() : null;
    const out: MemberSubscription = { version, topics, userData };
    if (version >= 1 && r.remaining >= 4) {
      const m = r.arrayLength(false);
      out.ownedPartitions = [];
      for (let i = 0; i < m; i++) {
        const topic = r.string() ?? '';
        const k = r.arrayLength(false);
        const partitions: number[] = [];
        for (let j = 0; j < k; j++) partitions.push(r.int32());
        out.ownedPartitions.push({ topic, partitions });
      }
    }
    if (version >= 2 && r.remaining >= 4) out.generationId = r.int32();
    if (version >= 3 && r.remaining >= 2) out.rackId = r.string();
    return out;
  },
};

export const MemberAssignment = {
  encode({ version = 0, assignment, userData = Buffer.alloc(0) }: Partial<MemberAssignmentData> & { assignment: MemberAssignmentData['assignment'] }): Buffer {
    const w = new Writer(64);
    const topics = Object.keys(assignment);
    w.int16(version).int32(topics.length);
    for (const t of topics) {
      w.string(t).int32(assignment[t].length);
      for (const p of assignment[t]) w.int32(p);
    }
    w.bytes(userData);
    return Buffer.from(w.finish());
  },
  /** null for an empty buffer (a member that got nothing). */
  decode(buffer: Buffer | null): MemberAssignmentData | null {
    if (!buffer || buffer.length < 2) return null;
    const r = new Reader(buffer);
    const version = r.int16();
    const assignment: MemberAssignmentData['assignment'] = {};
    const n = r.arrayLength(false);
    for (let i = 0; i < n; i++) {
      const topic = r.string() ?? '';
      const k = r.arrayLength(false);
      const partitions: number[] = [];
      for (let j = 0; j < k; j++) partitions.push(r.int32());
      assignment[topic] = partitions;
    }
    const userData = r.remaining >= 4 ? r.bytes() : null;
    return { version, assignment, userData };
  },
};

export const AssignerProtocol = { MemberMetadata, MemberAssignment };

// --- assigners --------------------------------------------------------------------------------

export interface AssignerCluster {
  /** Partition metadata of a topic the group subscribes to (kafkajs' cluster method). */
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
}

export interface GroupMember {
  memberId: string;
  memberMetadata: Buffer;
}

export interface GroupMemberAssignment {
  memberId: string;
  memberAssignment: Buffer;
}

export interface Assigner {
  name: string;
  version: number;
  assign(group: { members: GroupMember[]; topics: string[]; userData?: Buffer }): Promise<GroupMemberAssignment[]>;
  /**
   * The JoinGroup metadata. Fjord passes what the member owned in the previous generation too
   * (kafkajs-style assigners ignore it).
   */
  protocol(subscription: { topics: string[]; ownedPartitions?: { topic: string; partitions: number[] }[]; generationId?: number }): { name: string; metadata: Buffer };
  /** Cooperative assigners: a member that loses partitions must join again (see cooperativeSticky). */
  cooperative?: boolean;
}

export type PartitionAssigner = (config: { cluster: AssignerCluster; groupId: string; logger?: unknown }) => Assigner;

/** Subscribed topics of each member, from their metadata (members sorted by id). */
function subscriptions(members: GroupMember[]): { memberId: string; topics: Set<string> }[] {
  return [...members]
    .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
    .map((m) => {
      let topics: string[] = [];
      try {
        topics = MemberMetadata.decode(m.memberMetadata).topics;
      } catch {
        // unreadable metadata: the member gets nothing
      }
      return { memberId: m.memberId, topics: new Set(topics) };
    });
}

function finish(version: number, plan: Map<string, { [topic: string]: number[] }>): GroupMemberAssignment[] {
  return [...plan].map(([memberId, assignment]) => ({ memberId, memberAssignment: MemberAssignment.encode({ version, assignment }) }));
}

/**
 * Round robin over every (topic, partition) in topic order, skipping members that do not
 * subscribe to the topic. Named like kafkajs' so mixed kafkajs/Fjord groups agree.
 */
export const roundRobin: PartitionAssigner = ({ cluster }) => ({
  name: 'RoundRobinAssigner',
  version: 0,
  async assign({ members, topics }) {
    const subs = subscriptions(members);
    const plan = new Map(subs.map((s) => [s.memberId, {} as { [topic: string]: number[] }]));
    let next = 0;
    for (const topic of [...topics].sort()) {
      const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b);
      for (const p of partitions) {
        // The rotation continues across topics, skipping members not subscribed to this one.
        for (let k = 0; k < subs.length; k++) {
          const candidate = subs[(next + k) % subs.length];
          if (!candidate.topics.has(topic)) continue;
          (plan.get(candidate.memberId)![topic] ??= []).push(p);
          next = (next + k + 1) % subs.length;
          break;
        }
      }
    }
    return finish(0, plan);
  },
  protocol({ topics }) {
    return { name: 'RoundRobinAssigner', metadata: MemberMetadata.encode({ version: 0, topics }) };
  },
});

/**
 * Kafka's range assignor: per topic, the subscribed members (sorted by id) each get a contiguous
 * range; the first (partitions % members) get one extra. Protocol name "range", as in Java.
 */
export const range: PartitionAssigner = ({ cluster }) => ({
  name: 'range',
  version: 0,
  async assign({ members, topics }) {
    const subs = subscriptions(members);
    const plan = new Map(subs.map((s) => [s.memberId, {} as { [topic: string]: number[] }]));
    for (const topic of [...topics].sort()) {
      const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId).sort((a, b) => a - b);
      const eligible = subs.filter((s) => s.topics.has(topic));
      if (eligible.length === 0) continue;
      const per = Math.floor(partitions.length / eligible.length);
      const extra = partitions.length % eligible.length;
      let at = 0;
      eligible.forEach((s, i) => {
        const n = per + (i < extra ? 1 : 0);
        if (n > 0) plan.get(s.memberId)![topic] = partitions.slice(at, at + n);
        at += n;
      });
    }
    return finish(0, plan);
  },
  protocol({ topics }) {
    return { name: 'range', metadata: MemberMetadata.encode({ version: 0, topics }) };
  },
});

/**
 * Kafka's cooperative-sticky assignor ("cooperative-sticky", the name Java and librdkafka use).
 * Balanced like round robin, but partitions stay with the member that owned them (read from
 * subscription v1's ownedPartitions) as long as the balance allows. Cooperative rule: a partition
 * moving from one live member to another is assigned to nobody in this round; its owner sees it
 * revoked, gives it up and joins again, and the next round hands it over. So no partition is ever
 * owned by two members at once, even with members that keep consuming during a rebalance.
 */
export const cooperativeSticky: PartitionAssigner = ({ cluster }) => ({
  name: 'cooperative-sticky',
  version: 1,
  cooperative: true,
  async assign({ members, topics }) {
    const ids = members.map((m) => m.memberId).sort();
    const subs = new Map<string, Set<string>>();
    const owned = new Map<string, string>(); // "topic\0partition" -> owner
    const claims = new Map<string, number>(); // generation of the owner's claim
    for (const m of members) {
      let sub: MemberSubscription;
      try {
        sub = MemberMetadata.decode(m.memberMetadata);
      } catch {
        sub = { version: 0, topics: [], userData: null };
      }
      subs.set(m.memberId, new Set(sub.topics));
      const generation = sub.generationId ?? -1;
      for (const o of sub.ownedPartitions ?? []) {
        if (!sub.topics.includes(o.topic)) continue;
        for (const p of o.partitions) {
          const key = `${o.topic}\u0000${p}`;
          // Two members claiming one partition: the newer generation's claim wins.
          if (owned.has(key) && (claims.get(key) ?? -1) >= generation) continue;
          owned.set(key, m.memberId);
          claims.set(key, generation);
        }
      }
    }
    const all: string[] = [];
    for (const topic of [...topics].sort()) {
      for (const p of cluster.findTopicPartitionMetadata(topic).map((x) => x.partitionId).sort((a, b) => a - b)) all.push(`${topic}\u0000${p}`);
    }
    const eligible = (member: string, key: string) => subs.get(member)!.has(key.slice(0, key.indexOf('\u0000')));
    const target = new Map(ids.map((id) => [id, [] as string[]]));
    // 1. Keep what members own, up to a fair share (the balancing below moves the rest).
    const share = Math.ceil(all.length / Math.max(ids.length, 1));
    const free: string[] = [];
    for (const key of all) {
      const owner = owned.get(key);
      if (owner && target.has(owner) && eligible(owner, key) && target.get(owner)!.length < share) target.get(owner)!.push(key);
      else free.push(key);
    }
    // 2. Free partitions to the eligible member with the fewest.
    for (const key of free) {
      let best: string | null = null;
      for (const id of ids) {
        if (!eligible(id, key)) continue;
        if (best === null || target.get(id)!.length < target.get(best)!.length) best = id;
      }
      if (best) target.get(best)!.push(key);
    }
    // 3. Even out: move from the fullest to the emptiest while they differ by more than one.
    for (let guard = 0; guard < all.length * ids.length; guard++) {
      let moved = false;
      const byCount = [...ids].sort((a, b) => target.get(b)!.length - target.get(a)!.length || (a < b ? -1 : 1));
      outer: for (const rich of byCount) {
        for (const poor of [...byCount].reverse()) {
          if (target.get(rich)!.length - target.get(poor)!.length <= 1) continue;
          // Prefer giving away a partition the rich member did not own before.
          const list = target.get(rich)!;
          const candidates = list.filter((k) => eligible(poor, k));
          if (candidates.length === 0) continue;
          const pick = candidates.find((k) => owned.get(k) !== rich) ?? candidates[candidates.length - 1];
          list.splice(list.indexOf(pick), 1);
          target.get(poor)!.push(pick);
          moved = true;
          break outer;
        }
      }
      if (!moved) break;
    }
    // 4. Cooperative rule: nothing moves directly from one live owner to another.
    const plan = new Map(ids.map((id) => [id, {} as { [topic: string]: number[] }]));
    for (const [id, keys] of target) {
      for (const key of keys) {
        const owner = owned.get(key);
        if (owner && owner !== id && target.has(owner)) continue;
        const at = key.indexOf('\u0000');
        const a = plan.get(id)!;
        (a[key.slice(0, at)] ??= []).push(Number(key.slice(at + 1)));
      }
    }
    return finish(0, plan);
  },
  protocol({ topics, ownedPartitions = [], generationId = -1 }) {
    return { name: 'cooperative-sticky', metadata: MemberMetadata.encode({ version: 2, topics, ownedPartitions, generationId }) };
  },
});

export const PartitionAssigners = { roundRobin, range, cooperativeSticky };
