// Three `fjord server` processes on one PostgreSQL database (cluster mode, docs/cluster.md), driven
// by kafkajs: every broker lists all three; leadership is spread evenly; an idempotent acks=-1
// producer and a consumer group work across the cluster; a broker killed with SIGKILL under
// continuous produce loses its partitions to the others (the time from the kill to the first
// acknowledged produce on a moved partition is printed, not asserted), no acknowledged record is
// lost or duplicated, and the broker restarted joins again and gets its share back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgForTestFile, killServersAfterFile } from '../pg-test-file.js';

const { skip, pg } = await pgForTestFile('postgres cluster integration');

const servers = new Map<number, ServerProcess>();
killServersAfterFile(() => servers.values());

const kafkaOf = (brokers: string[]) =>
  new Kafka({ clientId: 'pg-cluster', brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 } });

async function startNode(url: string, nodeId: number): Promise<ServerProcess> {
  const s = await startServerProcess(['--storage', url, '--node-id', String(nodeId), '--group-initial-rebalance-delay-ms', '0']);
  servers.set(nodeId, s);
  return s;
}

/** Leaders of a topic's partitions, as one broker's Metadata says (-1: none). */
async function leaders(admin: Admin, topic: string): Promise<number[]> {
  // A broker learns of a topic created elsewhere within a poll: until then it is unknown there.
  const md = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => null);
  return md ? md.topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => p.leader) : [];
}

const spread = (ls: number[]) => [...ls.reduce((m, l) => m.set(l, (m.get(l) ?? 0) + 1), new Map<number, number>()).values()].sort();

