// Client quotas over real TCP: DescribeClientQuotas / AlterClientQuotas (filters, errors,
// validateOnly, durability across a restart), Kafka's precedence of quota entities, and
// enforcement: a producer over producer_byte_rate and a consumer over consumer_byte_rate get
// throttle_time_ms and the broker stops reading their connection for that long; quotas by SASL
// user, by client id and by default. Throttles are asserted as the broker reports them (and as
// lower bounds on waits), never as speeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { QuotaStore } from '../../src/broker/quotas/store.js';
import { createLogger } from '../../src/broker/logger.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';
import { RawConnection, type Message } from '../raw-client.js';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';

const DESCRIBE = 48;
const ALTER = 49;
const SASL_AUTHENTICATE = 36;
const KiB = 1024;

let correlation = 100;
/** One request with this client id; the response body and how long it took. */
async function call(c: RawConnection, apiKey: number, version: number, body: Message, clientId = 'raw'): Promise<{ body: Message; ms: number }> {
  const id = correlation++;
  const started = Date.now();
  c.write(RawConnection.frame(apiKey, version, id, body, clientId));
  const res = await c.response(apiKey, version);
  assert.equal(res.correlationId, id);
  return { body: res.body, ms: Date.now() - started };
}

type Entity = { entityType: string; entityName: string | null }[];
const op = (key: string, value: number, remove = false) => ({ key, value, remove });

async function alter(c: RawConnection, entries: { entity: Entity; ops: ReturnType<typeof op>[] }[], validateOnly = false, version = 1): Promise<{ errorCode: number; errorMessage: string | null }[]> {
  return (await call(c, ALTER, version, { entries, validateOnly })).body.entries;
}

async function describe(c: RawConnection, components: { entityType: string; matchType: number; match: string | null }[], strict = false, version = 1): Promise<Message> {
  return (await call(c, DESCRIBE, version, { components, strict })).body;
}

/** Entries as sorted "type=name|type=name: key=value,..." lines. */
const lines = (entries: Message[]) => entries.map((e) =>
  `${e.entity.map((x: Message) => `${x.entityType}=${x.entityName ?? '<default>'}`).join('|')}: ${e.values.map((v: Message) => `${v.key}=${v.value}`).sort().join(',')}`).sort();

function produceBody(topic: string, bytes: number): Message {
  const records = encodeBatch({ records: [{ value: Buffer.alloc(bytes, 7) }] });
  return { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] };
}

const fetchBody = (topic: string, fetchOffset: number) => ({
  replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 50 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 10 << 20 }] }],
  forgottenTopicsData: [], rackId: '',
});

