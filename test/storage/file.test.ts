// File storage engine, what only it has: segment files, the tail cache, read-ahead, the write
// queue (one writev), injected write failures, flush modes, and the files it leaves on disk.
// Behaviour every engine shares is in contract.test.ts (run against this engine too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateBatches } from '../../src/protocol/records.js';
import { DataDirError, FilePartitionLog, FileStorage } from '../../src/storage/file/index.js';
import { StorageError, type PartitionLog, type StorageOptions } from '../../src/storage/types.js';
import { append, batch, BIG, mustPartition, opts, records, tmp } from './helpers.js';

async function openStore(dir: string, o: Partial<StorageOptions> = {}, logs: string[] = []): Promise<FileStorage> {
  const s = new FileStorage(dir, opts(o), (level, msg) => logs.push(`${level}: ${msg}`));
  await s.open();
  return s;
}

const segmentFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.log')).sort();

test('appends queued behind a running write go to the file together, in order', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  let writes = 0;
  s.faults.onWrite = () => {
    writes++;
    return undefined;
  };
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => append(log, batch([`v${i}`]))));
  results.forEach((r, i) => assert.equal(r.baseOffset, i));
  assert.ok(writes < 50, `${writes} writes for 50 queued appends`);
  assert.deepEqual(records(await log.read(0, BIG, false)).map((r) => r.value), Array.from({ length: 50 }, (_, i) => `v${i}`));
  await s.close();
  const s2 = await openStore(dir);
  assert.equal(records(await mustPartition(s2, 't').read(0, BIG, false)).length, 50);
  await s2.close();
});

test('the tail cache counts the allocation each kept batch pins, and copies small batches out of big ones', async () => {
  const dir = tmp();
  const s = await openStore(dir, { segmentBytes: 64 << 20 });
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't') as FilePartitionLog;
  // A batch inside a much larger allocation, as when it arrives in one frame with other partitions.
  const inFrame = (b: Buffer, frame: number) => {
    const backing = Buffer.alloc(frame);
    b.copy(backing, 1000);
    return backing.subarray(1000, 1000 + b.length);
  };
  for (let i = 0; i < 8; i++) await append(log, inFrame(batch([`big${i}`.padEnd(100 * 1024, '.')]), 1536 * 1024));
  const big = log.tailCacheStats();
  assert.ok(big.pinnedBytes <= 4 << 20, `pinned ${big.pinnedBytes}`);
  assert.equal(big.entries, 2, 'two 1.5 MiB frames fit in the 4 MiB cache, not eight 100 KiB batches');
  for (let i = 0; i < 20; i++) await append(log, inFrame(batch([`small${i}`]), 1 << 20));
  const small = log.tailCacheStats();
  // Copied out into allocations of their own size, so twenty of them pin far less than one frame.
  assert.equal(small.entries, big.entries + 20);
  assert.ok(small.pinnedBytes - big.pinnedBytes < 1 << 20, JSON.stringify({ big, small }));
  assert.deepEqual(records(await log.read(0, BIG, false)).map((r) => r.value.slice(0, 7)),
    [...Array.from({ length: 8 }, (_, i) => `big${i}`.padEnd(7, '.')), ...Array.from({ length: 20 }, (_, i) => `small${i}`.slice(0, 7))]);
  await s.close();
});

