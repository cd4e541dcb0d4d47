// `fjord server --storage postgres://...` end to end, through the real CLI and kafkajs: produce
// (idempotent), a consumer group's commits, a restart that finds everything again (the second start
// takes the URL from FJORD_STORAGE), and PostgreSQL killed under acks=-1 load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgForTestFile } from '../pg-test-file.js';

const { skip, pg } = await pgForTestFile('postgres integration');

const client = (address: string) =>
  new Kafka({ clientId: 'pg-it', brokers: [address], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 3 } });

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  assert.equal(exit.code, 0, server.output());
}

async function readAll(address: string, topic: string, expected: number): Promise<string[]> {
  const consumer = client(address).consumer({ groupId: `reader-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => { values.push(message.value!.toString()); } });
  await eventually(() => values.length >= expected, 30000, `${expected} records`);
  await new Promise((r) => setTimeout(r, 200));
  await consumer.disconnect();
  return values;
}

describe('fjord server on PostgreSQL', skip ? { skip } : {}, () => {
  test('produce (idempotent), group commits, restart: everything is read back', async () => {
    assert.ok(pg);
    const url = `${pg.url}?schema=it_restart`;
    const password = new URL(pg.url).password;
    let server = await startServerProcess(['--storage', url, '--group-initial-rebalance-delay-ms', '0']);
    assert.match(server.output(), /data in postgres:\/\/fjord:\*\*\*@127\.0\.0\.1/);
    let kafka = client(server.address);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 3 }] });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < 10; i++) {
      await producer.send({ topic: 'events', messages: Array.from({ length: 30 }, (_, j) => ({ key: `k${j}`, value: `e-${i}-${j}` })) });
    }
    await producer.disconnect();
    // A group consumes everything and commits.
    const consumer = kafka.consumer({ groupId: 'billing' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'events', fromBeginning: true });
    let seen = 0;
    await consumer.run({ eachMessage: async () => { seen++; } });
    await eventually(() => seen >= 300, 30000, '300 records consumed');
    await consumer.disconnect();
    const committed = await admin.fetchOffsets({ groupId: 'billing', topics: ['events'] });
    assert.equal(committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0), 300);
    await admin.disconnect();
    await stop(server);
    assert.ok(!server.output().includes(password), 'the password is never printed');

    // The same database through the environment variable.
    process.env.FJORD_STORAGE = url;
    try {
      server = await startServerProcess(['--group-initial-rebalance-delay-ms', '0']);
    } finally {
      delete process.env.FJORD_STORAGE;
    }
    kafka = client(server.address);
    const admin2 = kafka.admin();
    await admin2.connect();
    const offsets = await admin2.fetchTopicOffsets('events');
    assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 300);
    const again = await admin2.fetchOffsets({ groupId: 'billing', topics: ['events'] });
    assert.equal(again[0].partitions.reduce((n, p) => n + Number(p.offset), 0), 300, 'committed offsets survive the restart');
    await admin2.disconnect();
    const values = await readAll(server.address, 'events', 300);
    assert.equal(values.length, 300);
    assert.equal(new Set(values).size, 300);
    // Producing goes on after the restart (a new idempotent producer).
    const p2 = kafka.producer({ idempotent: true });
    await p2.connect();
    await p2.send({ topic: 'events', messages: [{ key: 'k0', value: 'after-restart' }] });
    await p2.disconnect();
    await stop(server);
  });

  test('PostgreSQL killed under acks=-1 load: clients get errors, the broker recovers, no acknowledged record is lost', async () => {
    assert.ok(pg);
    const url = `${pg.url}?schema=it_kill`;
    const server = await startServerProcess(['--storage', url, '--partitions', '3']);
    const kafka = client(server.address);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'load', numPartitions: 3 }] });
    await admin.disconnect();
    const producer = kafka.producer({ retry: { initialRetryTime: 50, retries: 2 } });
    await producer.connect();
    const acked: string[] = [];
    const errors: string[] = [];
    let stopNow = false;
    let n = 0;
    const loop = async () => {
      while (!stopNow) {
        const values = Array.from({ length: 5 }, () => `v${n++}`);
        try {
          await producer.send({ topic: 'load', acks: -1, messages: values.map((value) => ({ value })) });
          acked.push(...values);
        } catch (err) {
          const chain: string[] = [];
          for (let e: unknown = err; e instanceof Error; e = (e as Error & { originalError?: unknown }).originalError ?? (e as Error & { cause?: unknown }).cause) {
            chain.push(`${e.name}:${(e as Error & { type?: string }).type ?? ''}:${e.message}`);
          }
          errors.push(chain.join(' <- '));
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const loops = [loop(), loop(), loop()];
    await eventually(() => acked.length >= 300, 30000, 'load before the kill');
    await pg.crash();
    await eventually(() => errors.length >= 3, 30000, 'produce errors while PostgreSQL is down');
    await pg.start();
    const afterRestart = acked.length;
    await eventually(() => acked.length >= afterRestart + 300, 60000, 'produce works again after PostgreSQL restarts');
    stopNow = true;
    await Promise.all(loops);
    await producer.disconnect();
    assert.ok(errors.some((e) => /KAFKA_STORAGE_ERROR/.test(e)), errors.slice(0, 5).join('\n'));
    assert.match(server.output(), /write failed/);
    const values = new Set(await readAll(server.address, 'load', acked.length));
    const lost = acked.filter((v) => !values.has(v));
    assert.deepEqual(lost, [], 'every acknowledged record is there');
    await stop(server);
  });
});
