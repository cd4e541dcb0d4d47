// `fjord consume --group --from-beginning --exit-at-end` commits every partition it read up to its
// end, empty partitions included (at their end offset, as Kafka's console consumer commits the
// position of every assigned partition on close), with one member and with two members reading
// side by side, for a classic and a KIP-848 group; and prints every record exactly once. Ctrl-C in
// the middle of an --exit-at-end run commits what was printed. Through the real CLI and a real
// broker; the committed offsets are read with Fjord's admin fetchOffsets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTopic } from '../helpers.js';
import { brokerForFile, fjord } from './cli-helpers.js';
import { startFjord, until } from './cli-process.js';
import { Kafka, logLevel } from '../../src/index.js';

const file = brokerForFile();
const b = file.flags;
let kafka: Kafka;
let admin: ReturnType<Kafka['admin']>;
before(async () => {
  const broker = await file.ready;
  kafka = new Kafka({ clientId: 'exit-at-end-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
});
after(async () => { await admin.disconnect(); });

/** Records per partition: 0 and 3 hold several batches' worth, 1 one record, 2 and 4 none. */
const SHAPE = [1500, 1, 0, 400, 0];

/** A topic of shape.length partitions filled per shape; returns the produced values. */
async function filledTopic(base: string, shape = SHAPE): Promise<{ topic: string; values: string[] }> {
  const topic = uniqueTopic(base);
  await admin.createTopics({ topics: [{ topic, numPartitions: shape.length }] });
  const producer = kafka.producer();
  await producer.connect();
  const values: string[] = [];
  try {
    for (const [partition, n] of shape.entries()) {
      for (let start = 0; start < n; start += 200) {
        const messages = [];
        for (let i = start; i < Math.min(n, start + 200); i++) {
          const value = `p${partition}-${i}-${'x'.repeat(100)}`; // 200 kB in all: more than a pipe holds
          values.push(value);
          messages.push({ value, partition });
        }
        await producer.send({ topic, messages });
      }
    }
  } finally {
    await producer.disconnect();
  }
  return { topic, values };
}

/** Every partition's committed offset equals its end offset. */
async function assertAllCommitted(topic: string, group: string): Promise<void> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const got = new Map(committed.partitions.map((p) => [p.partition, Number(p.offset)]));
  const want = new Map(ends.map((e) => [e.partition, Number(e.high)]));
  assert.deepEqual([...got].sort((x, y) => x[0] - y[0]), [...want].sort((x, y) => x[0] - y[0]),
    `committed offsets [partition, offset] of ${group} differ from the end offsets`);
  const r = await fjord(['groups', 'describe', group, '--offsets', ...b]);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => l.startsWith(`${group} `));
  assert.equal(rows.length, SHAPE.length, r.stdout);
  for (const row of rows) assert.match(row, new RegExp(`^${group} +${topic} +\\d+ +(\\d+) +\\1 +0 `), r.stdout);
}

const sorted = (xs: string[]) => [...xs].sort();
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

for (const protocol of ['classic', 'consumer'] as const) {
  test(`${protocol}: one --exit-at-end member commits every partition, empty ones included`, async () => {
    const { topic, values } = await filledTopic(`eae1-${protocol}`);
    const group = uniqueTopic(`eae1-${protocol}-g`);
    const r = await fjord(['consume', topic, '--group', group, '--group-protocol', protocol, '--from-beginning', '--exit-at-end', ...b], { timeoutMs: 90000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(sorted(lines(r.stdout)), sorted(values));
    await assertAllCommitted(topic, group);
    // A second run finds nothing left and exits at once, printing nothing.
    const again = await fjord(['consume', topic, '--group', group, '--group-protocol', protocol, '--from-beginning', '--exit-at-end', ...b], { timeoutMs: 90000 });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, '');
    await assertAllCommitted(topic, group);
  });

  test(`${protocol}: two --exit-at-end members side by side commit every partition and print each record once`, async () => {
    const { topic, values } = await filledTopic(`eae2-${protocol}`);
    const group = uniqueTopic(`eae2-${protocol}-g`);
    const args = ['consume', topic, '--group', group, '--group-protocol', protocol, '--from-beginning', '--exit-at-end', ...b];
    const [x, y] = await Promise.all([fjord(args, { timeoutMs: 90000 }), fjord(args, { timeoutMs: 90000 })]);
    assert.equal(x.code, 0, x.stderr);
    assert.equal(y.code, 0, y.stderr);
    assert.deepEqual(sorted([...lines(x.stdout), ...lines(y.stdout)]), sorted(values));
    await assertAllCommitted(topic, group);
  });
}

test('Ctrl-C during --exit-at-end commits what was printed and exits 0', async () => {
  // Many batches (one per fetch, as max.partition.fetch.bytes is small): the pipe fills long before the end.
  const shape = [6000, 1, 0, 400, 0];
  const { topic } = await filledTopic('eae-sigint', shape);
  const group = uniqueTopic('eae-sigint-g');
  const running = startFjord(['consume', topic, '--group', group, '--from-beginning', '--exit-at-end', '--consumer-property', 'max.partition.fetch.bytes=1024', ...b]);
  try {
    // Stop reading its stdout once something came: the pipe fills and the CLI waits for it to
    // drain, half-way through the topic, when the signal comes; then read on.
    running.child.stdout!.once('data', () => running.child.stdout!.pause());
    await until(() => running.stdout().length > 0 || running.child.exitCode !== null, 'a first record printed');
    await new Promise((r) => setTimeout(r, 500));
    running.child.kill('SIGINT');
    running.child.stdout!.resume();
    const r = await running.exited;
    assert.equal(r.code, 0, r.stderr);
    const printed = lines(r.stdout);
    assert.ok(printed.length < shape.reduce((n, x) => n + x, 0), `all ${printed.length} records printed before the signal`);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    // Each partition's committed offset is one past the last record printed from it (nothing printed:
    // its start, 0, or nothing).
    for (const [partition] of shape.entries()) {
      const last = printed.filter((v) => v.startsWith(`p${partition}-`)).map((v) => Number(v.split('-')[1])).reduce((m, n) => Math.max(m, n), -1);
      const c = Number(committed.partitions.find((p) => p.partition === partition)?.offset ?? -1);
      if (last >= 0) assert.equal(c, last + 1, `partition ${partition}: printed up to ${last}, committed ${c}`);
      else assert.ok(c <= 0, `partition ${partition}: nothing printed, committed ${c}`);
    }
  } finally {
    if (running.child.exitCode === null) running.child.kill('SIGKILL');
  }
});
