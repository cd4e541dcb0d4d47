// Offsets on the commit side: each partition's resolved offset (the next to process) against the
// last one committed, and when to commit: autoCommitInterval / autoCommitThreshold after a batch,
// after a handler error, before rejoining (the consumer's endSession: commit on revoke), and the
// offsets commitOffsets() was given. A consumer without a group commits nothing.
import { ConsumerEvents, type Instrumentation } from '../instrumentation.js';
import type { ClassicGroupMember, OffsetToCommit } from './classic-protocol.js';
import { tpKey, type PartitionState } from './partition-state.js';
import type { RunSettings } from './types.js';

export type AutoCommitSettings = Pick<RunSettings, 'autoCommitInterval' | 'autoCommitThreshold'>;

export class OffsetCommits {
  private lastCommit = Date.now();
  /** Messages processed since the last commit of resolved offsets (what autoCommitThreshold counts). */
  uncommittedMessages = 0;

  constructor(
    private readonly group: ClassicGroupMember,
    private readonly instrumentation: Instrumentation,
    private readonly partitions: ReadonlyMap<string, PartitionState>,
    private readonly groupId: string,
    private readonly standalone: boolean,
  ) {}

  uncommittedOffsets(): { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] } {
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const s of this.partitions.values()) {
      if (s.resolved < 0 || s.resolved === s.committed) continue;
      let list = byTopic.get(s.topic);
      if (!list) byTopic.set(s.topic, (list = []));
      list.push({ partition: s.partition, offset: String(s.resolved) });
    }
    return { topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) };
  }

  /** Commits the resolved offsets when autoCommitInterval or autoCommitThreshold says so (or always, with neither). */
  async commitIfNecessary(settings: AutoCommitSettings): Promise<void> {
    const { autoCommitInterval, autoCommitThreshold } = settings;
    const due = (autoCommitInterval === null && autoCommitThreshold === null)
      || (autoCommitInterval !== null && Date.now() - this.lastCommit >= autoCommitInterval)
      || (autoCommitThreshold !== null && this.uncommittedMessages >= autoCommitThreshold);
    if (due) await this.commitResolved(false);
  }

  /** Commits every partition's resolved offset that is ahead of its committed one. */
  async commitResolved(_final: boolean): Promise<void> {
    if (this.standalone) return;
    const offsets: OffsetToCommit[] = [];
    for (const s of this.partitions.values()) {
      if (s.resolved >= 0 && s.resolved !== s.committed) offsets.push({ topic: s.topic, partition: s.partition, offset: s.resolved });
    }
    this.lastCommit = Date.now();
    if (offsets.length === 0) return;
    this.uncommittedMessages = 0;
    await this.group.commit(offsets);
    for (const o of offsets) {
      const s = this.partitions.get(tpKey(o.topic, o.partition));
      if (s) s.committed = o.offset;
    }
    this.emitCommit(offsets);
  }

  /** Commits exactly these offsets (checked by the caller) and records them as committed. */
  async commitExactly(list: OffsetToCommit[]): Promise<void> {
    await this.group.commit(list);
    for (const o of list) {
      const s = this.partitions.get(tpKey(o.topic, o.partition));
      if (s) s.committed = o.offset;
    }
    this.emitCommit(list);
  }

  private emitCommit(offsets: OffsetToCommit[]): void {
    const byTopic = new Map<string, { partition: string; offset: string }[]>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push({ partition: String(o.partition), offset: String(o.offset) });
    }
    this.instrumentation.emit(ConsumerEvents.COMMIT_OFFSETS, {
      groupId: this.groupId, memberId: this.group.memberId, groupGenerationId: this.group.generationId,
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    });
  }
}
