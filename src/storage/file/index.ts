// The file engine (durable, the default): Kafka's on-disk shape (segmented logs with sparse indexes), our own code.
//
// dataDir/
//   meta.json                 { format: "fjord", formatVersion, clusterId, producerIdHighWater } — the
//                             format marker (a non-empty folder without it is not Fjord's and is refused);
//                             producer ids below the mark may be in use
//   fjord.lock                the running broker's pid, host, start time (data-dir.ts DirLock)
//   topics.json               the catalog: { topics: [{ name, topicId, partitionCount, configs }],
//                             deleting?: [{ name, partitionCount }] } (deletions not yet finished)
//   <topic>-<p>/              one folder per partition
//     <base:20 digits>.log    RecordBatch v2 bytes back to back, exactly as appended (offsets stamped)
//     <base>.index            sparse: int32 offset - base, int32 file position of that batch
//     <base>.timeindex        int64 max timestamp so far, int32 offset - base of the batch that reached it
//     log-start-offset        decimal text, written atomically by deleteBefore
//     producer-state.json     written at clean close, deleted once loaded
//     cleaner-offset-checkpoint  compacted topics: where the last cleaning pass ended (cleaner.ts)
//     <base>.log.cleaned, <base>.<end>.swap  a cleaning pass in progress; finished or undone at open
//   __internal/<name>/        internal logs, same segment format, not in the catalog
//
// Anything else in the folder is not Fjord's: it is reported at open and never deleted.
//
// Only the last segment of a partition is scanned (and CRC-checked) at open; older segments are
// trusted, their indexes loaded from disk (or rebuilt when missing or malformed). The indexes of
// the active segment live in memory and reach disk when it rolls.
//
// Files: catalog.ts (FileStorage), partition-log.ts (FilePartitionLog), segment.ts, offset-index.ts,
// time-index.ts, tail-cache.ts, producer-snapshot.ts, data-dir.ts (claiming the folder, the lock), io.ts; fsync group commit in ../group-commit.ts.
export { FileStorage, FORMAT_VERSION } from './catalog.js';
export { DataDirError } from './data-dir.js';
export { FilePartitionLog } from './partition-log.js';
export { TAIL_CACHE_BYTES } from './tail-cache.js';
export type { FaultHooks, StorageLogger } from './context.js';
