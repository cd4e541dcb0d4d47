// What handlers know of the cluster: its live brokers, the controller, each partition's leader and
// the coordinators' broker. One node (file and memory engines) is a cluster of itself: it leads
// everything in epoch 0 and coordinates everything. On PostgreSQL (`pg-cluster.ts`, docs/cluster.md)
// the answers come from the database's membership and leadership rows.
import { LEADER_EPOCH } from '../../storage/append.js';

/** A live broker and its advertised address per listener name. */
export interface ClusterMember {
  readonly nodeId: number;
  readonly rack: string | null;
  readonly listeners: readonly { readonly name: string; readonly host: string; readonly port: number }[];
}

export interface ClusterView {
  /** Several brokers may serve this storage (PostgreSQL); false: one node. */
  readonly multiNode: boolean;
  /** This broker's node id. */
  readonly nodeId: number;
  /** Live brokers by node id (this one included). */
  members(): readonly ClusterMember[];
  /** The controller Metadata and DescribeCluster name (PostgreSQL: the broker leading the internal logs, which takes SCRAM/ACL/quota changes). */
  controllerId(): number;
  /** The leader of a partition now (null: none at the moment, e.g. it is moving). */
  leader(topic: string, partition: number): { nodeId: number; epoch: number } | null;
  /** The broker running the group and transaction coordinators (null: none at the moment). */
  coordinatorId(): number | null;
  /** Reads topics other brokers created since the last poll (Metadata asks before answering UNKNOWN_TOPIC). */
  catchUpTopics(): Promise<void>;
  /**
   * Reads topics and leadership now, as a poll does (partitions this broker is now named leader of
   * are loaded before it resolves): Produce asks before refusing a partition it does not know or lead.
   */
  catchUpLeaders(): Promise<void>;
  /** Why this broker cannot reach the state it shares with the others now (what /ready reports), or null. */
  unavailableReason(): string | null;
}

/** Whether this broker leads the partition now (produce, fetch and list-offsets are served only there). */
export function leadsHere(cluster: ClusterView, topic: string, partition: number): boolean {
  return cluster.leader(topic, partition)?.nodeId === cluster.nodeId;
}

/**
 * Why this broker cannot change SCRAM users, ACLs or client quotas now, or null when it can: their
 * internal logs are written only by the broker leading them (the coordinators' broker); the others
 * follow them. The request gets NOT_CONTROLLER with this, naming the broker to send it to.
 */
export function securityWriteProblem(cluster: ClusterView): string | null {
  const owner = cluster.coordinatorId();
  if (owner === cluster.nodeId) return null;
  return owner === null
    ? 'no broker leads the internal logs (SCRAM users, ACLs, quotas) at the moment; retry shortly'
    : `broker ${owner} leads the internal logs that hold SCRAM users, ACLs and quotas: send this change to broker ${owner}`;
}

/** A member's address on the listener `via` (the one the client came in through); null when it has no such listener. */
export function memberAddress(
  cluster: ClusterView, via: { readonly name: string; readonly advertisedHost: string; readonly advertisedPort: number }, member: ClusterMember,
): { host: string; port: number } | null {
  // This broker answers with the address of the very listener the client used (invariant 26).
  if (member.nodeId === cluster.nodeId) return { host: via.advertisedHost, port: via.advertisedPort };
  const l = member.listeners.find((x) => x.name === via.name);
  return l ? { host: l.host, port: l.port } : null;
}

/**
 * Whether another live broker runs the group and transaction coordinators: ListGroups and
 * ListTransactions, which admin clients send to every broker and merge, then answer with an empty
 * list here, as a Kafka broker that coordinates no partition of the internal topics does.
 */
export function coordinatesElsewhere(cluster: ClusterView): boolean {
  const owner = cluster.coordinatorId();
  return cluster.multiNode && owner !== null && owner !== cluster.nodeId;
}

/** Waits for a cluster catch-up, at most `ms` (a slow or absent database: the caller answers from what it knows). */
export async function catchUpWithin(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}

/** One node: itself everywhere. */
export class SingleNode implements ClusterView {
  readonly multiNode = false;
  constructor(private readonly self: () => ClusterMember) {}
  get nodeId(): number {
    return this.self().nodeId;
  }
  members(): readonly ClusterMember[] {
    return [this.self()];
  }
  controllerId(): number {
    return this.nodeId;
  }
  leader(): { nodeId: number; epoch: number } {
    return { nodeId: this.nodeId, epoch: LEADER_EPOCH };
  }
  coordinatorId(): number {
    return this.nodeId;
  }
  catchUpTopics(): Promise<void> {
    return Promise.resolve();
  }
  catchUpLeaders(): Promise<void> {
    return Promise.resolve();
  }

  unavailableReason(): null {
    return null;
  }
}
