// Cluster mode (docs/cluster.md "Transactions"): a transaction whose partitions are led by three
// different brokers. Three `fjord server` processes on one throw-away PostgreSQL, a topic with one
// partition led by each; a kafkajs transactional producer commits, aborts and commits again across
// all three partitions. Markers for partitions led by a broker other than the coordinator's are
// written by that leader (asked through the database); Produce on a broker that does not coordinate
// checks the batches against its follower of `__transaction_state`. A read_committed consumer sees
// exactly the committed records, and the last stable offset stays put on every partition while a
// transaction is open and moves past the marker on every partition once it ends. Also here (the
// same three brokers): a topic created through one broker is known at once to the others' Metadata.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgForTestFile, killServersAfterFile, leadersAt } from '../pg-test-file.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';

const { skip, pg } = await pgForTestFile('postgres cluster transactions integration');

const servers: ServerProcess[] = [];
killServersAfterFile(() => servers);

const kafkaOf = (brokers: string[]) =>
  new Kafka({ clientId: 'pg-cluster-txn', brokers, logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 } });

/** Each partition's last stable offset (kafkajs' ListOffsets asks read_committed). */
async function lsos(admin: Admin, topic: string): Promise<number[]> {
  return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
}

describe('transactions across three fjord brokers on one PostgreSQL', skip ? { skip } : {}, () => {
  let addresses: string[] = [];
  before(async () => {
    assert.ok(pg);
    const url = `${pg.url}?schema=it_cluster_txn`;
    for (const n of [1, 2, 3]) servers.push(await startServerProcess(['--storage', url, '--node-id', String(n), '--group-initial-rebalance-delay-ms', '0']));
    addresses = servers.map((s) => s.address);
    const admin = kafkaOf(addresses).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'ledger', numPartitions: 3 }, { topic: 'checked', numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    // Every broker agrees that each partition has its own leader.
    await eventually(async () => {
      for (const a of addresses) {
        for (const topic of ['ledger', 'checked']) {
          const l = await leadersAt(a, topic);
          if (l.length !== 3 || new Set(l).size !== 3 || l.includes(-1)) return false;
        }
      }
      return true;
    }, 15000, 'both topics led by three different brokers, as every broker sees it');
  });

  test('commit and abort over partitions led by three brokers; read_committed sees exactly the commits; the LSO advances everywhere', async () => {
    const kafka = kafkaOf(addresses);
    const admin = kafka.admin();
    await admin.connect();

    const producer = kafka.producer({ transactionalId: 'ledger-writer', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed: string[] = [];
    const aborted: string[] = [];
    const round = async (name: string, commit: boolean) => {
      const before = await lsos(admin, 'ledger');
      const txn = await producer.transaction();
      const values: string[] = [];
      for (let i = 0; i < 9; i++) {
        const value = `${name}-${i}`;
        values.push(value);
        await txn.send({ topic: 'ledger', acks: -1, messages: [{ value, partition: i % 3 }] });
      }
      // Open on every partition: the last stable offset held where it was.
      assert.deepEqual(await lsos(admin, 'ledger'), before, `${name}: the LSO waits for the open transaction`);
      if (commit) await txn.commit();
      else await txn.abort();
      (commit ? committed : aborted).push(...values);
      // Ended everywhere: each partition's marker is written, whichever broker leads it, and the
      // LSO moves past its three batches and the marker (the previous round ended at the log end).
      let now: number[] = [];
      await eventually(async () => (now = await lsos(admin, 'ledger')).every((lso, p) => lso === before[p] + 4), 15000, `${name}: the LSO passes the marker on every partition`)
        .catch(() => assert.deepEqual(now, before.map((x) => x + 4), `${name}: the LSO of every partition`));
    };
    await round('first', true);
    await round('second', false);
    await round('third', true);
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'ledger-audit', readUncommitted: false });
    await consumer.connect();
    await consumer.subscribe({ topic: 'ledger', fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value!.toString()); } });
    await eventually(() => seen.length >= committed.length, 30000, `${committed.length} committed records consumed`);
    // A moment for anything that should not be there to arrive.
    await new Promise((r) => setTimeout(r, 1000));
    await consumer.disconnect();
    assert.deepEqual([...seen].sort(), [...committed].sort(), 'exactly the committed records, once each');
    assert.ok(!seen.some((v) => aborted.includes(v)));
    await admin.disconnect();
  });

  test('Produce on a broker that does not coordinate checks the transaction: partitions not added, after the commit, an old epoch', async () => {
    const port = (nodeId: number) => Number(addresses[nodeId - 1].split(':')[1]);
    const id = 'checked-writer';
    const any = await RawConnection.connect(port(1));
    let coordinator = -1;
    await eventually(async () => {
      const r = await any.request(ApiKey.FindCoordinator, 1, { key: id, keyType: 1 });
      coordinator = r.errorCode === ErrorCode.NONE ? r.nodeId : -1;
      return coordinator > 0;
    }, 10000, 'a transaction coordinator');
    any.close();
    const leaders = await leadersAt(addresses[0], 'checked');
    const partition = leaders.findIndex((l) => l !== coordinator);
    const c = await RawConnection.connect(port(coordinator));
    const leader = await RawConnection.connect(port(leaders[partition]));
    const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const p = { producerId: Number(init.producerId), producerEpoch: init.producerEpoch as number };
    const produce = async (seq: number, epoch = p.producerEpoch) => {
      const records = encodeBatch({ records: [{ value: `v${seq}` }], producerId: p.producerId, producerEpoch: epoch, baseSequence: seq, transactional: true });
      const r = await leader.request(ApiKey.Produce, 7, { transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: 'checked', partitionData: [{ index: partition, records }] }] });
      return r.responses[0].partitionResponses[0].errorCode as number;
    };
    const add = async () => {
      const r = await c.request(ApiKey.AddPartitionsToTxn, 3, { v3AndBelowTransactionalId: id, v3AndBelowProducerId: p.producerId, v3AndBelowProducerEpoch: p.producerEpoch, v3AndBelowTopics: [{ name: 'checked', partitions: [partition] }] });
      return r.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode as number;
    };
    assert.equal(await produce(0), ErrorCode.INVALID_TXN_STATE, 'not added to the transaction');
    assert.equal(await add(), ErrorCode.NONE);
    // Straight after AddPartitionsToTxn's answer: the leader reads the coordinator's state first.
    assert.equal(await produce(0), ErrorCode.NONE, 'added: taken by the leader');
    assert.equal(await produce(1), ErrorCode.NONE);
    const end = await c.request(ApiKey.EndTxn, 3, { transactionalId: id, producerId: p.producerId, producerEpoch: p.producerEpoch, committed: true });
    assert.equal(end.errorCode, ErrorCode.NONE);
    assert.equal(await produce(2), ErrorCode.INVALID_TXN_STATE, 'the transaction ended: the partition is not in an open one');
    // A new producer fences this one (epoch + 1): the old epoch is refused at the leader.
    const again = await c.request(ApiKey.InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    assert.equal(again.producerEpoch, p.producerEpoch + 1);
    const fenced = await produce(2);
    assert.ok(fenced === ErrorCode.INVALID_PRODUCER_EPOCH || fenced === ErrorCode.INVALID_TXN_STATE, `old epoch refused (${fenced})`);
    c.close();
    leader.close();
  });

  test('a topic created through one broker is in the others\' Metadata at once, by name and in a list of all topics (no wait for their poll)', async () => {
    for (let round = 0; round < 5; round++) {
      const topic = `fresh-${round}`;
      const creator = await RawConnection.connect(servers[round % 3]!.port);
      const created = await creator.request(ApiKey.CreateTopics, 4, { topics: [{ name: topic, numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false });
      creator.close();
      assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
      for (const other of [1, 2]) {
        const c = await RawConnection.connect(servers[(round + other) % 3]!.port);
        const md = await c.request(ApiKey.Metadata, 9, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
        c.close();
        assert.equal(md.topics[0].errorCode, ErrorCode.NONE, `${topic} unknown to a broker right after its creation elsewhere`);
        assert.equal(md.topics[0].partitions.length, 2);
      }
      // And in a list of all topics (kcat -L right after producing through another broker).
      const second = `fresh-${round}-listed`;
      const creator2 = await RawConnection.connect(servers[round % 3]!.port);
      assert.equal((await creator2.request(ApiKey.CreateTopics, 4, { topics: [{ name: second, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false })).topics[0].errorCode, ErrorCode.NONE);
      creator2.close();
      const lister = await RawConnection.connect(servers[(round + 1) % 3]!.port);
      const all = await lister.request(ApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      lister.close();
      assert.ok(all.topics.some((t: { name: string | null }) => t.name === second), `${second} missing from an all-topics Metadata right after its creation elsewhere`);
    }
  });
});
