// Kill -9 during cleaning passes through the real `fjord server`: at each step of the swap
// protocol (test-only FJORD_TEST_CRASH_AT=cleaner-<step>) and at random moments of a pass
// (FJORD_TEST_CRASH_AT=cleaner-tick-<n>: the n-th read, write or swap step); after every restart
// kafkajs reads the latest value of every key, and no .cleaned / .swap file is left. The swap
// steps with file.delete.delay.ms: compaction-crash-delay.test.ts.
//
// Deterministic by construction: data is written by a server whose cleaner never runs during the
// test (`quiet`), so the server started next with a crash point always finds the data dirty and
// cleans it; a kill is placed by step count, never by time. The last kill lands before the pass
// writes its checkpoint, so the server after it must run (and log) a pass of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../helpers.js';
import { crashHarness } from './compaction-helpers.js';

const PASS = /log cleaner: crashy-0:/;

test('kill -9 at every step of a cleaning pass, and at random moments, never loses a key\'s latest value', { timeout: 300000 }, async () => {
  const h = await crashHarness('crashy', PASS);
  try {
    for (const step of ['after-cleaned', 'after-swap', 'after-unlink', 'after-rename', 'before-checkpoint']) await h.crashRound(`cleaner-${step}`, false);
    // Random moments of a pass: a step count drawn at random (a count past the pass's end lets it finish).
    for (let i = 0; i < 3; i++) await h.crashRound(`cleaner-tick-${1 + Math.floor(Math.random() * 60)}`, true);
    // The last kill is at the pass's first read: its checkpoint is not written, so what it was
    // about to clean is still dirty and the next server must clean it.
    await h.crashRound('cleaner-tick-1', false);
    const server = await h.restart();
    await eventually(() => PASS.test(server.output()), 30000, 'a pass after the last restart');
    await h.check();
    const active = readdirSync(h.part).filter((n) => n.endsWith('.log')).sort().at(-1)!;
    assert.equal(Number(readFileSync(join(h.part, 'cleaner-offset-checkpoint'), 'utf8')), Number(active.slice(0, 20)), 'clean up to the active segment');
  } finally {
    await h.close();
  }
});
