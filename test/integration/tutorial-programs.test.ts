// Tutorial-style kafkajs programs run unchanged as separate processes against a Fjord broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { withBroker, kafkaFor, eventually } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
let broker: RunningBroker;
before(async () => { broker = await withBroker({ defaultPartitions: 2 }); });
after(async () => { await broker.stop(); });

function run(script: string) {
  const child = spawn(process.execPath, [join(fixtures, script)], { env: { ...process.env, BROKER: broker.address, KAFKAJS_NO_PARTITIONER_WARNING: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

test('tutorial producer and consumer programs, consumer stopped with SIGINT', async () => {
  const producer = run('tutorial-producer.mjs');
  assert.equal(await producer.exited, 0, producer.err());
  assert.match(producer.out(), /sent 10/);

  const consumer = run('tutorial-consumer.mjs');
  // kafkajs also logs JSON lines to stdout; keep only the program's own message lines.
  const lines = () => consumer.out().trim().split('\n').filter((l) => l.startsWith('{"topic"')).map((l) => JSON.parse(l));
  await eventually(() => lines().length >= 10, 30000, 'the consumer to print 10 messages');
  const got = lines();
  assert.deepEqual(got.map((m) => JSON.parse(m.value).i).sort((a: number, b: number) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const partitionsByKey = new Map<string, Set<number>>();
  for (const m of got) partitionsByKey.set(m.key, (partitionsByKey.get(m.key) ?? new Set()).add(m.partition));
  for (const [, set] of partitionsByKey) assert.equal(set.size, 1);

  consumer.child.kill('SIGINT');
  assert.equal(await consumer.exited, 0, consumer.err());
  // disconnect() left the group: it is Empty at once, with its offsets committed.
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  const { groups } = await admin.describeGroups(['test-group']);
  assert.equal(groups[0].state, 'Empty');
  await eventually(async () => {
    const offsets = await admin.fetchOffsets({ groupId: 'test-group', topics: ['user-events'] });
    return offsets[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) === 10;
  }, 10000, 'committed offsets to cover all 10 messages');
  await admin.disconnect();
});
