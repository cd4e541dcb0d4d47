// The pool of open segment files (src/storage/file/handle-pool.ts): eviction order, a handle in
// use is never closed, openers wait when every slot is in use, segments reopen after eviction;
// then the file engine with a small pool: many partitions in random order stay within the limit,
// with every record read back, fsync after eviction, and a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { defaultMaxOpenFiles, HandlePool, type PooledFile } from '../../src/storage/file/handle-pool.js';
import { FilePartitionLog, FileStorage } from '../../src/storage/file/index.js';
import type { StorageOptions } from '../../src/storage/types.js';
import { append, batch, mustPartition, opts, records, tmp } from './helpers.js';

class Fake implements PooledFile {
  users = 0;
  open = false;
  private opening: Promise<void> | null = null;
  closed = 0;
  constructor(readonly name: string, private readonly pool: HandlePool, private readonly order: string[]) {}
  busy(): boolean {
    return this.users > 0;
  }
  async evict(): Promise<void> {
    this.open = false;
    this.closed++;
    this.order.push(this.name);
  }
  /** What a Segment does around one operation. */
  async use(during: () => Promise<void> = async () => undefined): Promise<void> {
    this.users++;
    try {
      if (this.open) this.pool.touch(this);
      else {
        this.opening ??= this.pool.acquire(this).then(() => {
          this.open = true;
          this.opening = null;
        });
        await this.opening;
      }
      await during();
    } finally {
      this.users--;
      if (this.users === 0) this.pool.idle(this);
    }
  }
}

test('the pool closes the least recently used idle handle, and reopens it at its next use', async () => {
  const pool = new HandlePool(3);
  const evicted: string[] = [];
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new Fake(n, pool, evicted));
  await a.use();
  await b.use();
  await c.use();
  await a.use(); // a is now the most recent: b is the oldest
  assert.deepEqual(pool.stats(), { open: 3, waiting: 0, evictions: 0 });
  await d.use();
  assert.deepEqual(evicted, ['b']);
  assert.equal(b.open, false);
  await b.use(); // reopened: c is the oldest now
  assert.deepEqual(evicted, ['b', 'c']);
  assert.equal(b.open, true);
  assert.equal(pool.stats().open, 3);
});