test('sequential reads from disk (read ahead) stay exact while another reader and retention interleave', async () => {
  const dir = tmp();
  const o = { segmentBytes: 64 * 1024, indexIntervalBytes: 1024 };
  const s = await openStore(dir, o);
  await s.createTopic('t', 1, {});
  for (let i = 0; i < 600; i++) await append(mustPartition(s, 't'), batch([`r${i}`.padEnd(500, '.'), `q${i}`]));
  await s.close();
  const s2 = await openStore(dir, o); // an empty tail cache: every read below goes to disk
  const log = mustPartition(s2, 't');
  const seen: number[] = [];
  let other = 900;
  for (let next = 0; next < log.logEndOffset();) {
    const got = records(await log.read(next, 6000, true));
    assert.ok(got.length > 0);
    for (const g of got) if (g.offset >= next) seen.push(g.offset);
    next = got[got.length - 1].offset + 1;
    // A second sequential reader further on, and retention passing the first reader once.
    const o2 = records(await log.read(other, 3000, true));
    assert.ok(o2[0].offset <= other && o2.every((g, j) => j === 0 || g.offset === o2[j - 1].offset + 1));
    other = Math.min(o2[o2.length - 1].offset + 1, log.logEndOffset() - 1);
    if (next > 300 && log.logStartOffset() === 0) await log.deleteBefore(next + 40);
  }
  const start = log.logStartOffset();
  assert.ok(start > 300);
  const expected = [...Array.from({ length: 302 }, (_, i) => i)];
  assert.deepEqual(seen.slice(0, 100), expected.slice(0, 100));
  // After the deletion the reader jumped to the new log start and went on without gaps.
  const tail = seen.filter((x) => x >= start);
  assert.deepEqual(tail, Array.from({ length: log.logEndOffset() - start }, (_, i) => start + i));
  await s2.close();
});

test('segments roll at segmentBytes and reads cross segments (memory and disk)', async () => {
  const dir = tmp();
  const o = { segmentBytes: 1024, indexIntervalBytes: 128 };
  const s = await openStore(dir, o);
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  const values: string[] = [];
  for (let i = 0; i < 60; i++) {
    const v = `value-${i}-`.padEnd(150, 'x');
    values.push(v);
    await append(log, batch([v]));
  }
  const files = segmentFiles(join(dir, 't-0'));
  assert.ok(files.length >= 8, `expected many segments, got ${files.length}`);
  for (const f of files) assert.ok(statSync(join(dir, 't-0', f)).size <= 1024);
  const verify = async (l: PartitionLog) => {
    assert.deepEqual(records(await l.read(0, BIG, false)).map((r) => r.value), values);
    for (let off = 0; off < 60; off += 7) {
      const got = records(await l.read(off, 700, true));
      assert.equal(got[0].offset, off);
      assert.equal(got[0].value, values[off]);
      assert.ok(got.length >= 2 && got.length <= 4, `got ${got.length}`);
    }
  };
  await verify(log);
  await s.close();
  // Rolled segments have their indexes on disk.
  const first = files[0].replace('.log', '');
  assert.ok(existsSync(join(dir, 't-0', `${first}.index`)));
  assert.equal(statSync(join(dir, 't-0', `${first}.timeindex`)).size % 12, 0);
  const s2 = await openStore(dir, o);
  await verify(mustPartition(s2, 't'));
  await s2.close();
});

test('segments roll after segmentMs', async () => {
  const dir = tmp();
  const s = await openStore(dir, { segmentMs: 40 });
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  await append(log, batch(['a']));
  await append(log, batch(['b']));
  await new Promise((r) => setTimeout(r, 60));
  await append(log, batch(['c']));
  assert.deepEqual(segmentFiles(join(dir, 't-0')), ['00000000000000000000.log', '00000000000000000002.log']);
  assert.deepEqual(records(await log.read(0, BIG, false)).map((r) => r.value), ['a', 'b', 'c']);
  await s.close();
});

