// What `__consumer_offsets` holds for one group id, whichever protocol the group speaks: its
// committed offsets and its last group metadata record. Both belong to the id, not to the group
// object: a group that switches protocol (classic ⇄ consumer, invariant 14) is a new object, and
// these stay. Pure state; the writes that change it are offsets.ts's and classic-protocol.ts's.
import type { GroupValue, OffsetValue } from './offsets-store.js';

/** One committed offset, as OffsetFetch reports it. */
export interface CommittedOffset {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Offset in the internal log of the record that set it (orders concurrent writes). */
  logOffset: number;
}

const partitionKey = (topic: string, partition: number) => `${topic}\0${partition}`;

export class GroupOffsets {
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>();
  /** "topic\0partition" → number of commits to it whose append has not completed. */
  readonly pendingCommits = new Map<string, number>();
  /**
   * "topic\0partition" → log offset of a deletion applied while commits to that partition were in
   * flight: a commit written before the deletion must not resurrect the offset when it completes.
   */
  readonly tombstones = new Map<string, number>();
  /** Log offset of the last group metadata record written for this id, -1 if none. */
  persistedAt = -1;
  /** The last group metadata value written (kept for log compaction); null when none. */
  persisted: GroupValue | null = null;
  /** The group was deleted (its tombstones are being written): late commits must not land. */
  private deleted = false;
  /** Commits that completed while the deletion was being written, re-applied if it fails. */
  private heldWhileDeleting: { topic: string; partition: number; value: OffsetValue | null; logOffset: number }[] = [];

  constructor(readonly groupId: string) {}

  offset(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition);
  }

  offsetCount(): number {
    let n = 0;
    for (const parts of this.offsets.values()) n += parts.size;
    return n;
  }

  /** Nothing committed, nothing in flight, no metadata record: the id leaves no trace. */
  isBlank(): boolean {
    return this.offsets.size === 0 && this.pendingCommits.size === 0 && this.persistedAt < 0;
  }

  hasPendingCommit(topic: string, partition: number): boolean {
    return (this.pendingCommits.get(partitionKey(topic, partition)) ?? 0) > 0;
  }

  /** Offsets read back from the log on start. */
  restoreOffsets(topic: string, partitions: Map<number, CommittedOffset>): void {
    this.offsets.set(topic, partitions);
  }

  /** Commits to these partitions are being written. */
  startCommits(partitions: { topic: string; partition: number }[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      this.pendingCommits.set(key, (this.pendingCommits.get(key) ?? 0) + 1);
    }
  }

  /** Those writes ended (either way); a partition with none left in flight needs no tombstone any more. */
  endCommits(partitions: { topic: string; partition: number }[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const n = (this.pendingCommits.get(key) ?? 1) - 1;
      if (n > 0) this.pendingCommits.set(key, n);
      else {
        this.pendingCommits.delete(key);
        this.tombstones.delete(key);
      }
    }
  }

  /** Every partition with a committed offset or a commit in flight: what a deletion must tombstone. */
  partitionsToTombstone(): { topic: string; partition: number }[] {
    const out = new Map<string, { topic: string; partition: number }>();
    for (const [topic, parts] of this.offsets) for (const partition of parts.keys()) out.set(partitionKey(topic, partition), { topic, partition });
    for (const key of this.pendingCommits.keys()) {
      const cut = key.lastIndexOf('\0');
      out.set(key, { topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)) });
    }
    return [...out.values()];
  }

  /** Applies a durable offset record (value null = delete) unless a later record already did. */
  applyOffset(topic: string, partition: number, value: OffsetValue | null, logOffset: number): void {
    if (this.deleted) {
      // The deletion's tombstones follow this record in the log; keep it in case they fail.
      this.heldWhileDeleting.push({ topic, partition, value, logOffset });
      return;
    }
    const key = partitionKey(topic, partition);
    const current = this.offset(topic, partition);
    if (current && current.logOffset > logOffset) return;
    const deletedAt = this.tombstones.get(key);
    if (deletedAt !== undefined && deletedAt > logOffset) return;
    if (value === null) {
      const parts = this.offsets.get(topic);
      parts?.delete(partition);
      if (parts && parts.size === 0) this.offsets.delete(topic);
      if (this.hasPendingCommit(topic, partition)) this.tombstones.set(key, logOffset);
    } else {
      let parts = this.offsets.get(topic);
      if (!parts) this.offsets.set(topic, (parts = new Map()));
      parts.set(partition, { ...value, logOffset });
      this.tombstones.delete(key);
    }
  }

  /** The group metadata record was written at `logOffset` (an older write completing late changes nothing). */
  markPersisted(logOffset: number, value: GroupValue): void {
    if (logOffset > this.persistedAt) {
      this.persistedAt = logOffset;
      this.persisted = value;
    }
  }

  /** The group is being deleted: commits completing from now on are dropped. */
  markDeleted(): void {
    this.deleted = true;
    this.heldWhileDeleting = [];
  }

  /** Writing the deletion failed: the offsets are the group's again, with commits that landed meanwhile. */
  undoDeleted(): void {
    this.deleted = false;
    const held = this.heldWhileDeleting;
    this.heldWhileDeleting = [];
    for (const h of held) this.applyOffset(h.topic, h.partition, h.value, h.logOffset);
  }
}
