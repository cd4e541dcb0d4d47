// Kill -9 during cleaning passes through the real `fjord server`: at each step of the swap
// protocol (test-only FJORD_TEST_CRASH_AT=cleaner-<step>) and at random moments; after every
// restart kafkajs reads the latest value of every key, and no .cleaned / .swap file is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, kafkaFor, tempDir } from '../helpers.js';
import { latest, readAll, start } from './compaction-helpers.js';

test('kill -9 at every step of a cleaning pass, and at random moments, never loses a key\'s latest value', { timeout: 300000 }, async () => {
  const dir = tempDir();
  const topic = 'crashy';
  const expected = new Map<string, string>();
  let end = 0;
  let server = await start(dir.path);
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
  };
  try {
    const admin = kafkaFor(server).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }] }] });
    await admin.disconnect();
    const steps = ['after-cleaned', 'after-swap', 'after-unlink', 'after-rename'];
    for (const step of steps) {
      await write(12);
      server.child.kill('SIGKILL');
      await server.exited;
      server = await start(dir.path, `cleaner-${step}`);
      const { signal } = await server.exited;
      assert.equal(signal, 'SIGKILL', `the cleaner reached ${step}:\n${server.output()}`);
      server = await start(dir.path);
      await check();
    }
    // Random moments: the broker is killed while it cleans (or just after).
    for (let i = 0; i < 3; i++) {
      await write(12);
      await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 400)));
      server.child.kill('SIGKILL');
      await server.exited;
      server = await start(dir.path);
      await check();
    }
    await eventually(() => /log cleaner: crashy-0/.test(server.output()), 30000, 'a pass after the last restart');
    await check();
    const files = readdirSync(join(dir.path, `${topic}-0`));
    assert.ok(!files.some((n) => n.endsWith('.swap') || n.endsWith('.cleaned')), files.join(' '));
  } finally {
    server.child.kill('SIGKILL');
    await server.exited;
    dir.remove();
  }
});
