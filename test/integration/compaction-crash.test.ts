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
import { eventually, kafkaFor, tempDir } from '../helpers.js';
import { latest, readAll, start } from './compaction-helpers.js';
import type { ServerProcess } from '../server-process.js';

const PASS = /log cleaner: crashy-0:/;

test('kill -9 at every step of a cleaning pass, and at random moments, never loses a key\'s latest value', { timeout: 300000 }, async () => {
  const dir = tempDir();
  const topic = 'crashy';
  const part = join(dir.path, `${topic}-0`);
  const expected = new Map<string, string>();
  let end = 0;
  let server = await start(dir.path, undefined, true);
  const write = async (rounds: number) => {
    const kafka = kafkaFor(server);
    const producer = kafka.producer();
    await producer.connect();
    for (let round = 0; round < rounds; round++) {
      const messages = Array.from({ length: 25 }, (_, k) => ({ key: `k${k}`, value: `e${end}-${'z'.repeat(60)}` }));
      await producer.send({ topic, messages, acks: -1 });
      for (const m of messages) expected.set(m.key, m.value);
      end += messages.length;
    }
    await producer.disconnect();
  };
  const check = async () => {
    const recs = await readAll(kafkaFor(server), topic, end);
    assert.deepEqual(latest(recs), expected);
    const files = readdirSync(part);
    assert.ok(!files.some((n) => n.endsWith('.swap') || n.endsWith('.cleaned')), files.join(' '));
  };
  const kill = async (s: ServerProcess) => {
    s.child.kill('SIGKILL');
    return s.exited;
  };
  /** Writes with the cleaner quiet, then restarts with `crashAt` and waits until that server is killed (or, `mayFinish`, cleaned without reaching it). */
  const crashRound = async (crashAt: string, mayFinish: boolean) => {
    await write(12);
    await kill(server);
    server = await start(dir.path, crashAt);
    const s = server;
    let died = false;
    void s.exited.then(() => (died = true));
    await eventually(() => died || (mayFinish && PASS.test(s.output())), 60000, `${crashAt}: the cleaner reaches the crash point or finishes its pass`);
    const { signal } = await kill(s);
    assert.equal(signal, 'SIGKILL', s.output());
    if (!mayFinish) assert.match(s.output(), new RegExp(`FJORD_TEST_CRASH_AT=${crashAt}: killing`), `the cleaner reached ${crashAt}:\n${s.output()}`);
    server = await start(dir.path, undefined, true);
    await check();
  };
  try {
    const admin = kafkaFor(server).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }] }] });
    await admin.disconnect();
    for (const step of ['after-cleaned', 'after-swap', 'after-unlink', 'after-rename', 'before-checkpoint']) await crashRound(`cleaner-${step}`, false);
    // Random moments of a pass: a step count drawn at random (a count past the pass's end lets it finish).
    for (let i = 0; i < 3; i++) await crashRound(`cleaner-tick-${1 + Math.floor(Math.random() * 60)}`, true);
    // The last kill is at the pass's first read: its checkpoint is not written, so what it was
    // about to clean is still dirty and the next server must clean it.
    await crashRound('cleaner-tick-1', false);
    await kill(server);
    server = await start(dir.path);
    await eventually(() => PASS.test(server.output()), 30000, 'a pass after the last restart');
    await check();
    const active = readdirSync(part).filter((n) => n.endsWith('.log')).sort().at(-1)!;
    assert.equal(Number(readFileSync(join(part, 'cleaner-offset-checkpoint'), 'utf8')), Number(active.slice(0, 20)), 'clean up to the active segment');
  } finally {
    await kill(server);
    dir.remove();
  }
});
