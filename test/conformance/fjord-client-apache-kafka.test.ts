// Fjord's own client against Apache Kafka (KRaft single node from scripts/kafka-dist.mjs; needs
// Java and openssl): data, groups, transactions over PLAINTEXT; every SASL mechanism over SASL_SSL.
// Slow, so not part of npm test:
//   node --import tsx --test test/conformance/fjord-client-apache-kafka.test.ts
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error plain JavaScript module without types
import { startKafka } from '../../scripts/kafka-dist.mjs';
import { CompressionTypes, Kafka, logLevel, partitionForKey, type KafkaMessage, type SaslOptions } from '../../src/client/index.js';
import { eventually, tempDir, uniqueTopic } from '../helpers.js';
import { makeCa } from '../tls-certs.js';
import { commitAndAbort, offsetsAgainstPlainCommits, zombieFencing } from '../client/transaction-scenarios.js';

// The broker has a PLAINTEXT listener and a SASL_SSL one (certificates made here) offering PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512 (users added at format time, as `kafka-storage format --add-scram`)
// and OAUTHBEARER in Kafka's unsecured-JWT mode.
const PASSWORDS = { plain: 'plain-secret', 'scram-sha-256': 'scram256-secret', 'scram-sha-512': 'scram512-secret' } as const;
const jaas = (module: string, options = '') => `org.apache.kafka.common.security.${module} required${options};`;

let kafka: { bootstrap: string; listeners: Record<string, string>; stop(): Promise<void> };
let client: Kafka;
let certs: { path: string; remove(): void } | undefined;
let caPem = '';
before(async () => {
  certs = tempDir('fjord-kafka-certs-');
  const ca = makeCa(certs.path);
  caPem = ca.ca;
  const server = ca.issue('kafka', '/CN=127.0.0.1', 'IP:127.0.0.1,DNS:localhost');
  kafka = await startKafka({
    heap: '512M', quiet: true,
    listeners: [{ name: 'SASL_SSL', protocol: 'SASL_SSL' }],
    addScram: [
      { mechanism: 'SCRAM-SHA-256', name: 'alice', password: PASSWORDS['scram-sha-256'] },
      { mechanism: 'SCRAM-SHA-512', name: 'alice', password: PASSWORDS['scram-sha-512'] },
    ],
    props: {
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
      'listener.name.sasl_ssl.ssl.keystore.location': server.bundleFile,
      'listener.name.sasl_ssl.plain.sasl.jaas.config': jaas('plain.PlainLoginModule', ` user_alice="${PASSWORDS.plain}"`),
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': jaas('scram.ScramLoginModule'),
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': jaas('scram.ScramLoginModule'),
      'listener.name.sasl_ssl.oauthbearer.sasl.jaas.config': jaas('oauthbearer.OAuthBearerLoginModule', ' unsecuredLoginStringClaim_sub="broker"'),
    },
  });
  client = new Kafka({ brokers: [kafka.bootstrap], logLevel: logLevel.WARN, retry: { initialRetryTime: 100, retries: 10 } });
}, { timeout: 180000 });
after(async () => {
  await kafka?.stop();
  certs?.remove();
});

test('admin: create, describe, offsets, configs, cluster', async () => {
  const admin = client.admin();
  await admin.connect();
  const topic = uniqueTopic('k-admin');
  assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }), true);
  assert.equal(await admin.createTopics({ topics: [{ topic }] }), false);
  assert.ok((await admin.listTopics()).includes(topic));
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.equal(meta.topics[0].partitions.length, 3);
  assert.equal((await admin.fetchTopicOffsets(topic)).length, 3);
  const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: topic }] });
  assert.equal(cfg.resources[0].configEntries.find((e) => e.configName === 'retention.ms')?.configValue, '3600000');
  await admin.alterConfigs({ resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
  const cfg2 = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }] });
  assert.equal(cfg2.resources[0].configEntries[0].configValue, '7200000');
  await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
  const cluster = await admin.describeCluster();
  assert.equal(cluster.brokers.length, 1);
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
});

test('idempotent produce with every codec, keyed partitioning, group consume, commits', async () => {
  const admin = client.admin();
  await admin.connect();
  const topic = uniqueTopic('k-data');
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  const producer = client.producer({ idempotent: true });
  await producer.connect();
  const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD];
  for (const compression of codecs) {
    await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({
      topic, compression, messages: Array.from({ length: 20 }, (_, j) => ({ key: `key-${j % 7}`, value: `c${compression}-${i}-${j}`, headers: { h: 'v' } })),
    })));
  }
  await producer.disconnect();
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), codecs.length * 200);

  const groupId = uniqueTopic('k-group');
  const consumer = client.consumer({ groupId });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: { partition: number; message: KafkaMessage }[] = [];
  await consumer.run({ eachMessage: async ({ partition, message }) => { got.push({ partition, message }); } });
  await eventually(() => got.length >= codecs.length * 200, 60000, 'all messages');
  await consumer.disconnect();
  for (const g of got) {
    assert.equal(g.partition, partitionForKey(g.message.key!.toString(), 3));
    assert.equal(g.message.headers.h!.toString(), 'v');
  }
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.equal(committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0), codecs.length * 200);
  const groups = await admin.describeGroups([groupId]);
  assert.equal(groups.groups[0].state, 'Empty');
  await admin.deleteGroups([groupId]);
  await admin.disconnect();
});

