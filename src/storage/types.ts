// The storage interface: a catalog of topics and one append-only log per partition.
// Three engines implement it: `file` (segmented log on disk, the default), `memory` and `postgres`.
// Storage knows nothing of sockets or the Kafka request format beyond RecordBatch v2 bytes.
import type { BatchHeader, TxnMarker } from '../protocol/records.js';
import type { ProducerStateTable } from './producer-state.js';

export interface TopicMeta {
  readonly name: string;
  /** Dashed uuid, stable across restarts. */
  readonly topicId: string;
  partitionCount: number;
  /** Topic-level config overrides (Kafka names, e.g. `retention.ms`), as strings. */
  configs: Record<string, string>;
}

export interface AppendOptions {
  /** When set, every batch's timestamp type becomes LogAppendTime with this time (ms). */
  logAppendTime?: number;
  /** Wait for the bytes to be on stable storage (fsync, grouped with concurrent appends). */
  sync: boolean;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** -1 unless the batches were stamped with LogAppendTime. */
  logAppendTime: number;
  logStartOffset: number;
}

export interface ReadResult {
  /** Whole batches, back to back, as stored. Empty when nothing is there at or after the offset. */
  chunks: Buffer[];
  bytes: number;
}

/** A storage failure (disk full, I/O error): the request gets KAFKA_STORAGE_ERROR, nothing is acked. */
export class StorageError extends Error {
  override name = 'StorageError';
}

/**
 * This broker does not lead the partition (now): another broker of the cluster does, or it is
 * moving. The request gets NOT_LEADER_OR_FOLLOWER and the client refreshes its metadata.
 */
export class NotLeaderError extends StorageError {
  override name = 'NotLeaderError';
  readonly errorCode = 6; // NOT_LEADER_OR_FOLLOWER
}

/**
 * Stored bytes that do not check out (a torn length, a bad CRC, garbage) where a batch should be:
 * the request gets CORRUPT_MESSAGE for that partition; the bytes stay on disk for an operator.
 */
export class CorruptDataError extends StorageError {
  override name = 'CorruptDataError';
}

/**
 * writeTxnMarker with an epoch older than the producer's current epoch on the partition (Kafka
 * refuses such a marker with INVALID_PRODUCER_EPOCH): nothing is written.
 */
export class TxnMarkerEpochError extends Error {
  override name = 'TxnMarkerEpochError';
  readonly errorCode = 47; // INVALID_PRODUCER_EPOCH
}

export interface PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** First offset still readable. */
  logStartOffset(): number;
  /** Offset after the last record written to the log (the high watermark on a single node). */
  logEndOffset(): number;
  /** Producer id → sequence state for idempotent producers, kept in step with the log. */
  readonly producers: ProducerStateTable;
  /**
   * Why append() would refuse now (NotLeaderError: another broker leads, or this one is still
   * loading the partition to lead it), or null. Asked before `producers` is consulted: a log that
   * takes no appends may hold stale producer state (a cluster engine's follower), whose sequence
   * verdict would be wrong. Absent: the log always takes appends while open.
   */
  appendRefusal?(): StorageError | null;
  /**
   * Cluster engines, before a sequence error is answered: resolves to a NotLeaderError when the
   * shared store names another leader epoch (this broker was deposed and has not noticed yet: its
   * producer state may be stale), else to appendRefusal()'s answer.
   */
  confirmLeader?(): Promise<StorageError | null>;

  /**
   * Appends whole, validated v2 batches (`batches` holds them back to back; `headers` describe them).
   * Offsets are assigned synchronously, in call order, by rewriting each batch's baseOffset in place;
   * the returned promise resolves once the bytes reach the OS (or stable storage with `sync`).
   * Rejects with StorageError on an I/O failure, in which case nothing of this append is kept.
   */
  append(batches: Buffer, headers: BatchHeader[], options: AppendOptions): Promise<AppendResult>;

  /**
   * Whole batches starting with the one that contains `offset`, up to `maxBytes` — but at least one
   * batch when `minOneBatch`, even if it is larger than `maxBytes`.
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult>;

  /** The first offset whose batch max timestamp is >= `timestamp`, or null if none. */
  offsetForTimestamp(timestamp: number): Promise<{ offset: number; timestamp: number } | null>;

  /**
   * The last stable offset: the first offset of the oldest transaction still open on this
   * partition, or the log end when none is. read_committed readers see nothing at or past it.
   */
  lastStableOffset(): number;

  /**
   * Ends `marker.producerId`'s transaction on this partition with a control batch (COMMIT or
   * ABORT) appended like any batch; an aborted range is remembered for abortedTransactions().
   * Writing a marker for a producer with no open transaction here is harmless (a retry after a
   * crash writes markers again): it is appended, ends nothing, records no range. The marker's
   * epoch becomes the producer's epoch here (a newer one resets its sequences); an older one
   * rejects with TxnMarkerEpochError and writes nothing. Resolves with the marker's offset.
   */
  writeTxnMarker(marker: TxnMarker, options: AppendOptions): Promise<{ offset: number }>;

  /** First offset of `producerId`'s transaction open on this partition (as readers see the log), or -1. */
  txnFirstOffset(producerId: number): number;

  /**
   * Aborted transactions with data in [from, to): producer id and first offset of each, oldest
   * first, as Fetch answers read_committed consumers (they drop those producers' records until
   * the ABORT marker).
   */
  abortedTransactions(from: number, to: number): { producerId: number; firstOffset: number }[];

  /** Calls `listener` after each append becomes readable; returns the unsubscribe function. */
  onAppend(listener: () => void): () => void;

  /**
   * One compaction pass (cleanup.policy=compact), when the engine compacts (the file engine);
   * null when nothing was due. See src/storage/file/cleaner.ts.
   */
  compact?(settings: CompactionSettings): Promise<CleanResult | null>;

  /** fsync everything written so far. */
  sync(): Promise<void>;
  /**
   * The log's segments, oldest first: base offset and size in bytes (retention.bytes deletes whole
   * segments from the oldest). The memory engine counts each batch as a segment.
   */
  segmentSizes?(): { baseOffset: number; bytes: number }[];
  /** Deletes records below `offset` (DeleteRecords / retention). Returns the new log start offset. */
  deleteBefore(offset: number): Promise<number>;
  close(): Promise<void>;
}

