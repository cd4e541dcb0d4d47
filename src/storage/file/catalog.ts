// FileStorage: the catalog of topics and partitions on disk (topics.json), the cluster id and
// producer id reservations (meta.json), internal logs, the flush timer, open and close.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError, type PartitionLog, type Storage, type StorageOptions, type TopicMeta } from '../types.js';
import { Mutex } from './async-util.js';
import type { FaultHooks, LogContext, StorageLogger } from './context.js';
import { asStorageError, errText, fsyncDir, isNotFound, readOptional, unlinkQuiet, writeFileAtomic } from './io.js';
import { FilePartitionLog } from './partition-log.js';
import { INT32_MAX } from './segment.js';
import { DEFAULT_TAIL_CACHE_BUDGET, TailCacheBudget } from './tail-cache.js';

/** Producer ids are reserved on disk this many at a time. */
const PRODUCER_ID_BLOCK = 1000;
const FIRST_PRODUCER_ID = 1000;
const RECOVERY_PARALLELISM = 8;

const PARTITION_DIR_RE = /^(.+)-(\d+)$/;
const DELETED_DIR_RE = /\.[0-9a-f-]{36}-delete$/;

interface MetaFile {
  version: 1;
  clusterId: string;
  /** Producer ids below this may have been handed out; a restart continues from here. */
  producerIdHighWater: number;
}

function parseMeta(text: string): MetaFile | null {
  const x: unknown = JSON.parse(text);
  if (!x || typeof x !== 'object') return null;
  const m = x as { clusterId?: unknown; producerIdHighWater?: unknown };
  if (typeof m.clusterId !== 'string' || typeof m.producerIdHighWater !== 'number') return null;
  return { version: 1, clusterId: m.clusterId, producerIdHighWater: m.producerIdHighWater };
}

function parseCatalog(text: string): TopicMeta[] | null {
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
  return out;
}

function checkName(kind: string, name: string): void {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) throw new Error(`invalid ${kind} name ${JSON.stringify(name)}`);
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
    this.ctx = { options, log, faults: this.faults, tailCache: new TailCacheBudget(options.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BUDGET) };
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
    await mkdir(this.dataDir, { recursive: true });
    for (const n of await readdir(this.dataDir)) if (n.endsWith('.tmp')) await unlinkQuiet(join(this.dataDir, n));

    const metaPath = join(this.dataDir, 'meta.json');
    const metaBytes = await readOptional(metaPath);
    if (metaBytes === null) {
      this.meta = { version: 1, clusterId: randomBytes(16).toString('base64url'), producerIdHighWater: FIRST_PRODUCER_ID };
      await writeFileAtomic(metaPath, JSON.stringify(this.meta, null, 2));
    } else {
      this.meta = parseMeta(metaBytes.toString('utf8'));
      if (!this.meta) throw new StorageError(`${metaPath} is malformed`);
    }
    this.nextProducerId = this.meta.producerIdHighWater;

    const catalogPath = join(this.dataDir, 'topics.json');
    const catalogBytes = await readOptional(catalogPath);
    if (catalogBytes === null) {
      await this.persistCatalog([]);
    } else {
      const topics = parseCatalog(catalogBytes.toString('utf8'));
      if (!topics) throw new StorageError(`${catalogPath} is malformed`);
      for (const t of topics) this.catalog.set(t.name, t);
    }

    await this.removeOrphans();
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

    if (typeof this.options.flush === 'number') {
      this.timer = setInterval(() => this.flushAll(), this.options.flush);
      this.timer.unref();
    }
    this.state = 'open';
  }

  /** Partition folders that the catalog does not know (a deletion interrupted by a crash) go. */
  private async removeOrphans(): Promise<void> {
    for (const ent of await readdir(this.dataDir, { withFileTypes: true })) {
      if (!ent.isDirectory() || ent.name === '__internal') continue;
      const full = join(this.dataDir, ent.name);
      if (DELETED_DIR_RE.test(ent.name)) {
        this.removeInBackground(full);
        continue;
      }
      const m = PARTITION_DIR_RE.exec(ent.name);
      if (!m) continue;
      const t = this.catalog.get(m[1]);
      if (t && Number(m[2]) < t.partitionCount) continue;
      this.log('warn', `removing ${ent.name}: not a partition of any topic in the catalog`);
      await this.moveAsideAndRemove(full);
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
    const body = { version: 1, topics: topics.map((t) => ({ name: t.name, topicId: t.topicId, partitionCount: t.partitionCount, configs: t.configs })) };
    try {
      await writeFileAtomic(join(this.dataDir, 'topics.json'), JSON.stringify(body, null, 2));
    } catch (err) {
      throw asStorageError('writing topics.json', err);
    }
  }

  /** Opens brand-new partition logs, moving aside any leftover folder of the same name first. */
  private async createLogs(name: string, from: number, to: number): Promise<FilePartitionLog[]> {
    const out: FilePartitionLog[] = [];
    try {
      for (let p = from; p < to; p++) {
        const dir = this.partitionDir(name, p);
        await this.moveAsideAndRemove(dir);
        const l = new FilePartitionLog(this.ctx, name, p, dir, `${name}-${p}`);
        await l.open();
        out.push(l);
      }
      await fsyncDir(this.dataDir);
    } catch (err) {
      for (const l of out) await l.close(false);
      throw asStorageError(`creating partitions of ${name}`, err);
    }
    return out;
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
      await this.persistCatalog([...this.catalog.values()].filter((x) => x !== t));
      const logs = this.logs.get(name) ?? [];
      this.catalog.delete(name);
      this.logs.delete(name);
      await Promise.all(logs.map((l) => l.close(false)));
      for (let p = 0; p < t.partitionCount; p++) {
        await this.moveAsideAndRemove(this.partitionDir(name, p)).catch((err: unknown) =>
          this.log('error', `deleting ${name}-${p}: ${errText(err)}; it is removed at the next open`),
        );
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
      await this.persistCatalog([...this.catalog.values()].map((x) => (x === t ? { ...t, partitionCount } : x)));
      const added = await this.createLogs(name, t.partitionCount, partitionCount);
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
    await Promise.all(logs.map((l) => l.close(true)));
    await Promise.all([...this.background]);
  }
}
