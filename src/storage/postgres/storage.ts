// The PostgreSQL engine: the catalog, the producer id counter and every partition's batches live
// in one database (schema.ts); the broker keeps nothing on disk. docs/cluster.md has the design.
//
// The append transaction (`commitGroup`), one at a time per engine, for whatever appends queued up
// meanwhile across all partitions (group commit):
//
//   BEGIN  [; SET LOCAL synchronous_commit TO off  when no append in it asked for durability]
//   UPDATE fjord_partitions SET log_end = new_end  WHERE id = p AND leader_epoch = ours AND log_end = old_end
//     (all partitions of the group in one statement; a partition whose row does not match — another
//      broker claimed it, or the log end moved under us — is left out: its appends fail, the rest
//      are retried at once without it)
//   INSERT INTO fjord_batches ... (the batches as stamped, in statements of up to 64 rows)
//   COMMIT  → appends resolve (acks), in offset order per partition
//
// Producer and transaction state are not stored: at open (and after a failed write) a partition
// rebuilds them from the headers of its stored batches that carry a producer id (control batches
// read whole), as the file engine does after a crash.
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { TxnMarker } from '../../protocol/records.js';
import type { TopicMeta, PartitionLog, Storage, StorageLogger, StorageOptions } from '../types.js';
import { NotLeaderError, StorageError, TxnMarkerEpochError } from '../types.js';
import { migrate, quoteIdent } from './schema.js';
import { planLeaders, type BrokerRow } from './cluster.js';
import { LeaderEpochError, PgPartitionLog, type AppendJob, type CacheEntry, type PartitionHost, type PartitionRow } from './partition-log.js';

/** Rows per INSERT statement (one prepared statement per count up to this). */
const INSERT_CHUNK = 64;
/** Most appends and bytes one transaction takes. */
const MAX_GROUP_JOBS = 2000;
const MAX_GROUP_BYTES = 16 * 1024 * 1024;
/** The newest batches kept per partition, and all partitions together unless tailCacheBytes says otherwise. */
const CACHE_PER_PARTITION = 4 * 1024 * 1024;
const DEFAULT_CACHE_BUDGET = 64 * 1024 * 1024;
/** pg_advisory_xact_lock key of membership changes and leader assignment ("fjordC"). */
export const MEMBERSHIP_LOCK = 0x666a6f726443;
/**
 * Most rows per range-read query. A query also stops at the read's byte limit (a window sum over the
 * rows' sizes, which PostgreSQL knows without reading the batches): a page of 64 batches of 1 MiB
 * each for a 1 MiB fetch read 64 MiB per partition and could run the broker out of memory.
 */
const READ_PAGE = 64;
/** How long a coordinator waits for another broker to write a transaction marker before the completion is retried later. */
const MARKER_WAIT_MS = 30_000;
/** How often a waiting coordinator looks at its marker requests when no notification came. */
const MARKER_RECHECK_MS = 250;

/** A postgres:// URL taken apart: what the pool gets, the schema, and a form safe to print. */
export interface PgTarget {
  connectionString: string;
  schema?: string;
  /** The URL with its password replaced by ***. */
  display: string;
}

/** Reads a postgres:// or postgresql:// URL; `schema=<name>` (Fjord's own parameter) picks a schema. */
export function parsePgUrl(spec: string): PgTarget {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    // Not echoed, not even redacted: a URL that does not parse may not be redacted right either.
    throw new Error('storage: not a valid postgres URL; expected postgres://user:password@host:port/database (the setting is not shown: it may hold a password)');
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`storage: schema "${schema}" is not a plain identifier (letters, digits, _)`);
  }
  return { connectionString: url.toString(), schema, display: redactUrl(spec) };
}

