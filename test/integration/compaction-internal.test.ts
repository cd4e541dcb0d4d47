// The internal logs that keep state per key (__transaction_state, SCRAM credentials, ACLs, client
// quotas, share-group state) after the log cleaner compacted them: a broker restarted on the same data dir has the
// same transactions, users, ACLs and quotas as before (issue 15). Each log gets many updates of the
// same keys and some deletions, on small segments, so the pass really drops records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka as FjordKafka, type RunningBroker } from '../../src/index.js';
import { COMPACTED_INTERNAL_LOGS } from '../../src/broker/log-cleaner.js';
import { RawConnection, type Message } from '../raw-client.js';
import { kafkaFor, tempDir, withBroker } from '../helpers.js';

const ALTER_QUOTAS = 49;
const DESCRIBE_QUOTAS = 48;
let correlation = 1;

async function call(port: number, apiKey: number, body: Message): Promise<Message> {
  const c = await RawConnection.connect(port);
  try {
    c.write(RawConnection.frame(apiKey, 1, correlation++, body));
    return (await c.response(apiKey, 1)).body;
  } finally {
    c.close();
  }
}

test('a broker restarted after the internal logs were compacted has the same transactions, users, ACLs and quotas', { timeout: 180000 }, async () => {
  const dir = tempDir();
  // Small segments so the internal logs roll; the cleaner's timer never fires, the pass is run by hand.
  const options = { dataDir: dir.path, segmentBytes: 1024, logCleanerBackoffMs: 3_600_000, authorizerClassName: 'fjord', superUsers: ['User:ANONYMOUS'] };
  let broker: RunningBroker = await withBroker(options);
  const txnIds = ['tx-a', 'tx-b', 'tx-c'];
  const state = async (b: RunningBroker) => {
    const fjord = new FjordKafka({ brokers: [b.address] }).admin();
    const kafkajs = kafkaFor(b).admin();
    await fjord.connect();
    await kafkajs.connect();
    try {
      const users = await fjord.describeUserScramCredentials();
      const acls = await kafkajs.describeAcls({ resourceType: 1, resourcePatternType: 1, operation: 1, permissionType: 1 } as never);
      const quotas = await call(b.port, DESCRIBE_QUOTAS, { components: [], strict: false });
      return {
        txns: b.broker.transactions.describe(txnIds),
        users: users.map((u) => JSON.stringify(u)).sort(),
        // The stored keys themselves (the last password of each user), not only what describe shows.
        keys: ['alice', 'bob', 'carol'].map((u) => JSON.stringify(b.broker.credentials.get(u, 'SCRAM-SHA-256') ?? null)),
        acls: acls.resources.map((r) => JSON.stringify(r)).sort(),
        quotas: (quotas.entries as Message[]).map((e) => JSON.stringify(e)).sort(),
        shareConfigs: ['sg-a', 'sg-b'].map((g) => JSON.stringify(b.broker.shares.groupConfigs(g))),
      };
    } finally {
      await fjord.disconnect();
      await kafkajs.disconnect();
    }
  };
  try {
    const kafka = kafkaFor(broker);
    await broker.broker.topics.create('data', 1);
    // Transactions: committed and aborted ones, several per transactional id.
    for (const id of txnIds) {
      const producer = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      for (let i = 0; i < 6; i++) {
        const t = await producer.transaction();
        await t.send({ topic: 'data', messages: [{ key: id, value: `${i}` }] });
        if (i % 3 === 2) await t.abort();
        else await t.commit();
      }
      await producer.disconnect();
    }
    const fjord = new FjordKafka({ brokers: [broker.address] }).admin();
    const admin = kafka.admin();
    await fjord.connect();
    await admin.connect();
    // SCRAM users: passwords changed again and again; one user deleted.
    for (let round = 0; round < 8; round++) {
      await fjord.upsertUserScramCredentials(['alice', 'bob', 'carol'].map((user) => ({ user, mechanism: 'SCRAM-SHA-256' as const, password: `${user}-${round}`, iterations: 4096 })));
    }
    await fjord.deleteUserScramCredentials([{ user: 'carol', mechanism: 'SCRAM-SHA-256' }]);
    // ACLs: created, deleted and created again; some stay deleted.
    for (let round = 0; round < 6; round++) {
      const acl = Array.from({ length: 6 }, (_, i) => ({ resourceType: 2, resourceName: `topic-${i}`, resourcePatternType: 3, principal: `User:u${i}`, host: '*', operation: 3, permissionType: 3 }));
      await admin.createAcls({ acl } as never);
      if (round < 5) await admin.deleteAcls({ filters: acl.slice(0, round % 2 === 0 ? 6 : 3) } as never);
    }
    // Quotas: values changed round after round; one removed.
    for (let round = 0; round < 10; round++) {
      const r = await call(broker.port, ALTER_QUOTAS, {
        entries: ['p', 'q', 'r'].map((client) => ({ entity: [{ entityType: 'client-id', entityName: client }], ops: [{ key: 'producer_byte_rate', value: 1000 * (round + 1), remove: false }] })),
        validateOnly: false,
      });
      for (const e of r.entries as Message[]) assert.equal(e.errorCode, 0);
    }
    await call(broker.port, ALTER_QUOTAS, { entries: [{ entity: [{ entityType: 'client-id', entityName: 'r' }], ops: [{ key: 'producer_byte_rate', value: 0, remove: true }] }], validateOnly: false });
    // Share-group configs (__share_group_state): set round after round.
    for (let round = 0; round < 6; round++) {
      for (const g of ['sg-a', 'sg-b']) await broker.broker.shares.setGroupConfigs(g, { 'share.record.lock.duration.ms': String(1000 * (round + 1)) });
    }
    await fjord.disconnect();
    await admin.disconnect();

    const before = await state(broker);
    assert.equal(before.users.length, 2);
    assert.equal(before.keys[2], 'null');
    assert.ok(before.acls.length > 0 && before.quotas.length === 2);
    assert.equal(before.txns.length, 3);
    const cleaned = await broker.broker.cleaner.runOnce();
    for (const name of COMPACTED_INTERNAL_LOGS) {
      const r = cleaned.get(`__internal/${name}`);
      assert.ok(r && r.recordsOut < r.recordsIn, `${name} was compacted: ${JSON.stringify(r)}`);
    }
    assert.deepEqual(await state(broker), before, 'compaction changes nothing the running broker shows');
    await broker.stop();
    broker = await withBroker(options);
    assert.deepEqual(await state(broker), before, 'the restarted broker replays the same state from the compacted logs');
  } finally {
    await broker.stop();
    dir.remove();
  }
});
