// Compaction in the file engine (src/storage/file/cleaner.ts): latest value per key, offsets kept,
// tombstones, the bounded offset map, transactions and producer state, the crash protocol's
// recovery. The broker-side scheduler and real clients: test/integration/compaction.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeBatch, encodeBatchCompressedSync, iterateBatches, validateBatches } from '../../src/protocol/records.js';
import { FileStorage } from '../../src/storage/file/index.js';
import type { CompactionSettings, PartitionLog, StorageOptions } from '../../src/storage/types.js';
import { BIG, mustPartition, opts, tmp } from './helpers.js';

async function openStore(dir: string, o: Partial<StorageOptions> = {}, logs: string[] = []): Promise<FileStorage> {
  const s = new FileStorage(dir, opts({ segmentBytes: 2048, indexIntervalBytes: 256, ...o }), (level, msg) => logs.push(`${level}: ${msg}`));
  await s.open();
  return s;
}

const settings = (o: Partial<CompactionSettings> = {}): CompactionSettings => ({
  deleteRetentionMs: 0, minCompactionLagMs: 0, maxCompactionLagMs: Infinity, minCleanableDirtyRatio: 0,
  dedupeBufferBytes: 1 << 20, ioBytesPerSecond: Infinity, segmentBytes: 1 << 20, now: Date.now(), ...o,
});

type Rec = { offset: number; key: string | null; value: string | null };

async function readAll(log: PartitionLog): Promise<Rec[]> {
  const out: Rec[] = [];
  const r = await log.read(log.logStartOffset(), BIG, false);
  for (const { header, bytes } of iterateBatches(Buffer.concat(r.chunks))) {
    const { decodeBatchRecordsSync } = await import('../../src/protocol/records.js');
    for (const rec of decodeBatchRecordsSync(bytes, header)) out.push({ offset: rec.offset, key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? null });
  }
  return out;
}

function put(log: PartitionLog, recs: { key: string | null; value: string | null }[], extra: Parameters<typeof encodeBatch>[0] extends infer T ? Omit<T & object, 'records'> : never = {}) {
  const buf = encodeBatch({ records: recs.map((r) => ({ key: r.key === null ? null : Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) })), ...extra });
  return log.append(buf, validateBatches(buf), { sync: false });
}

/** Latest value per key by reading the whole log, as a consumer rebuilding a table does. */
function table(recs: Rec[]): Map<string, string | null> {
  const m = new Map<string, string | null>();
  for (const r of recs) if (r.key !== null) m.set(r.key, r.value);
  return m;
}

test('a pass keeps the latest record per key at its offset, drops tombstones, never touches the active segment', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('c', 1, { 'cleanup.policy': 'compact' });
  const log = mustPartition(s, 'c');
  for (let round = 0; round < 20; round++) {
    for (let k = 0; k < 10; k++) await put(log, [{ key: `k${k}`, value: `v${round}-${k}-${'x'.repeat(40)}` }]);
  }
  await put(log, [{ key: 'k3', value: null }]); // a tombstone
  for (let k = 0; k < 30; k++) await put(log, [{ key: `k${k % 3}`, value: `v20-${k}-${'x'.repeat(40)}` }]);
  for (let k = 0; k < 3; k++) await put(log, [{ key: `late${k}`, value: 'in the active segment' }]);
  const before = await readAll(log);
  const end = log.logEndOffset();
  const files = readdirSync(join(dir, 'c-0')).filter((n) => n.endsWith('.log'));
  assert.ok(files.length > 3, `${files.length} segments`);

  const r = await log.compact!(settings());
  assert.ok(r && r.recordsOut < r.recordsIn, JSON.stringify(r));
  const after = await readAll(log);
  assert.equal(log.logEndOffset(), end);
  const expected = table(before);
  expected.delete('k3');
  assert.deepEqual(table(after), expected);
  // Every survivor sits at the offset it had.
  const at = new Map(before.map((x) => [x.offset, x]));
  for (const x of after) assert.deepEqual(at.get(x.offset), x);
  // Below the active segment each key appears once; the tombstone went (delete.retention.ms 0).
  const segs = readdirSync(join(dir, 'c-0')).filter((n) => n.endsWith('.log')).sort();
  const activeBase = Number(segs[segs.length - 1].slice(0, 20));
  const cleaned = after.filter((x) => x.offset < activeBase);
  assert.equal(new Set(cleaned.map((x) => x.key)).size, cleaned.length);
  assert.ok(!after.some((x) => x.key === 'k3'));
  // A read in a gap continues at the next survivor.
  const first = (await log.read(1, 100, true)).chunks;
  const h = [...iterateBatches(Buffer.concat(first))][0].header;
  assert.ok(h.baseOffset + h.lastOffsetDelta >= 1);
  // Nothing due the second time (all clean, ratio 0.5).
  assert.equal(await log.compact!(settings({ minCleanableDirtyRatio: 0.5 })), null);
  await s.close();
  // Reopened (after a clean close and after recovery of every segment), the same records.
  const s2 = await openStore(dir);
  assert.deepEqual(await readAll(mustPartition(s2, 'c')), after);
  await s2.close();
  assert.ok(!readdirSync(join(dir, 'c-0')).some((n) => n.endsWith('.swap') || n.endsWith('.cleaned')));
});

