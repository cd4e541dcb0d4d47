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
  protocol(subscription: { topics: string[] }): { name: string; metadata: Buffer };
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

export const PartitionAssigners = { roundRobin, range };