/** The URL with any password replaced by ***, for messages and logs. */
export function redactUrl(spec: string): string {
  return spec.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^:/@?#]*):[^@/?#]*@/, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

const toNum = (v: string | number): number => (typeof v === 'number' ? v : Number(v));

export class PostgresStorage implements Storage, PartitionHost {
  readonly kind = 'postgres';
  private _clusterId = '';
  private pool: pg.Pool | undefined;
  private readonly target: PgTarget;
  /** Who claims leadership (fjord_partitions.leader). */
  private readonly me = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly meta = new Map<string, TopicMeta>();
  private readonly logs = new Map<string, PgPartitionLog[]>();
  private readonly internal = new Map<string, Promise<PgPartitionLog>>();
  /** Internal logs once open (the cluster poll walks them with the topics' logs). */
  private readonly internalOpen = new Map<string, PgPartitionLog>();
  /**
   * Cluster mode (docs/cluster.md): set before open by the broker. Partitions are then led by the
   * node the database names (`fjord_partitions.leader_node`, moved by `rebalance`), not claimed at open.
   */
  private cluster: { nodeId: number; catalogChanged: () => Promise<void> } | null = null;
  /** The connection holding this broker's member lock (cluster mode). */
  private memberLock: pg.Client | null = null;
  private clusterMode = false;
  private catalogVersion = -1;
  /** Topic names this broker is creating right now (a catalog reload leaves them to the creator). */
  private readonly creating = new Set<string>();
  private queue: AppendJob[] = [];
  private committing = false;
  private transactions = 0;
  private appendsCommitted = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  readonly perPartitionCache: number;
  private readonly cacheLimit: number;
  private cacheUsed = 0;
  private cacheLive = 0;
  private cacheFifo: { log: PgPartitionLog; entry: CacheEntry }[] = [];
  private cacheHead = 0;
  /** Coordinators waiting for marker requests to be served (woken by a notification or a timer). */
  private markerWaiters = new Set<() => void>();
  /** serveMarkerRequests: running, and asked again while it ran. */
  private serving: Promise<void> | null = null;
  private serveAgain = false;

  constructor(spec: string, private readonly options: StorageOptions, private readonly logger?: StorageLogger) {
    this.target = parsePgUrl(spec);
    this.cacheLimit = options.tailCacheBytes ?? DEFAULT_CACHE_BUDGET;
    this.perPartitionCache = Math.min(CACHE_PER_PARTITION, this.cacheLimit);
  }

  /** Append transactions committed and the appends they held (group commit: fewer transactions than appends). */
  stats(): { transactions: number; appends: number } {
    return { transactions: this.transactions, appends: this.appendsCommitted };
  }

  get clusterId(): string {
    return this._clusterId;
  }

  log(level: 'info' | 'warn' | 'error', msg: string): void {
    this.logger?.(level, msg);
  }

  private connectionConfig(): pg.ClientConfig {
    return {
      connectionString: this.target.connectionString,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      application_name: 'fjord',
      ...(this.target.schema ? { options: `-c search_path=${quoteIdent(this.target.schema)}` } : {}),
    };
  }

  private db(): pg.Pool {
    if (!this.pool) throw new StorageError('the postgres storage is not open');
    return this.pool;
  }

  async open(): Promise<void> {
    const pool = new pg.Pool({
      ...this.connectionConfig(),
      max: 10,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection that breaks (the server restarted) must not crash the process.
    pool.on('error', (err) => this.log('warn', `postgres: idle connection lost: ${err.message}`));
    // Nor one that breaks while checked out between two queries (the next query reports it).
    pool.on('connect', (client) => client.on('error', () => undefined));
    this.pool = pool;
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      await pool.end().catch(() => undefined);
      this.pool = undefined;
      throw new StorageError(`cannot connect to ${this.target.display}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      await migrate(client, this.target.schema);
      // One snapshot for the catalog: a topic another broker creates meanwhile is seen whole or not at all.
      await client.query('INSERT INTO fjord_cluster (id, cluster_id, next_producer_id) VALUES (1, $1, 0) ON CONFLICT (id) DO NOTHING', [randomBytes(16).toString('base64url')]);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      this._clusterId = (await client.query<{ cluster_id: string }>('SELECT cluster_id FROM fjord_cluster WHERE id = 1')).rows[0].cluster_id;
      // Phase 1: one broker leads every partition; opening claims them all (epoch + 1), which
      // fences any earlier instance still running against this database.
      // In cluster mode nothing is claimed: the rebalance names leaders (partitions start as followers).
      const parts = this.clusterMode
        ? await client.query<{ id: string; topic_id: string; partition: number; leader_epoch: number }>('SELECT id, topic_id, partition, leader_epoch FROM fjord_partitions')
        : await client.query<{ id: string; topic_id: string; partition: number; leader_epoch: number }>(
          'UPDATE fjord_partitions SET leader_epoch = leader_epoch + 1, leader = $1 RETURNING id, topic_id, partition, leader_epoch', [this.me]);
      this.catalogVersion = Number((await client.query<{ v: string }>('SELECT catalog_version AS v FROM fjord_cluster WHERE id = 1')).rows[0].v);
      const topics = await client.query<{ topic_id: string; name: string; internal: boolean; partition_count: number; configs: Record<string, string> }>(
        'SELECT topic_id, name, internal, partition_count, configs FROM fjord_topics');
      await client.query('COMMIT');
      const byTopic = new Map<string, { id: number; partition: number; epoch: number }[]>();
      for (const p of parts.rows) {
        const list = byTopic.get(p.topic_id) ?? [];
        list.push({ id: toNum(p.id), partition: p.partition, epoch: p.leader_epoch });
        byTopic.set(p.topic_id, list);
      }
      for (const t of topics.rows) {
        const list = (byTopic.get(t.topic_id) ?? []).sort((a, b) => a.partition - b.partition);
        if (list.length !== t.partition_count || list.some((p, i) => p.partition !== i)) {
          throw new StorageError(`topic ${t.name}: the database lists ${list.length} partition rows for ${t.partition_count} partitions`);
        }
        const logs = list.map((p) => new PgPartitionLog(t.name, p.partition, p.id, p.epoch, this));
        for (const l of logs) {
          const row = await this.loadStateWith(client, l.id, this.segmentBytes(t.name));
          if (!row) throw new StorageError(`${l.label}: partition row vanished during open`);
          l.restore(row);
          if (this.clusterMode) l.follow(row.leaderNode, row.leaderEpoch);
        }
        if (t.internal) {
          this.internal.set(t.name, Promise.resolve(logs[0]));
          this.internalOpen.set(t.name, logs[0]);
        }
        else {
          this.meta.set(t.name, { name: t.name, topicId: t.topic_id, partitionCount: t.partition_count, configs: { ...t.configs } });
          this.logs.set(t.name, logs);
        }
      }
      this.log('info', `postgres storage ${this.target.display}${this.target.schema ? ` (schema ${this.target.schema})` : ''}: cluster id ${this._clusterId}, ${this.meta.size} topic(s), ${parts.rowCount ?? 0} partition(s) claimed`);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      await pool.end().catch(() => undefined);
      this.pool = undefined;
      if (err instanceof StorageError) throw err;
      throw new StorageError(`opening ${this.target.display}: ${err instanceof Error ? err.message : String(err)}`);
    }
    client.release();
  }

  topics(): TopicMeta[] { return [...this.meta.values()]; }
  topic(name: string): TopicMeta | undefined { return this.meta.get(name); }
  partition(topic: string, partition: number): PartitionLog | undefined { return this.logs.get(topic)?.[partition]; }

  /**
   * Inserts a topic row and its partition rows: this broker leads them in epoch 1, or in cluster
   * mode nobody yet (epoch 0; the rebalance that follows names leaders).
   */
  private async insertTopic(name: string, internal: boolean, partitionCount: number, configs: Record<string, string>): Promise<{ topicId: string; logs: PgPartitionLog[] }> {
    const topicId = randomUUID();
    const client = await this.db().connect();
    const epoch = this.clusterMode ? 0 : 1;
    try {
      await client.query('BEGIN');
      // A registered cluster broker assigns the new partitions' leaders in the same transaction, so no
      // broker ever reads the topic without leaders (Metadata answering LEADER_NOT_AVAILABLE for a
      // created topic made kafka-python's group rejoin and stall). The lock first, as rebalance takes it.
      const assign = this.cluster !== null && this.cluster.nodeId >= 0;
      if (assign) await client.query(`SELECT pg_advisory_xact_lock(${MEMBERSHIP_LOCK})`);
      await client.query('INSERT INTO fjord_topics (topic_id, name, internal, partition_count, configs) VALUES ($1, $2, $3, $4, $5)', [topicId, name, internal, partitionCount, JSON.stringify(configs)]);
      const rows = await client.query<{ id: string; partition: number; leader_epoch: number }>(
        `INSERT INTO fjord_partitions (topic_id, partition, log_start, log_end, leader_epoch, leader)
         SELECT $1, p, 0, 0, $4, $3 FROM generate_series(0, $2 - 1) AS p RETURNING id, partition, leader_epoch`, [topicId, partitionCount, this.me, epoch]);
      await this.bumpCatalog(client);
      if (assign) await this.assignLeaders(client);
      await client.query('COMMIT');
      const logs = rows.rows.sort((a, b) => a.partition - b.partition).map((r) => new PgPartitionLog(name, r.partition, toNum(r.id), r.leader_epoch, this));
      if (this.clusterMode) for (const l of logs) l.follow(null, 0);
      return { topicId, logs };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (err instanceof Error && 'code' in err && err.code === '23505') throw new Error(`topic ${name} exists`);
      throw new StorageError(`creating ${name}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      client.release();
    }
  }

  async createTopic(name: string, partitionCount: number, configs: Record<string, string>): Promise<TopicMeta> {
    if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new Error(`invalid partition count ${partitionCount}`);
    if (this.meta.has(name)) throw new Error(`topic ${name} exists`);
    this.creating.add(name);
    let t: TopicMeta;
    try {
      let inserted: { topicId: string; logs: PgPartitionLog[] };
      try {
        inserted = await this.insertTopic(name, false, partitionCount, configs);
      } catch (err) {
        // Another broker created it and this one has not seen it yet: see it now.
        if (this.clusterMode && err instanceof Error && err.message === `topic ${name} exists`) {
          this.creating.delete(name);
          await this.catalogChanged();
        }
        throw err;
      }
      const { topicId, logs } = inserted;
      if (this.meta.has(name)) throw new Error(`topic ${name} exists`);
      t = { name, topicId, partitionCount, configs: { ...configs } };
      this.meta.set(name, t);
      this.logs.set(name, logs);
    } finally {
      this.creating.delete(name);
    }
    await this.catalogChanged();
    return t;
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.meta.get(name);
    if (!t) return;
    const logs = this.logs.get(name) ?? [];
    this.meta.delete(name);
    this.logs.delete(name);
    for (const l of logs) await l.close();
    await this.inTransaction(async (c) => {
      await c.query({ name: 'fjord_delete_topic', text: 'DELETE FROM fjord_topics WHERE topic_id = $1', values: [t.topicId] });
      await this.bumpCatalog(c);
    });
    await this.catalogChanged();
  }

  async addPartitions(name: string, partitionCount: number): Promise<void> {
    const t = this.meta.get(name);
    const logs = this.logs.get(name);
    if (!t || !logs) throw new Error(`no topic ${name}`);
    if (partitionCount < t.partitionCount) throw new Error(`topic ${name} has ${t.partitionCount} partitions, cannot shrink to ${partitionCount}`);
    if (partitionCount === t.partitionCount) return;
    const client = await this.db().connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE fjord_topics SET partition_count = $2 WHERE topic_id = $1', [t.topicId, partitionCount]);
      const rows = await client.query<{ id: string; partition: number; leader_epoch: number }>(
        `INSERT INTO fjord_partitions (topic_id, partition, log_start, log_end, leader_epoch, leader)
         SELECT $1, p, 0, 0, $5, $4 FROM generate_series($2, $3 - 1) AS p RETURNING id, partition, leader_epoch`, [t.topicId, t.partitionCount, partitionCount, this.me, this.clusterMode ? 0 : 1]);
      await this.bumpCatalog(client);
      await client.query('COMMIT');
      for (const r of rows.rows.sort((a, b) => a.partition - b.partition)) {
        const l = new PgPartitionLog(name, r.partition, toNum(r.id), r.leader_epoch, this);
        if (this.clusterMode) l.follow(null, 0);
        logs.push(l);
      }
      t.partitionCount = partitionCount;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new StorageError(`adding partitions to ${name}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      client.release();
    }
    await this.catalogChanged();
  }

  async alterTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.meta.get(name);
    if (!t) throw new Error(`no topic ${name}`);
    await this.inTransaction(async (c) => {
      await c.query('UPDATE fjord_topics SET configs = $2 WHERE topic_id = $1', [t.topicId, JSON.stringify(configs)]);
      await this.bumpCatalog(c);
    });
    t.configs = { ...configs };
  }

  async allocateProducerIds(count: number): Promise<number> {
    const r = await this.db().query<{ first: string }>({
      name: 'fjord_producer_ids',
      text: 'UPDATE fjord_cluster SET next_producer_id = next_producer_id + $1 WHERE id = 1 RETURNING next_producer_id - $1 AS first',
      values: [count],
    });
    return toNum(r.rows[0].first);
  }

  internalLog(name: string): Promise<PartitionLog> {
    let p = this.internal.get(name);
    if (!p) {
      p = this.openInternal(name);
      this.internal.set(name, p);
      p.catch(() => this.internal.delete(name));
    }
    return p;
  }

  /** Creates an internal log, or (cluster mode) opens the one another broker created meanwhile. */
  private async openInternal(name: string): Promise<PgPartitionLog> {
    let log: PgPartitionLog;
    try {
      log = (await this.insertTopic(name, true, 1, {})).logs[0];
    } catch (err) {
      if (!(this.clusterMode && err instanceof Error && err.message === `topic ${name} exists`)) throw err;
      const r = await this.db().query<{ id: string; leader_epoch: number }>(
        'SELECT p.id, p.leader_epoch FROM fjord_partitions p JOIN fjord_topics t USING (topic_id) WHERE t.name = $1 AND p.partition = 0', [name]);
      if (r.rows.length === 0) throw new StorageError(`internal log ${name}: created by another broker and gone again`);
      log = new PgPartitionLog(name, 0, toNum(r.rows[0].id), r.rows[0].leader_epoch, this);
      const row = await this.loadState(log.id, this.segmentBytes(name));
      if (!row) throw new StorageError(`internal log ${name}: its row vanished`);
      log.restore(row);
      log.follow(row.leaderNode, row.leaderEpoch);
    }
    this.internalOpen.set(name, log);
    await this.catalogChanged();
    return log;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.memberLock?.end().catch(() => undefined);
    this.memberLock = null;
    await this.serving;
    const all: PgPartitionLog[] = [];
    for (const logs of this.logs.values()) all.push(...logs);
    for (const p of this.internal.values()) {
      const l = await p.catch(() => null);
      if (l) all.push(l);
    }
    await Promise.all(all.map((l) => l.close()));
    await this.idle();
    this.closed = true;
    await this.pool?.end().catch(() => undefined);
  }

  // ----- cluster mode (docs/cluster.md) --------------------------------------------------------------

  /** Cluster mode from the next open(): partitions are led by the node the database names. */
  enableCluster(catalogChanged: () => Promise<void>): void {
    if (this.pool) throw new Error('assertion: enableCluster after open');
    this.clusterMode = true;
    this.cluster = { nodeId: -1, catalogChanged };
  }

  private async catalogChanged(): Promise<void> {
    if (this.cluster && this.cluster.nodeId >= 0) await this.cluster.catalogChanged();
  }

  private async bumpCatalog(c: pg.PoolClient): Promise<void> {
    await c.query('UPDATE fjord_cluster SET catalog_version = catalog_version + 1 WHERE id = 1');
  }

  private async inTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.db().connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const r = await fn(client);
      await client.query('COMMIT');
      return r;
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * The key space of members' session locks: one per schema, so clusters in several schemas of one
   * database do not see each other's locks (a positive 31-bit hash of the schema name).
   */
  private memberLockClass(): number {
    let h = 0x811c9dc5;
    for (const ch of `fjord-member:${this.target.schema ?? ''}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
    return (h >>> 1) & 0x7fffffff;
  }

  /**
   * The SQL condition "the broker of row b still holds its session lock": a broker takes an
   * advisory lock (class, node id) on a connection of its own at registration and keeps it; when
   * its process dies the database drops the connection and the lock at once. So a killed broker is
   * gone within a poll, without waiting for its lease (which still covers a silent machine).
   */
  private lockHeld(): string {
    return `EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
              AND l.classid::bigint = ${this.memberLockClass()} AND l.objid::bigint = b.node_id
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;
  }

  private async memberConnection(): Promise<pg.Client> {
    if (this.memberLock) return this.memberLock;
    const c = new pg.Client(this.connectionConfig());
    c.on('error', (err) => {
      this.log('warn', `postgres: the membership connection broke (${err.message}); this broker registers again`);
      if (this.memberLock === c) this.memberLock = null;
    });
    // Marker requests and their completion are announced on this connection's channel (writeMarker).
    c.on('notification', (n) => {
      if (n.channel !== this.markerChannel()) return;
      if (n.payload === 'request') void this.serveMarkerRequests();
      else this.wakeMarkerWaiters();
    });
    await c.connect();
    await c.query(`LISTEN ${this.markerChannel()}`);
    this.memberLock = c;
    return c;
  }

  /**
   * Registers this broker under `nodeId` (-1: the lowest id no live broker holds) with a lease and
   * its session lock. Returns the node id, or null when a live broker holds `nodeId`.
   */
  async registerBroker(nodeId: number, incarnation: string, listeners: BrokerRow['listeners'], rack: string | null, leaseMs: number): Promise<number | null> {
    const lock = await this.memberConnection();
    const id = await this.inTransaction(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock(${MEMBERSHIP_LOCK})`);
      await c.query(`DELETE FROM fjord_brokers b WHERE (expires_at <= now() OR NOT ${this.lockHeld()}) AND incarnation <> $1`, [incarnation]);
      let candidates = [nodeId];
      if (nodeId < 0) {
        const r = await c.query<{ id: number }>(`SELECT n AS id FROM generate_series(1, (SELECT coalesce(max(node_id), 0) + 1 FROM fjord_brokers)) n
                                                 WHERE n NOT IN (SELECT node_id FROM fjord_brokers) ORDER BY n`);
        candidates = r.rows.map((x) => x.id);
      }
      for (const want of candidates) {
        const got = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [this.memberLockClass(), want]);
        if (!got.rows[0].ok) continue;
        const r = await c.query(
          `INSERT INTO fjord_brokers (node_id, incarnation, listeners, rack, expires_at) VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')
           ON CONFLICT (node_id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE fjord_brokers.incarnation = EXCLUDED.incarnation`,
          [want, incarnation, JSON.stringify(listeners), rack, leaseMs]);
        if (r.rowCount === 1) return want;
        await lock.query('SELECT pg_advisory_unlock($1, $2)', [this.memberLockClass(), want]);
      }
      return null;
    });
    if (id !== null && this.cluster) this.cluster.nodeId = id;
    return id;
  }

  /** Renews the lease; false when the row is gone or another incarnation holds the id. */
  async heartbeat(nodeId: number, incarnation: string, leaseMs: number): Promise<boolean> {
    const r = await this.db().query({
      name: 'fjord_heartbeat',
      text: `UPDATE fjord_brokers SET expires_at = now() + $3 * interval '1 millisecond' WHERE node_id = $1 AND incarnation = $2 AND expires_at > now()`,
      values: [nodeId, incarnation, leaseMs],
    });
    // Without its session lock (the connection broke) the others treat this broker as gone.
    return r.rowCount === 1 && this.memberLock !== null;
  }

  /** A clean stop: the row goes at once, so the others move its partitions without waiting for the lease. */
  async deregister(nodeId: number, incarnation: string): Promise<void> {
    await this.db().query('DELETE FROM fjord_brokers WHERE node_id = $1 AND incarnation = $2', [nodeId, incarnation]);
    await this.memberLock?.end().catch(() => undefined);
    this.memberLock = null;
  }

  /**
   * One leader assignment (any broker; serialized by an advisory lock, skipped when another broker
   * is doing it and `wait` is false): deletes members whose lease ran out, plans leaders over the
   * live ones and moves each changed partition by bumping its leader epoch in the same statement.
   */
  async rebalance(wait: boolean): Promise<number> {
    return this.inTransaction(async (c) => {
      if (wait) await c.query(`SELECT pg_advisory_xact_lock(${MEMBERSHIP_LOCK})`);
      else if (!(await c.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${MEMBERSHIP_LOCK}) AS ok`)).rows[0].ok) return 0;
      return this.assignLeaders(c);
    });
  }

  /** The assignment itself, in a transaction holding the membership lock (rebalance, and a topic's creation). */
  private async assignLeaders(c: pg.PoolClient): Promise<number> {
    await c.query(`DELETE FROM fjord_brokers b WHERE expires_at <= now() OR NOT ${this.lockHeld()}`);
    const live = (await c.query<{ node_id: number }>('SELECT node_id FROM fjord_brokers ORDER BY node_id')).rows.map((r) => r.node_id);
    const parts = await c.query<{ id: string; name: string; internal: boolean; leader_node: number | null }>(
      'SELECT p.id, t.name, t.internal, p.leader_node FROM fjord_partitions p JOIN fjord_topics t USING (topic_id)');
    const plan = planLeaders(parts.rows.map((r) => ({ id: toNum(r.id), topic: r.name, internal: r.internal, leader: r.leader_node })), live);
    if (plan.size === 0) return 0;
    const ids = [...plan.keys()];
    await c.query(
      `UPDATE fjord_partitions p SET leader_node = v.node, leader_epoch = p.leader_epoch + 1, leader = 'node ' || v.node
       FROM unnest($1::bigint[], $2::integer[]) AS v(id, node) WHERE p.id = v.id`, [ids, ids.map((i) => plan.get(i)!)]);
    return plan.size;
  }

  /**
   * Reads membership and leadership: reloads the catalog when another broker changed it, lets
   * every partition this broker now leads load its state (lead), and turns the others into
   * followers. Returns the live brokers.
   */
  async pollCluster(): Promise<BrokerRow[]> {
    const me = this.cluster?.nodeId ?? -1;
    const db = this.db();
    const version = Number((await db.query<{ v: string }>({ name: 'fjord_catalog_version', text: 'SELECT catalog_version AS v FROM fjord_cluster WHERE id = 1' })).rows[0].v);
    if (version !== this.catalogVersion) await this.reloadCatalog(version);
    const brokers = await db.query<{ node_id: number; listeners: BrokerRow['listeners']; rack: string | null }>({
      name: 'fjord_live_brokers', text: `SELECT node_id, listeners, rack FROM fjord_brokers b WHERE expires_at > now() AND ${this.lockHeld()} ORDER BY node_id`,
    });
    const rows = await db.query<{ id: string; leader_node: number | null; leader_epoch: number }>({
      name: 'fjord_leaders', text: 'SELECT id, leader_node, leader_epoch FROM fjord_partitions',
    });
    const byId = new Map<number, PgPartitionLog>();
    for (const logs of this.logs.values()) for (const l of logs) byId.set(l.id, l);
    for (const l of this.internalOpen.values()) byId.set(l.id, l);
    const taking: Promise<boolean>[] = [];
    for (const r of rows.rows) {
      const l = byId.get(toNum(r.id));
      if (!l) continue;
      if (r.leader_node === me && me >= 0) {
        l.leaderNode = me;
        l.leaderEpoch = r.leader_epoch;
        if (!(l.leading() && l.epoch === r.leader_epoch)) taking.push(l.lead(r.leader_epoch));
      } else {
        l.follow(r.leader_node, r.leader_epoch);
      }
    }
    await Promise.all(taking);
    return brokers.rows.map((b) => ({ nodeId: b.node_id, listeners: b.listeners, rack: b.rack }));
  }

  /** Cluster mode: reloads the catalog now if another broker changed it (its version moved). */
  async catchUpCatalog(): Promise<void> {
    const version = Number((await this.db().query<{ v: string }>({ name: 'fjord_catalog_version', text: 'SELECT catalog_version AS v FROM fjord_cluster WHERE id = 1' })).rows[0].v);
    if (version !== this.catalogVersion) await this.reloadCatalog(version);
  }

  /** Topics created, deleted, grown or reconfigured by other brokers become this broker's view. */
  private async reloadCatalog(version: number): Promise<void> {
    const db = this.db();
    // Topics first: their partition rows committed with them, so the second read sees them all.
    const topics = await db.query<{ topic_id: string; name: string; internal: boolean; partition_count: number; configs: Record<string, string> }>(
      'SELECT topic_id, name, internal, partition_count, configs FROM fjord_topics');
    const parts = await db.query<{ id: string; topic_id: string; partition: number; leader_epoch: number }>('SELECT id, topic_id, partition, leader_epoch FROM fjord_partitions');
    const byTopic = new Map<string, { id: number; partition: number; epoch: number }[]>();
    for (const p of parts.rows) {
      const list = byTopic.get(p.topic_id) ?? [];
      list.push({ id: toNum(p.id), partition: p.partition, epoch: p.leader_epoch });
      byTopic.set(p.topic_id, list);
    }
    const seen = new Set<string>();
    for (const t of topics.rows) {
      if (t.internal) continue;
      seen.add(t.name);
      if (this.creating.has(t.name)) continue;
      const list = (byTopic.get(t.topic_id) ?? []).sort((a, b) => a.partition - b.partition);
      let meta = this.meta.get(t.name);
      if (meta && meta.topicId !== t.topic_id) {
        // Deleted and created again elsewhere: a different topic under the same name.
        for (const l of this.logs.get(t.name) ?? []) await l.close();
        this.meta.delete(t.name);
        this.logs.delete(t.name);
        meta = undefined;
      }
      const logs = this.logs.get(t.name) ?? [];
      for (const p of list) {
        if (p.partition < logs.length) continue;
        const l = new PgPartitionLog(t.name, p.partition, p.id, p.epoch, this);
        const row = await this.loadState(p.id, this.segmentBytes(t.name));
        if (!row) break;
        l.restore(row);
        l.follow(row.leaderNode, row.leaderEpoch);
        logs.push(l);
      }
      if (!meta) {
        this.meta.set(t.name, { name: t.name, topicId: t.topic_id, partitionCount: logs.length, configs: { ...t.configs } });
        this.logs.set(t.name, logs);
      } else {
        meta.partitionCount = logs.length;
        if (JSON.stringify(meta.configs) !== JSON.stringify(t.configs)) meta.configs = { ...t.configs };
      }
    }
    for (const name of [...this.meta.keys()]) {
      if (seen.has(name) || this.creating.has(name)) continue;
      const logs = this.logs.get(name) ?? [];
      this.meta.delete(name);
      this.logs.delete(name);
      for (const l of logs) await l.close();
    }
    this.catalogVersion = version;
  }

  /** Cluster mode: the leader node and epoch the database last named for a partition (undefined: unknown). */
  leaderOf(topic: string, partition: number): { nodeId: number | null; epoch: number } | undefined {
    const l = this.logs.get(topic)?.[partition] ?? (partition === 0 ? this.internalOpen.get(topic) : undefined);
    return l && { nodeId: l.leaderNode, epoch: l.leaderEpoch };
  }

  /** Whether this broker leads these internal logs now and has loaded them (it runs the coordinators then). */
  leadsInternalLogs(names: readonly string[]): boolean {
    return names.every((n) => this.internalOpen.get(n)?.leading() === true);
  }

  /**
   * Cluster mode: the internal logs `names` this broker follows learn their bounds from the
   * database (one query), so their stores can read what the leader appended since.
   */
  async followInternalLogs(names: readonly string[]): Promise<void> {
    const logs = names.map((n) => this.internalOpen.get(n)).filter((l): l is PgPartitionLog => l !== undefined && !l.leading());
    if (logs.length === 0) return;
    const r = await this.db().query<{ id: string; log_start: string; log_end: string }>({
      name: 'fjord_follow_bounds', text: 'SELECT id, log_start, log_end FROM fjord_partitions WHERE id = ANY($1::bigint[])', values: [logs.map((l) => l.id)],
    });
    for (const row of r.rows) logs.find((l) => l.id === toNum(row.id))?.followTo(toNum(row.log_start), toNum(row.log_end));
  }

  /** The node leading these internal logs (the coordinators' broker), when they all agree. */
  internalLeader(names: readonly string[]): number | null {
    let node: number | null = null;
    for (const n of names) {
      const l = this.internalOpen.get(n);
      if (!l || l.leaderNode === null || (node !== null && node !== l.leaderNode)) return null;
      node = l.leaderNode;
    }
    return node;
  }


  // ----- transaction markers across brokers (docs/cluster.md "Transactions") ------------------------

  /** The NOTIFY channel of marker requests: one per schema, like the member locks. */
  private markerChannel(): string {
    return `fjord_markers_${this.memberLockClass()}`;
  }

  private wakeMarkerWaiters(): void {
    for (const w of [...this.markerWaiters]) w();
  }

  /**
   * Writes a transaction marker into a partition whichever broker leads it, and resolves once it is
   * stored (or known to be unnecessary: the topic is gone, or the partition has a newer epoch of the
   * producer, as `TxnMarkerEpochError` says on one node). Only the partition's leader writes
   * (invariant 32): here when this broker leads it; otherwise the request is stored in
   * `fjord_txn_markers`, the leader is woken (NOTIFY) and writes it through its own append path
   * (epoch-checked) and deletes the request, and this waits for that. A request outlives the broker
   * that made it and the leader it was meant for: whoever leads the partition next serves it.
   */
  async writeMarker(topic: string, partition: number, marker: TxnMarker): Promise<void> {
    const log = this.logs.get(topic)?.[partition];
    if (!log) return;
    if (log.leading()) {
      try {
        await log.writeTxnMarker(marker, { sync: true });
        return;
      } catch (err) {
        if (err instanceof TxnMarkerEpochError) throw err;
        // Deposed meanwhile: ask the new leader, as for any partition led elsewhere.
        if (!(err instanceof NotLeaderError)) throw err;
      }
    }
    const key = [log.id, marker.producerId, marker.producerEpoch, marker.coordinatorEpoch, marker.commit];
    await this.db().query({
      name: 'fjord_marker_request',
      text: `INSERT INTO fjord_txn_markers (partition_id, producer_id, producer_epoch, coordinator_epoch, commit) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (partition_id, producer_id) DO UPDATE SET producer_epoch = EXCLUDED.producer_epoch, coordinator_epoch = EXCLUDED.coordinator_epoch, commit = EXCLUDED.commit`,
      values: key,
    });
    await this.db().query('SELECT pg_notify($1, $2)', [this.markerChannel(), 'request']);
    const deadline = Date.now() + MARKER_WAIT_MS;
    for (;;) {
      const r = await this.db().query({
        name: 'fjord_marker_pending',
        text: 'SELECT 1 FROM fjord_txn_markers WHERE partition_id = $1 AND producer_id = $2 AND producer_epoch = $3 AND coordinator_epoch = $4 AND commit = $5',
        values: key,
      });
      if (r.rowCount === 0) return;
      if (Date.now() > deadline || this.closed) {
        throw new StorageError(`${log.label}: its leader has not written the ${marker.commit ? 'COMMIT' : 'ABORT'} marker of producer ${marker.producerId} within ${MARKER_WAIT_MS} ms`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.markerWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, MARKER_RECHECK_MS);
        this.markerWaiters.add(done);
      });
    }
  }

  /**
   * Writes the markers other brokers' coordinators asked for on the partitions this broker leads,
   * then deletes those requests and announces it. Called on a notification and at every cluster
   * poll (a notification sent while this broker was taking the partition over, or lost with a
   * connection, is served then). Runs one at a time; a call while it runs makes it run once more.
   */
  serveMarkerRequests(): Promise<void> {
    if (this.serving) {
      this.serveAgain = true;
      return this.serving;
    }
    this.serving = (async () => {
      do {
        this.serveAgain = false;
        await this.serveMarkersOnce().catch((err) => this.log('warn', `writing requested transaction markers failed, retried at the next poll: ${err instanceof Error ? err.message : String(err)}`));
      } while (this.serveAgain && !this.closed);
    })().finally(() => { this.serving = null; });
    return this.serving;
  }

  private async serveMarkersOnce(): Promise<void> {
    if (!this.pool || this.closed) return;
    const leading = new Map<number, PgPartitionLog>();
    for (const logs of this.logs.values()) for (const l of logs) if (l.leading()) leading.set(l.id, l);
    if (leading.size === 0) return;
    const r = await this.db().query<{ partition_id: string; producer_id: string; producer_epoch: number; coordinator_epoch: number; commit: boolean }>({
      name: 'fjord_marker_requests',
      text: 'SELECT partition_id, producer_id, producer_epoch, coordinator_epoch, commit FROM fjord_txn_markers WHERE partition_id = ANY($1::bigint[])',
      values: [[...leading.keys()]],
    });
    if (r.rows.length === 0) return;
    const done: typeof r.rows = [];
    await Promise.all(r.rows.map(async (row) => {
      const log = leading.get(toNum(row.partition_id))!;
      const marker: TxnMarker = { producerId: toNum(row.producer_id), producerEpoch: row.producer_epoch, coordinatorEpoch: row.coordinator_epoch, commit: row.commit };
      try {
        await log.writeTxnMarker(marker, { sync: true });
        done.push(row);
      } catch (err) {
        if (err instanceof TxnMarkerEpochError) {
          // A newer epoch of the producer was written there: nothing of this one is open to end.
          this.log('warn', `no ${marker.commit ? 'COMMIT' : 'ABORT'} marker for ${log.label}: ${err.message}`);
          done.push(row);
        } else {
          this.log('warn', `the ${marker.commit ? 'COMMIT' : 'ABORT'} marker of producer ${marker.producerId} for ${log.label} failed, retried: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }));
    if (done.length === 0) return;
    // Only the request served: a newer one for the same producer (another epoch or outcome) stays.
    await this.db().query({
      name: 'fjord_marker_served',
      text: `DELETE FROM fjord_txn_markers m USING unnest($1::bigint[], $2::bigint[], $3::integer[], $4::integer[], $5::boolean[]) AS v(pid, prod, pe, ce, c)
             WHERE m.partition_id = v.pid AND m.producer_id = v.prod AND m.producer_epoch = v.pe AND m.coordinator_epoch = v.ce AND m.commit = v.c`,
      values: [done.map((x) => toNum(x.partition_id)), done.map((x) => toNum(x.producer_id)), done.map((x) => x.producer_epoch), done.map((x) => x.coordinator_epoch), done.map((x) => x.commit)],
    });
    await this.db().query('SELECT pg_notify($1, $2)', [this.markerChannel(), 'done']);
  }

  // ----- the committer --------------------------------------------------------------------------

  enqueue(job: AppendJob): void {
    this.queue.push(job);
    if (!this.committing) {
      this.committing = true;
      void this.commitLoop();
    }
  }

  dequeue(log: PgPartitionLog): void {
    this.queue = this.queue.filter((j) => j.log !== log);
  }

  private idle(): Promise<void> {
    if (!this.committing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async commitLoop(): Promise<void> {
    while (this.queue.length > 0) {
      let n = 0, bytes = 0;
      while (n < this.queue.length && n < MAX_GROUP_JOBS && (n === 0 || bytes + this.queue[n].bytes <= MAX_GROUP_BYTES)) bytes += this.queue[n++].bytes;
      let group = this.queue.splice(0, n);
      while (group.length > 0) {
        let refused: Set<PgPartitionLog>;
        try {
          refused = await this.commitGroup(group);
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          for (const log of new Set(group.map((j) => j.log))) log.failed(e, false);
          break;
        }
        if (refused.size === 0) {
          this.transactions++;
          this.appendsCommitted += group.length;
          for (const j of group) j.log.committed(j);
          break;
        }
        for (const log of refused) log.failed(new StorageError('refused'), true);
        group = group.filter((j) => !refused.has(j.log));
      }
    }
    this.committing = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** One append transaction; returns the partitions whose epoch or log end did not match (nothing is stored then). */
  private async commitGroup(group: AppendJob[]): Promise<Set<PgPartitionLog>> {
    const spans = new Map<PgPartitionLog, { from: number; to: number }>();
    for (const j of group) {
      const s = spans.get(j.log);
      if (s) s.to = j.endOffset;
      else spans.set(j.log, { from: j.baseOffset, to: j.endOffset });
    }
    const logs = [...spans.keys()].sort((a, b) => a.id - b.id);
    const durable = this.options.flush === 'always' && group.some((j) => j.sync);
    const client = await this.db().connect();
    let broken: Error | undefined;
    try {
      await client.query(durable ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit TO off');
      const r = await client.query<{ id: string }>({
        name: 'fjord_claim_end',
        text: `UPDATE fjord_partitions p SET log_end = v.new_end
               FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::bigint[]) AS v(id, epoch, old_end, new_end)
               WHERE p.id = v.id AND p.leader_epoch = v.epoch AND p.log_end = v.old_end RETURNING p.id`,
        values: [logs.map((l) => l.id), logs.map((l) => l.epoch), logs.map((l) => spans.get(l)!.from), logs.map((l) => spans.get(l)!.to)],
      });
      if (r.rows.length !== logs.length) {
        const ok = new Set(r.rows.map((x) => toNum(x.id)));
        await client.query('ROLLBACK');
        return new Set(logs.filter((l) => !ok.has(l.id)));
      }
      const rows = group.flatMap((j) => j.rows.map((row) => ({ id: j.log.id, row })));
      for (let at = 0; at < rows.length; at += INSERT_CHUNK) {
        const chunk = rows.slice(at, at + INSERT_CHUNK);
        const values: (number | boolean | Buffer)[] = [];
        const tuples: string[] = [];
        for (const { id, row } of chunk) {
          const k = values.length;
          tuples.push(`($${k + 1}, $${k + 2}, $${k + 3}, $${k + 4}, $${k + 5}, $${k + 6}, $${k + 7})`);
          values.push(id, row.baseOffset, row.lastOffset, row.maxTimestamp, row.producerId, row.control, row.bytes);
        }
        await client.query({
          name: `fjord_insert_${chunk.length}`,
          text: `INSERT INTO fjord_batches (partition_id, base_offset, last_offset, max_timestamp, producer_id, control, batch) VALUES ${tuples.join(', ')}`,
          values,
        });
      }
      await client.query('COMMIT');
      return new Set();
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      // A connection that failed mid-transaction is not given back to the pool.
      client.release(broken);
    }
  }

  // ----- reads and the rest of PartitionHost -------------------------------------------------------

  async readBatches(partitionId: number, from: number, below: number, maxBytes: number, minOneBatch: boolean): Promise<Buffer[]> {
    const out: Buffer[] = [];
    let bytes = 0;
    let last = -1;
    for (;;) {
      const r = last < 0
        ? await this.db().query<{ batch: Buffer; last_offset: string }>({
          name: 'fjord_read_first',
          text: `SELECT batch, last_offset FROM (
                   SELECT batch, last_offset, sum(octet_length(batch)) OVER (ORDER BY base_offset) - octet_length(batch) AS before
                   FROM fjord_batches WHERE partition_id = $1
                   AND base_offset >= COALESCE((SELECT max(base_offset) FROM fjord_batches WHERE partition_id = $1 AND base_offset <= $2), $2)
                   AND base_offset < $3 ORDER BY base_offset LIMIT $4) x
                 WHERE before < $5 ORDER BY last_offset`,
          values: [partitionId, from, below, READ_PAGE, Math.max(1, maxBytes - bytes)],
        })
        : await this.db().query<{ batch: Buffer; last_offset: string }>({
          name: 'fjord_read_next',
          text: `SELECT batch, last_offset FROM (
                   SELECT batch, last_offset, sum(octet_length(batch)) OVER (ORDER BY base_offset) - octet_length(batch) AS before
                   FROM fjord_batches WHERE partition_id = $1 AND base_offset > $2 AND base_offset < $3 ORDER BY base_offset LIMIT $4) x
                 WHERE before < $5 ORDER BY last_offset`,
          values: [partitionId, last, below, READ_PAGE, Math.max(1, maxBytes - bytes)],
        });
      for (const row of r.rows) {
        last = toNum(row.last_offset);
        // The next page starts after this row (base offsets > its last offset).
        if (last < from) continue;
        if (bytes + row.batch.length > maxBytes && !(minOneBatch && out.length === 0)) return out;
        out.push(row.batch);
        bytes += row.batch.length;
      }
      // Fewer rows than a page: the partition's end, or the byte limit (rows past it are not even read).
      if (r.rows.length < READ_PAGE || bytes >= maxBytes) return out;
    }
  }

  async offsetForTimestamp(partitionId: number, timestamp: number, below: number): Promise<{ offset: number; timestamp: number } | null> {
    const r = await this.db().query<{ base_offset: string; max_timestamp: string }>({
      name: 'fjord_offset_for_ts',
      text: 'SELECT base_offset, max_timestamp FROM fjord_batches WHERE partition_id = $1 AND max_timestamp >= $2 AND base_offset < $3 ORDER BY base_offset LIMIT 1',
      values: [partitionId, timestamp, below],
    });
    const row = r.rows[0];
    return row ? { offset: toNum(row.base_offset), timestamp: toNum(row.max_timestamp) } : null;
  }

  async deleteBefore(log: PgPartitionLog, target: number): Promise<void> {
    const client = await this.db().connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const r = await client.query({
        name: 'fjord_log_start',
        text: 'UPDATE fjord_partitions SET log_start = GREATEST(log_start, $3) WHERE id = $1 AND leader_epoch = $2',
        values: [log.id, log.epoch, target],
      });
      if (r.rowCount !== 1) {
        await client.query('ROLLBACK');
        const reason = `${log.label}: the database has another leader epoch than this broker's ${log.epoch}; it no longer writes here`;
        log.fence(reason);
        throw new LeaderEpochError(reason);
      }
      await client.query({ name: 'fjord_delete_batches', text: 'DELETE FROM fjord_batches WHERE partition_id = $1 AND last_offset < $2', values: [log.id, target] });
      await client.query('COMMIT');
    } catch (err) {
      if (!(err instanceof LeaderEpochError)) {
        broken = err instanceof Error ? err : new Error(String(err));
        await client.query('ROLLBACK').catch(() => undefined);
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  loadState(partitionId: number, segmentBytes: number): Promise<PartitionRow | null> {
    return this.loadStateWith(this.db(), partitionId, segmentBytes);
  }

  async storedLeader(partitionId: number): Promise<{ node: number | null; epoch: number } | null> {
    const r = await this.db().query<{ leader_node: number | null; leader_epoch: number }>({
      name: 'fjord_partition_leader', text: 'SELECT leader_node, leader_epoch FROM fjord_partitions WHERE id = $1', values: [partitionId],
    });
    return r.rows.length === 0 ? null : { node: r.rows[0].leader_node, epoch: r.rows[0].leader_epoch };
  }

  segmentBytes(topic: string): number {
    return this.options.segmentPolicy?.(topic)?.segmentBytes ?? this.options.segmentBytes;
  }

  private async loadStateWith(db: pg.Pool | pg.PoolClient, partitionId: number, segmentBytes: number): Promise<PartitionRow | null> {
    const p = await db.query<{ log_start: string; log_end: string; leader_epoch: number; leader_node: number | null }>({
      name: 'fjord_partition_row',
      text: 'SELECT log_start, log_end, leader_epoch, leader_node FROM fjord_partitions WHERE id = $1',
      values: [partitionId],
    });
    // Pseudo-segments for retention.bytes: rows in offset order, cut every segment.bytes (by the bytes before each row).
    const segs = await db.query<{ base: string; bytes: string }>({
      name: 'fjord_segments',
      text: `SELECT min(base_offset) AS base, sum(len) AS bytes FROM (
               SELECT base_offset, octet_length(batch) AS len,
                      sum(octet_length(batch)) OVER (ORDER BY base_offset) - octet_length(batch) AS before
               FROM fjord_batches WHERE partition_id = $1) x
             GROUP BY before / $2 ORDER BY 1`,
      values: [partitionId, Math.max(1, segmentBytes)],
    });
    if (p.rows.length === 0) return null;
    const b = await db.query<{ head: Buffer }>({
      name: 'fjord_producer_batches',
      text: `SELECT CASE WHEN control THEN batch ELSE substring(batch FROM 1 FOR 61) END AS head
             FROM fjord_batches WHERE partition_id = $1 AND producer_id >= 0 ORDER BY base_offset`,
      values: [partitionId],
    });
    const row = p.rows[0];
    return {
      logStart: toNum(row.log_start), logEnd: toNum(row.log_end), leaderEpoch: row.leader_epoch, leaderNode: row.leader_node,
      producerBatches: b.rows.map((x) => x.head), segments: segs.rows.map((x) => ({ baseOffset: toNum(x.base), bytes: toNum(x.bytes) })),
    };
  }

  cacheAdmit(log: PgPartitionLog, entry: CacheEntry): void {
    this.cacheFifo.push({ log, entry });
    this.cacheUsed += entry.bytes.length;
    this.cacheLive++;
    while (this.cacheUsed > this.cacheLimit && this.cacheHead < this.cacheFifo.length) {
      const oldest = this.cacheFifo[this.cacheHead++];
      oldest.log.evictUpTo(oldest.entry);
    }
    // Entries a partition dropped itself (its own cap, deleteBefore, a reload) are swept out now and then.
    if (this.cacheFifo.length - this.cacheHead > 2 * this.cacheLive + 1024) {
      this.cacheFifo = this.cacheFifo.filter((x, i) => i >= this.cacheHead && x.entry.live);
      this.cacheHead = 0;
    }
  }

  cacheDrop(entry: CacheEntry): void {
    if (!entry.live) return;
    entry.live = false;
    this.cacheUsed -= entry.bytes.length;
    this.cacheLive--;
  }
}
