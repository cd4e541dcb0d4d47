// What only the PostgreSQL engine has (the shared contract runs in contract.test.ts): leader epochs
// checked by every append, group commit, a database that goes away under load, no password shown.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorage } from '../../src/storage/engines.js';
import { PostgresStorage } from '../../src/storage/postgres/index.js';
import { StorageError, type Storage } from '../../src/storage/types.js';
import { pgForTestFile } from '../pg-test-file.js';
import { append, batch, BIG, mustPartition, opts, records } from './helpers.js';

const { skip, pg } = await pgForTestFile('postgres tests');
let schemas = 0;
const fresh = () => `${pg?.url}?schema=pgonly_${++schemas}`;

async function open(spec: string, logs: string[] = []): Promise<Storage> {
  const s = createStorage(spec, opts({ flush: 'always' }), (level, msg) => logs.push(`${level}: ${msg}`));
  await s.open();
  return s;
}

describe('postgres engine', skip ? { skip } : {}, () => {
  test('a second instance claims the partitions: the first one can no longer append (epoch checked in the append transaction)', async () => {
    const spec = fresh();
    const a = await open(spec);
    await a.createTopic('t', 2, {});
    const la = mustPartition(a, 't', 0);
    await append(la, batch(['a0', 'a1']), true);
    const b = await open(spec);
    const lb = mustPartition(b, 't', 0);
    assert.equal(lb.logEndOffset(), 2);
    // The deposed instance still believes it leads: its append is refused by the database.
    await assert.rejects(append(la, batch(['stale'])), StorageError);
    // ...and stays refused, with a reason naming the epochs, once it has looked.
    for (let i = 0; i < 50 && !/epoch/.test(await append(la, batch(['x'])).then(() => '', (e: Error) => e.message)); i++) await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(append(la, batch(['stale2'])), /leader epoch \d+, the database has epoch \d+/);
    await assert.rejects(la.deleteBefore(1), StorageError);
    await assert.rejects(append(mustPartition(a, 't', 1), batch(['other partition'])), StorageError);
    // The new leader continues right after what was committed; nothing of the stale appends is there.
    assert.equal((await append(lb, batch(['b2']))).baseOffset, 2);
    assert.deepEqual(records(await lb.read(0, BIG, false)).map((r) => r.value), ['a0', 'a1', 'b2']);
    await b.close();
    await a.close();
  });

  test('concurrent appends to many partitions share transactions (group commit); acks only after commit', async () => {
    const s = await open(fresh());
    await s.createTopic('g', 8, {});
    assert.ok(s instanceof PostgresStorage);
    const before = s.stats();
    const acks = await Promise.all(Array.from({ length: 400 }, (_, i) => append(mustPartition(s, 'g', i % 8), batch([`v${i}`]), true)));
    const after = s.stats();
    assert.equal(after.appends - before.appends, 400);
    assert.ok(after.transactions - before.transactions < 400 / 4, `${after.transactions - before.transactions} transactions for 400 appends`);
    acks.forEach((r, i) => assert.equal(r.baseOffset, Math.floor(i / 8)));
    for (let p = 0; p < 8; p++) assert.equal(mustPartition(s, 'g', p).logEndOffset(), 50);
    await s.close();
  });

  test('the database killed under load: appends fail with StorageError, work again after it restarts, and every acknowledged record is there', async () => {
    assert.ok(pg);
    const spec = fresh();
    const logs: string[] = [];
    const s = await open(spec, logs);
    await s.createTopic('k', 3, {});
    const acked: { p: number; offset: number; value: string }[] = [];
    let failures = 0;
    let stop = false;
    let n = 0;
    const writer = async (p: number) => {
      const log = mustPartition(s, 'k', p);
      while (!stop) {
        const value = `m${n++}`;
        try {
          const r = await append(log, batch([value]), true);
          acked.push({ p, offset: r.baseOffset, value });
        } catch (err) {
          assert.ok(err instanceof StorageError, String(err));
          failures++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const writers = [0, 1, 2, 0, 1, 2].map(writer);
    while (acked.length < 200) await new Promise((r) => setTimeout(r, 20));
    await pg.crash();
    const ackedAtCrash = acked.length;
    while (failures < 6) await new Promise((r) => setTimeout(r, 20));
    await pg.start();
    while (acked.length < ackedAtCrash + 200) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await Promise.all(writers);
    await s.close();
    // A fresh instance reads back every acknowledged record at the offset it was acknowledged with.
    const s2 = await open(spec);
    for (let p = 0; p < 3; p++) {
      const stored = new Map(records(await mustPartition(s2, 'k', p).read(0, BIG, false)).map((r) => [r.offset, r.value]));
      for (const a of acked.filter((x) => x.p === p)) assert.equal(stored.get(a.offset), a.value, `acknowledged ${a.value} at k-${p}@${a.offset}`);
      assert.deepEqual([...stored.keys()], Array.from({ length: stored.size }, (_, i) => i), 'offsets stay contiguous');
    }
    await s2.close();
    assert.ok(logs.some((l) => /reloaded from the database/.test(l)), logs.join('\n'));
  });

  test('a range read takes from the database no more batches than its byte limit needs (64 big batches made a 1 MiB fetch read 64 MiB)', async () => {
    const spec = fresh();
    const w = await open(spec);
    await w.createTopic('big', 1, {});
    const big = 'x'.repeat(200 * 1024);
    for (let i = 0; i < 40; i++) await append(mustPartition(w, 'big'), batch([`${i}:${big}`]), true);
    await w.close();
    // A second instance: nothing cached, every read goes to the database.
    const r = await open(spec);
    assert.ok(r instanceof PostgresStorage);
    // What the range-read queries bring back, counted at the pool (the storage's only way to the database).
    const pool = (r as unknown as { pool: { query: (...a: unknown[]) => Promise<{ rows: { batch?: Buffer }[] }> } }).pool;
    const query = pool.query.bind(pool);
    let fetched = 0;
    pool.query = async (...a: unknown[]) => {
      const res = await query(...a);
      for (const row of res.rows) fetched += row.batch?.length ?? 0;
      return res;
    };
    const log = mustPartition(r, 'big');
    for (const from of [0, 7, 31]) {
      fetched = 0;
      const got = await log.read(from, 1024 * 1024, true);
      assert.equal(got.chunks.length, 5, 'five 200 KiB batches fit in 1 MiB');
      assert.equal(records(got)[0].value?.split(':')[0], String(from));
      assert.ok(fetched <= 6 * 205 * 1024, `read ${fetched} bytes from the database for a 1 MiB read`);
    }
    // A read past the limit with minOneBatch still returns the one batch.
    fetched = 0;
    assert.equal((await log.read(3, 1000, true)).chunks.length, 1);
    assert.ok(fetched <= 2 * 205 * 1024, `read ${fetched} bytes for a one-batch read`);
    await r.close();
  });

  test('the password is never logged or put in an error', async () => {
    assert.ok(pg);
    const password = new URL(pg.url).password;
    const logs: string[] = [];
    const s = await open(fresh(), logs);
    await s.close();
    assert.ok(logs.some((l) => l.includes('postgres://fjord:***@127.0.0.1')), logs.join('\n'));
    const wrong = pg.url.replace(password, 'not-the-password');
    const bad = createStorage(`${wrong}?schema=x`, opts(), () => undefined);
    await assert.rejects(bad.open(), (err: Error) => {
      assert.ok(err instanceof StorageError);
      assert.doesNotMatch(err.message, /not-the-password/);
      assert.match(err.message, /cannot connect to postgres:\/\/fjord:\*\*\*@/);
      return true;
    });
    assert.ok(logs.every((l) => !l.includes(password)));
  });
});
