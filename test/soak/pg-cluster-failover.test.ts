// Cluster mode (docs/cluster.md "Failure cases"): repeated kill -9 under load. Three `fjord server`
// processes on one throw-away PostgreSQL; three idempotent acks=-1 kafkajs producers write
// continuously to a 6-partition topic while a consumer group of two reads it. Three rounds, a
// different broker each time: kill -9 it, wait for a produce acknowledged on one of the partitions
// it led (the time from the kill is printed, not asserted), restart it on the same port and wait
// until it leads its share again. Then: every acknowledged record is stored exactly once (no loss,
// no duplicate), the group has read every one of them and committed the log end, and the records
// it read twice are few (it resumed from its committed offsets after each kill, not from the start).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgForTestFile, killServersAfterFile, leadersAt } from '../pg-test-file.js';

const { skip, pg } = await pgForTestFile('postgres cluster failover integration');

const servers = new Map<number, ServerProcess>();
killServersAfterFile(() => servers.values());

const TOPIC = 'soak';
const PARTITIONS = 6;

const kafkaOf = (brokers: string[], clientId: string) =>
  new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 40 } });

async function startNode(url: string, nodeId: number, port = 0): Promise<ServerProcess> {
  const s = await startServerProcess(['--storage', url, '--node-id', String(nodeId), '--listeners', `PLAINTEXT://127.0.0.1:${port}`, '--group-initial-rebalance-delay-ms', '0']);
  servers.set(nodeId, s);
  return s;
}

/** Leaders every live broker agrees on, each live broker leading its even share (2 of 6). */
async function settledLeaders(live: number[]): Promise<number[]> {
  let agreed: number[] = [];
  await eventually(async () => {
    const views = await Promise.all(live.map((n) => leadersAt(servers.get(n)!.address, TOPIC)));
    const first = views[0];
    if (first.length !== PARTITIONS || views.some((v) => v.join() !== first.join())) return false;
    const share = PARTITIONS / live.length;
    if (!live.every((n) => first.filter((l) => l === n).length === share)) return false;
    agreed = first;
    return true;
  }, 30000, `leadership settled over nodes ${live.join(', ')}`);
  return agreed;
}