test('tombstones stay until delete.retention.ms has passed; min.compaction.lag.ms keeps new segments dirty', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('c', 1, {});
  const log = mustPartition(s, 'c');
  for (let i = 0; i < 60; i++) await put(log, [{ key: `k${i % 5}`, value: i === 59 ? null : `v${i}-${'y'.repeat(60)}` }]);
  for (let i = 0; i < 40; i++) await put(log, [{ key: `z${i % 3}`, value: 'z'.repeat(60) }]);
  assert.equal(await log.compact!(settings({ minCompactionLagMs: 3_600_000 })), null);
  await log.compact!(settings({ deleteRetentionMs: 3_600_000 }));
  const recs = await readAll(log);
  assert.ok(recs.some((x) => x.key === 'k4' && x.value === null), 'the tombstone is kept for an hour');
  // An hour later (the same segments, cleaned again) it goes.
  for (let i = 0; i < 40; i++) await put(log, [{ key: `z${i % 3}`, value: 'z'.repeat(60) }]);
  await log.compact!(settings({ deleteRetentionMs: 3_600_000, now: Date.now() + 3_600_001 }));
  assert.ok(!(await readAll(log)).some((x) => x.key === 'k4'), 'the tombstone is gone');
  await s.close();
});

test('a small offset map cleans a prefix of the dirty section; later passes finish it', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('c', 1, {});
  const log = mustPartition(s, 'c');
  for (let i = 0; i < 400; i++) await put(log, [{ key: `k${i % 100}`, value: `v${i}` }]);
  await put(log, [{ key: 'last', value: 'x' }]);
  const before = table(await readAll(log));
  // 40 keys' worth of map: each pass covers a prefix.
  const r1 = await log.compact!(settings({ dedupeBufferBytes: 40 * 24 }));
  assert.ok(r1 && r1.cleanedTo < 400, JSON.stringify(r1));
  assert.deepEqual(table(await readAll(log)), before);
  for (let i = 0; i < 20; i++) if (!(await log.compact!(settings({ dedupeBufferBytes: 40 * 24 })))) break;
  const after = await readAll(log);
  assert.deepEqual(table(after), before);
  const old = after.filter((x) => x.key !== 'last');
  assert.ok(old.length <= 100 + 40, `${old.length} records left of 400`);
  await s.close();
});

