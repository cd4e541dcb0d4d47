// The consumer's state of one assigned partition, shared by the fetch loops (which fill its queue),
// the workers (which drain it and resolve offsets) and the commits (resolved vs committed).
import type { KafkaMessage } from '../record-codec.js';

export interface FetchedBatch {
  epoch: number;
  messages: KafkaMessage[];
  highWatermark: number;
  bytes: number;
}

export interface PartitionState {
  topic: string;
  partition: number;
  /** Next offset to fetch. */
  fetchOffset: number;
  /** Next offset to commit (last processed + 1), -1 when nothing was processed. */
  resolved: number;
  /** Where consumption of this assignment started. */
  start: number;
  /** Last offset committed by this consumer, -1 when unknown. */
  committed: number;
  epoch: number;
  queue: FetchedBatch[];
  queuedBytes: number;
  highWatermark: number;
  busy: boolean;
  /** No fetching before this time (after a handler error or a fetch error). */
  notBefore: number;
  failures: number;
  partitionMaxBytes: number;
  /** Set when the partition left the assignment (its state object is then dead). */
  revoked: boolean;
}

export const tpKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** Fetch again from `offset`: a new epoch, so batches queued for the old position are dropped. */
export function rewind(s: PartitionState, offset: number): void {
  s.fetchOffset = offset;
  s.epoch++;
  s.queue = [];
  s.queuedBytes = 0;
}
