// Cluster mode on PostgreSQL (docs/cluster.md): the membership rows and the leader plan.
//
//   fjord_brokers (node_id, incarnation, listeners, rack, expires_at)
//
// A broker registers its node id with a lease (expires_at = the database's now() + lease) and
// renews it by heartbeat; a row whose lease ran out is a broker that is gone (the rebalance deletes
// it). Time is always the database's clock, so brokers' clocks need not agree.
//
// `planLeaders` decides who leads what: pure, so it is tested on its own. Each topic is spread
// evenly over the live brokers (⌊P/n⌋ or ⌈P/n⌉ each; the ⌈⌉ shares go to brokers that already
// hold that many, then to the least loaded overall); a partition keeps its leader when that broker
// is live and within its share, so a join or a death moves as few partitions as it can. Internal
// logs (group offsets, transaction state, credentials, ACLs, quotas) move as one unit: the group
// and transaction coordinators run on the broker that leads them all.

/** A live member as the rows say. */
export interface BrokerRow {
  nodeId: number;
  listeners: readonly { readonly name: string; readonly host: string; readonly port: number }[];
  rack: string | null;
}

export interface PlanPartition {
  id: number;
  /** The topic; internal logs all share one group so they stay together. */
  topic: string;
  internal: boolean;
  leader: number | null;
}

/** The partitions whose leader must change, with their new leader (live nodes only). */
export function planLeaders(parts: readonly PlanPartition[], live: readonly number[]): Map<number, number> {
  const changes = new Map<number, number>();
  if (live.length === 0) return changes;
  const alive = new Set(live);
  const byTopic = new Map<string, PlanPartition[]>();
  const internal: PlanPartition[] = [];
  for (const p of parts) {
    if (p.internal) {
      internal.push(p);
      continue;
    }
    const list = byTopic.get(p.topic) ?? [];
    list.push(p);
    byTopic.set(p.topic, list);
  }
  // Planned load, recomputed topic by topic (it starts as the current load of live holders).
  const planned = new Map<number, number>(live.map((n) => [n, 0]));
  for (const [, list] of [...byTopic].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const held = new Map<number, number>(live.map((n) => [n, 0]));
    for (const p of list) if (p.leader !== null && alive.has(p.leader)) held.set(p.leader, (held.get(p.leader) ?? 0) + 1);
    const base = Math.floor(list.length / live.length);
    let extra = list.length % live.length;
    const order = [...live].sort((a, b) => (held.get(b)! - held.get(a)!) || (planned.get(a)! - planned.get(b)!) || (a - b));
    const share = new Map<number, number>();
    for (const n of order) share.set(n, base + (extra-- > 0 ? 1 : 0));
    const kept = new Map<number, number>(live.map((n) => [n, 0]));
    const orphans: PlanPartition[] = [];
    for (const p of [...list].sort((a, b) => a.id - b.id)) {
      if (p.leader !== null && alive.has(p.leader) && kept.get(p.leader)! < share.get(p.leader)!) kept.set(p.leader, kept.get(p.leader)! + 1);
      else orphans.push(p);
    }
    for (const p of orphans) {
      const to = [...live].filter((n) => kept.get(n)! < share.get(n)!)
        .sort((a, b) => (kept.get(a)! - kept.get(b)!) || (planned.get(a)! - planned.get(b)!) || (a - b))[0];
      kept.set(to, kept.get(to)! + 1);
      changes.set(p.id, to);
    }
    for (const n of live) planned.set(n, planned.get(n)! + kept.get(n)!);
  }
  if (internal.length > 0) {
    // The unit follows the group offsets log's leader (the first internal row if it has none).
    const anchor = internal.find((p) => p.topic === '__consumer_offsets') ?? internal[0];
    const leader = anchor.leader !== null && alive.has(anchor.leader)
      ? anchor.leader
      : [...live].sort((a, b) => (planned.get(a)! - planned.get(b)!) || (a - b))[0];
    for (const p of internal) if (p.leader !== leader) changes.set(p.id, leader);
  }
  return changes;
}
