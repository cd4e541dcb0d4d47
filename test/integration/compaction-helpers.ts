// Shared by the compaction tests: a `fjord server` child with a fast cleaner, and reading a topic whole with kafkajs.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { eventually, kafkaFor, tempDir } from '../helpers.js';
import { startServerProcess, type ServerProcess } from '../server-process.js';

const CLEANER_ARGS = ['--log-segment-bytes', '4096', '--log-level', 'info'];

/**
 * A server whose cleaner looks every 100 ms; with `quiet` every hour, so its first pass never comes
 * during a test (what it leaves dirty is still dirty when the next server starts).
 */
export async function start(dir: string, crashAt?: string, quiet = false): Promise<ServerProcess> {
  if (crashAt) process.env.FJORD_TEST_CRASH_AT = crashAt;
  try {
    return await startServerProcess(['--data-dir', dir, ...CLEANER_ARGS, '--log-cleaner-backoff-ms', quiet ? '3600000' : '100']);
  } finally {
    delete process.env.FJORD_TEST_CRASH_AT;
  }
}

export type Rec = { offset: number; key: string; value: string | null };

/** Every record from the start, read with kafkajs (no group). */
export async function readAll(kafka: Kafka, topic: string, end: number): Promise<Rec[]> {
  const out: Rec[] = [];
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let last = -1;
  await consumer.run({
    eachMessage: async ({ message }) => {
      out.push({ offset: Number(message.offset), key: message.key?.toString() ?? '', value: message.value === null ? null : message.value.toString() });
      last = Number(message.offset);
    },
  });
  await eventually(() => last >= end - 1, 30000, `reading ${topic} to ${end}`);
  await consumer.disconnect();
  return out;
}

export function latest(recs: Rec[]): Map<string, string | null> {
  const m = new Map<string, string | null>();
  for (const r of recs) m.set(r.key, r.value);
  return m;
}


/**
 * The crash tests' harness: a data dir with one compacted topic (`configs` added to its settings),
 * written by servers whose cleaner stays quiet, and `crashRound` — write, restart with a crash point,
 * wait for that server to be killed there (or, `mayFinish`, to finish its pass), restart quietly and
 * check that kafkajs reads the latest value of every key and no .cleaned / .swap file is left.
 */
export async function crashHarness(topic: string, passLine: RegExp, configs: { name: string; value: string }[] = []) {
  const dir = tempDir();
  const part = join(dir.path, `${topic}-0`);
  const expected = new Map<string, string>();
  let end = 0;
  let server = await start(dir.path, undefined, true);
  const write = async (rounds: number) => {
    const producer = kafkaFor(server).producer();
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
    assert.deepEqual(latest(await readAll(kafkaFor(server), topic, end)), expected);
    const files = readdirSync(part);
    assert.ok(!files.some((n) => n.endsWith('.swap') || n.endsWith('.cleaned')), files.join(' '));
  };
  const kill = async (s: ServerProcess) => {
    s.child.kill('SIGKILL');
    return s.exited;
  };
  const crashRound = async (crashAt: string, mayFinish: boolean) => {
    await write(12);
    await kill(server);
    server = await start(dir.path, crashAt);
    const s = server;
    let died = false;
    void s.exited.then(() => (died = true));
    await eventually(() => died || (mayFinish && passLine.test(s.output())), 60000, `${crashAt}: the cleaner reaches the crash point or finishes its pass`);
    const { signal } = await kill(s);
    assert.equal(signal, 'SIGKILL', s.output());
    if (!mayFinish) assert.match(s.output(), new RegExp(`FJORD_TEST_CRASH_AT=${crashAt}: killing`), `the cleaner reached ${crashAt}:\n${s.output()}`);
    server = await start(dir.path, undefined, true);
    await check();
  };
  const admin = kafkaFor(server).admin();
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }, ...configs] }] });
    await admin.disconnect();
  } catch (err) {
    await kill(server);
    dir.remove();
    throw err;
  }
  return {
    dir, part, crashRound, check,
    /** The server running now. */
    get server(): ServerProcess {
      return server;
    },
    /** Kills the server running now and starts a normal one (its cleaner looks every 100 ms). */
    async restart(): Promise<ServerProcess> {
      await kill(server);
      server = await start(dir.path);
      return server;
    },
    async close(): Promise<void> {
      await kill(server);
      dir.remove();
    },
  };
}
