// FileStorage: the catalog of topics and partitions on disk (topics.json), the cluster id and
// producer id reservations (meta.json), internal logs, the flush timer, open and close.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError, type PartitionLog, type Storage, type StorageOptions, type TopicMeta } from '../types.js';
import { Mutex } from './async-util.js';
import { DataDirError, DirLock, LOCK_FILE, dataDirError, ensureDir, isLeftoverScratch, isOwnScratch } from './data-dir.js';
import type { FaultHooks, LogContext, StorageLogger } from './context.js';
import { asStorageError, errText, fsyncDir, isNotFound, readOptional, unlinkQuiet, writeFileAtomic } from './io.js';
import { FilePartitionLog } from './partition-log.js';
import { defaultMaxOpenFiles, HandlePool } from './handle-pool.js';
import { INT32_MAX } from './segment.js';
import { DEFAULT_TAIL_CACHE_BUDGET, TailCacheBudget } from './tail-cache.js';

/** Producer ids are reserved on disk this many at a time. */
const PRODUCER_ID_BLOCK = 1000;
const FIRST_PRODUCER_ID = 1000;
const RECOVERY_PARALLELISM = 8;
const CLOSE_PARALLELISM = 64;

const DELETED_DIR_RE = /\.[0-9a-f-]{36}-delete$/;

/**
 * The format marker. `format` says the folder is Fjord's; `formatVersion` is the on-disk layout
 * (index.ts) this code reads and writes. A folder of a newer format is refused, and this is where
 * a future layout change upgrades an older one. Fjord before the marker wrote meta.json without
 * `format`/`formatVersion` (with `version: 1`): that is format 1, and the marker is added at open.
 */
export const FORMAT = 'fjord';
export const FORMAT_VERSION = 1;

interface MetaFile {
  format: typeof FORMAT;
  formatVersion: number;
  clusterId: string;
  /** Producer ids below this may have been handed out; a restart continues from here. */
  producerIdHighWater: number;
}

const CLUSTER_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const NOT_OURS = 'Fjord only uses a folder it made, or an empty one: choose another folder with --data-dir';

/** meta.json checked: Fjord's, a format this code reads, a well-formed cluster id. Throws DataDirError. */
function parseMeta(text: string, dir: string): { meta: MetaFile; marked: boolean } {
  const path = join(dir, 'meta.json');
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    throw new DataDirError(`${path} is not JSON, so ${dir} is not a Fjord data dir (or its meta.json is damaged): ${NOT_OURS}`);
  }
  if (!x || typeof x !== 'object' || Array.isArray(x)) throw new DataDirError(`${path} is not Fjord's: ${NOT_OURS}`);
  const m = x as Record<string, unknown>;
  const marked = m.format !== undefined || m.formatVersion !== undefined;
  if (marked) {
    if (m.format !== FORMAT) throw new DataDirError(`${path} is not Fjord's (format ${JSON.stringify(m.format)}): ${NOT_OURS}`);
    const v = m.formatVersion;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new DataDirError(`${path} has a malformed formatVersion ${JSON.stringify(v)}`);
    if (v > FORMAT_VERSION) {
      throw new DataDirError(`${dir} holds data format ${v}, written by a newer Fjord; this Fjord reads format ${FORMAT_VERSION}: run the newer Fjord, or choose another folder with --data-dir`);
    }
  } else if (m.clusterId === undefined || m.producerIdHighWater === undefined) {
    throw new DataDirError(`${path} is not Fjord's (no format marker): ${NOT_OURS}`);
  }
  if (typeof m.clusterId !== 'string' || !CLUSTER_ID_RE.test(m.clusterId)) throw new DataDirError(`${path} has a malformed clusterId ${JSON.stringify(m.clusterId)}`);
  const hw = m.producerIdHighWater;
  if (typeof hw !== 'number' || !Number.isSafeInteger(hw) || hw < 0) throw new DataDirError(`${path} has a malformed producerIdHighWater ${JSON.stringify(hw)}`);
  return { meta: { format: FORMAT, formatVersion: FORMAT_VERSION, clusterId: m.clusterId, producerIdHighWater: hw }, marked };
}