test('AlterClientQuotas / DescribeClientQuotas: entities, defaults, filters, strict, removal, validateOnly (v0 and v1)', async () => {
  const broker = await withBroker();
  const c = await RawConnection.connect(broker.port);
  try {
    const results = await alter(c, [
      { entity: [{ entityType: 'user', entityName: 'alice' }], ops: [op('producer_byte_rate', 1024), op('request_percentage', 12.5)] },
      { entity: [{ entityType: 'user', entityName: null }], ops: [op('consumer_byte_rate', 2048)] },
      { entity: [{ entityType: 'user', entityName: 'alice' }, { entityType: 'client-id', entityName: 'app' }], ops: [op('producer_byte_rate', 10)] },
      { entity: [{ entityType: 'client-id', entityName: null }], ops: [op('producer_byte_rate', 99)] },
    ]);
    assert.deepEqual(results.map((r) => r.errorCode), [0, 0, 0, 0]);
    const all = await describe(c, []);
    assert.equal(all.errorCode, ErrorCode.NONE);
    assert.deepEqual(lines(all.entries), [
      'client-id=<default>: producer_byte_rate=99',
      'user=<default>: consumer_byte_rate=2048',
      'user=alice: producer_byte_rate=1024,request_percentage=12.5',
      'user=alice|client-id=app: producer_byte_rate=10',
    ]);
    // exact user: both entities with user=alice; strict: only the user-only one.
    assert.deepEqual(lines((await describe(c, [{ entityType: 'user', matchType: 0, match: 'alice' }])).entries), ['user=alice: producer_byte_rate=1024,request_percentage=12.5', 'user=alice|client-id=app: producer_byte_rate=10']);
    assert.deepEqual(lines((await describe(c, [{ entityType: 'user', matchType: 0, match: 'alice' }], true)).entries), ['user=alice: producer_byte_rate=1024,request_percentage=12.5']);
    // default user; any specified client id; v0 encodes the same.
    assert.deepEqual(lines((await describe(c, [{ entityType: 'user', matchType: 1, match: null }], false, 0)).entries), ['user=<default>: consumer_byte_rate=2048']);
    assert.deepEqual(lines((await describe(c, [{ entityType: 'client-id', matchType: 2, match: null }])).entries), ['client-id=<default>: producer_byte_rate=99', 'user=alice|client-id=app: producer_byte_rate=10']);
    // validateOnly changes nothing; removal of the last key drops the entity.
    assert.deepEqual((await alter(c, [{ entity: [{ entityType: 'client-id', entityName: null }], ops: [op('producer_byte_rate', 0, true)] }], true, 0)).map((r) => r.errorCode), [0]);
    assert.equal((await describe(c, [{ entityType: 'client-id', matchType: 1, match: null }])).entries.length, 1);
    assert.deepEqual((await alter(c, [{ entity: [{ entityType: 'client-id', entityName: null }], ops: [op('producer_byte_rate', 0, true)] }])).map((r) => r.errorCode), [0]);
    assert.equal((await describe(c, [{ entityType: 'client-id', matchType: 1, match: null }])).entries.length, 0);
  } finally {
    c.close();
    await broker.stop();
  }
});

test('AlterClientQuotas refuses unknown keys, bad values and bad entities with Kafka\'s codes and applies the good entries; DescribeClientQuotas refuses bad filters', async () => {
  const broker = await withBroker();
  const c = await RawConnection.connect(broker.port);
  try {
    const alice = [{ entityType: 'user', entityName: 'alice' }];
    const results = await alter(c, [
      { entity: alice, ops: [op('producer_byte_rate', 1000), op('leader.replication.throttled.rate', 5)] },
      { entity: alice, ops: [op('producer_byte_rate', 10.5)] },
      { entity: alice, ops: [op('consumer_byte_rate', -1)] },
      { entity: alice, ops: [op('request_percentage', 0)] },
      { entity: [], ops: [op('producer_byte_rate', 1)] },
      { entity: [{ entityType: 'group', entityName: 'g' }], ops: [op('producer_byte_rate', 1)] },
      { entity: [{ entityType: 'ip', entityName: '1.2.3.4' }], ops: [op('connection_creation_rate', 1)] },
      { entity: [...alice, { entityType: 'user', entityName: 'bob' }], ops: [op('producer_byte_rate', 1)] },
      { entity: [{ entityType: 'user', entityName: '' }], ops: [op('producer_byte_rate', 1)] },
      { entity: [{ entityType: 'client-id', entityName: 'ok' }], ops: [op('consumer_byte_rate', 4096)] },
    ]);
    assert.deepEqual(results.map((r) => r.errorCode), [
      ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST,
      ErrorCode.UNSUPPORTED_VERSION, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.NONE,
    ]);
    assert.match(results[0].errorMessage ?? '', /leader\.replication\.throttled\.rate/);
    // Nothing of a refused entry was applied (not even its valid producer_byte_rate).
    assert.deepEqual(lines((await describe(c, [])).entries), ['client-id=ok: consumer_byte_rate=4096']);

    const bad = async (components: Message[]) => { const r = await describe(c, components as never); assert.equal(r.entries, null); return r.errorCode; };
    assert.equal(await bad([{ entityType: 'user', matchType: 0, match: null }]), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad([{ entityType: 'user', matchType: 1, match: 'x' }]), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad([{ entityType: 'user', matchType: 2, match: null }, { entityType: 'user', matchType: 1, match: null }]), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad([{ entityType: '', matchType: 2, match: null }]), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad([{ entityType: 'user', matchType: 7, match: null }]), ErrorCode.UNSUPPORTED_VERSION);
    assert.equal(await bad([{ entityType: 'topic', matchType: 2, match: null }]), ErrorCode.UNSUPPORTED_VERSION);
  } finally {
    c.close();
    await broker.stop();
  }
});