describe('three fjord brokers on one PostgreSQL', skip ? { skip } : {}, () => {
  test('membership, even leadership, produce and consume across brokers, kill -9 and rejoin', async () => {
    assert.ok(pg);
    const url = `${pg.url}?schema=it_cluster`;
    const started = await Promise.all([1, 2, 3].map((n) => startNode(url, n)));
    const addresses = started.map((s) => s.address);

    // Every broker lists all three, with their addresses; the controller is a live broker (the one
    // leading the internal logs: pg-cluster-security.test.ts).
    for (const address of addresses) {
      const admin = kafkaOf([address]).admin();
      await admin.connect();
      // Brokers started together see each other within a poll (kafkajs may ask any broker it knows).
      // The checks below use the answer that listed all three: kafkajs may ask another broker next,
      // which can be a poll behind.
      let c = await admin.describeCluster();
      await eventually(async () => (c = await admin.describeCluster()).brokers.map((b) => b.nodeId).sort().join() === '1,2,3', 10000, `${address} lists three brokers`);
      assert.deepEqual(c.brokers.map((b) => b.nodeId).sort(), [1, 2, 3]);
      assert.deepEqual(c.brokers.map((b) => `${b.host}:${b.port}`).sort(), [...addresses].sort());
      assert.ok(c.controller !== null && [1, 2, 3].includes(c.controller), `controller ${c.controller}`);
      await admin.disconnect();
    }

    const kafka = kafkaOf(addresses);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }, { topic: 'load', numPartitions: 3 }], waitForLeaders: true });
    // Each 3-partition topic: one partition per broker, the same answer from every broker.
    for (const address of addresses) {
      const a = kafkaOf([address]).admin();
      await a.connect();
      for (const topic of ['orders', 'load']) {
        await eventually(async () => {
          const o = await leaders(a, topic);
          return spread(o).join() === '1,1,1' && !o.includes(-1);
        }, 10000, `${topic} spread 1/1/1 as ${address} sees it`);
      }
      await a.disconnect();
    }

    // An idempotent acks=-1 producer and a consumer group across the cluster.
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    for (let i = 0; i < 10; i++) {
      await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 30 }, (_, j) => ({ key: `k${j}`, value: `o-${i}-${j}` })) });
    }
    const consumer = kafka.consumer({ groupId: 'billing' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => { seen.add(message.value!.toString()); } });
    await eventually(() => seen.size >= 300, 30000, '300 orders consumed through the group');
    await consumer.disconnect();
    const committed = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
    assert.equal(committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0), 300);

    // Continuous acks=-1 produce from three producers, each to every partition in turn.
    const before = await leaders(admin, 'load');
    const victim = before[0];
    const moved = new Set(before.flatMap((l, p) => (l === victim ? [p] : [])));
    const acked: string[] = [];
    let killedAt = 0;
    let firstMovedAck = 0;
    let running = true;
    const loops = [0, 1, 2].map(async (w) => {
      const p = kafka.producer({ idempotent: true, retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 60 } });
      await p.connect();
      for (let n = 0; running; n++) {
        const partition = n % 3;
        const value = `w${w}-${n}`;
        const sentAfterKill = killedAt > 0;
        await p.send({ topic: 'load', acks: -1, messages: [{ value, partition }] });
        acked.push(value);
        // Only a send begun after the kill counts (one in flight may have been answered by the victim).
        if (sentAfterKill && firstMovedAck === 0 && moved.has(partition)) firstMovedAck = Date.now();
      }
      await p.disconnect();
    });
    await eventually(() => acked.length >= 90, 20000, 'load running');
    servers.get(victim)!.child.kill('SIGKILL');
    killedAt = Date.now();
    await servers.get(victim)!.exited;
    servers.delete(victim);
    await eventually(() => firstMovedAck > 0, 30000, 'a produce acknowledged on a moved partition');
    console.log(`# kill -9 of node ${victim} → first acknowledged produce on a moved partition after ${firstMovedAck - killedAt} ms`);
    const ackedAtKill = acked.length;
    await eventually(() => acked.length >= ackedAtKill + 90, 20000, 'load continues');
    // Metadata comes from whichever broker kafkajs asks, which may be one poll behind the one that
    // took the partitions over: every broker must agree within a few polls.
    let after = await leaders(admin, 'load');
    await eventually(async () => {
      after = await leaders(admin, 'load');
      return after.length > 0 && !after.includes(victim) && !after.includes(-1);
    }, 5000, `leaders after the kill without node ${victim}`).catch(() => undefined);
    assert.ok(!after.includes(victim) && !after.includes(-1), `leaders after the kill: ${after}`);

    // The killed broker starts again under its id, joins, and gets its share back.
    await startNode(url, victim);
    await eventually(async () => {
      const l = await leaders(admin, 'load');
      return spread(l).join() === '1,1,1' && l.includes(victim);
    }, 20000, 'leadership spread 1/1/1 again after the rejoin');
    const ackedAtRejoin = acked.length;
    await eventually(() => acked.length >= ackedAtRejoin + 60, 20000, 'load continues after the rejoin');
    running = false;
    await Promise.all(loops);

    // Everything acknowledged is there exactly once (idempotent producers: no duplicates).
    const reader = kafka.consumer({ groupId: 'audit' });
    await reader.connect();
    await reader.subscribe({ topic: 'load', fromBeginning: true });
    const counts = new Map<string, number>();
    let total = 0;
    await reader.run({ eachMessage: async ({ message }) => { const v = message.value!.toString(); counts.set(v, (counts.get(v) ?? 0) + 1); total++; } });
    const offsets = await admin.fetchTopicOffsets('load');
    const stored = offsets.reduce((n, p) => n + Number(p.high), 0);
    await eventually(() => total >= stored, 30000, `${stored} stored records read back`);
    await reader.disconnect();
    const missing = acked.filter((v) => !counts.has(v));
    const dups = [...counts].filter(([, c]) => c > 1);
    assert.deepEqual(missing, [], 'no acknowledged record lost');
    assert.deepEqual(dups, [], 'no record stored twice');
    await producer.disconnect();
    await admin.disconnect();
  });
});
