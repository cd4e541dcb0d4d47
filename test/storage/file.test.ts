// File storage engine: round trips, segment rolls, indexes, recovery, failures, flush modes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecords, encodeBatch, iterateBatches, validateBatches, type BatchInput } from '../../src/protocol/records.js';
import { FilePartitionLog, FileStorage } from '../../src/storage/file/index.js';
import { StorageError, type PartitionLog, type ReadResult, type StorageOptions } from '../../src/storage/types.js';

const BIG = 64 * 1024 * 1024;

function opts(o: Partial<StorageOptions> = {}): StorageOptions {
  return { flush: 'os', segmentBytes: 1 << 20, segmentMs: 3_600_000, indexIntervalBytes: 4096, ...o };
}

const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-file-'));
  made.push(dir);
  return dir;
};
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

async function openStore(dir: string, o: Partial<StorageOptions> = {}, logs: string[] = []): Promise<FileStorage> {
  const s = new FileStorage(dir, opts(o), (level, msg) => logs.push(`${level}: ${msg}`));
  await s.open();
  return s;
}

function batch(values: string[], extra: Omit<BatchInput, 'records'> = {}, timestamp?: number): Buffer {
  return encodeBatch({ records: values.map((v) => ({ value: v, timestamp })), ...extra });
}

function append(log: PartitionLog, buf: Buffer, sync = false) {
  return log.append(buf, validateBatches(buf), { sync });
}

function records(r: ReadResult): { offset: number; value: string }[] {
  const out: { offset: number; value: string }[] = [];
  for (const { header, bytes } of iterateBatches(Buffer.concat(r.chunks))) {
    for (const rec of decodeRecords(header, bytes.subarray(61))) out.push({ offset: rec.offset, value: rec.value?.toString() ?? '' });
  }
  return out;
}

function batchBases(r: ReadResult): number[] {
  return [...iterateBatches(Buffer.concat(r.chunks))].map((b) => b.header.baseOffset);
}

const segmentFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.log')).sort();

function mustPartition(s: FileStorage, topic: string, p = 0): PartitionLog {
  const log = s.partition(topic, p);
  assert.ok(log, `partition ${topic}-${p}`);
  return log;
}

test('append and read round trip across several batches', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('t', 2, {});
  const log = mustPartition(s, 't', 1);
  const r1 = await append(log, batch(['a', 'b', 'c']));
  const r2 = await append(log, Buffer.concat([batch(['d']), batch(['e', 'f'])]));
  assert.deepEqual([r1.baseOffset, r1.lastOffset, r2.baseOffset, r2.lastOffset], [0, 2, 3, 5]);
  assert.equal(r1.logAppendTime, -1);
  assert.equal(log.logEndOffset(), 6);
  const got = records(await log.read(0, BIG, false));
  assert.deepEqual(got, ['a', 'b', 'c', 'd', 'e', 'f'].map((value, offset) => ({ offset, value })));
  assert.equal(mustPartition(s, 't', 0).logEndOffset(), 0);
  assert.deepEqual((await mustPartition(s, 't', 0).read(0, BIG, true)).chunks, []);
  assert.deepEqual((await log.read(6, BIG, true)).chunks, []);
  // LogAppendTime stamping
  const r3 = await log.append(batch(['g']), validateBatches(batch(['g'])), { sync: false, logAppendTime: 123456 });
  assert.equal(r3.logAppendTime, 123456);
  const last = [...iterateBatches(Buffer.concat((await log.read(6, BIG, true)).chunks))][0];
  assert.equal(last.header.maxTimestamp, 123456);
  assert.deepEqual(validateBatches(last.bytes).length, 1); // CRC still valid
  await s.close();
});

test('200 concurrent appends get offsets in call order and read back in order', async () => {
  const dir = tmp();
  const s = await openStore(dir, { segmentBytes: 8192 });
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => append(log, batch([`v${i}`, `w${i}`]), i % 3 === 0)));
  results.forEach((r, i) => assert.deepEqual([r.baseOffset, r.lastOffset], [2 * i, 2 * i + 1]));
  const check = (got: { offset: number; value: string }[]) => {
    assert.equal(got.length, 400);
    got.forEach((g, j) => assert.deepEqual(g, { offset: j, value: `${j % 2 ? 'w' : 'v'}${j >> 1}` }));
  };
  check(records(await log.read(0, BIG, false)));
  await s.close();
  const s2 = await openStore(dir, { segmentBytes: 8192 });
  check(records(await mustPartition(s2, 't').read(0, BIG, false)));
  await s2.close();
});

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
  // Copied out (at most a pool slab each), so twenty of them pin far less than one frame.
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

