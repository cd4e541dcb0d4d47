// Two `fjord server` processes on one PostgreSQL: a partition's leadership moves away and back
// while an idempotent producer keeps writing. The broker that gets a partition back learns it from
// the database (its Metadata names itself leader) before it has reloaded the partition's producer
// state; a produce in that window must get NOT_LEADER_OR_FOLLOWER (retriable), never a sequence
// verdict from the state it kept since it last led (OUT_OF_ORDER_SEQUENCE_NUMBER, fatal to the
// producer: the cluster soak's failure). The window is held open by locking fjord_batches, which
// the reload reads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgForTestFile, killServersAfterFile } from '../pg-test-file.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';

const { skip, pg: server } = await pgForTestFile('postgres leadership move integration');

const servers = new Map<number, ServerProcess>();
killServersAfterFile(() => servers.values());

const schemaClient = (schema: string) => new pg.Client({ connectionString: server!.url, options: `-c search_path=${schema}` });

/** Raw produce of one idempotent record at `seq` to `port`: the partition's error code. */
async function produceAt(port: number, topic: string, producer: { producerId: number; producerEpoch: number }, seq: number): Promise<number> {
  const records = encodeBatch({ records: [{ value: `v${seq}` }], producerId: producer.producerId, producerEpoch: producer.producerEpoch, baseSequence: seq });
  const c = await RawConnection.connect(port);
  try {
    const r = await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
    return r.responses[0].partitionResponses[0].errorCode as number;
  } finally {
    c.close();
  }
}

/** Whether the broker at `port` names `node` leader of the topic's partition 0 (asked of that broker itself: kafkajs may ask another). */
async function namesLeader(port: number, topic: string, node: number): Promise<boolean> {
  const c = await RawConnection.connect(port);
  try {
    const md = await c.request(ApiKey.Metadata, 1, { topics: [{ name: topic }] });
    return md.topics[0]?.partitions[0]?.leaderId === node;
  } finally {
    c.close();
  }
}

