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
import type { TopicMeta, PartitionLog, Storage, StorageLogger, StorageOptions } from '../types.js';
import { StorageError } from '../types.js';
import { migrate, quoteIdent } from './schema.js';
import { LeaderEpochError, PgPartitionLog, type AppendJob, type CacheEntry, type PartitionHost, type PartitionRow } from './partition-log.js';

/** Rows per INSERT statement (one prepared statement per count up to this). */
const INSERT_CHUNK = 64;
/** Most appends and bytes one transaction takes. */
const MAX_GROUP_JOBS = 2000;
const MAX_GROUP_BYTES = 16 * 1024 * 1024;
/** The newest batches kept per partition, and all partitions together unless tailCacheBytes says otherwise. */
const CACHE_PER_PARTITION = 4 * 1024 * 1024;
const DEFAULT_CACHE_BUDGET = 64 * 1024 * 1024;
/** Rows fetched per range-read query. */
const READ_PAGE = 64;

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

  private db(): pg.Pool {
    if (!this.pool) throw new StorageError('the postgres storage is not open');
    return this.pool;
  }

  async open(): Promise<void> {
    const pool = new pg.Pool({
      connectionString: this.target.connectionString,
      max: 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'fjord',
      ...(this.target.schema ? { options: `-c search_path=${quoteIdent(this.target.schema)}` } : {}),
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
      await client.query('BEGIN');
      await client.query('INSERT INTO fjord_cluster (id, cluster_id, next_producer_id) VALUES (1, $1, 0) ON CONFLICT (id) DO NOTHING', [randomBytes(16).toString('base64url')]);
      this._clusterId = (await client.query<{ cluster_id: string }>('SELECT cluster_id FROM fjord_cluster WHERE id = 1')).rows[0].cluster_id;
      // Phase 1: one broker leads every partition; opening claims them all (epoch + 1), which
      // fences any earlier instance still running against this database.
      const parts = await client.query<{ id: string; topic_id: string; partition: number; leader_epoch: number }>(
        'UPDATE fjord_partitions SET leader_epoch = leader_epoch + 1, leader = $1 RETURNING id, topic_id, partition, leader_epoch', [this.me]);
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
          const row = await this.loadStateWith(client, l.id);
          if (!row) throw new StorageError(`${l.label}: partition row vanished during open`);
          l.restore(row);
        }
        if (t.internal) this.internal.set(t.name, Promise.resolve(logs[0]));
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

  /** Inserts a topic row and its partition rows (this broker leads them, epoch 1). */
  private async insertTopic(name: string, internal: boolean, partitionCount: number, configs: Record<string, string>): Promise<{ topicId: string; logs: PgPartitionLog[] }> {
    const topicId = randomUUID();
    const client = await this.db().connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO fjord_topics (topic_id, name, internal, partition_count, configs) VALUES ($1, $2, $3, $4, $5)', [topicId, name, internal, partitionCount, JSON.stringify(configs)]);
      const rows = await client.query<{ id: string; partition: number; leader_epoch: number }>(
        `INSERT INTO fjord_partitions (topic_id, partition, log_start, log_end, leader_epoch, leader)
         SELECT $1, p, 0, 0, 1, $3 FROM generate_series(0, $2 - 1) AS p RETURNING id, partition, leader_epoch`, [topicId, partitionCount, this.me]);
      await client.query('COMMIT');
      const logs = rows.rows.sort((a, b) => a.partition - b.partition).map((r) => new PgPartitionLog(name, r.partition, toNum(r.id), r.leader_epoch, this));
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
    const { topicId, logs } = await this.insertTopic(name, false, partitionCount, configs);
    if (this.meta.has(name)) throw new Error(`topic ${name} exists`);
    const t: TopicMeta = { name, topicId, partitionCount, configs: { ...configs } };
    this.meta.set(name, t);
    this.logs.set(name, logs);
    return t;
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.meta.get(name);
    if (!t) return;
    const logs = this.logs.get(name) ?? [];
    this.meta.delete(name);
    this.logs.delete(name);
    for (const l of logs) await l.close();
    await this.db().query({ name: 'fjord_delete_topic', text: 'DELETE FROM fjord_topics WHERE topic_id = $1', values: [t.topicId] });
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
         SELECT $1, p, 0, 0, 1, $4 FROM generate_series($2, $3 - 1) AS p RETURNING id, partition, leader_epoch`, [t.topicId, t.partitionCount, partitionCount, this.me]);
      await client.query('COMMIT');
      for (const r of rows.rows.sort((a, b) => a.partition - b.partition)) logs.push(new PgPartitionLog(name, r.partition, toNum(r.id), r.leader_epoch, this));
      t.partitionCount = partitionCount;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new StorageError(`adding partitions to ${name}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      client.release();
    }
  }

  async alterTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.meta.get(name);
    if (!t) throw new Error(`no topic ${name}`);
    await this.db().query('UPDATE fjord_topics SET configs = $2 WHERE topic_id = $1', [t.topicId, JSON.stringify(configs)]);
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
      p = this.insertTopic(name, true, 1, {}).then((r) => r.logs[0]);
      this.internal.set(name, p);
      p.catch(() => this.internal.delete(name));
    }
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
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
          text: `SELECT batch, last_offset FROM fjord_batches WHERE partition_id = $1
                 AND base_offset >= COALESCE((SELECT max(base_offset) FROM fjord_batches WHERE partition_id = $1 AND base_offset <= $2), $2)
                 AND base_offset < $3 ORDER BY base_offset LIMIT $4`,
          values: [partitionId, from, below, READ_PAGE],
        })
        : await this.db().query<{ batch: Buffer; last_offset: string }>({
          name: 'fjord_read_next',
          text: 'SELECT batch, last_offset FROM fjord_batches WHERE partition_id = $1 AND base_offset > $2 AND base_offset < $3 ORDER BY base_offset LIMIT $4',
          values: [partitionId, last, below, READ_PAGE],
        });
      for (const row of r.rows) {
        last = toNum(row.last_offset);
        // The next page starts after this row (base offsets > its last offset).
        if (last < from) continue;
        if (bytes + row.batch.length > maxBytes && !(minOneBatch && out.length === 0)) return out;
        out.push(row.batch);
        bytes += row.batch.length;
      }
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

  loadState(partitionId: number): Promise<PartitionRow | null> {
    return this.loadStateWith(this.db(), partitionId);
  }

  private async loadStateWith(db: pg.Pool | pg.PoolClient, partitionId: number): Promise<PartitionRow | null> {
    const p = await db.query<{ log_start: string; log_end: string; leader_epoch: number }>({
      name: 'fjord_partition_row',
      text: 'SELECT log_start, log_end, leader_epoch FROM fjord_partitions WHERE id = $1',
      values: [partitionId],
    });
    if (p.rows.length === 0) return null;
    const b = await db.query<{ head: Buffer }>({
      name: 'fjord_producer_batches',
      text: `SELECT CASE WHEN control THEN batch ELSE substring(batch FROM 1 FOR 61) END AS head
             FROM fjord_batches WHERE partition_id = $1 AND producer_id >= 0 ORDER BY base_offset`,
      values: [partitionId],
    });
    const row = p.rows[0];
    return { logStart: toNum(row.log_start), logEnd: toNum(row.log_end), leaderEpoch: row.leader_epoch, producerBatches: b.rows.map((x) => x.head) };
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