test('a read starting mid-batch returns the containing batch; maxBytes and minOneBatch', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  const b = batch(['0', '1', '2', '3', '4']);
  for (let i = 0; i < 4; i++) await append(log, Buffer.from(b));
  const size = b.length;
  for (const reopen of [false, true]) {
    const store = reopen ? await openStore(dir) : s;
    if (reopen) await s.close();
    const l = mustPartition(store, 't');
    assert.deepEqual(batchBases(await l.read(7, BIG, false)), [5, 10, 15]);
    assert.deepEqual(batchBases(await l.read(7, size * 2, false)), [5, 10]);
    assert.deepEqual(batchBases(await l.read(7, size * 2 - 1, false)), [5]);
    assert.deepEqual(batchBases(await l.read(7, 10, false)), []);
    assert.deepEqual(batchBases(await l.read(7, 10, true)), [5]);
    assert.deepEqual(batchBases(await l.read(7, 0, true)), [5]);
    assert.equal((await l.read(19, BIG, false)).bytes, size);
    assert.deepEqual((await l.read(20, BIG, true)).chunks, []);
    if (reopen) await store.close();
  }
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

test('index lookups on a log of thousands of batches', async () => {
  const dir = tmp();
  const o = { segmentBytes: 64 * 1024, indexIntervalBytes: 512 };
  const s = await openStore(dir, o);
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  const N = 5000;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) pending.push(append(log, batch([`r${i}a`, `r${i}b`, `r${i}c`], {}, 1_000_000 + i)));
  await Promise.all(pending);
  assert.equal(log.logEndOffset(), 3 * N);
  await s.close();
  const s2 = await openStore(dir, o);
  const l2 = mustPartition(s2, 't');
  const t0 = performance.now();
  for (let k = 0; k < 500; k++) {
    const off = Math.floor(Math.random() * 3 * N);
    const got = records(await l2.read(off, 1, true));
    assert.equal(got.length, 3);
    assert.equal(got[0].offset, off - (off % 3));
    assert.equal(got[0].value, `r${Math.floor(off / 3)}a`);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 5000, `500 cold lookups took ${ms} ms`);
  for (const ts of [1_000_000, 1_002_345, 1_004_999]) {
    assert.deepEqual(await l2.offsetForTimestamp(ts), { offset: 3 * (ts - 1_000_000), timestamp: ts });
  }
  assert.equal(await l2.offsetForTimestamp(1_005_000), null);
  await s2.close();
});

test('offsetForTimestamp', async () => {
  const dir = tmp();
  const o = { segmentBytes: 600, indexIntervalBytes: 100 };
  const s = await openStore(dir, o);
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  assert.equal(await log.offsetForTimestamp(0), null);
  // timestamps 1000, 2000, ... ; batch i holds offsets 2i, 2i+1; one out-of-order batch
  const stamps = [1000, 2000, 3000, 2500, 5000, 6000, 7000, 8000, 9000, 10000];
  for (const ts of stamps) await append(log, batch(['x'.repeat(60), 'y'], {}, ts));
  const check = async (l: PartitionLog) => {
    assert.deepEqual(await l.offsetForTimestamp(0), { offset: 0, timestamp: 1000 });
    assert.deepEqual(await l.offsetForTimestamp(1000), { offset: 0, timestamp: 1000 });
    assert.deepEqual(await l.offsetForTimestamp(1001), { offset: 2, timestamp: 2000 });
    assert.deepEqual(await l.offsetForTimestamp(2600), { offset: 4, timestamp: 3000 });
    assert.deepEqual(await l.offsetForTimestamp(4000), { offset: 8, timestamp: 5000 });
    assert.deepEqual(await l.offsetForTimestamp(9500), { offset: 18, timestamp: 10000 });
    assert.equal(await l.offsetForTimestamp(10001), null);
  };
  await check(log);
  assert.ok(segmentFiles(join(dir, 't-0')).length > 2);
  await s.close();
  const s2 = await openStore(dir, o);
  const l2 = mustPartition(s2, 't');
  await check(l2);
  await l2.deleteBefore(9);
  assert.deepEqual(await l2.offsetForTimestamp(0), { offset: 9, timestamp: 5000 });
  await s2.close();
});

