// The storage contract: the same tests, unchanged, against every engine (through createStorage and
// the Storage / PartitionLog interface only). What an engine cannot do is a capability flag on its
// entry below (durable, tearTail, crash, segmentCount), never a test of its name.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { iterateBatches, validateBatches } from '../../src/protocol/records.js';
import { createStorage } from '../../src/storage/engines.js';
import { StorageError, TxnMarkerEpochError, type Storage, type StorageOptions } from '../../src/storage/types.js';
import { append, batch, batchBases, BIG, mustPartition, opts, records, tmp } from './helpers.js';
import { pgSkipReason, startPgServer } from '../pg-server.js';

interface EngineCase {
  name: string;
  /** A new, empty place for data, as a createStorage setting. */
  freshSpec(): string;
  /** Data outlives the instance: a new instance on the same setting finds it (restart tests). */
  durable: boolean;
  /** Damages the newest bytes of a partition as a crash mid-write would (torn-tail recovery tests). */
  tearTail?(spec: string, topic: string, partition: number, damage: 'garbage' | 'cut'): void;
  /**
   * The instance on `spec` is dropped without closing, as if its process died: a durable engine
   * frees what a live process holds (the file engine's lock is taken over from a dead pid).
   */
  crash?(spec: string): void;
  /** How many segments a partition has, for engines that keep segments. */
  segmentCount?(spec: string, topic: string, partition: number): number;
}

const fileDir = (spec: string) => spec.replace(/^file:/, '');
const logFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.log')).sort();

const ENGINES: EngineCase[] = [
  { name: 'memory', freshSpec: () => 'memory:', durable: false },
  {
    name: 'file',
    freshSpec: () => `file:${tmp()}`,
    durable: true,
    tearTail(spec, topic, partition, damage) {
      const dir = join(fileDir(spec), `${topic}-${partition}`);
      const file = join(dir, logFiles(dir).pop() ?? '');
      if (damage === 'garbage') appendFileSync(file, Buffer.from('this is not a record batch, just junk bytes..................................'));
      else truncateSync(file, statSync(file).size - 5);
    },
    crash: (spec) => rmSync(join(fileDir(spec), 'fjord.lock'), { force: true }),
    segmentCount: (spec, topic, partition) => logFiles(join(fileDir(spec), `${topic}-${partition}`)).length,
  },
];

// PostgreSQL: a throw-away server for this file; each case gets a schema of its own in one database.
// Nothing to free at a "crash": the next instance claims the partitions (a new leader epoch).
const pgSkip = pgSkipReason();
if (pgSkip) console.log(`# postgres contract skipped: ${pgSkip}`);
const pg = pgSkip ? null : await startPgServer();
if (pg) after(() => pg.stop());
let pgSchemas = 0;
ENGINES.push({ name: 'postgres', freshSpec: () => `${pg?.url ?? 'postgres://absent/none'}?schema=contract_${++pgSchemas}`, durable: true, crash: () => undefined });