describe('three fjord brokers on one PostgreSQL: kill -9 under load, repeated', skip ? { skip } : {}, () => {
  test('three kills of a different broker each: nothing acknowledged lost or doubled, the group resumes from its commits', async () => {
    assert.ok(pg);
    const url = `${pg.url}?schema=it_cluster_failover`;
    await Promise.all([1, 2, 3].map((n) => startNode(url, n)));
    const ports = new Map([...servers].map(([n, s]) => [n, s.port]));
    const addresses = [...servers.values()].map((s) => s.address);
    const admin: Admin = kafkaOf(addresses, 'soak-admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    await settledLeaders([1, 2, 3]);

    // The group: two members, offsets committed by kafkajs after each batch.
    const consumed = new Map<string, number>();
    const consumers: Consumer[] = [];
    for (let i = 0; i < 2; i++) {
      const c = kafkaOf(addresses, `soak-consumer-${i}`).consumer({ groupId: 'soak-group', sessionTimeout: 10000, heartbeatInterval: 1000, retry: { retries: 100, initialRetryTime: 100, maxRetryTime: 1000 } });
      await c.connect();
      await c.subscribe({ topic: TOPIC, fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => { const v = message.value!.toString(); consumed.set(v, (consumed.get(v) ?? 0) + 1); } });
      consumers.push(c);
    }

    // Three idempotent acks=-1 producers, each to every partition in turn.
    const acked: string[] = [];
    let running = true;
    let watch: { partitions: Set<number>; from: number; at: number } | null = null;
    const loops = [0, 1, 2].map(async (w) => {
      const p = kafkaOf(addresses, `soak-producer-${w}`).producer({ idempotent: true, retry: { initialRetryTime: 50, maxRetryTime: 500, retries: 100 } });
      await p.connect();
      for (let n = 0; running; n++) {
        const partition = (n + w) % PARTITIONS;
        const value = `w${w}-${n}`;
        const sentAt = Date.now();
        await p.send({ topic: TOPIC, acks: -1, messages: [{ value, partition }] });
        acked.push(value);
        // Only a send begun after the kill counts (one in flight may have been answered by the victim).
        if (watch && watch.at === 0 && sentAt >= watch.from && watch.partitions.has(partition)) watch.at = Date.now();
      }
      await p.disconnect();
    });
    await eventually(() => acked.length >= 100, 30000, 'load running');

    const times: number[] = [];
    for (const victim of [2, 3, 1]) {
      const before = await settledLeaders([1, 2, 3]);
      const moved = new Set(before.flatMap((l, p) => (l === victim ? [p] : [])));
      const s = servers.get(victim)!;
      const killedAt = Date.now();
      watch = { partitions: moved, from: killedAt, at: 0 };
      s.child.kill('SIGKILL');
      await s.exited;
      servers.delete(victim);
      const w = watch;
      await eventually(() => w.at > 0, 30000, `a produce acknowledged on a partition node ${victim} led`);
      times.push(w.at - killedAt);
      console.log(`# kill -9 of node ${victim} → first acknowledged produce on a moved partition after ${w.at - killedAt} ms`);
      const ackedAtKill = acked.length;
      await eventually(() => acked.length >= ackedAtKill + 60, 30000, 'load continues after the kill');
      await startNode(url, victim, ports.get(victim));
      await settledLeaders([1, 2, 3]);
      const ackedAtRejoin = acked.length;
      await eventually(() => acked.length >= ackedAtRejoin + 60, 30000, 'load continues after the rejoin');
    }
    running = false;
    await Promise.all(loops);
    console.log(`# kill → first acknowledged produce on a moved partition: ${times.join(', ')} ms`);

    // The group reads everything and commits the log end.
    await eventually(() => acked.every((v) => consumed.has(v)), 60000, `the group read all ${acked.length} acknowledged records`);
    const ends = (await admin.fetchTopicOffsets(TOPIC)).sort((a, b) => a.partition - b.partition).map((p) => Number(p.high));
    await eventually(async () => {
      const committed = (await admin.fetchOffsets({ groupId: 'soak-group', topics: [TOPIC] }))[0].partitions.sort((a, b) => a.partition - b.partition);
      return committed.every((p, i) => Number(p.offset) === ends[i]);
    }, 30000, 'the group committed the log end of every partition');
    for (const c of consumers) await c.disconnect();
    const again = [...consumed.values()].reduce((n, c) => n + c - 1, 0);
    console.log(`# the group read ${acked.length} records, ${again} of them more than once`);
    // Resuming from the start after a kill would read everything before it again.
    assert.ok(again < acked.length / 4, `the group resumed from its committed offsets (${again} records read twice of ${acked.length})`);

    // Everything acknowledged is stored exactly once (idempotent producers: no duplicates).
    const reader = kafkaOf(addresses, 'soak-audit').consumer({ groupId: 'soak-audit' });
    await reader.connect();
    await reader.subscribe({ topic: TOPIC, fromBeginning: true });
    const counts = new Map<string, number>();
    let total = 0;
    await reader.run({ eachMessage: async ({ message }) => { const v = message.value!.toString(); counts.set(v, (counts.get(v) ?? 0) + 1); total++; } });
    const stored = ends.reduce((n, e) => n + e, 0);
    await eventually(() => total >= stored, 30000, `${stored} stored records read back`);
    await reader.disconnect();
    assert.deepEqual(acked.filter((v) => !counts.has(v)), [], 'no acknowledged record lost');
    assert.deepEqual([...counts].filter(([, c]) => c > 1), [], 'no record stored twice');
    await admin.disconnect();
  });
});