test('a handle in use is never closed; an opener waits until one is let go', async () => {
  const pool = new HandlePool(2);
  const evicted: string[] = [];
  const [a, b, c] = ['a', 'b', 'c'].map((n) => new Fake(n, pool, evicted));
  let finishA!: () => void;
  let finishB!: () => void;
  const usingA = a.use(() => new Promise<void>((r) => (finishA = r)));
  const usingB = b.use(() => new Promise<void>((r) => (finishB = r)));
  await new Promise((r) => setImmediate(r));
  let cOpened = false;
  const usingC = c.use(async () => {
    cOpened = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(cOpened, false, 'both slots are in use: c must wait');
  assert.deepEqual(pool.stats(), { open: 2, waiting: 1, evictions: 0 });
  assert.deepEqual(evicted, []);
  finishB();
  await usingB;
  await usingC;
  assert.equal(cOpened, true);
  assert.deepEqual(evicted, ['b'], 'b, not the busy (and older) a, made room');
  assert.equal(a.open, true);
  finishA();
  await usingA;
  assert.equal(pool.stats().open, 2);
});

test('many openers over a few slots all get through, never past the limit', async () => {
  const pool = new HandlePool(4);
  const evicted: string[] = [];
  const files = Array.from({ length: 40 }, (_, i) => new Fake(`f${i}`, pool, evicted));
  let most = 0;
  const tick = () => new Promise<void>((r) => setImmediate(r));
  await Promise.all(
    Array.from({ length: 400 }, async (_, i) => {
      const f = files[(i * 7919) % files.length];
      await f.use(async () => {
        most = Math.max(most, files.filter((x) => x.open).length);
        await tick();
      });
    }),
  );
  assert.ok(most <= 4, `at most 4 open at once, saw ${most}`);
  assert.equal(pool.stats().waiting, 0);
  assert.ok(pool.stats().evictions > 0);
});

test('the default limit: 1024, or a quarter of the open-files limit when lower', () => {
  const limits = (soft: string) => `Limit                     Soft Limit           Hard Limit           Units     \nMax open files            ${soft}                20000                files     \n`;
  assert.equal(defaultMaxOpenFiles(limits('20000')), 1024);
  assert.equal(defaultMaxOpenFiles(limits('1024')), 256);
  assert.equal(defaultMaxOpenFiles(limits('unlimited')), 1024);
  assert.equal(defaultMaxOpenFiles('nothing useful'), 1024);
  assert.ok(defaultMaxOpenFiles() >= 16);
});

/** Segment files (.log) under `dir` this process has open (Linux: /proc/self/fd). */
function openFilesUnder(dir: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir) && target.endsWith('.log')) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

const onLinux = existsSync('/proc/self/fd');

async function openStore(dir: string, o: Partial<StorageOptions>): Promise<FileStorage> {
  const s = new FileStorage(dir, opts(o), () => undefined);
  await s.open();
  return s;
}

test('the file engine keeps at most --max-open-files segment files open, whatever the partitions', { skip: !onLinux && 'needs /proc' }, async () => {
  const dir = tmp();
  const LIMIT = 8;
  // Small segments, so partitions have old segments to read too.
  const o: Partial<StorageOptions> = { maxOpenFiles: LIMIT, segmentBytes: 600, flush: 'always' };
  let s = await openStore(dir, o);
  await s.createTopic('t', 60, {});
  let most = 0;
  const watch = () => {
    most = Math.max(most, openFilesUnder(dir));
  };
  const want = new Map<number, string[]>();
  // Random order, several appends per partition (acks=-1 style: each waits for its fsync).
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 6; round++) {
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const p = rand(60);
        const v = `p${p}-r${round}-${i}`;
        await append(mustPartition(s, 't', p), batch([v, `${v}-x`.padEnd(120, '.')]), true);
        want.set(p, [...(want.get(p) ?? []), v, `${v}-x`.padEnd(120, '.')]);
        watch();
      }),
    );
  }
  assert.ok(s.openFileStats().evictions > 0, 'the pool had to close files');
  const readAll = async (store: FileStorage) => {
    const order = Array.from({ length: 60 }, (_, p) => p).sort(() => rand(3) - 1);
    await Promise.all(
      order.map(async (p) => {
        const got = records(await mustPartition(store, 't', p).read(0, 1 << 20, true)).map((r) => r.value);
        assert.deepEqual(got, want.get(p) ?? [], `partition ${p}`);
        watch();
      }),
    );
  };
  await readAll(s);
  assert.ok(most <= LIMIT, `at most ${LIMIT} segment files open, saw ${most}`);
  assert.ok(s.openFileStats().open <= LIMIT);
  await s.close();
  assert.equal(openFilesUnder(dir), 0);

  most = 0;
  s = await openStore(dir, o); // recovery of 60 partitions goes through the pool too
  watch();
  await readAll(s);
  assert.ok(most <= LIMIT, `after a restart: at most ${LIMIT} segment files open, saw ${most}`);
  await s.close();
});

test('a sync asked for after the written segment was closed by the pool still fsyncs it', async () => {
  const dir = tmp();
  const s = await openStore(dir, { maxOpenFiles: 2, flush: 60_000 });
  await s.createTopic('t', 5, {});
  const first = mustPartition(s, 't', 0);
  assert.ok(first instanceof FilePartitionLog);
  await append(first, batch(['kept']));
  assert.equal(first.hasUnsynced(), true);
  // Use the other partitions so that partition 0's handle is evicted.
  for (let p = 1; p < 5; p++) await append(mustPartition(s, 't', p), batch([`v${p}`]));
  assert.ok(s.openFileStats().evictions >= 3);
  await first.sync(); // reopens the file and fsyncs it (fsync covers the file, not one descriptor)
  assert.equal(first.hasUnsynced(), false);
  assert.deepEqual(records(await first.read(0, 1 << 20, true)).map((r) => r.value), ['kept']);
  await s.close();
});