for (const engine of ENGINES) {
  const skipAll = engine.name === 'postgres' && pgSkip ? { skip: pgSkip } : {};
  describe(`storage contract: ${engine.name} engine`, skipAll, () => {
    const durableOnly = { skip: engine.durable ? false : 'the engine keeps nothing across instances' };

    async function openStore(spec: string, o: Partial<StorageOptions> = {}, logs: string[] = []): Promise<Storage> {
      const s = createStorage(spec, opts(o), (level, msg) => logs.push(`${level}: ${msg}`));
      await s.open();
      return s;
    }
    /** A durable engine is closed and opened again on the same data; any other goes on as it is. */
    async function reopenIfDurable(s: Storage, spec: string, o: Partial<StorageOptions> = {}, logs: string[] = []): Promise<Storage> {
      if (!engine.durable) return s;
      await s.close();
      return openStore(spec, o, logs);
    }

    test('append and read round trip across several batches', async () => {
      const s = await openStore(engine.freshSpec());
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
      const spec = engine.freshSpec();
      const s = await openStore(spec, { segmentBytes: 8192 });
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => append(log, batch([`v${i}`, `w${i}`]), i % 3 === 0)));
      results.forEach((r, i) => assert.deepEqual([r.baseOffset, r.lastOffset], [2 * i, 2 * i + 1]));
      const check = (got: { offset: number; value: string }[]) => {
        assert.equal(got.length, 400);
        got.forEach((g, j) => assert.deepEqual(g, { offset: j, value: `${j % 2 ? 'w' : 'v'}${j >> 1}` }));
      };
      check(records(await log.read(0, BIG, false)));
      const s2 = await reopenIfDurable(s, spec, { segmentBytes: 8192 });
      check(records(await mustPartition(s2, 't').read(0, BIG, false)));
      await s2.close();
    });

    test('a read starting mid-batch returns the containing batch; maxBytes and minOneBatch', async () => {
      const spec = engine.freshSpec();
      let store = await openStore(spec);
      await store.createTopic('t', 1, {});
      const log = mustPartition(store, 't');
      const b = batch(['0', '1', '2', '3', '4']);
      for (let i = 0; i < 4; i++) await append(log, Buffer.from(b));
      const size = b.length;
      for (const reopen of [false, true]) {
        if (reopen) store = await reopenIfDurable(store, spec);
        const l = mustPartition(store, 't');
        assert.deepEqual(batchBases(await l.read(7, BIG, false)), [5, 10, 15]);
        assert.deepEqual(batchBases(await l.read(7, size * 2, false)), [5, 10]);
        assert.deepEqual(batchBases(await l.read(7, size * 2 - 1, false)), [5]);
        assert.deepEqual(batchBases(await l.read(7, 10, false)), []);
        assert.deepEqual(batchBases(await l.read(7, 10, true)), [5]);
        assert.deepEqual(batchBases(await l.read(7, 0, true)), [5]);
        assert.equal((await l.read(19, BIG, false)).bytes, size);
        assert.deepEqual((await l.read(20, BIG, true)).chunks, []);
      }
      await store.close();
    });

    test('index lookups on a log of thousands of batches', async () => {
      const spec = engine.freshSpec();
      const o = { segmentBytes: 64 * 1024, indexIntervalBytes: 512 };
      const s = await openStore(spec, o);
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      const N = 5000;
      const pending: Promise<unknown>[] = [];
      for (let i = 0; i < N; i++) pending.push(append(log, batch([`r${i}a`, `r${i}b`, `r${i}c`], {}, 1_000_000 + i)));
      await Promise.all(pending);
      assert.equal(log.logEndOffset(), 3 * N);
      const s2 = await reopenIfDurable(s, spec, o);
      const l2 = mustPartition(s2, 't');
      for (let k = 0; k < 500; k++) {
        const off = Math.floor(Math.random() * 3 * N);
        const got = records(await l2.read(off, 1, true));
        assert.equal(got.length, 3);
        assert.equal(got[0].offset, off - (off % 3));
        assert.equal(got[0].value, `r${Math.floor(off / 3)}a`);
      }
      for (const ts of [1_000_000, 1_002_345, 1_004_999]) {
        assert.deepEqual(await l2.offsetForTimestamp(ts), { offset: 3 * (ts - 1_000_000), timestamp: ts });
      }
      assert.equal(await l2.offsetForTimestamp(1_005_000), null);
      await s2.close();
    });

    test('offsetForTimestamp', async () => {
      const spec = engine.freshSpec();
      const o = { segmentBytes: 600, indexIntervalBytes: 100 };
      const s = await openStore(spec, o);
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      assert.equal(await log.offsetForTimestamp(0), null);
      // timestamps 1000, 2000, ... ; batch i holds offsets 2i, 2i+1; one out-of-order batch
      const stamps = [1000, 2000, 3000, 2500, 5000, 6000, 7000, 8000, 9000, 10000];
      for (const ts of stamps) await append(log, batch(['x'.repeat(60), 'y'], {}, ts));
      const check = async (l: typeof log) => {
        assert.deepEqual(await l.offsetForTimestamp(0), { offset: 0, timestamp: 1000 });
        assert.deepEqual(await l.offsetForTimestamp(1000), { offset: 0, timestamp: 1000 });
        assert.deepEqual(await l.offsetForTimestamp(1001), { offset: 2, timestamp: 2000 });
        assert.deepEqual(await l.offsetForTimestamp(2600), { offset: 4, timestamp: 3000 });
        assert.deepEqual(await l.offsetForTimestamp(4000), { offset: 8, timestamp: 5000 });
        assert.deepEqual(await l.offsetForTimestamp(9500), { offset: 18, timestamp: 10000 });
        assert.equal(await l.offsetForTimestamp(10001), null);
      };
      await check(log);
      if (engine.segmentCount) assert.ok(engine.segmentCount(spec, 't', 0) > 2);
      const s2 = await reopenIfDurable(s, spec, o);
      const l2 = mustPartition(s2, 't');
      await check(l2);
      await l2.deleteBefore(9);
      assert.deepEqual(await l2.offsetForTimestamp(0), { offset: 9, timestamp: 5000 });
      await s2.close();
    });

    test('idempotent producer state follows appends: duplicates, gaps, epochs', async () => {
      const s = await openStore(engine.freshSpec());
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      const idem = (values: string[], baseSequence: number, producerEpoch = 0) => batch(values, { producerId: 7, producerEpoch, baseSequence });
      const check = (b: Buffer) => log.producers.check(validateBatches(b)[0]);
      assert.deepEqual(check(idem(['a'], 0)), { kind: 'append' });
      assert.equal(check(idem(['a'], 3)).kind, 'error', 'an unknown producer must start at sequence 0');
      await append(log, idem(['a', 'b'], 0));
      await append(log, batch(['plain']));
      await append(log, idem(['c'], 2));
      assert.deepEqual(log.producers.entry(7)?.batches.map((b) => [b.firstSeq, b.lastSeq, b.baseOffset, b.lastOffset]), [[0, 1, 0, 1], [2, 2, 3, 3]]);
      assert.deepEqual(check(idem(['a', 'b'], 0)), { kind: 'duplicate', baseOffset: 0, lastOffset: 1 });
      assert.deepEqual(check(idem(['c'], 2)), { kind: 'duplicate', baseOffset: 3, lastOffset: 3 });
      assert.deepEqual(check(idem(['d'], 3)), { kind: 'append' });
      const gap = check(idem(['e'], 5));
      assert.ok(gap.kind === 'error' && gap.errorCode === 45, JSON.stringify(gap)); // OUT_OF_ORDER_SEQUENCE_NUMBER
      assert.deepEqual(check(idem(['x'], 0, 1)), { kind: 'append' }, 'a new epoch starts over at 0');
      await append(log, idem(['x'], 0, 1));
      const stale = check(idem(['d'], 3, 0));
      assert.ok(stale.kind === 'error' && stale.errorCode === 47, JSON.stringify(stale)); // INVALID_PRODUCER_EPOCH
      assert.equal(log.producers.entry(7)?.epoch, 1);
      await s.close();
    });

    test('clusterId is 22 url-safe characters', async () => {
      const s = await openStore(engine.freshSpec());
      assert.match(s.clusterId, /^[A-Za-z0-9_-]{22}$/);
      await s.close();
    });

    test('restart recovers topics, configs, offsets, data, producer state and clusterId', durableOnly, async () => {
      const spec = engine.freshSpec();
      const s = await openStore(spec);
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

      const s2 = await openStore(spec);
      assert.equal(s2.clusterId, clusterId);
      assert.deepEqual(s2.topics().map((x) => x.name).sort(), ['orders', 'other']);
      assert.deepEqual(s2.topic('orders'), { name: 'orders', topicId: t.topicId, partitionCount: 4, configs: { 'cleanup.policy': 'delete' } });
      const l2 = mustPartition(s2, 'orders', 3);
      assert.equal(l2.logEndOffset(), 4);
      assert.deepEqual(records(await l2.read(0, BIG, false)).map((r) => r.value), ['a', 'b', 'c', 'plain']);
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

    test('recovery after a torn tail keeps whole batches and continues at the right offset', { skip: engine.tearTail ? false : 'the engine has no files to tear' }, async () => {
      for (const damage of ['garbage', 'cut'] as const) {
        const spec = engine.freshSpec();
        const s = await openStore(spec);
        await s.createTopic('t', 1, {});
        const log = mustPartition(s, 't');
        for (let i = 0; i < 10; i++) await append(log, batch([`v${i}`]));
        await s.close();
        engine.tearTail?.(spec, 't', 0, damage);
        const logs: string[] = [];
        const s2 = await openStore(spec, {}, logs);
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
        const s3 = await openStore(spec, {}, logs3);
        assert.equal(mustPartition(s3, 't').logEndOffset(), expectEnd + 1);
        assert.deepEqual(logs3.filter((l) => !l.startsWith('info')), []);
        await s3.close();
      }
    });

    test('recovery without a clean close rebuilds producer state from the log', durableOnly, async () => {
      const spec = engine.freshSpec();
      const o = { segmentBytes: 1024, indexIntervalBytes: 256 };
      const s = await openStore(spec, o);
      const abandoned: Storage[] = [s]; // kept referenced: nothing is closed, as after kill -9
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
      if (engine.segmentCount) assert.ok(engine.segmentCount(spec, 't', 0) > 2);

      engine.crash?.(spec);
      const s2 = await openStore(spec, o);
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

    test('deleteBefore advances the log start, drops whole segments, and persists', async () => {
      const spec = engine.freshSpec();
      const o = { segmentBytes: 512 };
      const s = await openStore(spec, o);
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      for (let i = 0; i < 30; i++) await append(log, batch([`v${i}`.padEnd(100, '.')]));
      const segmentsBefore = engine.segmentCount?.(spec, 't', 0);
      assert.equal(await log.deleteBefore(0), 0);
      assert.equal(await log.deleteBefore(13), 13);
      assert.equal(log.logStartOffset(), 13);
      assert.equal(await log.deleteBefore(5), 13, 'never moves back');
      if (engine.segmentCount && segmentsBefore !== undefined) assert.ok(engine.segmentCount(spec, 't', 0) < segmentsBefore);
      const got = records(await log.read(0, BIG, false));
      assert.ok(got[0].offset <= 13 && got[got.length - 1].offset === 29);
      assert.ok(records(await log.read(0, 1, true)).some((r) => r.offset === 13) || got[0].offset === 13);
      const r = await append(log, batch(['x']));
      assert.equal(r.logStartOffset, 13);
      // Everything: the active segment stays, the log start reaches the end.
      assert.equal(await log.deleteBefore(1000), 31);
      if (engine.segmentCount) assert.equal(engine.segmentCount(spec, 't', 0), 1);
      assert.deepEqual((await log.read(0, BIG, true)).chunks, []);
      const s2 = await reopenIfDurable(s, spec, o);
      const l2 = mustPartition(s2, 't');
      assert.equal(l2.logStartOffset(), 31);
      assert.equal(l2.logEndOffset(), 31);
      assert.equal((await append(l2, batch(['y']))).baseOffset, 31);
      await s2.close();
    });

    test('deleteTopic then create the same name starts empty', async () => {
      const spec = engine.freshSpec();
      const s = await openStore(spec);
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
      const s2 = await reopenIfDurable(s, spec);
      assert.equal(s2.topic('t')?.topicId, t2.topicId);
      assert.deepEqual(records(await mustPartition(s2, 't').read(0, BIG, false)).map((r) => r.value), ['new']);
      await s2.close();
    });

    test('allocateProducerIds never repeats within one storage', async () => {
      const s = await openStore(engine.freshSpec());
      const seen = new Set<number>();
      const ids = await Promise.all([1, 1, 5, 1, 2000, 1].map((n) => s.allocateProducerIds(n).then((first) => ({ first, n }))));
      for (const { first, n } of ids) {
        for (let id = first; id < first + n; id++) {
          assert.ok(!seen.has(id), `id ${id} handed out twice`);
          seen.add(id);
        }
      }
      await s.close();
    });

    test('allocateProducerIds never repeats across reopen', durableOnly, async () => {
      const spec = engine.freshSpec();
      const seen = new Set<number>();
      for (let round = 0; round < 3; round++) {
        const s = await openStore(spec);
        const ids = await Promise.all([1, 1, 5, 1, 2000, 1].map((n) => s.allocateProducerIds(n).then((first) => ({ first, n }))));
        for (const { first, n } of ids) {
          for (let id = first; id < first + n; id++) {
            assert.ok(!seen.has(id), `id ${id} handed out twice`);
            seen.add(id);
          }
        }
        if (round === 1) await s.close();
        else engine.crash?.(spec); // dropped without closing
      }
    });

    test('addPartitions grows a topic and refuses to shrink it; bad partition counts are refused', async () => {
      const s = await openStore(engine.freshSpec());
      await s.createTopic('t', 2, {});
      await s.addPartitions('t', 3);
      assert.equal(s.topic('t')?.partitionCount, 3);
      assert.equal(mustPartition(s, 't', 2).logEndOffset(), 0);
      await s.addPartitions('t', 3);
      await assert.rejects(s.addPartitions('t', 1), /cannot shrink/);
      assert.equal(s.topic('t')?.partitionCount, 3);
      await assert.rejects(s.addPartitions('nope', 2), /no topic/);
      await assert.rejects(s.createTopic('zero', 0, {}), /partition count/);
      await s.close();
    });

    const txn = (pid: number, values: string[], baseSequence: number, producerEpoch = 0) =>
      batch(values, { producerId: pid, producerEpoch, baseSequence, transactional: true });
    const marker = (producerId: number, commit: boolean, producerEpoch = 0, coordinatorEpoch = 3) => ({ producerId, producerEpoch, commit, coordinatorEpoch });

    test('transactions: open at the first transactional batch, COMMIT clears, ABORT records a range; LSO follows', async () => {
      const s = await openStore(engine.freshSpec());
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      await append(log, batch(['plain'])); // 0
      assert.equal(log.lastStableOffset(), 1, 'nothing open: the log end');
      await append(log, txn(7, ['a', 'b'], 0)); // 1-2
      assert.equal(log.txnFirstOffset(7), 1);
      assert.equal(log.lastStableOffset(), 1);
      await append(log, txn(8, ['x'], 0)); // 3
      await append(log, txn(7, ['c'], 2)); // 4
      await append(log, batch(['plain2'])); // 5
      assert.equal(log.txnFirstOffset(8), 3);
      assert.equal(log.lastStableOffset(), 1, 'the oldest open transaction holds the LSO');
      const c = await log.writeTxnMarker(marker(7, true), { sync: false }); // 6
      assert.equal(c.offset, 6);
      assert.equal(log.txnFirstOffset(7), -1);
      assert.equal(log.lastStableOffset(), 3, 'now producer 8 holds it');
      const a = await log.writeTxnMarker(marker(8, false), { sync: false }); // 7
      assert.equal(a.offset, 7);
      assert.equal(log.lastStableOffset(), 8);
      assert.deepEqual(log.abortedTransactions(0, 8), [{ producerId: 8, firstOffset: 3 }]);
      assert.deepEqual(log.abortedTransactions(3, 4), [{ producerId: 8, firstOffset: 3 }]);
      assert.deepEqual(log.abortedTransactions(7, 8), [{ producerId: 8, firstOffset: 3 }], 'the range ends at the marker');
      assert.deepEqual(log.abortedTransactions(0, 3), [], 'ends before the range starts');
      assert.deepEqual(log.abortedTransactions(8, 100), []);
      // A second transaction of producer 7 in the same epoch continues its sequences; it aborts too.
      await append(log, txn(7, ['d'], 3)); // 8
      await log.writeTxnMarker(marker(7, false), { sync: false }); // 9
      assert.deepEqual(log.abortedTransactions(0, 100), [{ producerId: 8, firstOffset: 3 }, { producerId: 7, firstOffset: 8 }]);
      assert.equal(log.lastStableOffset(), 10);
      // A marker for a producer with nothing open is appended and ends nothing (a retry after a crash).
      const again = await log.writeTxnMarker(marker(7, false), { sync: false });
      assert.equal(again.offset, 10);
      assert.equal(log.logEndOffset(), 11);
      assert.deepEqual(log.abortedTransactions(0, 100).length, 2);
      // Markers are control batches in the log.
      const bases = [...iterateBatches(Buffer.concat((await log.read(0, BIG, false)).chunks))]
        .filter((b) => b.header.attributes & 0x20).map((b) => b.header.baseOffset);
      assert.deepEqual(bases, [6, 7, 9, 10]);
      await s.close();
    });

    test('transactions: the marker epoch becomes the producer epoch; an older one is refused', async () => {
      const s = await openStore(engine.freshSpec());
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      await append(log, txn(7, ['a', 'b'], 0, 2));
      // The coordinator fences the producer: the abort marker carries the bumped epoch.
      await log.writeTxnMarker(marker(7, false, 3, 5), { sync: false });
      const e = log.producers.entry(7);
      assert.equal(e?.epoch, 3);
      assert.equal(e?.coordinatorEpoch, 5);
      assert.deepEqual(e?.batches, [], 'a bumped epoch starts its sequences over');
      const stale = log.producers.check(validateBatches(txn(7, ['z'], 2, 2))[0]);
      assert.ok(stale.kind === 'error' && stale.errorCode === 47, JSON.stringify(stale));
      assert.deepEqual(log.producers.check(validateBatches(txn(7, ['z'], 0, 3))[0]), { kind: 'append' });
      await assert.rejects(log.writeTxnMarker(marker(7, true, 2), { sync: false }), TxnMarkerEpochError);
      assert.equal(log.logEndOffset(), 3, 'a refused marker writes nothing');
      // A marker for a producer never seen here creates its entry (the epoch is fenced from now on).
      await log.writeTxnMarker(marker(9, true, 4), { sync: false });
      assert.equal(log.producers.entry(9)?.epoch, 4);
      await s.close();
    });

    test('transactions: deleteBefore drops aborted ranges below the log start; the LSO never falls below it', async () => {
      const s = await openStore(engine.freshSpec());
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      await append(log, txn(1, ['a'], 0)); // 0
      await log.writeTxnMarker(marker(1, false), { sync: false }); // 1
      await append(log, txn(2, ['b'], 0)); // 2
      await append(log, batch(['c', 'd'])); // 3-4
      assert.deepEqual(log.abortedTransactions(0, 10), [{ producerId: 1, firstOffset: 0 }]);
      await log.deleteBefore(2);
      assert.deepEqual(log.abortedTransactions(0, 10), []);
      assert.equal(log.lastStableOffset(), 2);
      await log.deleteBefore(4);
      assert.equal(log.lastStableOffset(), 4, 'an open transaction below the log start: the log start');
      await s.close();
    });

    test('transactions: restart (clean and without close) keeps open transactions, LSO and aborted ranges', durableOnly, async () => {
      const spec = engine.freshSpec();
      const o = { segmentBytes: 600, indexIntervalBytes: 128 };
      const s = await openStore(spec, o);
      const abandoned: Storage[] = [s];
      await s.createTopic('t', 1, {});
      const log = mustPartition(s, 't');
      const seqs = new Map<number, number>();
      const send = async (pid: number, v: string) => {
        const q = seqs.get(pid) ?? 0;
        seqs.set(pid, q + 1);
        await append(log, txn(pid, [v.padEnd(60, '.')], q));
      };
      for (let round = 0; round < 12; round++) {
        await send(10, `a${round}`);
        await send(11, `b${round}`);
        await append(log, batch([`plain${round}`]));
        await log.writeTxnMarker(marker(10, round % 3 !== 0), { sync: false });
        if (round % 2 === 1) await log.writeTxnMarker(marker(11, round % 4 === 1), { sync: false });
      }
      await send(12, 'open');
      const want = {
        end: log.logEndOffset(), lso: log.lastStableOffset(), aborted: log.abortedTransactions(0, 1e9),
        open: [10, 11, 12].map((p) => log.txnFirstOffset(p)), producers: log.producers.toJSON(),
      };
      assert.ok(want.aborted.length >= 6, JSON.stringify(want.aborted));
      assert.equal(want.open[0], -1);
      assert.ok(want.lso < want.end);
      if (engine.segmentCount) assert.ok(engine.segmentCount(spec, 't', 0) > 3);
      const seen = (st: Storage) => {
        const l = mustPartition(st, 't');
        return {
          end: l.logEndOffset(), lso: l.lastStableOffset(), aborted: l.abortedTransactions(0, 1e9),
          open: [10, 11, 12].map((p) => l.txnFirstOffset(p)), producers: l.producers.toJSON(),
        };
      };
      // Without a close (as after kill -9): rebuilt from the log.
      engine.crash?.(spec);
      const s2 = await openStore(spec, o);
      abandoned.push(s2);
      assert.deepEqual(seen(s2), want);
      // Clean close and open: from the snapshot.
      await s2.close();
      const logs: string[] = [];
      const s3 = await openStore(spec, o, logs);
      assert.deepEqual(seen(s3), want);
      assert.deepEqual(logs.filter((l) => !l.startsWith('info')), []);
      // The open transaction ends after the restart as it would have before.
      await mustPartition(s3, 't').writeTxnMarker(marker(12, false), { sync: false });
      const l3 = mustPartition(s3, 't');
      assert.equal(l3.abortedTransactions(want.open[2], want.open[2] + 1).at(-1)?.producerId, 12);
      await s3.close();
      await abandoned[0].close();
    });

    test('onAppend fires once the write is readable; closed logs refuse appends', async () => {
      const s = await openStore(engine.freshSpec());
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
  });
}
