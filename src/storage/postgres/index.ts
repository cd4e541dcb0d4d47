// The PostgreSQL engine (`postgres://` / `postgresql://` storage URLs): the broker keeps no state of
// its own on disk. schema.ts (tables, migrations), storage.ts (PostgresStorage: catalog, the append
// transaction and group commit, range reads), partition-log.ts (PgPartitionLog: offsets, producer
// and transaction state, the recent-batch cache, recovery after a failed write). docs/cluster.md.
export { PostgresStorage, parsePgUrl, redactUrl } from './storage.js';
export { LeaderEpochError, PgPartitionLog } from './partition-log.js';
export { SCHEMA_VERSION } from './schema.js';