test('precedence: user+client, user+default client, user, default user+client, default user+default client, default user, client, default client', async () => {
  const storage = new MemoryStorage();
  await storage.open();
  const store = new QuotaStore(storage, createLogger('silent'));
  await store.start();
  const set = (entity: Record<string, string | null>, value: number) => store.alter(entity, [{ key: 'producer_byte_rate', value }]);
  const order: Record<string, string | null>[] = [
    { user: 'u', 'client-id': 'c' }, { user: 'u', 'client-id': null }, { user: 'u' },
    { user: null, 'client-id': 'c' }, { user: null, 'client-id': null }, { user: null },
    { 'client-id': 'c' }, { 'client-id': null },
  ];
  for (let i = order.length - 1; i >= 0; i--) {
    await set(order[i], i + 1);
    assert.equal(store.resolve('producer_byte_rate', 'u', 'c')?.value, i + 1, `after setting ${JSON.stringify(order[i])}`);
  }
  assert.equal(store.resolve('consumer_byte_rate', 'u', 'c'), undefined);
  assert.equal(store.resolve('producer_byte_rate', 'other', 'x')?.value, 5); // default user + default client
  await storage.close();
});

test('producer over producer_byte_rate (client id): throttle_time_ms consistent with the bytes sent, and the broker delays reading the next request', async () => {
  const broker = await withBroker({ quotaWindowNum: 2, quotaWindowSizeSeconds: 1 });
  const admin = await RawConnection.connect(broker.port);
  const c = await RawConnection.connect(broker.port);
  try {
    const topic = uniqueTopic('quota-produce');
    await broker.broker.topics.create(topic, 1);
    const rate = 100 * KiB;
    assert.equal((await alter(admin, [{ entity: [{ entityType: 'client-id', entityName: 'slow-producer' }], ops: [op('producer_byte_rate', rate)] }]))[0].errorCode, 0);
    // Another client id is not throttled.
    for (let i = 0; i < 4; i++) {
      const r = await call(c, ApiKey.Produce, 7, produceBody(topic, 64 * KiB), 'free-producer');
      assert.equal(r.body.throttleTimeMs, 0);
    }
    let throttled = 0;
    let previousThrottle = 0;
    let sent = 0;
    for (let i = 0; i < 16; i++) {
      const body = produceBody(topic, 64 * KiB);
      const r = await call(c, ApiKey.Produce, 7, body, 'slow-producer');
      sent += 64 * KiB;
      assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      // The broker read this request only after the previous throttle ended.
      assert.ok(r.ms >= previousThrottle - 60, `request ${i} answered after ${r.ms} ms, previous throttle ${previousThrottle} ms`);
      assert.ok(r.body.throttleTimeMs <= 2000, 'a throttle is at most one full window');
      throttled += r.body.throttleTimeMs;
      previousThrottle = r.body.throttleTimeMs;
    }
    // 1 MiB at 100 KiB/s is 10.24 s; up to one window (2 s) of it may go unthrottled.
    const implied = (sent / rate) * 1000;
    assert.ok(throttled >= implied - 2000 - 500, `throttled ${throttled} ms in total, the quota implies ${implied} ms`);
    assert.ok(throttled <= implied + 2000, `throttled ${throttled} ms in total, the quota implies ${implied} ms`);
  } finally {
    c.close();
    admin.close();
    await broker.stop();
  }
});

