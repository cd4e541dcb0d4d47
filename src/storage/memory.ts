// In-memory storage engine: for tests and embedded use. Same semantics as the file engine,
// nothing survives the process.
import { randomUUID } from 'node:crypto';
import type { BatchHeader, TxnMarker } from '../protocol/records.js';
import { appendMarker, stampBatches } from './append.js';
import { ProducerStateTable } from './producer-state.js';
import { TxnState, txnEventOf, type TxnEvent } from './txn-state.js';
import { StorageError, type AppendOptions, type AppendResult, type PartitionLog, type ReadResult, type Storage, type TopicMeta } from './types.js';

interface StoredBatch {
  bytes: Buffer;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export class MemoryPartitionLog implements PartitionLog {
  readonly producers = new ProducerStateTable();
  private batches: StoredBatch[] = [];
  private startOffset = 0;
  /** Next offset to assign (synchronously, in call order) and the end readers see (after the "write"). */
  private assignedEnd = 0;
  private endOffset = 0;
  private listeners = new Set<() => void>();
  private closed = false;

  constructor(readonly topic: string, readonly partition: number) {}

  logStartOffset(): number { return this.startOffset; }
  logEndOffset(): number { return this.endOffset; }

  /** Transactions as readers see the log (applied when an append becomes readable). */
  private readonly txns = new TxnState();

  lastStableOffset(): number {
    return this.txns.lastStable(this.startOffset, this.endOffset);
  }

  writeTxnMarker(marker: TxnMarker, options: AppendOptions): Promise<{ offset: number }> {
    return appendMarker(this, marker, options);
  }

  abortedTransactions(from: number, to: number): { producerId: number; firstOffset: number }[] {
    return this.txns.abortedIn(from, to);
  }

  txnFirstOffset(producerId: number): number {
    return this.txns.firstOffsetOf(producerId);
  }

  async append(batches: Buffer, headers: BatchHeader[], options: AppendOptions): Promise<AppendResult> {
    if (this.closed) throw new StorageError(`${this.topic}-${this.partition} is closed`);
    const baseOffset = this.assignedEnd;
    // Copy: the request buffer belongs to the connection and would otherwise be retained.
    const own = Buffer.from(batches);
    const endOffset = stampBatches(own, headers, baseOffset, options.logAppendTime);
    this.assignedEnd = endOffset;
    const stored: StoredBatch[] = [];
    const events: TxnEvent[] = [];
    let at = 0;
    for (const h of headers) {
      const bytes = own.subarray(at, at + h.size);
      stored.push({ bytes, baseOffset: h.baseOffset, lastOffset: h.baseOffset + h.lastOffsetDelta, maxTimestamp: h.maxTimestamp });
      const ev = txnEventOf(h, () => bytes);
      if (ev) events.push(ev);
      this.producers.update(h, ev?.control?.coordinatorEpoch);
      at += h.size;
    }
    // As with the file engine, offsets are taken now but readers see the append only after its
    // "write" completes: a microtask later, appends in call order (microtasks run first in, first out).
    await Promise.resolve();
    for (const b of stored) this.batches.push(b);
    for (const ev of events) this.txns.apply(ev);
    this.endOffset = endOffset;
    for (const l of this.listeners) l();
    return { baseOffset, lastOffset: endOffset - 1, logAppendTime: options.logAppendTime ?? -1, logStartOffset: this.startOffset };
  }

  private indexOf(offset: number): number {
    let lo = 0, hi = this.batches.length - 1, found = this.batches.length;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.batches[mid].lastOffset >= offset) { found = mid; hi = mid - 1; } else lo = mid + 1;
    }
    return found;
  }

  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    if (this.closed) throw new StorageError(`${this.topic}-${this.partition} is closed`);
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (let i = this.indexOf(offset); i < this.batches.length; i++) {
      const b = this.batches[i].bytes;
      if (bytes + b.length > maxBytes && !(minOneBatch && chunks.length === 0)) break;
      chunks.push(b);
      bytes += b.length;
    }
    return { chunks, bytes };
  }

  async offsetForTimestamp(timestamp: number) {
    for (const b of this.batches) {
      if (b.maxTimestamp >= timestamp) return { offset: Math.max(b.baseOffset, this.startOffset), timestamp: b.maxTimestamp };
    }
    return null;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async sync(): Promise<void> {}

  /** No segments here: each batch counts as one (retention.bytes drops the oldest batches). */
  segmentSizes(): { baseOffset: number; bytes: number }[] {
    return this.batches.map((b) => ({ baseOffset: b.baseOffset, bytes: b.bytes.length }));
  }

  async deleteBefore(offset: number): Promise<number> {
    const target = Math.min(offset, this.endOffset);
    if (target <= this.startOffset) return this.startOffset;
    this.startOffset = target;
    this.batches = this.batches.filter((b) => b.lastOffset >= target);
    this.txns.dropBefore(target);
    return this.startOffset;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }
}

export class MemoryStorage implements Storage {
  readonly kind = 'memory';
  readonly clusterId = randomUUID().replace(/-/g, '').slice(0, 22);
  private readonly meta = new Map<string, TopicMeta>();
  private readonly logs = new Map<string, MemoryPartitionLog[]>();
  private readonly internal = new Map<string, MemoryPartitionLog>();
  private nextProducerId = 1000;

  async open(): Promise<void> {}
  topics(): TopicMeta[] { return [...this.meta.values()]; }
  topic(name: string): TopicMeta | undefined { return this.meta.get(name); }

  async createTopic(name: string, partitionCount: number, configs: Record<string, string>): Promise<TopicMeta> {
    if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new Error(`invalid partition count ${partitionCount}`);
    if (this.meta.has(name)) throw new Error(`topic ${name} exists`);
    const t: TopicMeta = { name, topicId: randomUUID(), partitionCount, configs: { ...configs } };
    this.meta.set(name, t);
    this.logs.set(name, Array.from({ length: partitionCount }, (_, p) => new MemoryPartitionLog(name, p)));
    return t;
  }

  async deleteTopic(name: string): Promise<void> {
    for (const log of this.logs.get(name) ?? []) await log.close();
    this.meta.delete(name);
    this.logs.delete(name);
  }

  async addPartitions(name: string, partitionCount: number): Promise<void> {
    const t = this.meta.get(name);
    const logs = this.logs.get(name);
    if (!t || !logs) throw new Error(`no topic ${name}`);
    if (partitionCount < t.partitionCount) throw new Error(`topic ${name} has ${t.partitionCount} partitions, cannot shrink to ${partitionCount}`);
    for (let p = logs.length; p < partitionCount; p++) logs.push(new MemoryPartitionLog(name, p));
    t.partitionCount = partitionCount;
  }

  async alterTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.meta.get(name);
    if (!t) throw new Error(`no topic ${name}`);
    t.configs = { ...configs };
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(topic)?.[partition];
  }

  async allocateProducerIds(count: number): Promise<number> {
    const first = this.nextProducerId;
    this.nextProducerId += count;
    return first;
  }

  async internalLog(name: string): Promise<PartitionLog> {
    let log = this.internal.get(name);
    if (!log) this.internal.set(name, (log = new MemoryPartitionLog(name, 0)));
    return log;
  }

  async close(): Promise<void> {
    for (const logs of this.logs.values()) for (const l of logs) await l.close();
    for (const l of this.internal.values()) await l.close();
  }
}