test('a write failure rejects with StorageError; later appends succeed with consistent offsets', async () => {
  const dir = tmp();
  const logs: string[] = [];
  const s = await openStore(dir, { segmentBytes: 4096 }, logs);
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  await append(log, batch(['a'], { producerId: 9, producerEpoch: 0, baseSequence: 0 }));
  await append(log, batch(['b'], { producerId: 9, producerEpoch: 0, baseSequence: 1 }));
  const stateBefore = structuredClone(log.producers.toJSON());
  let fails = 1;
  s.faults.onWrite = () => (fails-- > 0 ? 7 : undefined); // a torn write of 7 bytes, once
  const attempts = [
    append(log, batch(['c'], { producerId: 9, producerEpoch: 0, baseSequence: 2 })),
    append(log, batch(['d'], { producerId: 9, producerEpoch: 0, baseSequence: 3 })),
    append(log, batch(['e'], { producerId: 10, producerEpoch: 0, baseSequence: 0 })),
  ];
  const settled = await Promise.allSettled(attempts);
  for (const r of settled) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.status === 'rejected' && r.reason instanceof StorageError, String(r.status === 'rejected' && r.reason));
  }
  assert.equal(log.logEndOffset(), 2);
  assert.deepEqual(log.producers.toJSON(), stateBefore, 'producer state rolled back');
  assert.equal(statSync(join(dir, 't-0', '00000000000000000000.log')).size, batch(['a'], { producerId: 9, producerEpoch: 0, baseSequence: 0 }).length * 2);
  // The producer retries: accepted again, at the next offset.
  const retry = validateBatches(batch(['c'], { producerId: 9, producerEpoch: 0, baseSequence: 2 }))[0];
  assert.deepEqual(log.producers.check(retry), { kind: 'append' });
  assert.equal((await append(log, batch(['c'], { producerId: 9, producerEpoch: 0, baseSequence: 2 }))).baseOffset, 2);
  assert.equal((await append(log, batch(['d']))).baseOffset, 3);

  // A failure on the first write into a freshly rolled segment (by throwing, before any byte).
  for (let i = 0; i < 40; i++) await append(log, batch([`f${i}`.padEnd(80, '-')]));
  const segsBefore = segmentFiles(join(dir, 't-0')).length;
  const current = segmentFiles(join(dir, 't-0')).pop() ?? '';
  s.faults.onWrite = (file) => {
    if (file.endsWith(current)) return undefined;
    throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
  };
  let rejected = 0;
  for (let i = 0; i < 60 && rejected === 0; i++) {
    await append(log, batch([`g${i}`.padEnd(80, '-')])).catch((err: unknown) => {
      assert.ok(err instanceof StorageError);
      rejected++;
    });
  }
  assert.equal(rejected, 1);
  s.faults.onWrite = undefined;
  const end = log.logEndOffset();
  assert.equal((await append(log, batch(['h']))).baseOffset, end);
  const got = records(await log.read(0, BIG, false));
  assert.deepEqual(got.map((r) => r.offset), Array.from({ length: end + 1 }, (_, i) => i));
  assert.ok(segmentFiles(join(dir, 't-0')).length >= segsBefore);
  assert.ok(logs.some((l) => l.startsWith('error:') && l.includes('write at offset')));
  await s.close();

  const logs2: string[] = [];
  const s2 = await openStore(dir, { segmentBytes: 4096 }, logs2);
  const l2 = mustPartition(s2, 't');
  assert.equal(l2.logEndOffset(), end + 1);
  assert.deepEqual(records(await l2.read(0, BIG, false)), got);
  assert.deepEqual(logs2.filter((l) => !l.startsWith('info')), [], 'nothing torn left behind');
  await s2.close();
});

test('flush modes always, os and a number all work', async () => {
  for (const flush of ['always', 'os', 20] as const) {
    const dir = tmp();
    const s = await openStore(dir, { flush });
    await s.createTopic('t', 1, {});
    const log = mustPartition(s, 't');
    const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => append(log, batch([`${flush}-${i}`]), i % 2 === 0)));
    assert.deepEqual(rs.map((r) => r.baseOffset), Array.from({ length: 50 }, (_, i) => i));
    await log.sync();
    if (typeof flush === 'number') await new Promise((r) => setTimeout(r, 50));
    await s.close();
    const s2 = await openStore(dir, { flush });
    assert.equal(records(await mustPartition(s2, 't').read(0, BIG, false)).length, 50);
    await s2.close();
  }
});

// The file-specific halves of contract tests (restart, deleteBefore, deleteTopic, producer ids).

test('a clean close writes producer-state.json; the next open loads it and deletes it', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('orders', 4, {});
  const log = mustPartition(s, 'orders', 3);
  await append(log, batch(['a', 'b'], { producerId: 7, producerEpoch: 0, baseSequence: 0 }));
  await append(log, batch(['c'], { producerId: 7, producerEpoch: 0, baseSequence: 2 }));
  await s.close();
  assert.ok(existsSync(join(dir, 'orders-3', 'producer-state.json')));
  const s2 = await openStore(dir);
  assert.ok(!existsSync(join(dir, 'orders-3', 'producer-state.json')), 'snapshot deleted after loading');
  assert.deepEqual(mustPartition(s2, 'orders', 3).producers.entry(7)?.batches.map((b) => [b.firstSeq, b.lastSeq]), [[0, 1], [2, 2]]);
  await s2.close();
});