/** A topic being deleted: its folders are Fjord's to remove even when a crash left them behind. */
interface Deletion {
  name: string;
  partitionCount: number;
}

function parseCatalog(text: string): { topics: TopicMeta[]; deleting: Deletion[] } | null {
  const x: unknown = JSON.parse(text);
  if (!x || typeof x !== 'object' || !Array.isArray((x as { topics?: unknown }).topics)) return null;
  const out: TopicMeta[] = [];
  for (const t of (x as { topics: unknown[] }).topics) {
    if (!t || typeof t !== 'object') return null;
    const r = t as Record<string, unknown>;
    const configs = r.configs;
    if (typeof r.name !== 'string' || typeof r.topicId !== 'string' || typeof r.partitionCount !== 'number') return null;
    if (!configs || typeof configs !== 'object' || Object.values(configs).some((v) => typeof v !== 'string')) return null;
    out.push({ name: r.name, topicId: r.topicId, partitionCount: r.partitionCount, configs: { ...(configs as Record<string, string>) } });
  }
  const deleting: Deletion[] = [];
  const d = (x as { deleting?: unknown }).deleting;
  if (d !== undefined) {
    if (!Array.isArray(d)) return null;
    for (const e of d as unknown[]) {
      const r = (e ?? {}) as Record<string, unknown>;
      if (typeof r.name !== 'string' || typeof r.partitionCount !== 'number') return null;
      deleting.push({ name: r.name, partitionCount: r.partitionCount });
    }
  }
  return { topics: out, deleting };
}

function checkName(kind: string, name: string): void {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) throw new Error(`invalid ${kind} name ${JSON.stringify(name)}`);
}

