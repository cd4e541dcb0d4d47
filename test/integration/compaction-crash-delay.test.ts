// Kill -9 at the swap steps of a cleaning pass when file.delete.delay.ms > 0 (the old segments
// are renamed *.deleted, the first one's <base>.log before the swap takes its name), through the
// real `fjord server`, as compaction-crash.test.ts does without the delay (same method: data
// written by a quiet server, the kill placed by FJORD_TEST_CRASH_AT=cleaner-<step>).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, kafkaFor, tempDir } from '../helpers.js';
import { latest, readAll, start } from './compaction-helpers.js';
import type { ServerProcess } from '../server-process.js';

const PASS = /log cleaner: crashy-0:/;

test('file.delete.delay.ms: kill -9 at the swap steps never loses a key\'s latest value; set-aside files go at the next start', { timeout: 300000 }, async () => {
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
    await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }, { name: 'file.delete.delay.ms', value: '600000' }] }] });
    await admin.disconnect();
    for (const step of ['after-swap', 'after-unlink', 'after-rename']) await crashRound(`cleaner-${step}`, false);
    // The server that finished the last interrupted pass deleted what earlier ones set aside.
    assert.deepEqual(readdirSync(part).filter((n) => n.endsWith('.deleted')), []);
  } finally {
    await kill(server);
    dir.remove();
  }
});