test('compressed batches are rewritten with their codec; aborted transactions go; control batches and the last batch of a producer stay', async () => {
  const dir = tmp();
  const s = await openStore(dir);
  await s.createTopic('c', 1, {});
  const log = mustPartition(s, 'c');
  const gz = encodeBatchCompressedSync({ records: [0, 1, 2, 3].map((i) => ({ key: Buffer.from(`g${i % 2}`), value: Buffer.from(`gz${i}`) })) }, 1);
  await log.append(gz, validateBatches(gz), { sync: false });
  // An idempotent producer's batches: its last one is superseded later but must keep its header.
  await put(log, [{ key: 'p', value: 'p0' }], { producerId: 7, producerEpoch: 0, baseSequence: 0 });
  await put(log, [{ key: 'p', value: 'p1' }], { producerId: 7, producerEpoch: 0, baseSequence: 1 });
  // An aborted transaction.
  await put(log, [{ key: 'a', value: 'aborted' }], { producerId: 9, producerEpoch: 0, baseSequence: 0, transactional: true });
  await log.writeTxnMarker({ producerId: 9, producerEpoch: 0, commit: false, coordinatorEpoch: 0 }, { sync: false });
  for (let i = 0; i < 60; i++) await put(log, [{ key: i % 2 ? 'p' : 'g0', value: `later${i}-${'q'.repeat(50)}` }]);
  await put(log, [{ key: 'tail', value: 't' }]);
  const before = await readAll(log);
  await log.compact!(settings());
  const after = await readAll(log);
  const expected = table(before.filter((x) => x.key !== 'a'));
  assert.deepEqual(table(after), expected);
  assert.ok(!after.some((x) => x.key === 'a'), 'aborted record removed');
  const raw = Buffer.concat((await log.read(0, BIG, false)).chunks);
  const headers = [...iterateBatches(raw)].map((b) => b.header);
  assert.ok(headers.some((h) => h.attributes & 0x20), 'the ABORT marker stays');
  const p7 = headers.filter((h) => h.producerId === 7);
  // The producer state keeps its last batches (up to five): their headers stay, without records.
  assert.deepEqual(p7.map((h) => [h.baseSequence, h.recordCount]), [[0, 0], [1, 0]]);
  const g = [...iterateBatches(raw)].find((b) => b.header.baseOffset === 0);
  assert.equal(g?.header.attributes! & 7, 1, 'gzip batch rewritten as gzip');
  // Producer state after a crash (no snapshot) still knows sequence 1: a retry of it is a duplicate.
  await s.close();
  writeFileSync(join(dir, 'c-0', 'producer-state.json'), 'not json');
  const s2 = await openStore(dir);
  const l2 = mustPartition(s2, 'c');
  const e = l2.producers.entry(7);
  assert.ok(e && e.batches.some((b) => b.lastSeq === 1), JSON.stringify(e));
  await s2.close();
});

/** A store in `dir` with topic c: 100 updates of 7 keys over several segments, and what it reads as before cleaning. */
async function sevenKeys(dir: string) {
  const s = await openStore(dir);
  await s.createTopic('c', 1, {});
  const log = mustPartition(s, 'c');
  for (let i = 0; i < 100; i++) await put(log, [{ key: `k${i % 7}`, value: `v${i}-${'w'.repeat(40)}` }]);
  return { s, log, before: table(await readAll(log)) };
}

test('recovery: a .cleaned file is dropped (old segments whole); a .swap file is finished', async () => {
  const dir = tmp();
  const { s, before } = await sevenKeys(dir);
  await s.close();
  const pdir = join(dir, 'c-0');
  const segs = readdirSync(pdir).filter((n) => n.endsWith('.log')).sort();
  // A pass that died before its commit point.
  writeFileSync(join(pdir, `${segs[0].slice(0, 20)}.log.cleaned`), 'half written');
  const logs: string[] = [];
  const s2 = await openStore(dir, {}, logs);
  assert.deepEqual(table(await readAll(mustPartition(s2, 'c'))), before);
  assert.ok(logs.some((l) => l.includes('.log.cleaned')), logs.join('\n'));
  // A pass that committed: simulate by cleaning, then putting the old files back beside a swap.
  await s2.close();
  assert.ok(!readdirSync(pdir).some((n) => n.includes('cleaned')));
  // Take a copy of segment 2 as a fake "old" segment inside the swapped range, and the cleaned first one as the swap.
  const s3 = await openStore(dir);
  const l3 = mustPartition(s3, 'c');
  await l3.compact!(settings());
  const cleaned = await readAll(l3);
  await s3.close();
  const now = readdirSync(pdir).filter((n) => n.endsWith('.log')).sort();
  const end = now[1].slice(0, 20);
  renameSync(join(pdir, now[0]), join(pdir, `${now[0].slice(0, 20)}.${end}.swap`));
  writeFileSync(join(pdir, `${String(Number(now[0].slice(0, 20)) + 1).padStart(20, '0')}.log`), 'stale old segment inside the range');
  const s4 = await openStore(dir);
  assert.deepEqual(await readAll(mustPartition(s4, 'c')), cleaned);
  await s4.close();
});