/** True if something is at `path` (null if nothing); checked before a partition folder is made. */
async function pathExists(path: string): Promise<true | null> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class FileStorage implements Storage {
  readonly kind = 'file';
  readonly compacts = true;
  /** Test-only fault injection (see FaultHooks). */
  readonly faults: FaultHooks = {};
  private meta: MetaFile | null = null;
  private readonly catalog = new Map<string, TopicMeta>();
  private readonly logs = new Map<string, FilePartitionLog[]>();
  private readonly internal = new Map<string, Promise<FilePartitionLog>>();
  private readonly catalogLock = new Mutex();
  private readonly metaLock = new Mutex();
  private readonly ctx: LogContext;
  private readonly background = new Set<Promise<void>>();
  private nextProducerId = 0;
  private timer: NodeJS.Timeout | null = null;
  private state: 'new' | 'open' | 'closed' = 'new';
  private deleting: Deletion[] = [];
  private readonly lock: DirLock;

  constructor(
    readonly dataDir: string,
    readonly options: StorageOptions,
    private readonly log: StorageLogger = (level, msg) => {
      if (level !== 'info') console.error(`[fjord storage] ${level}: ${msg}`);
    },
  ) {
    if (!(options.segmentBytes > 0 && options.segmentBytes <= INT32_MAX)) throw new Error(`segmentBytes must be in 1..${INT32_MAX}`);
    if (!(options.indexIntervalBytes >= 0)) throw new Error('indexIntervalBytes must be >= 0');
    if (typeof options.flush === 'number' && !(options.flush > 0)) throw new Error('flush interval must be > 0 ms');
    const handles = new HandlePool(options.maxOpenFiles ?? defaultMaxOpenFiles());
    this.ctx = { options, log, faults: this.faults, tailCache: new TailCacheBudget(options.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BUDGET), handles };
    this.lock = new DirLock(dataDir);
  }

  /** Segment files open now, openers waiting for a slot, files closed to make room — for tests and measurements. */
  openFileStats(): { open: number; waiting: number; evictions: number; limit: number } {
    return { ...this.ctx.handles.stats(), limit: this.ctx.handles.limit };
  }

  get clusterId(): string {
    if (!this.meta) throw new Error('assertion: storage not open');
    return this.meta.clusterId;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new StorageError(`storage is ${this.state === 'new' ? 'not open' : 'closed'}`);
  }

  private partitionDir(topic: string, p: number): string {
    return join(this.dataDir, `${topic}-${p}`);
  }

  async open(): Promise<void> {
    if (this.state !== 'new') throw new Error('assertion: storage opened twice');
    try {
      await this.claim();
      await this.loadCatalog();
      await this.tidyTopLevel();
      const work: { t: TopicMeta; p: number; logs: FilePartitionLog[] }[] = [];
      for (const t of this.catalog.values()) {
        const logs: FilePartitionLog[] = [];
        this.logs.set(t.name, logs);
        for (let p = 0; p < t.partitionCount; p++) work.push({ t, p, logs });
      }
      await mapLimit(work, RECOVERY_PARALLELISM, async ({ t, p, logs }) => {
        const l = new FilePartitionLog(this.ctx, t.name, p, this.partitionDir(t.name, p), `${t.name}-${p}`);
        await l.open();
        logs[p] = l;
      });
    } catch (err) {
      await Promise.all([...this.logs.values()].flat().map((l) => l?.close(false).catch(() => undefined)));
      this.logs.clear();
      this.catalog.clear();
      await this.lock.release().catch(() => undefined);
      this.state = 'closed';
      throw dataDirError(this.dataDir, err);
    }

    if (typeof this.options.flush === 'number') {
      this.timer = setInterval(() => this.flushAll(), this.options.flush);
      this.timer.unref();
    }
    this.state = 'open';
  }

  /**
   * Makes the folder if needed, checks it is Fjord's (or empty) before writing anything, takes the
   * lock, then writes or upgrades the format marker. Nothing in a folder that is not Fjord's is touched.
   */
  private async claim(): Promise<void> {
    await ensureDir(this.dataDir);
    await this.inspect(); // refuse a foreign or newer folder before writing even the lock
    const tookOver = await this.lock.acquire();
    if (tookOver) this.log('warn', `took over the lock of ${this.dataDir} from Fjord ${tookOver}, which is no longer running`);
    const found = await this.inspect(); // again, now that no other broker can change it
    const metaPath = join(this.dataDir, 'meta.json');
    if (found === null) {
      this.meta = { format: FORMAT, formatVersion: FORMAT_VERSION, clusterId: randomBytes(16).toString('base64url'), producerIdHighWater: FIRST_PRODUCER_ID };
      await writeFileAtomic(metaPath, JSON.stringify(this.meta, null, 2));
      this.log('info', `new data dir ${this.dataDir}: cluster id ${this.meta.clusterId}, data format ${FORMAT_VERSION}`);
    } else {
      this.meta = found.meta;
      if (!found.marked) {
        await writeFileAtomic(metaPath, JSON.stringify(this.meta, null, 2));
        this.log('info', `${metaPath}: added the format marker (data format ${FORMAT_VERSION})`);
      }
    }
    this.nextProducerId = this.meta.producerIdHighWater;
  }

  /** The checked meta.json, or null for a folder with nothing but Fjord's scratch files in it. */
  private async inspect(): Promise<{ meta: MetaFile; marked: boolean } | null> {
    const metaBytes = await readOptional(join(this.dataDir, 'meta.json'));
    if (metaBytes !== null) return parseMeta(metaBytes.toString('utf8'), this.dataDir);
    const others = (await readdir(this.dataDir)).filter((n) => !isOwnScratch(n)).sort();
    if (others.length > 0) {
      const shown = others.slice(0, 3).join(', ') + (others.length > 3 ? `, … (${others.length} entries)` : '');
      throw new DataDirError(`${this.dataDir} is not empty (${shown}) and has no Fjord meta.json, so it is not a Fjord data dir: ${NOT_OURS}`);
    }
    return null;
  }

  private async loadCatalog(): Promise<void> {
    const catalogPath = join(this.dataDir, 'topics.json');
    const catalogBytes = await readOptional(catalogPath);
    if (catalogBytes === null) {
      await this.persistCatalog([]);
      return;
    }
    let parsed: ReturnType<typeof parseCatalog>;
    try {
      parsed = parseCatalog(catalogBytes.toString('utf8'));
    } catch {
      parsed = null;
    }
    if (!parsed) throw new StorageError(`${catalogPath} is malformed`);
    for (const t of parsed.topics) this.catalog.set(t.name, t);
    this.deleting = parsed.deleting.filter((d) => !this.catalog.has(d.name));
  }

  /**
   * The top level of the data dir: our leftover temp files go, folders set aside for deletion go,
   * the folders of deletions a crash interrupted (listed in topics.json) go; anything else that is
   * not ours is left alone and reported once.
   */
  private async tidyTopLevel(): Promise<void> {
    const known = new Set(['meta.json', 'topics.json', LOCK_FILE, '__internal']);
    for (const t of this.catalog.values()) for (let p = 0; p < t.partitionCount; p++) known.add(`${t.name}-${p}`);
    const pending = new Set<string>();
    for (const d of this.deleting) for (let p = 0; p < d.partitionCount; p++) pending.add(`${d.name}-${p}`);
    const unknown: string[] = [];
    for (const ent of await readdir(this.dataDir, { withFileTypes: true })) {
      const full = join(this.dataDir, ent.name);
      if (known.has(ent.name)) continue;
      if (isOwnScratch(ent.name)) {
        if (isLeftoverScratch(ent.name)) await unlinkQuiet(full);
      } else if (ent.isDirectory() && DELETED_DIR_RE.test(ent.name)) {
        this.removeInBackground(full);
      } else if (ent.isDirectory() && pending.has(ent.name)) {
        this.log('info', `removing ${ent.name}: its topic was being deleted when Fjord stopped`);
        await this.moveAsideAndRemove(full);
      } else {
        unknown.push(ent.name);
      }
    }
    if (this.deleting.length > 0) {
      this.deleting = [];
      await this.persistCatalog([...this.catalog.values()]);
    }
    if (unknown.length > 0) {
      unknown.sort();
      this.log('warn', `${this.dataDir} holds ${unknown.length} entr${unknown.length === 1 ? 'y' : 'ies'} Fjord did not write, left alone: ${unknown.join(', ')}`);
    }
  }

  private removeInBackground(path: string): void {
    const p = rm(path, { recursive: true, force: true })
      .catch((err: unknown) => this.log('error', `removing ${path}: ${errText(err)}`))
      .finally(() => this.background.delete(p));
    this.background.add(p);
  }

  /** Rename first (instant, and the name is free again at once), then delete the tree in the background. */
  private async moveAsideAndRemove(dir: string): Promise<void> {
    const aside = `${dir}.${randomUUID()}-delete`;
    try {
      await rename(dir, aside);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.removeInBackground(aside);
  }

  private async persistCatalog(topics: TopicMeta[]): Promise<void> {
    const body = {
      version: 1,
      topics: topics.map((t) => ({ name: t.name, topicId: t.topicId, partitionCount: t.partitionCount, configs: t.configs })),
      ...(this.deleting.length > 0 ? { deleting: this.deleting } : {}),
    };
    try {
      await writeFileAtomic(join(this.dataDir, 'topics.json'), JSON.stringify(body, null, 2));
    } catch (err) {
      throw asStorageError('writing topics.json', err);
    }
  }

  /**
   * Opens brand-new partition logs. A folder of the same name that a deletion of ours left is
   * removed first; any other is not ours, and the creation is refused. On failure the folders made
   * here are removed again.
   */
  private async createLogs(name: string, from: number, to: number): Promise<FilePartitionLog[]> {
    const out: FilePartitionLog[] = [];
    try {
      for (let p = from; p < to; p++) {
        const dir = this.partitionDir(name, p);
        if ((await pathExists(dir)) !== null) {
          throw new StorageError(`${dir} already exists and is not a partition Fjord knows: move it out of the data dir`);
        }
        const l = new FilePartitionLog(this.ctx, name, p, dir, `${name}-${p}`);
        out.push(l);
        await l.open();
      }
      await fsyncDir(this.dataDir);
    } catch (err) {
      for (const l of out) {
        await l.close(false).catch(() => undefined);
        await this.moveAsideAndRemove(this.partitionDir(name, l.partition)).catch(() => undefined);
      }
      throw asStorageError(`creating partitions of ${name}`, err);
    }
    return out;
  }

  /** Removes what an earlier deletion of `name` left behind (it failed to set the folders aside). */
  private async finishDeletion(name: string): Promise<void> {
    const d = this.deleting.find((x) => x.name === name);
    if (!d) return;
    for (let p = 0; p < d.partitionCount; p++) await this.moveAsideAndRemove(this.partitionDir(name, p));
    this.deleting = this.deleting.filter((x) => x !== d);
  }

  topics(): TopicMeta[] {
    return [...this.catalog.values()];
  }

  topic(name: string): TopicMeta | undefined {
    return this.catalog.get(name);
  }

  async createTopic(name: string, partitionCount: number, configs: Record<string, string>): Promise<TopicMeta> {
    this.assertOpen();
    checkName('topic', name);
    if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new Error(`invalid partition count ${partitionCount}`);
    return this.catalogLock.run(async () => {
      if (this.catalog.has(name)) throw new Error(`topic ${name} exists`);
      await this.finishDeletion(name);
      const t: TopicMeta = { name, topicId: randomUUID(), partitionCount, configs: { ...configs } };
      // The catalog is the commit point; folders missing after a crash are created at open.
      await this.persistCatalog([...this.catalog.values(), t]);
      let logs: FilePartitionLog[];
      try {
        logs = await this.createLogs(name, 0, partitionCount);
      } catch (err) {
        await this.persistCatalog([...this.catalog.values()]).catch(() => undefined);
        throw err;
      }
      this.catalog.set(name, t);
      this.logs.set(name, logs);
      return t;
    });
  }

  async deleteTopic(name: string): Promise<void> {
    this.assertOpen();
    await this.catalogLock.run(async () => {
      const t = this.catalog.get(name);
      if (!t) return;
      // The deletion is written down first: folders a crash leaves behind are then known to be ours.
      const entry: Deletion = { name, partitionCount: t.partitionCount };
      this.deleting = [...this.deleting.filter((d) => d.name !== name), entry];
      try {
        await this.persistCatalog([...this.catalog.values()].filter((x) => x !== t));
      } catch (err) {
        this.deleting = this.deleting.filter((d) => d !== entry);
        throw err;
      }
      const logs = this.logs.get(name) ?? [];
      this.catalog.delete(name);
      this.logs.delete(name);
      await Promise.all(logs.map((l) => l.close(false)));
      let all = true;
      for (let p = 0; p < t.partitionCount; p++) {
        await this.moveAsideAndRemove(this.partitionDir(name, p)).catch((err: unknown) => {
          all = false;
          this.log('error', `deleting ${name}-${p}: ${errText(err)}; it is removed at the next open`);
        });
      }
      if (all) {
        this.deleting = this.deleting.filter((d) => d !== entry);
        await this.persistCatalog([...this.catalog.values()]).catch(() => undefined); // else cleared at the next open
      }
    });
  }

  async addPartitions(name: string, partitionCount: number): Promise<void> {
    this.assertOpen();
    await this.catalogLock.run(async () => {
      const t = this.catalog.get(name);
      const logs = this.logs.get(name);
      if (!t || !logs) throw new Error(`no topic ${name}`);
      if (partitionCount < t.partitionCount) throw new Error(`topic ${name} has ${t.partitionCount} partitions, cannot shrink to ${partitionCount}`);
      if (partitionCount === t.partitionCount) return;
      // As in createTopic: topics.json first (the commit point), then the folders; a failure part
      // way (createLogs removed the folders it made) puts topics.json back, so disk and memory agree.
      await this.persistCatalog([...this.catalog.values()].map((x) => (x === t ? { ...t, partitionCount } : x)));
      let added: FilePartitionLog[];
      try {
        added = await this.createLogs(name, t.partitionCount, partitionCount);
      } catch (err) {
        await this.persistCatalog([...this.catalog.values()]).catch((e: unknown) =>
          this.log('error', `${name}: topics.json still lists ${partitionCount} partitions after a failed growth (${errText(e)}); the missing folders are made at the next open`));
        throw err;
      }
      logs.push(...added);
      t.partitionCount = partitionCount;
    });
  }

  async alterTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    this.assertOpen();
    await this.catalogLock.run(async () => {
      const t = this.catalog.get(name);
      if (!t) throw new Error(`no topic ${name}`);
      await this.persistCatalog([...this.catalog.values()].map((x) => (x === t ? { ...t, configs: { ...configs } } : x)));
      t.configs = { ...configs };
    });
  }

  partition(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(topic)?.[partition];
  }

  async allocateProducerIds(count: number): Promise<number> {
    this.assertOpen();
    if (!Number.isInteger(count) || count < 1) throw new Error(`invalid producer id count ${count}`);
    return this.metaLock.run(async () => {
      const meta = this.meta;
      if (!meta) throw new Error('assertion: storage not open');
      if (this.nextProducerId + count > meta.producerIdHighWater) {
        // Persist the new reservation before handing out any id from it.
        const next = { ...meta, producerIdHighWater: this.nextProducerId + count + PRODUCER_ID_BLOCK };
        try {
          await writeFileAtomic(join(this.dataDir, 'meta.json'), JSON.stringify(next, null, 2));
        } catch (err) {
          throw asStorageError('reserving producer ids', err);
        }
        this.meta = next;
      }
      const first = this.nextProducerId;
      this.nextProducerId += count;
      return first;
    });
  }

  /** Names of the internal logs opened so far (the log cleaner compacts only those). */
  openInternalLogs(): string[] {
    return [...this.internal.keys()];
  }

  async internalLog(name: string): Promise<PartitionLog> {
    this.assertOpen();
    checkName('internal log', name);
    let p = this.internal.get(name);
    if (!p) {
      const l = new FilePartitionLog(this.ctx, name, 0, join(this.dataDir, '__internal', name), `__internal/${name}`);
      p = l.open().then(() => l);
      this.internal.set(name, p);
      p.catch(() => this.internal.delete(name));
    }
    return p;
  }

  private flushAll(): void {
    const all = [...this.logs.values()].flat();
    for (const l of all) {
      if (l.hasUnsynced()) l.sync().catch((err: unknown) => this.log('error', errText(err)));
    }
    for (const p of this.internal.values()) {
      void p.then((l) => {
        if (l.hasUnsynced()) return l.sync();
      }).catch((err: unknown) => this.log('error', errText(err)));
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') {
      this.state = 'closed';
      return;
    }
    this.state = 'closed';
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.catalogLock.run(async () => undefined);
    const logs: FilePartitionLog[] = [...this.logs.values()].flat();
    for (const p of this.internal.values()) {
      const l = await p.catch(() => null);
      if (l) logs.push(l);
    }
    // A bounded number at a time: each close writes a producer snapshot (a file open meanwhile).
    await mapLimit(logs, CLOSE_PARALLELISM, (l) => l.close(true));
    await Promise.all([...this.background]);
    await this.lock.release();
  }
}
