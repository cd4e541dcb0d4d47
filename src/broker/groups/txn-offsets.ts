// Offsets committed inside a transaction (TxnOffsetCommit). They are pending per (group, producer
// id) and invisible to OffsetFetch until the transaction commits; OffsetFetch with requireStable
// (v7+) answers UNSTABLE_OFFSET_COMMIT for a partition while any producer has one pending.
//
// Durability is the transaction coordinator's: it keeps the pending offsets in its own record in
// `__transaction_state` (written with sync before TxnOffsetCommit is answered) and hands them back
// here on start (`hold`). At commit it calls `complete`, which writes them as ordinary offset
// records to `__consumer_offsets`; a commit repeated after a crash writes the same values again.
import { ClassicGroup } from './classic-group.js';
import type { LogEntry, OffsetValue } from './offsets-store.js';
import type { GroupRuntime } from './runtime.js';

export interface TxnOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

const partitionKey = (topic: string, partition: number) => `${topic}\0${partition}`;

export class TxnOffsets {
  /** group id → producer id → "topic\0partition" → sequence number when it was accepted. */
  private readonly pending = new Map<string, Map<number, Map<string, number>>>();
  /** group id → "topic\0partition" → sequence number of the latest plain commit made while one was pending. */
  private readonly plainCommits = new Map<string, Map<string, number>>();
  private seq = 0;

  constructor(private readonly rt: GroupRuntime) {}

  /** Marks these offsets as pending for `producerId` in `groupId`. */
  hold(groupId: string, producerId: number, offsets: readonly TxnOffset[]): void {
    let byProducer = this.pending.get(groupId);
    if (!byProducer) this.pending.set(groupId, (byProducer = new Map()));
    let keys = byProducer.get(producerId);
    if (!keys) byProducer.set(producerId, (keys = new Map()));
    for (const o of offsets) keys.set(partitionKey(o.topic, o.partition), ++this.seq);
  }

  /** A plain OffsetCommit was written for this partition: a transactional offset pending for it now loses. */
  notePlainCommit(groupId: string, topic: string, partition: number): void {
    if (!this.isPending(groupId, topic, partition)) return;
    let byKey = this.plainCommits.get(groupId);
    if (!byKey) this.plainCommits.set(groupId, (byKey = new Map()));
    byKey.set(partitionKey(topic, partition), ++this.seq);
  }

  /** The group was deleted: its pending transactional offsets will not be written. */
  forgetGroup(groupId: string): void {
    this.pending.delete(groupId);
    this.plainCommits.delete(groupId);
  }

  /** Some transaction has an offset for this partition pending. */
  isPending(groupId: string, topic: string, partition: number): boolean {
    const byProducer = this.pending.get(groupId);
    if (!byProducer) return false;
    const key = partitionKey(topic, partition);
    for (const keys of byProducer.values()) if (keys.has(key)) return true;
    return false;
  }

  /**
   * The transaction ended: on commit `offsets` are written durably as the group's committed offsets
   * (rejects when the write fails; they stay pending then); either way they stop being pending.
   */
  async complete(groupId: string, producerId: number, commit: boolean, allOffsets: readonly TxnOffset[]): Promise<void> {
    const held = this.pending.get(groupId)?.get(producerId);
    const plain = this.plainCommits.get(groupId);
    // Not held any more: the group was deleted meanwhile. A plain commit made later wins.
    const offsets = held
      ? allOffsets.filter((o) => {
        const key = partitionKey(o.topic, o.partition);
        return (plain?.get(key) ?? 0) < (held.get(key) ?? 0);
      })
      : [];
    if (commit && offsets.length > 0) {
      if (!this.rt.groups.has(groupId)) this.rt.groups.set(groupId, new ClassicGroup(groupId));
      const group = this.rt.offsetsOf(groupId);
      const values: OffsetValue[] = offsets.map((o) => ({ offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: o.commitTimestamp }));
      const entries: LogEntry[] = offsets.map((o, i) => ({ type: 'offset', group: groupId, topic: o.topic, partition: o.partition, value: values[i] }));
      const committing = offsets.map((o) => ({ topic: o.topic, partition: o.partition }));
      group.startCommits(committing);
      try {
        await this.rt.write(entries, (base) => {
          offsets.forEach((o, i) => group.applyOffset(o.topic, o.partition, values[i], base + i));
        });
      } finally {
        group.endCommits(committing);
      }
    }
    const byProducer = this.pending.get(groupId);
    byProducer?.delete(producerId);
    if (byProducer && byProducer.size === 0) {
      this.pending.delete(groupId);
      this.plainCommits.delete(groupId);
    }
  }

  clear(): void {
    this.pending.clear();
    this.plainCommits.clear();
  }
}