/** What a compaction pass needs: the topic's settings, the cleaner's, the time. */
export interface CompactionSettings {
  deleteRetentionMs: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  minCleanableDirtyRatio: number;
  /** log.cleaner.dedupe.buffer.size: bytes of the offset map (24 a key). */
  dedupeBufferBytes: number;
  /** log.cleaner.io.max.bytes.per.second (Infinity: no bound). */
  ioBytesPerSecond: number;
  /** Cleaned segments are made of input groups of at most this many bytes. */
  segmentBytes: number;
  now: number;
  /** Checked between batches: true ends the pass (nothing replaced after that). */
  stopping?: () => boolean;
}

export interface CleanResult {
  segmentsIn: number;
  segmentsOut: number;
  bytesIn: number;
  bytesOut: number;
  recordsIn: number;
  recordsOut: number;
  /** The cleaner's checkpoint after the pass: records below it were deduplicated. */
  cleanedTo: number;
}

/** Where an engine reports what it repaired or failed at (recovery, rollbacks); info is routine. */
export type StorageLogger = (level: 'info' | 'warn' | 'error', msg: string) => void;

/** How a file-engine partition rolls and removes its segments (Kafka's segment.* topic configs). */
export interface SegmentPolicy {
  /** segment.bytes: roll before a segment would pass this size. */
  readonly segmentBytes: number;
  /** segment.ms: roll at the next append once a segment's first append is this old... */
  readonly segmentMs: number;
  /** ...minus a random 0..segment.jitter.ms drawn per segment. */
  readonly segmentJitterMs: number;
  /** segment.index.bytes: roll before the offset index (8 B an entry) or time index (12 B) would pass this. */
  readonly segmentIndexBytes: number;
  /** index.interval.bytes */
  readonly indexIntervalBytes: number;
  /** file.delete.delay.ms: a removed segment's files are renamed *.deleted and deleted this much later. */
  readonly fileDeleteDelayMs: number;
}

/**
 * What an engine reports as it works, for the broker's metrics. Storage only calls it (the broker
 * passes it in StorageOptions; storage imports nothing of the broker); calls are cheap and synchronous.
 */
export interface StorageObserver {
  /** One fsync of a partition's data (a group commit, shared by its waiters) ended: seconds taken, and whether it failed. */
  fsync?(seconds: number, failed: boolean): void;
  /** An operation on stored data failed with a StorageError (not a closed log, not corrupt data). */
  error?(operation: 'write' | 'fsync' | 'read'): void;
}

export interface StorageOptions {
  /** 'always' = fsync before acks=-1 answers (group commit); a number = fsync every N ms; 'os' = never. */
  flush: 'always' | 'os' | number;
  segmentBytes: number;
  segmentMs: number;
  indexIntervalBytes: number;
  /**
   * File engine: a topic's own segment settings (from its configs over the broker defaults);
   * undefined (or absent) means the options above, with no jitter, 10 MiB indexes and no delete delay.
   */
  segmentPolicy?: (topic: string) => SegmentPolicy | undefined;
  /** File engine: bytes the tail caches of all partitions may pin together (default 64 MiB; 0 = none). */
  tailCacheBytes?: number;
  /** File engine: segment files open at once, all partitions together (default: 1024, or a quarter of `ulimit -n` if lower). */
  maxOpenFiles?: number;
  /** Told of fsync times and storage errors (metrics); absent: nobody listens. */
  observer?: StorageObserver;
}

export interface Storage {
  readonly kind: 'file' | 'memory' | 'postgres';
  /** The engine compacts topics with cleanup.policy=compact (its partitions have `compact`); absent: it does not. */
  readonly compacts?: boolean;
  /** Cluster id kept with the data, so a restarted broker reports the same one. */
  readonly clusterId: string;
  /** Loads the catalog and recovers every partition. */
  open(): Promise<void>;
  topics(): TopicMeta[];
  topic(name: string): TopicMeta | undefined;
  createTopic(name: string, partitionCount: number, configs: Record<string, string>): Promise<TopicMeta>;
  deleteTopic(name: string): Promise<void>;
  /** Grows a topic to `partitionCount` partitions. */
  addPartitions(name: string, partitionCount: number): Promise<void>;
  alterTopicConfigs(name: string, configs: Record<string, string>): Promise<void>;
  partition(topic: string, partition: number): PartitionLog | undefined;
  /**
   * Reserves `count` producer ids and returns the first; ids are never handed out twice, even
   * across restarts (the file engine persists the reserved range before answering).
   */
  allocateProducerIds(count: number): Promise<number>;
  /** Names of the internal logs opened so far (engines that compact them say which exist). */
  openInternalLogs?(): string[];
  /** A log not visible as a topic (e.g. the group coordinator's offsets log), created on first use. */
  internalLog(name: string): Promise<PartitionLog>;
  close(): Promise<void>;
}

export const DEFAULT_STORAGE_OPTIONS: StorageOptions = {
  flush: 'always',
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  indexIntervalBytes: 4096,
};
