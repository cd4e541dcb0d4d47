// Shared by the compaction tests: a `fjord server` child with a fast cleaner, and reading a topic whole with kafkajs.
import type { Kafka } from 'kafkajs';
import { eventually } from '../helpers.js';
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

