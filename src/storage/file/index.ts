// The file engine (durable, the default): Kafka's on-disk shape (segmented logs with sparse indexes), our own code.
//
// dataDir/
//   meta.json                 { version, clusterId, producerIdHighWater } — ids below the mark may be in use
//   topics.json               the catalog: [{ name, topicId, partitionCount, configs }]
//   <topic>-<p>/              one folder per partition
//     <base:20 digits>.log    RecordBatch v2 bytes back to back, exactly as appended (offsets stamped)
//     <base>.index            sparse: int32 offset - base, int32 file position of that batch
//     <base>.timeindex        int64 max timestamp so far, int32 offset - base of the batch that reached it
//     log-start-offset        decimal text, written atomically by deleteBefore
//     producer-state.json     written at clean close, deleted once loaded
//   __internal/<name>/        internal logs, same segment format, not in the catalog
//
// Only the last segment of a partition is scanned (and CRC-checked) at open; older segments are
// trusted, their indexes loaded from disk (or rebuilt when missing or malformed). The indexes of
// the active segment live in memory and reach disk when it rolls.
//
// Files: catalog.ts (FileStorage), partition-log.ts (FilePartitionLog), segment.ts, offset-index.ts,
// time-index.ts, tail-cache.ts, producer-snapshot.ts, io.ts; fsync group commit in ../group-commit.ts.
export { FileStorage } from './catalog.js';
export { FilePartitionLog } from './partition-log.js';
export { TAIL_CACHE_BYTES } from './tail-cache.js';
export type { FaultHooks, StorageLogger } from './context.js';