test('restart recovers topics, configs, offsets, data, producer state and clusterId', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  const clusterId = s.clusterId;
  assert.match(clusterId, /^[A-Za-z0-9_-]{22}$/);
  const t = await s.createTopic('orders', 3, { 'retention.ms': '1000' });
  await s.addPartitions('orders', 4);
  await s.alterTopicConfigs('orders', { 'cleanup.policy': 'delete' });
  await s.createTopic('other', 1, {});
  const log = mustPartition(s, 'orders', 3);
  await append(log, batch(['a', 'b'], { producerId: 7, producerEpoch: 0, baseSequence: 0 }));
  await append(log, batch(['c'], { producerId: 7, producerEpoch: 0, baseSequence: 2 }));
  await append(log, batch(['plain']));
  const internal = await s.internalLog('__consumer_offsets');
  await append(internal, batch(['commit']));
  await s.close();
  assert.ok(existsSync(join(dir, 'orders-3', 'producer-state.json')));

  const s2 = await openStore(dir);
  assert.equal(s2.clusterId, clusterId);
  assert.deepEqual(s2.topics().map((x) => x.name).sort(), ['orders', 'other']);
  assert.deepEqual(s2.topic('orders'), { name: 'orders', topicId: t.topicId, partitionCount: 4, configs: { 'cleanup.policy': 'delete' } });
  const l2 = mustPartition(s2, 'orders', 3);
  assert.equal(l2.logEndOffset(), 4);
  assert.deepEqual(records(await l2.read(0, BIG, false)).map((r) => r.value), ['a', 'b', 'c', 'plain']);
  assert.ok(!existsSync(join(dir, 'orders-3', 'producer-state.json')), 'snapshot deleted after loading');
  const e = l2.producers.entry(7);
  assert.ok(e);
  assert.deepEqual(e.batches.map((b) => [b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffset]), [[0, 1, 0, 1], [2, 2, 2, 2]]);
  const dup = validateBatches(batch(['c'], { producerId: 7, producerEpoch: 0, baseSequence: 2 }))[0];
  assert.deepEqual(l2.producers.check(dup), { kind: 'duplicate', baseOffset: 2, lastOffset: 2 });
  const i2 = await s2.internalLog('__consumer_offsets');
  assert.deepEqual(records(await i2.read(0, BIG, false)).map((r) => r.value), ['commit']);
  assert.equal(s2.topic('__consumer_offsets'), undefined);
  await append(l2, batch(['d']));
  assert.equal(l2.logEndOffset(), 5);
  await s2.close();
});

test('recovery after a torn tail keeps whole batches and continues at the right offset', async () => {
  for (const damage of ['garbage', 'cut'] as const) {
    const dir = tmp();
    const s = await openStore(dir);
    await s.createTopic('t', 1, {});
    const log = mustPartition(s, 't');
    for (let i = 0; i < 10; i++) await append(log, batch([`v${i}`]));
    await s.close();
    const file = join(dir, 't-0', '00000000000000000000.log');
    const size = statSync(file).size;
    if (damage === 'garbage') appendFileSync(file, Buffer.from('this is not a record batch, just junk bytes..................................'));
    else truncateSync(file, size - 5);
    const logs: string[] = [];
    const s2 = await openStore(dir, {}, logs);
    const l2 = mustPartition(s2, 't');
    const expectEnd = damage === 'garbage' ? 10 : 9;
    assert.equal(l2.logEndOffset(), expectEnd);
    const warn = logs.filter((l) => l.startsWith('warn: recovered t-0: truncated torn tail'));
    assert.equal(warn.length, 1, logs.join('\n'));
    assert.match(warn[0], new RegExp(`at offset ${expectEnd} \\(\\d+ bytes\\)`));
    const r = await append(l2, batch(['new']));
    assert.equal(r.baseOffset, expectEnd);
    const vals = records(await l2.read(0, BIG, false));
    assert.deepEqual(vals.map((v) => v.offset), Array.from({ length: expectEnd + 1 }, (_, i) => i));
    assert.equal(vals[expectEnd].value, 'new');
    await s2.close();
    // A clean reopen finds nothing to repair.
    const logs3: string[] = [];
    const s3 = await openStore(dir, {}, logs3);
    assert.equal(mustPartition(s3, 't').logEndOffset(), expectEnd + 1);
    assert.deepEqual(logs3.filter((l) => !l.startsWith('info')), []);
    await s3.close();
  }
});

test('recovery without a clean close rebuilds producer state from the log', async () => {
  const dir = tmp();
  const o = { segmentBytes: 1024, indexIntervalBytes: 256 };
  const s = await openStore(dir, o);
  const abandoned: FileStorage[] = [s]; // kept referenced: nothing is closed, as after kill -9
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  let seq = 0;
  for (let i = 0; i < 40; i++) {
    const pid = 100 + (i % 3);
    await append(log, batch([`p${i}`, `q${i}`], { producerId: pid, producerEpoch: 1, baseSequence: Math.floor(i / 3) * 2 }));
    seq += 2;
  }
  const before = log.producers.toJSON();
  assert.equal(before.length, 3);
  assert.ok(segmentFiles(join(dir, 't-0')).length > 2);

  const s2 = await openStore(dir, o);
  abandoned.push(s2);
  const l2 = mustPartition(s2, 't');
  assert.equal(l2.logEndOffset(), 80);
  assert.deepEqual(l2.producers.toJSON(), before);
  assert.equal(records(await l2.read(0, BIG, false)).length, 80);
  const next = validateBatches(batch(['z'], { producerId: 101, producerEpoch: 1, baseSequence: 26 }))[0];
  assert.deepEqual(l2.producers.check(next), { kind: 'append' });
  await append(l2, batch(['z'], { producerId: 101, producerEpoch: 1, baseSequence: 26 }));
  await s2.close();
  assert.equal(seq, 80);
  // Only now release the first instance's handles (its snapshot no longer matters).
  await abandoned[0].close();
});

