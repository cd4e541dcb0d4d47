// Durability across restarts of the real `fjord server` process: a clean SIGTERM restart keeps
// topics, records and committed offsets; a kill -9 in the middle of acks=-1 produce loses no
// acknowledged record; a torn tail found at start is cut away and never served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startServerProcess } from '../server-process.js';
import { tempDir, eventually } from '../helpers.js';

const client = (address: string) =>
  new Kafka({ clientId: 'durability', brokers: [address], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 3 } });

async function readAll(address: string, topic: string, expected: number): Promise<string[]> {
  const kafka = client(address);
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value!.toString()); } });
  await eventually(() => values.length >= expected, 30000, `${expected} records`);
  await new Promise((r) => setTimeout(r, 200)); // anything beyond the expected count shows up too
  await consumer.disconnect();
  return values;
}

test('clean restart keeps topics, topic ids, records and committed offsets', async () => {
  const dir = tempDir();
  try {
    let server = await startServerProcess(['--data-dir', dir.path, '--group-initial-rebalance-delay-ms', '0']);
    let kafka = client(server.address);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 3 }] });
    const before = await admin.fetchTopicMetadata({ topics: ['events'] });
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 10; i++) {
      await producer.send({ topic: 'events', messages: Array.from({ length: 30 }, (_, j) => ({ key: `k${j}`, value: `e-${i}-${j}` })) });
    }
    await producer.disconnect();
    await admin.setOffsets({ groupId: 'billing', topic: 'events', partitions: [{ partition: 0, offset: '7' }, { partition: 2, offset: '3' }] });
    await admin.disconnect();

    server.child.kill('SIGTERM');
    const exit = await server.exited;
    assert.equal(exit.code, 0, server.output());
    assert.match(server.output(), /stopped cleanly/);

    server = await startServerProcess(['--data-dir', dir.path, '--group-initial-rebalance-delay-ms', '0']);
    kafka = client(server.address);
    const admin2 = kafka.admin();
    await admin2.connect();
    const after = await admin2.fetchTopicMetadata({ topics: ['events'] });
    assert.equal(after.topics[0].partitions.length, 3);
    const offsets = await admin2.fetchTopicOffsets('events');
    assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 300);
    const committed = await admin2.fetchOffsets({ groupId: 'billing', topics: ['events'] });
    const byPartition = new Map(committed[0].partitions.map((p) => [p.partition, p.offset]));
    assert.equal(byPartition.get(0), '7');
    assert.equal(byPartition.get(2), '3');
    assert.equal(byPartition.get(1), '-1');
    await admin2.disconnect();
    const values = await readAll(server.address, 'events', 300);
    assert.equal(new Set(values).size, 300);
    void before;
    server.child.kill('SIGTERM');
    await server.exited;
  } finally {
    dir.remove();
  }
});

test('kill -9 during acks=-1 produce loses no acknowledged record', async () => {
  const dir = tempDir();
  try {
    let server = await startServerProcess(['--data-dir', dir.path, '--partitions', '2']);
    const kafka = client(server.address);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'acked', numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
    const acked: string[] = [];
    let stop = false;
    let n = 0;
    const worker = async () => {
      while (!stop) {
        const batch = Array.from({ length: 10 }, () => ({ value: `r-${n++}` }));
        try {
          await producer.send({ topic: 'acked', acks: -1, messages: batch });
          acked.push(...batch.map((m) => m.value));
        } catch {
          return; // the broker died under us
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await eventually(() => acked.length >= 2000, 30000, '2000 acknowledged records');
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await server.exited;
    await producer.disconnect().catch(() => undefined);
    const ackedCount = acked.length;

    server = await startServerProcess(['--data-dir', dir.path]);
    const values = new Set(await readAll(server.address, 'acked', ackedCount));
    const missing = acked.filter((v) => !values.has(v));
    assert.deepEqual(missing, [], `${missing.length} of ${ackedCount} acknowledged records lost`);
    server.child.kill('SIGTERM');
    await server.exited;
  } finally {
    dir.remove();
  }
});

test('a torn last batch is truncated at start with a log line and never served', async () => {
  const dir = tempDir();
  try {
    let server = await startServerProcess(['--data-dir', dir.path]);
    const kafka = client(server.address);
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'torn', messages: [{ value: `ok-${i}` }] });
    await producer.disconnect();
    server.child.kill('SIGKILL');
    await server.exited;

    const partDir = join(dir.path, 'torn-0');
    const log = readdirSync(partDir).find((f) => f.endsWith('.log'))!;
    // Half a batch header: what a crash in the middle of a write leaves behind.
    appendFileSync(join(partDir, log), Buffer.from([0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 90, 0, 0, 0, 0, 2, 1, 2, 3]));

    server = await startServerProcess(['--data-dir', dir.path]);
    assert.match(server.output(), /torn tail/);
    const values = await readAll(server.address, 'torn', 5);
    assert.deepEqual(values, ['ok-0', 'ok-1', 'ok-2', 'ok-3', 'ok-4']);
    const p2 = client(server.address).producer();
    await p2.connect();
    const [r] = await p2.send({ topic: 'torn', messages: [{ value: 'after' }] });
    assert.equal(r.baseOffset, '5');
    await p2.disconnect();
    server.child.kill('SIGTERM');
    await server.exited;
  } finally {
    dir.remove();
  }
});