async function createAndInit(port: number, topic: string): Promise<{ producerId: number; producerEpoch: number }> {
  const c = await RawConnection.connect(port);
  try {
    const created = await c.request(ApiKey.CreateTopics, 4, { topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    const r = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    assert.equal(r.errorCode, ErrorCode.NONE);
    return { producerId: Number(r.producerId), producerEpoch: r.producerEpoch as number };
  } finally {
    c.close();
  }
}

/** Moves the topic's partition 0 to `node` in the database, as the leader assignment does (a new leader epoch). */
const moveTo = (db: pg.Client, topic: string, node: number) => db.query(`UPDATE fjord_partitions p SET leader_node = $1::integer, leader_epoch = p.leader_epoch + 1, leader = 'node ' || $1::text
  FROM fjord_topics t WHERE p.topic_id = t.topic_id AND t.name = $2`, [node, topic]);

describe('a partition led again by a broker that led it before', skip ? { skip } : {}, () => {
  test('a produce while it reloads gets NOT_LEADER_OR_FOLLOWER, not OUT_OF_ORDER_SEQUENCE_NUMBER from its old producer state', async () => {
    assert.ok(server);
    const schema = 'it_leader_move';
    const url = `${server.url}?schema=${schema}`;
    for (const n of [1, 2]) servers.set(n, await startServerProcess(['--storage', url, '--node-id', String(n)]));
    const port = (n: number) => Number(servers.get(n)!.address.split(':')[1]);
    const topic = 'moving';
    const producer = await createAndInit(port(1), topic);
    let first = -1;
    await eventually(async () => {
      first = (await namesLeader(port(1), topic, 1)) ? 1 : (await namesLeader(port(1), topic, 2)) ? 2 : -1;
      return first > 0 && await namesLeader(port(first === 1 ? 2 : 1), topic, first);
    }, 15000, 'both brokers name the leader');
    const other = first === 1 ? 2 : 1;
    const produce = (node: number, seq: number) => produceAt(port(node), topic, producer, seq);

    const db = schemaClient(schema);
    await db.connect();
    const lock = schemaClient(schema);
    await lock.connect();
    try {
      assert.equal(await produce(first, 0), ErrorCode.NONE);
      assert.equal(await produce(first, 1), ErrorCode.NONE);
      // The partition moves to the other broker, which takes two more.
      await moveTo(db, topic, other);
      await eventually(() => namesLeader(port(other), topic, other), 15000, `node ${other} leads`);
      await eventually(async () => !(await namesLeader(port(first), topic, first)), 15000, `node ${first} sees it led elsewhere`);
      let code = -1;
      await eventually(async () => (code = await produce(other, 2)) === ErrorCode.NONE, 15000, `seq 2 on node ${other} (last error ${code})`);
      assert.equal(await produce(other, 3), ErrorCode.NONE);

      // And back, with the reload held up: the first broker names itself leader before it has the state.
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE fjord_batches IN ACCESS EXCLUSIVE MODE');
      await moveTo(db, topic, first);
      await eventually(() => namesLeader(port(first), topic, first), 15000, `node ${first} names itself leader again`);
      code = await produce(first, 4);
      assert.equal(code, ErrorCode.NOT_LEADER_OR_FOLLOWER, `seq 4 while node ${first} reloads: error ${code}`);
      await lock.query('COMMIT');
      await eventually(async () => (code = await produce(first, 4)) === ErrorCode.NONE, 15000, `seq 4 on node ${first} once reloaded (last error ${code})`);
      assert.equal(await produce(first, 5), ErrorCode.NONE);
      // A retry of what the other broker took is a duplicate (answered without a new append).
      assert.equal(await produce(first, 3), ErrorCode.NONE);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      await lock.end();
      await db.end();
    }
  });
});

describe('a partition taken from a broker that has not noticed yet', skip ? { skip } : {}, () => {
  test('a produce there gets NOT_LEADER_OR_FOLLOWER after the database is asked, not OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    assert.ok(server);
    const schema = 'it_leader_deposed';
    const url = `${server.url}?schema=${schema}`;
    // Node 3 reads the database once a minute: it keeps leading, as it thinks, long after the move.
    servers.set(3, await startServerProcess(['--storage', url, '--node-id', '3', '--cluster-poll-ms', '60000']));
    const slow = Number(servers.get(3)!.address.split(':')[1]);
    const topic = 'deposed';
    const producer = await createAndInit(slow, topic);
    await eventually(() => namesLeader(slow, topic, 3), 15000, 'node 3 leads');
    assert.equal(await produceAt(slow, topic, producer, 0), ErrorCode.NONE);
    assert.equal(await produceAt(slow, topic, producer, 1), ErrorCode.NONE);
    servers.set(4, await startServerProcess(['--storage', url, '--node-id', '4']));
    const fast = Number(servers.get(4)!.address.split(':')[1]);
    const db = schemaClient(schema);
    await db.connect();
    try {
      await moveTo(db, topic, 4);
      await eventually(() => namesLeader(fast, topic, 4), 15000, 'node 4 leads');
      let code = -1;
      await eventually(async () => (code = await produceAt(fast, topic, producer, 2)) === ErrorCode.NONE, 15000, `seq 2 on node 4 (last error ${code})`);
      assert.equal(await produceAt(fast, topic, producer, 3), ErrorCode.NONE);
      assert.ok(await namesLeader(slow, topic, 3), 'node 3 has not noticed the move');
      code = await produceAt(slow, topic, producer, 4);
      assert.equal(code, ErrorCode.NOT_LEADER_OR_FOLLOWER, `seq 4 on the deposed node 3: error ${code}`);
      assert.equal(await produceAt(fast, topic, producer, 4), ErrorCode.NONE);
      // A gap is still a gap where the leader is this broker.
      assert.equal(await produceAt(fast, topic, producer, 9), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    } finally {
      await db.end();
    }
  });
});
