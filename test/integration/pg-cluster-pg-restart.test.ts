// Cluster mode (docs/cluster.md "Failure cases"): PostgreSQL itself restarted under load. Three
// `fjord server` processes on one throw-away PostgreSQL, three idempotent acks=-1 kafkajs producers
// writing continuously; the database is stopped with `pg_ctl -m immediate` (every backend killed, no
// checkpoint). While it is down each broker answers a produce to a partition it leads with an error
// (KAFKA_STORAGE_ERROR) and keeps running; when it is back the brokers reconnect, register again,
// lead their share again, the producers carry on, and every acknowledged record is stored once.
// Each broker's /ready answers 503 naming the database while it is down, and 200 again after.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgForTestFile, killServersAfterFile, leadersAt } from '../pg-test-file.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';

const { skip, pg } = await pgForTestFile('postgres cluster restart integration');

const servers: ServerProcess[] = [];
killServersAfterFile(() => servers);

const TOPIC = 'steady';
const kafkaOf = (brokers: string[], clientId: string) =>
  new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 100 } });

/** Waits until every broker names the same leaders, one partition each. */
async function settled(addresses: string[]): Promise<number[]> {
  let agreed: number[] = [];
  await eventually(async () => {
    const views = await Promise.all(addresses.map((a) => leadersAt(a, TOPIC)));
    agreed = views[0];
    return agreed.length === 3 && new Set(agreed).size === 3 && !agreed.includes(-1) && views.every((v) => v.join() === agreed.join());
  }, 30000, 'every broker names the same three leaders');
  return agreed;
}

/** Status and body of GET /ready on a broker's HTTP listener (its port read from the start line). */
async function ready(server: ServerProcess): Promise<{ status: number; body: string }> {
  const port = /metrics at http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(server.output())?.[1] ?? assert.fail(`no HTTP address:\n${server.output()}`);
  const res = await fetch(`http://127.0.0.1:${port}/ready`);
  return { status: res.status, body: await res.text() };
}

describe('three fjord brokers on one PostgreSQL: the database restarted under load', skip ? { skip } : {}, () => {
  test('errors while it is down, then reconnected, nothing acknowledged lost or doubled', async () => {
    assert.ok(pg);
    const url = `${pg.url}?schema=it_cluster_pg_restart`;
    for (const n of [1, 2, 3]) servers.push(await startServerProcess(['--storage', url, '--node-id', String(n), '--http-port', '0']));
    const addresses = servers.map((s) => s.address);
    const admin = kafkaOf(addresses, 'admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const leaders = await settled(addresses);
    for (const s of servers) assert.equal((await ready(s)).status, 200, 'ready while the database answers');

    const acked: string[] = [];
    const failed: string[] = [];
    let running = true;
    const loops = [0, 1, 2].map(async (w) => {
      const p = kafkaOf(addresses, `producer-${w}`).producer({ idempotent: true, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 100 } });
      await p.connect();
      for (let n = 0; running; n++) {
        const value = `w${w}-${n}`;
        try {
          await p.send({ topic: TOPIC, acks: -1, messages: [{ value, partition: (n + w) % 3 }] });
          acked.push(value);
        } catch (err) {
          // Retries ran out (the database was away longer than they last): not acknowledged.
          failed.push(`${value}: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await p.disconnect();
    });
    await eventually(() => acked.length >= 90, 30000, 'load before the restart');

    await pg.crash();
    // Each broker answers a produce to the partition it leads with an error and keeps serving.
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawConnection.connect(servers[i].port);
      const partition = leaders.indexOf(i + 1);
      const r = await c.request(ApiKey.Produce, 7, {
        transactionalId: null, acks: -1, timeoutMs: 5000,
        topicData: [{ name: TOPIC, partitionData: [{ index: partition, records: encodeBatch({ records: [{ value: 'while-down' }] }) }] }],
      });
      c.close();
      codes.push(r.responses[0].partitionResponses[0].errorCode as number);
    }
    assert.ok(codes.every((c) => c !== ErrorCode.NONE), `no produce acknowledged while the database is down: ${codes}`);
    assert.ok(codes.includes(ErrorCode.KAFKA_STORAGE_ERROR), `KAFKA_STORAGE_ERROR reported: ${codes}`);
    const down = acked.length;
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(acked.length <= down + 3, 'nothing acknowledged while the database is down (but sends answered just before)');
    for (const s of servers) {
      await eventually(async () => {
        const r = await ready(s);
        return r.status === 503 && /database did not answer/.test(r.body);
      }, 15000, '/ready says the database is away');
    }
    await pg.start();

    // Reconnected: the brokers register again, agree on the leaders, and the load goes on.
    await settled(addresses);
    const back = acked.length;
    await eventually(() => acked.length >= back + 90, 60000, 'produce works again after PostgreSQL restarts');
    for (const s of servers) await eventually(async () => (await ready(s)).status === 200, 15000, 'ready again');
    running = false;
    await Promise.all(loops);
    for (const s of servers) assert.equal(s.child.exitCode, null, 'the broker kept running');
    assert.match(servers.map((s) => s.output()).join('\n'), /write failed|reloading|reconnect|lease|membership connection broke/);

    // Every acknowledged record is stored exactly once.
    const reader = kafkaOf(addresses, 'audit').consumer({ groupId: 'audit' });
    await reader.connect();
    await reader.subscribe({ topic: TOPIC, fromBeginning: true });
    const counts = new Map<string, number>();
    await reader.run({ eachMessage: async ({ message }) => { const v = message.value!.toString(); counts.set(v, (counts.get(v) ?? 0) + 1); } });
    await eventually(() => acked.every((v) => counts.has(v)), 60000, `all ${acked.length} acknowledged records read back`);
    await new Promise((r) => setTimeout(r, 500));
    await reader.disconnect();
    console.log(`# ${acked.length} acknowledged, ${failed.length} sends given up by kafkajs while the database was away`);
    assert.deepEqual([...counts].filter(([v, c]) => c > 1 && v !== 'while-down'), [], 'no record stored twice');
  });
});