test('two group members share partitions and hand over on leave', async () => {
  const admin = client.admin();
  await admin.connect();
  const topic = uniqueTopic('k-share');
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const groupId = uniqueTopic('k-share-group');
  const seen = new Map<string, number>();
  const make = async (name: string) => {
    const c = client.consumer({ groupId, heartbeatInterval: 500, sessionTimeout: 10000 });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => { seen.set(message.value!.toString(), (seen.get(message.value!.toString()) ?? 0) + 1); void name; } });
    return c;
  };
  const a = await make('a');
  const b = await make('b');
  await eventually(() => a.assignment().length + b.assignment().length === 4 && a.assignment().length > 0 && b.assignment().length > 0, 30000, 'both members assigned');
  const producer = client.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await eventually(() => seen.size === 100, 30000, '100 messages');
  await b.disconnect();
  await eventually(() => a.assignment().length === 4, 30000, 'a owns everything');
  await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `w${i}` })) });
  await eventually(() => seen.size === 200, 30000, '200 messages');
  await a.disconnect();
  await producer.disconnect();
  await admin.disconnect();
});

test('KIP-848 consumer protocol: share, hand over, commits by member epoch', async () => {
  const admin = client.admin();
  await admin.connect();
  const topic = uniqueTopic('k-848');
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const groupId = uniqueTopic('k-848-group');
  const counts = new Map<string, number>();
  const make = async () => {
    const c = client.consumer({ groupId, groupProtocol: 'consumer' });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => { counts.set(message.value!.toString(), (counts.get(message.value!.toString()) ?? 0) + 1); } });
    return c;
  };
  const a = await make();
  const b = await make();
  await eventually(() => a.assignment().length === 2 && b.assignment().length === 2, 60000, '2/2');
  const producer = client.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  await eventually(() => counts.size === 100, 30000, '100 messages');
  await b.disconnect();
  await eventually(() => a.assignment().length === 4, 60000, 'a owns everything');
  await producer.send({ topic, messages: Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: `w${i}` })) });
  await eventually(() => counts.size === 200, 30000, '200 messages');
  await a.disconnect();
  await producer.disconnect();
  assert.deepEqual([...counts.values()].filter((n) => n !== 1), []);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  assert.equal(committed.partitions.reduce((n, p) => n + Number(p.offset), 0), 200);
  await admin.disconnect();
});

test('transactions: commit, abort, offsets in the transaction, empty transaction', async () => {
  await commitAndAbort(client);
});

test('transactions: a second producer with the same transactional id fences the first', async () => {
  await zombieFencing(client);
});

test('transactions: offsets against plain commits, and a group deleted during the transaction', async () => {
  await offsetsAgainstPlainCommits(client);
});

/** An unsecured JWT (alg none, empty signature), what Kafka's OAuthBearerUnsecuredValidatorCallbackHandler accepts. */
function unsecuredJwt(sub: string, expiresInS: number): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub, iat: now - 10, exp: now + expiresInS, scope: 'kafka' })}.`;
}

const mechanisms: { name: string; sasl: SaslOptions; wrong: SaslOptions }[] = [
  ...(['plain', 'scram-sha-256', 'scram-sha-512'] as const).map((mechanism) => ({
    name: mechanism,
    sasl: { mechanism, username: 'alice', password: PASSWORDS[mechanism] } as SaslOptions,
    wrong: { mechanism, username: 'alice', password: `${PASSWORDS[mechanism]}-wrong` } as SaslOptions,
  })),
  {
    name: 'oauthbearer (unsecured JWT)',
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: unsecuredJwt('alice', 3600) }) },
    wrong: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: unsecuredJwt('alice', -3600) }) }, // expired
  },
];

for (const m of mechanisms) {
  test(`SASL_SSL ${m.name}: admin, produce, group consume; a wrong credential is refused`, async () => {
    const secure = new Kafka({
      brokers: [kafka.listeners.SASL_SSL], clientId: `sasl-${m.name}`, logLevel: logLevel.NOTHING,
      ssl: { ca: [caPem] }, sasl: m.sasl, retry: { initialRetryTime: 100, retries: 10 }, // the first group waits for __consumer_offsets
    });
    const admin = secure.admin();
    await admin.connect();
    const topic = uniqueTopic('k-sasl');
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), true);
    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers.map((b) => `${b.host}:${b.port}`), [kafka.listeners.SASL_SSL]);
    const producer = secure.producer({ idempotent: true });
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    const consumer = secure.consumer({ groupId: uniqueTopic('k-sasl-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => { values.add(message.value!.toString()); } });
    await eventually(() => values.size === 20, 30000, '20 messages over SASL_SSL');
    await consumer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();

    const wrong = new Kafka({
      brokers: [kafka.listeners.SASL_SSL], logLevel: logLevel.NOTHING, ssl: { ca: [caPem] }, sasl: m.wrong, retry: { retries: 0 },
    });
    const badAdmin = wrong.admin();
    await assert.rejects(badAdmin.connect().then(() => badAdmin.listTopics()), (err: Error) => {
      assert.equal(err.name, 'KafkaJSSASLAuthenticationError', `${err.name}: ${err.message}`);
      assert.match(err.message, /authentication failed/i);
      return true;
    });
    await badAdmin.disconnect();
  });
}