test('consumer over consumer_byte_rate (default client id): fetches capped to the quota\'s window, throttled fetches answered without data, every record delivered', async () => {
  const broker = await withBroker({ quotaWindowNum: 2, quotaWindowSizeSeconds: 1 });
  const c = await RawConnection.connect(broker.port);
  try {
    const topic = uniqueTopic('quota-fetch');
    await broker.broker.topics.create(topic, 1);
    const total = 400 * KiB;
    for (let i = 0; i < total / (20 * KiB); i++) await call(c, ApiKey.Produce, 7, produceBody(topic, 20 * KiB - 100));
    const rate = 100 * KiB;
    assert.equal((await alter(c, [{ entity: [{ entityType: 'client-id', entityName: null }], ops: [op('consumer_byte_rate', rate)] }]))[0].errorCode, 0);
    let offset = 0;
    let received = 0;
    let throttled = 0;
    let emptyThrottled = 0;
    let previousThrottle = 0;
    for (let i = 0; i < 100 && offset < 20; i++) {
      const r = await call(c, ApiKey.Fetch, 11, fetchBody(topic, offset), 'slow-consumer');
      // The mute starts when the broker sends the throttled answer; a loaded client reads that answer
      // late and so sees less of the mute: 60 ms of slack keeps the check about muting, not load.
      assert.ok(r.ms >= previousThrottle - 60, `fetch answered after ${r.ms} ms, previous throttle ${previousThrottle} ms`);
      previousThrottle = r.body.throttleTimeMs;
      throttled += r.body.throttleTimeMs;
      if (r.body.throttleTimeMs > 0) {
        assert.equal(r.body.responses.length, 0, 'a throttled fetch carries no data');
        emptyThrottled++;
        continue;
      }
      const records: Buffer = r.body.responses[0].partitions[0].records ?? Buffer.alloc(0);
      assert.ok(records.length <= 2 * rate, `a fetch of ${records.length} bytes is within the quota's window`);
      received += records.length;
      // Count the batches (each holds one record).
      let pos = 0;
      while (pos + 12 <= records.length) {
        const size = records.readInt32BE(pos + 8);
        if (pos + 12 + size > records.length) break;
        offset++;
        pos += 12 + size;
      }
    }
    assert.equal(offset, 20, 'every record was delivered');
    assert.ok(emptyThrottled > 0);
    assert.ok(throttled >= (received / rate) * 1000 - 2000 - 500, `throttled ${throttled} ms for ${received} bytes`);
  } finally {
    c.close();
    await broker.stop();
  }
});