test('deleteBefore advances the log start, deletes whole segments, and persists', async () => {
  const dir = tmp();
  const o = { segmentBytes: 512 };
  const s = await openStore(dir, o);
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  for (let i = 0; i < 30; i++) await append(log, batch([`v${i}`.padEnd(100, '.')]));
  const pdir = join(dir, 't-0');
  const before = segmentFiles(pdir);
  assert.equal(await log.deleteBefore(0), 0);
  assert.equal(await log.deleteBefore(13), 13);
  assert.equal(log.logStartOffset(), 13);
  assert.equal(await log.deleteBefore(5), 13, 'never moves back');
  const after = segmentFiles(pdir);
  assert.ok(after.length < before.length);
  assert.ok(Number(after[0].slice(0, 20)) <= 13);
  assert.ok(!readdirSync(pdir).some((n) => n.endsWith('.index') && !after.includes(n.replace('.index', '.log'))));
  const got = records(await log.read(0, BIG, false));
  assert.ok(got[0].offset <= 13 && got[got.length - 1].offset === 29);
  assert.ok(records(await log.read(0, 1, true)).some((r) => r.offset === 13) || got[0].offset === 13);
  const r = await append(log, batch(['x']));
  assert.equal(r.logStartOffset, 13);
  // Everything: the active segment stays, the log start reaches the end.
  assert.equal(await log.deleteBefore(1000), 31);
  assert.equal(segmentFiles(pdir).length, 1);
  assert.deepEqual((await log.read(0, BIG, true)).chunks, []);
  await s.close();
  const s2 = await openStore(dir, o);
  const l2 = mustPartition(s2, 't');
  assert.equal(l2.logStartOffset(), 31);
  assert.equal(l2.logEndOffset(), 31);
  assert.equal((await append(l2, batch(['y']))).baseOffset, 31);
  await s2.close();
});

test('deleteTopic then create the same name starts empty', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  const t1 = await s.createTopic('t', 2, { a: '1' });
  await append(mustPartition(s, 't', 1), batch(['old']));
  await s.deleteTopic('t');
  assert.equal(s.topic('t'), undefined);
  assert.equal(s.partition('t', 1), undefined);
  await s.deleteTopic('t'); // no such topic: nothing happens
  const t2 = await s.createTopic('t', 1, {});
  assert.notEqual(t2.topicId, t1.topicId);
  const log = mustPartition(s, 't');
  assert.equal(log.logEndOffset(), 0);
  assert.equal((await append(log, batch(['new']))).baseOffset, 0);
  await assert.rejects(s.createTopic('t', 1, {}), /exists/);
  await s.close();
  const left = readdirSync(dir).sort();
  assert.deepEqual(left, ['meta.json', 't-0', 'topics.json']);
  const s2 = await openStore(dir);
  assert.equal(s2.topic('t')?.topicId, t2.topicId);
  assert.deepEqual(records(await mustPartition(s2, 't').read(0, BIG, false)).map((r) => r.value), ['new']);
  await s2.close();
});

test('allocateProducerIds never repeats across reopen', async () => {
  const dir = tmp();
  const seen = new Set<number>();
  for (let round = 0; round < 3; round++) {
    const s = await openStore(dir);
    const ids = await Promise.all([1, 1, 5, 1, 2000, 1].map((n) => s.allocateProducerIds(n).then((first) => ({ first, n }))));
    for (const { first, n } of ids) {
      for (let id = first; id < first + n; id++) {
        assert.ok(!seen.has(id), `id ${id} handed out twice`);
        seen.add(id);
      }
    }
    if (round === 1) await s.close(); // otherwise dropped without closing
  }
  const meta: unknown = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
  assert.ok(meta && typeof meta === 'object' && 'producerIdHighWater' in meta);
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

test('onAppend fires once the write is readable; closed logs refuse appends', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('t', 1, {});
  const log = mustPartition(s, 't');
  const seen: number[] = [];
  const off = log.onAppend(() => seen.push(log.logEndOffset()));
  const p = append(log, batch(['a', 'b']));
  assert.equal(log.logEndOffset(), 0, 'not readable before the write completes');
  const early = log.read(0, BIG, true);
  await p;
  assert.deepEqual((await early).chunks, [], 'a read issued before the write completed sees nothing');
  await append(log, batch(['c']));
  off();
  await append(log, batch(['d']));
  assert.deepEqual(seen, [2, 3]);
  await s.close();
  await assert.rejects(append(log, batch(['e'])), StorageError);
});
