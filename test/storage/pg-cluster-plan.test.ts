// The PostgreSQL cluster's leader plan (pure) and retention.bytes on the PostgreSQL engine
// (pseudo-segments of segment.bytes, kept across a reopen) — see docs/cluster.md.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planLeaders, type PlanPartition } from '../../src/storage/postgres/cluster.js';
import { createStorage } from '../../src/storage/engines.js';
import { pgForTestFile } from '../pg-test-file.js';
import { append, batch, mustPartition, opts } from './helpers.js';

/** Leader per partition id after applying the plan. */
function apply(parts: PlanPartition[], live: number[]): PlanPartition[] {
  const plan = planLeaders(parts, live);
  return parts.map((p) => ({ ...p, leader: plan.get(p.id) ?? p.leader }));
}
const counts = (parts: PlanPartition[], topic: string) =>
  [...parts.filter((p) => p.topic === topic).reduce((m, p) => m.set(p.leader, (m.get(p.leader) ?? 0) + 1), new Map<number | null, number>()).values()].sort();

describe('planLeaders', () => {
  test('spreads each topic evenly, moves only what it must on a death and a rejoin, keeps internal logs together', () => {
    let parts: PlanPartition[] = [
      ...[0, 1, 2].map((i) => ({ id: i + 1, topic: 'a', internal: false, leader: null })),
      ...[0, 1, 2, 3, 4, 5].map((i) => ({ id: i + 10, topic: 'b', internal: false, leader: null })),
      { id: 20, topic: '__consumer_offsets', internal: true, leader: null },
      { id: 21, topic: '__transaction_state', internal: true, leader: null },
    ];
    parts = apply(parts, [1, 2, 3]);
    assert.deepEqual(counts(parts, 'a'), [1, 1, 1]);
    assert.deepEqual(counts(parts, 'b'), [2, 2, 2]);
    const coord = parts.find((p) => p.id === 20)!.leader;
    assert.equal(parts.find((p) => p.id === 21)!.leader, coord);
    assert.equal(planLeaders(parts, [1, 2, 3]).size, 0, 'a balanced plan is left alone');
    // Node 2 dies: only its partitions move.
    const before = parts;
    parts = apply(parts, [1, 3]);
    for (const p of before) if (p.leader !== 2) assert.equal(parts.find((x) => x.id === p.id)!.leader, p.leader);
    assert.ok(parts.every((p) => p.leader !== 2));
    assert.deepEqual(counts(parts, 'b'), [3, 3]);
    // It comes back: even again.
    parts = apply(parts, [1, 2, 3]);
    assert.deepEqual(counts(parts, 'a'), [1, 1, 1]);
    assert.deepEqual(counts(parts, 'b'), [2, 2, 2]);
    assert.equal(planLeaders(parts, []).size, 0, 'nobody live: nothing to plan');
  });
});

const { skip, pg } = await pgForTestFile('postgres retention.bytes tests');

describe('retention.bytes on the postgres engine', skip ? { skip } : {}, () => {
  test('rows form pseudo-segments of segment.bytes, from commits and from a reopen', async () => {
    const spec = `${pg?.url}?schema=seg_retention`;
    const o = { ...opts({ flush: 'always' }), segmentBytes: 300 };
    let s = createStorage(spec, o);
    await s.open();
    await s.createTopic('r', 1, {});
    const log = mustPartition(s, 'r', 0);
    for (let i = 0; i < 10; i++) await append(log, batch([`value-${i}`.padEnd(100, '.')]), true);
    const live = log.segmentSizes?.();
    assert.ok(live && live.length >= 3, `pseudo-segments: ${JSON.stringify(live)}`);
    assert.equal(live.reduce((n, x) => n + x.bytes, 0) > 1000, true);
    assert.ok(live.every((x) => x.bytes <= 300));
    await s.close();
    s = createStorage(spec, o);
    await s.open();
    const again = mustPartition(s, 'r', 0).segmentSizes?.();
    assert.equal(again?.reduce((n, x) => n + x.bytes, 0), live.reduce((n, x) => n + x.bytes, 0));
    assert.equal(again?.[0].baseOffset, 0);
    // Dropping whole pseudo-segments moves the log start to a boundary.
    await mustPartition(s, 'r', 0).deleteBefore(again![1].baseOffset);
    assert.equal(mustPartition(s, 'r', 0).segmentSizes?.()[0].baseOffset, again![1].baseOffset);
    await s.close();
  });
});
