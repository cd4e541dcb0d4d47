// The PostgreSQL engine's tables (docs/cluster.md has the design). Created and migrated at open,
// under an advisory lock so brokers starting together do it once; `fjord_schema` holds the version.
//
//   fjord_schema      (version)                                   one row: the schema version
//   fjord_cluster     (id = 1, cluster_id, next_producer_id, catalog_version)   one row
//   fjord_topics      (topic_id, name, internal, partition_count, configs jsonb)
//   fjord_partitions  (id, topic_id, partition, log_start, log_end, leader_epoch, leader, leader_node)
//   fjord_brokers     (node_id, incarnation, listeners jsonb, rack, expires_at)   the cluster's members and their leases
//   fjord_batches     (partition_id, base_offset, last_offset, max_timestamp, producer_id, control, batch bytea)
//   fjord_txn_markers (partition_id, producer_id, producer_epoch, coordinator_epoch, commit)
//                     transaction markers the coordinator asks a partition's leader to write (storage.ts `writeMarker`)
//
// A batch row is one RecordBatch v2 exactly as stored (offsets stamped). `log_end` is the offset
// after the last stored batch and moves only in the transaction that inserts batches, which also
// checks `leader_epoch` (the append transaction, storage.ts `commitGroup`). Internal logs (group
// offsets, transaction state, credentials, ACLs, quotas) are topics with `internal`, so a database
// holds a whole cluster's state.
import type { PoolClient } from 'pg';

export const SCHEMA_VERSION = 3;
/** pg_advisory_xact_lock key of schema migrations ("fjord" in ASCII). */
const MIGRATION_LOCK = 0x666a6f7264;

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE fjord_cluster (
      id integer PRIMARY KEY CHECK (id = 1),
      cluster_id text NOT NULL,
      next_producer_id bigint NOT NULL
    );
    CREATE TABLE fjord_topics (
      topic_id uuid PRIMARY KEY,
      name text NOT NULL UNIQUE,
      internal boolean NOT NULL,
      partition_count integer NOT NULL CHECK (partition_count > 0),
      configs jsonb NOT NULL
    );
    CREATE TABLE fjord_partitions (
      id bigserial PRIMARY KEY,
      topic_id uuid NOT NULL REFERENCES fjord_topics ON DELETE CASCADE,
      partition integer NOT NULL,
      log_start bigint NOT NULL,
      log_end bigint NOT NULL,
      leader_epoch integer NOT NULL,
      leader text NOT NULL,
      UNIQUE (topic_id, partition)
    );
    CREATE TABLE fjord_batches (
      partition_id bigint NOT NULL REFERENCES fjord_partitions ON DELETE CASCADE,
      base_offset bigint NOT NULL,
      last_offset bigint NOT NULL,
      max_timestamp bigint NOT NULL,
      producer_id bigint NOT NULL,
      control boolean NOT NULL,
      batch bytea NOT NULL,
      PRIMARY KEY (partition_id, base_offset)
    );
    -- Batches are written once and read back whole: keep them out of TOAST compression.
    ALTER TABLE fjord_batches ALTER COLUMN batch SET STORAGE EXTERNAL;
  `,
  // Phase 2, the cluster: brokers with leases, a leader node per partition, a catalog version.
  2: `
    CREATE TABLE fjord_brokers (
      node_id integer PRIMARY KEY,
      incarnation text NOT NULL,
      listeners jsonb NOT NULL,
      rack text,
      expires_at timestamptz NOT NULL
    );
    ALTER TABLE fjord_partitions ADD COLUMN leader_node integer;
    ALTER TABLE fjord_cluster ADD COLUMN catalog_version bigint NOT NULL DEFAULT 0;
  `,
  // Transactions across brokers: a marker the coordinator wants written waits here for the partition's leader.
  3: `
    CREATE TABLE fjord_txn_markers (
      partition_id bigint NOT NULL REFERENCES fjord_partitions ON DELETE CASCADE,
      producer_id bigint NOT NULL,
      producer_epoch integer NOT NULL,
      coordinator_epoch integer NOT NULL,
      commit boolean NOT NULL,
      PRIMARY KEY (partition_id, producer_id)
    );
  `,
};

/**
 * Brings the schema to SCHEMA_VERSION (creating `schemaName` if given); refuses a database whose
 * schema is newer than this code reads.
 */
export async function migrate(client: PoolClient, schemaName: string | undefined): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    if (schemaName) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schemaName)}`);
    await client.query('CREATE TABLE IF NOT EXISTS fjord_schema (version integer NOT NULL)');
    const r = await client.query<{ version: number }>('SELECT version FROM fjord_schema');
    let version = r.rows[0]?.version ?? 0;
    if (r.rows.length === 0) await client.query('INSERT INTO fjord_schema (version) VALUES (0)');
    if (version > SCHEMA_VERSION) {
      throw new Error(`the database has Fjord schema version ${version}, newer than this Fjord reads (${SCHEMA_VERSION}); upgrade Fjord`);
    }
    while (version < SCHEMA_VERSION) {
      version++;
      await client.query(MIGRATIONS[version]);
      await client.query('UPDATE fjord_schema SET version = $1', [version]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