test('a quota on a SASL user applies to that user\'s connections only; the default user quota to the others; user quotas win over client-id quotas', async () => {
  const broker = await withBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: ['PLAIN'],
    addScram: parseAddScram('SCRAM-SHA-256=[name=alice,password=alice-secret];SCRAM-SHA-256=[name=bob,password=bob-secret];SCRAM-SHA-256=[name=carol,password=carol-secret]', '--add-scram'),
    connectionFailedAuthenticationDelayMs: 0,
    quotaWindowNum: 2,
    quotaWindowSizeSeconds: 1,
  });
  const login = async (user: string) => {
    const c = await RawConnection.connect(broker.port);
    assert.equal((await call(c, ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).body.errorCode, 0);
    assert.equal((await call(c, SASL_AUTHENTICATE, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${user}-secret`) })).body.errorCode, 0);
    return c;
  };
  const [alice, bob, carol] = [await login('alice'), await login('bob'), await login('carol')];
  try {
    const topic = uniqueTopic('quota-user');
    await broker.broker.topics.create(topic, 1);
    const results = await alter(alice, [
      { entity: [{ entityType: 'user', entityName: 'alice' }], ops: [op('producer_byte_rate', 4096)] },
      { entity: [{ entityType: 'user', entityName: 'bob' }], ops: [op('producer_byte_rate', 1e9)] },
      { entity: [{ entityType: 'client-id', entityName: 'shared-app' }], ops: [op('producer_byte_rate', 1e9)] },
      { entity: [{ entityType: 'user', entityName: null }], ops: [op('producer_byte_rate', 2048)] },
    ]);
    assert.deepEqual(results.map((r) => r.errorCode), [0, 0, 0, 0]);
    const throttleOf = async (c: RawConnection) => {
      let sum = 0;
      for (let i = 0; i < 3; i++) sum += (await call(c, ApiKey.Produce, 7, produceBody(topic, 2 * KiB), 'shared-app')).body.throttleTimeMs;
      return sum;
    };
    assert.ok((await throttleOf(alice)) > 0, 'alice is over her own quota (the user quota wins over the client id\'s)');
    assert.equal(await throttleOf(bob), 0, 'bob has a large quota of his own');
    assert.ok((await throttleOf(carol)) > 0, 'carol falls under the default user quota');
  } finally {
    for (const c of [alice, bob, carol]) c.close();
    await broker.stop();
  }
});

test('quotas survive a restart of the broker on the same data dir, and are enforced after it', async () => {
  const dir = tempDir('fjord-quotas-');
  try {
    let broker = await withBroker({ dataDir: dir.path });
    let c = await RawConnection.connect(broker.port);
    await alter(c, [
      { entity: [{ entityType: 'client-id', entityName: 'tiny' }], ops: [op('producer_byte_rate', 1000), op('request_percentage', 50)] },
      { entity: [{ entityType: 'user', entityName: null }, { entityType: 'client-id', entityName: 'x' }], ops: [op('consumer_byte_rate', 5000)] },
    ]);
    await alter(c, [{ entity: [{ entityType: 'client-id', entityName: 'tiny' }], ops: [op('request_percentage', 0, true)] }]);
    c.close();
    await broker.stop();
    broker = await withBroker({ dataDir: dir.path });
    c = await RawConnection.connect(broker.port);
    try {
      assert.deepEqual(lines((await describe(c, [])).entries), ['client-id=tiny: producer_byte_rate=1000', 'user=<default>|client-id=x: consumer_byte_rate=5000']);
      const topic = uniqueTopic('quota-restart');
      await broker.broker.topics.create(topic, 1);
      let throttle = 0;
      for (let i = 0; i < 3; i++) throttle += (await call(c, ApiKey.Produce, 7, produceBody(topic, 4 * KiB), 'tiny')).body.throttleTimeMs;
      assert.ok(throttle > 0);
    } finally {
      c.close();
      await broker.stop();
    }
  } finally {
    dir.remove();
  }
});

test('request_percentage: handler time over the quota throttles (Metadata carries throttle_time_ms); ApiVersions is exempt', async () => {
  const broker = await withBroker({ quotaWindowNum: 2, quotaWindowSizeSeconds: 1 });
  const c = await RawConnection.connect(broker.port);
  try {
    assert.equal((await alter(c, [{ entity: [{ entityType: 'client-id', entityName: 'busy' }], ops: [op('request_percentage', 0.0001)] }]))[0].errorCode, 0);
    for (let i = 0; i < 3; i++) assert.equal((await call(c, ApiKey.ApiVersions, 3, { clientSoftwareName: 'q', clientSoftwareVersion: '1' }, 'busy')).body.throttleTimeMs, 0);
    const r = await call(c, ApiKey.Metadata, 9, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }, 'busy');
    assert.ok(r.body.throttleTimeMs > 0, 'a request costs more than 0.0001% of a thread');
    const next = await call(c, ApiKey.Metadata, 9, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }, 'other');
    assert.ok(next.ms >= r.body.throttleTimeMs - 20, 'the connection was not read while throttled');
    assert.equal(next.body.throttleTimeMs, 0, 'another client id has no quota');
  } finally {
    c.close();
    await broker.stop();
  }
});
