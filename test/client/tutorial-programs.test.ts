// The seed's tutorial kafkajs programs (test/fixtures/tutorial-*.mjs), with only their import line
// switched from 'kafkajs' to Fjord's package entry, run as separate processes against a Fjord
// broker; the consumer is stopped with SIGINT like a person would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { withBroker, eventually, tempDir, uniqueTopic } from '../helpers.js';
import { fjordFor } from './client-helpers.js';
import type { RunningBroker } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', 'fixtures');
const entry = pathToFileURL(join(here, '..', '..', 'src', 'index.ts')).href;
let broker: RunningBroker;
let dir: ReturnType<typeof tempDir>;
before(async () => {
  broker = await withBroker({ defaultPartitions: 2 });
  dir = tempDir('fjord-tutorial-');
});
after(async () => {
  await broker.stop();
  dir.remove();
});

/** The fixture with `from 'kafkajs'` replaced by Fjord's entry, and the topic/group renamed. */
function switched(name: string, topic: string, group: string): string {
  const source = readFileSync(join(fixtures, name), 'utf8');
  assert.match(source, /from 'kafkajs'/);
  const out = source.replace(/from 'kafkajs'/, `from '${entry}'`).replaceAll("'user-events'", `'${topic}'`).replaceAll("'test-group'", `'${group}'`);
  const path = join(dir.path, name.replace(/\.mjs$/, '.mts'));
  writeFileSync(path, out);
  return path;
}

function run(path: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', path], { env: { ...process.env, BROKER: broker.address } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

test('tutorial producer and consumer, import switched to Fjord; consumer stopped with SIGINT', async () => {
  const topic = uniqueTopic('user-events');
  const group = uniqueTopic('test-group');
  const producer = run(switched('tutorial-producer.mjs', topic, group));
  assert.equal(await producer.exited, 0, producer.err());
  assert.match(producer.out(), /sent 10/);

  const consumer = run(switched('tutorial-consumer.mjs', topic, group));
  const lines = () => consumer.out().trim().split('\n').filter((l) => l.startsWith('{"topic"')).map((l) => JSON.parse(l));
  await eventually(() => lines().length >= 10, 30000, 'the consumer to print 10 messages');
  const got = lines();
  assert.deepEqual(got.map((m) => JSON.parse(m.value).i).sort((a: number, b: number) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const partitionsByKey = new Map<string, Set<number>>();
  for (const m of got) partitionsByKey.set(m.key, (partitionsByKey.get(m.key) ?? new Set()).add(m.partition));
  for (const [, set] of partitionsByKey) assert.equal(set.size, 1);

  consumer.child.kill('SIGINT');
  assert.equal(await consumer.exited, 0, consumer.err());
  const admin = fjordFor(broker).admin();
  await admin.connect();
  const { groups } = await admin.describeGroups([group]);
  assert.equal(groups[0].state, 'Empty');
  const offsets = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  assert.equal(offsets[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0), 10);
  await admin.disconnect();
});