test('file.delete.delay.ms: replaced segments wait as *.deleted (the first one\'s <base>.log too), then go; open deletes leftovers', async () => {
  const dir = tmp();
  let delay = 60_000;
  const policy = { segmentPolicy: () => ({ segmentBytes: 2048, segmentMs: 3_600_000, segmentJitterMs: 0, segmentIndexBytes: 10 << 20, indexIntervalBytes: 256, fileDeleteDelayMs: delay }) };
  const s = await openStore(dir, policy);
  await s.createTopic('c', 1, { 'cleanup.policy': 'compact' });
  const log = mustPartition(s, 'c');
  for (let i = 0; i < 150; i++) await put(log, [{ key: `k${i % 5}`, value: `v${i}-${'q'.repeat(40)}` }]);
  const before = table(await readAll(log));
  const pdir = join(dir, 'c-0');
  const oldLogs = readdirSync(pdir).filter((n) => n.endsWith('.log')).sort();
  assert.ok(oldLogs.length > 3, oldLogs.join(' '));
  const r = await log.compact!(settings());
  assert.ok(r && r.segmentsIn > 1, JSON.stringify(r));
  const files = readdirSync(pdir);
  const deleted = files.filter((n) => n.endsWith('.deleted'));
  // Every replaced segment is set aside, the first (whose name the cleaned segment took) included.
  for (const n of oldLogs.slice(0, r.segmentsIn)) assert.ok(deleted.includes(`${n}.deleted`), `${n}.deleted in ${files.join(' ')}`);
  assert.ok(files.includes(oldLogs[0]), 'the cleaned segment sits under the first old name');
  assert.deepEqual(table(await readAll(log)), before);
  // A restart deletes what waits (no reader can need it then), and reads the same.
  await s.close();
  const s2 = await openStore(dir, policy);
  assert.deepEqual(readdirSync(pdir).filter((n) => n.endsWith('.deleted')), []);
  assert.deepEqual(table(await readAll(mustPartition(s2, 'c'))), before);
  // With a short delay the set-aside files go on their own.
  delay = 100;
  const l2 = mustPartition(s2, 'c');
  for (let i = 0; i < 150; i++) await put(l2, [{ key: `k${i % 5}`, value: `w${i}-${'q'.repeat(40)}` }]);
  const r2 = await l2.compact!(settings());
  assert.ok(r2 && r2.segmentsIn > 1, JSON.stringify(r2));
  const deadline = Date.now() + 10_000;
  while (readdirSync(pdir).some((n) => n.endsWith('.deleted')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(readdirSync(pdir).filter((n) => n.endsWith('.deleted')), []);
  assert.equal(table(await readAll(l2)).get('k0'), `w145-${'q'.repeat(40)}`);
  await s2.close();
});

test('recovery with file.delete.delay.ms: a swap committed after the first old segment was set aside is finished', async () => {
  const dir = tmp();
  const { s, log, before } = await sevenKeys(dir);
  await log.compact!(settings());
  const cleaned = await readAll(log);
  await s.close();
  const pdir = join(dir, 'c-0');
  // The state a kill leaves between "old files set aside" and "swap renamed into place".
  const now = readdirSync(pdir).filter((n) => n.endsWith('.log')).sort();
  const base = now[0].slice(0, 20);
  renameSync(join(pdir, now[0]), join(pdir, `${base}.${now[1].slice(0, 20)}.swap`));
  writeFileSync(join(pdir, `${base}.log.deleted`), 'the old first segment, set aside');
  writeFileSync(join(pdir, `${base}.index.deleted`), 'its index');
  const s2 = await openStore(dir);
  assert.deepEqual(await readAll(mustPartition(s2, 'c')), cleaned);
  assert.deepEqual(table(cleaned), before);
  assert.deepEqual(readdirSync(pdir).filter((n) => n.endsWith('.deleted') || n.endsWith('.swap')), []);
  await s2.close();
});