test('deleteBefore deletes whole segment files and their indexes', async () => {
  const dir = tmp();
  const s = await openStore(dir, { segmentBytes: 512 });
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  for (let i = 0; i < 30; i++) await append(log, batch([`v${i}`.padEnd(100, '.')]));
  const pdir = join(dir, 't-0');
  const before = segmentFiles(pdir);
  assert.equal(await log.deleteBefore(13), 13);
  const after = segmentFiles(pdir);
  assert.ok(after.length < before.length);
  assert.ok(Number(after[0].slice(0, 20)) <= 13);
  assert.ok(!readdirSync(pdir).some((n) => n.endsWith('.index') && !after.includes(n.replace('.index', '.log'))));
  assert.equal(await log.deleteBefore(1000), 30);
  assert.equal(segmentFiles(pdir).length, 1);
  await s.close();
});

test('deleteTopic then create the same name leaves only the new folder behind', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('t', 2, { a: '1' });
  await append(mustPartition(s, 't', 1), batch(['old']));
  await s.deleteTopic('t');
  await s.createTopic('t', 1, {});
  await s.close();
  const left = readdirSync(dir).sort();
  assert.deepEqual(left, ['meta.json', 't-0', 'topics.json']);
});

test('meta.json keeps the producer id high-water mark', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  const first = await s.allocateProducerIds(5);
  await s.close();
  const meta: unknown = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  assert.ok(meta && typeof meta === 'object' && 'producerIdHighWater' in meta);
  assert.ok(typeof meta.producerIdHighWater === 'number' && meta.producerIdHighWater >= first + 5);
});

test('a deletion a crash interrupted is finished at open; folders that are not Fjord\'s are reported and kept', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('t', 2, {});
  await s.createTopic('u', 1, {});
  await s.close();
  // As if the broker died after writing the deletion down, before setting t's folders aside.
  const catalog = JSON.parse(readFileSync(join(dir, 'topics.json'), 'utf8')) as { topics: { name: string }[] };
  writeFileSync(join(dir, 'topics.json'), JSON.stringify({ ...catalog, topics: catalog.topics.filter((x) => x.name !== 't'), deleting: [{ name: 't', partitionCount: 2 }] }));
  mkdirSync(join(dir, 'x-0'));
  writeFileSync(join(dir, 'x-0', 'keep'), 'k');
  writeFileSync(join(dir, 'u-7'), 'not a folder');
  const logs: string[] = [];
  const s2 = await openStore(dir, {}, logs);
  assert.deepEqual(s2.topics().map((x) => x.name), ['u']);
  await assert.rejects(s2.createTopic('x', 1, {}), /x-0 already exists and is not a partition Fjord knows/);
  await s2.createTopic('t', 1, {});
  await s2.close();
  assert.deepEqual(readdirSync(dir).sort(), ['meta.json', 't-0', 'topics.json', 'u-0', 'u-7', 'x-0']);
  assert.equal(readFileSync(join(dir, 'x-0', 'keep'), 'utf8'), 'k');
  assert.ok(logs.some((l) => l === `warn: ${dir} holds 2 entries Fjord did not write, left alone: u-7, x-0`), logs.join('\n'));
  assert.ok(!('deleting' in JSON.parse(readFileSync(join(dir, 'topics.json'), 'utf8'))));
});

test('one open instance per folder: a second open is refused until the first closes', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  const again = new FileStorage(dir, opts());
  await assert.rejects(again.open(), (err: unknown) => err instanceof DataDirError && /is in use by Fjord pid \d+ .*this process/.test(err.message));
  assert.ok(existsSync(join(dir, 'fjord.lock')));
  await s.close();
  assert.ok(!existsSync(join(dir, 'fjord.lock')));
  const s2 = await openStore(dir);
  await s2.close();
});
