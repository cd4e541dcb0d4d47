// Fjord's own share consumer (`kafka.shareConsumer()`, src/client/share-consumer.ts) against Apache
// Kafka 4.1 (KRaft, one node, share groups switched on with `kafka-features upgrade --feature
// share.version=1`) and against a Fjord broker started here: one scenario, the same assertions
// for both.
//   - share.auto.offset.reset=earliest for the group, set with Fjord's admin (AlterConfigs on a
//     GROUP resource, type 32) before anyone joins, read back with describeConfigs;
//   - two share consumers in the group split 40 records of a 2-partition topic produced before
//     they joined: every record accepted exactly once, none delivered to one member after the
//     other accepted it;
//   - a record whose handler threw is released and comes back with delivery count 2;
//   - a REJECTed record never comes back;
//   - both close; a third member joins and, with poll()/acknowledge()/commit() by hand, gets
//     only the 10 records produced after: nothing acknowledged before is delivered again;
//   - it takes 3 more records and closes without acknowledging them: a fourth member gets those 3
//     and nothing else, with delivery count 1 again (closing the session takes the delivery back).
// Needs Java; slow, so not part of npm test:
//   node --import tsx --test test/conformance/share-client-kafka.test.ts   (or npm run test:kafka-tools)
// To see why: SHARE_KAFKA_LOG=<file> appends Kafka's server log there, SHARE_CLIENT_LOG=1 turns the
// client's log on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync, startKafka } from '../../scripts/kafka-dist.mjs';
import { Kafka, logLevel } from '../../src/index.js';
import type { ShareAcknowledgeType, ShareConsumer } from '../../src/client/share-consumer.js';
import { uniqueTopic, withBroker } from '../helpers.js';

/** Config resource type GROUP (KIP-848/932 group configs). */
const GROUP_RESOURCE = 32;
type Run = { code: number; stdout: string; stderr: string };

let dist: unknown;
let kafka: { bootstrap: string; stop(): Promise<void> };
let fjord: Awaited<ReturnType<typeof withBroker>>;

before(async () => {
  dist = await ensureKafka({ quiet: true });
  kafka = await startKafka({ dist, heap: '512M', quiet: true, log: process.env.SHARE_KAFKA_LOG ? (l: string) => appendFileSync(process.env.SHARE_KAFKA_LOG!, l + '\n') : undefined });
  fjord = await withBroker();
  const feature = (await runKafkaClassSync('org.apache.kafka.tools.FeatureCommand', ['--bootstrap-server', kafka.bootstrap, 'upgrade', '--feature', 'share.version=1'], { dist, heap: '256M' })) as Run;
  assert.equal(feature.code, 0, `${feature.stdout}\n${feature.stderr}`);
});

after(async () => {
  await fjord?.stop();
  await kafka?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 60000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The scenario against one broker; every assertion is the same for both. */
async function scenario(bootstrap: string): Promise<void> {
  const client = new Kafka({ clientId: 'share-client-kafka', brokers: [bootstrap], logLevel: process.env.SHARE_CLIENT_LOG ? logLevel.INFO : logLevel.NOTHING });
  const topic = uniqueTopic('share-client');
  const group = `share-client-${topic}`;
  const admin = client.admin();
  const producer = client.producer();
  const consumers: ShareConsumer[] = [];
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await admin.alterConfigs({ resources: [{ type: GROUP_RESOURCE, name: group, configEntries: [{ name: 'share.auto.offset.reset', value: 'earliest' }] }] });
    // Kafka applies it through its controller: a describe right after can still show the default
    // for a moment (Fjord's is at once). Wait until the broker has it, before anyone joins.
    const reset = async () => (await admin.describeConfigs({ resources: [{ type: GROUP_RESOURCE, name: group, configNames: ['share.auto.offset.reset'] }] }))
      .resources[0].configEntries.map((e) => [e.configName, e.configValue]);
    let seen = await reset();
    for (const deadline = Date.now() + 30000; seen[0]?.[1] !== 'earliest' && Date.now() < deadline; seen = await reset()) await sleep(100);
    assert.deepEqual(seen, [['share.auto.offset.reset', 'earliest']]);

    await producer.connect();
    for (let i = 0; i < 40; i++) await producer.send({ topic, messages: [{ partition: i % 2, value: `job-${i}` }] });

    const a = client.shareConsumer({ groupId: group, maxWaitTimeInMs: 200 });
    const b = client.shareConsumer({ groupId: group, maxWaitTimeInMs: 200 });
    consumers.push(a, b);
    const accepted = new Map<string, string[]>();
    const deliveries: Record<string, number[]> = {};
    let threw = false;
    const handler = (who: string) => async ({ message, deliveryCount, acknowledge }: { message: { value: Buffer | null }; deliveryCount: number; acknowledge(t: ShareAcknowledgeType): void }) => {
      const v = message.value!.toString();
      (deliveries[v] ??= []).push(deliveryCount);
      if (v === 'job-5' && !threw) {
        threw = true;
        throw new Error(`${who} fails once`);
      }
      if (v === 'job-9') {
        acknowledge('REJECT');
        return;
      }
      accepted.set(v, [...(accepted.get(v) ?? []), who]);
    };
    await a.connect();
    await b.connect();
    await a.subscribe({ topics: [topic] });
    await b.subscribe({ topics: [topic] });
    let failed: Error | null = null;
    const runs = [a.run({ eachMessage: handler('a') }), b.run({ eachMessage: handler('b') })].map((r) => r.catch((err: Error) => { failed = err; }));
    try {
      await until('39 records accepted', () => accepted.size >= 39 || failed !== null);
      if (failed) throw failed;
    } finally {
      a.stop();
      b.stop();
      await Promise.all(runs);
    }
    assert.equal(accepted.size, 39);
    assert.deepEqual([...accepted].filter(([, who]) => who.length !== 1), [], 'no record accepted twice');
    assert.deepEqual(deliveries['job-5'], [1, 2], 'the released record came back with delivery count 2');
    assert.deepEqual(deliveries['job-9'], [1], 'the rejected record came once');
    assert.ok(!accepted.has('job-9'));
    assert.deepEqual(Object.entries(deliveries).filter(([v, d]) => v !== 'job-5' && d.length !== 1), [], 'nothing else delivered twice');
    await a.disconnect();
    await b.disconnect();

    // A new member after both closed: only what is produced now, nothing acknowledged before.
    const c = client.shareConsumer({ groupId: group, maxWaitTimeInMs: 200 });
    consumers.push(c);
    await c.connect();
    await c.subscribe({ topics: [topic] });
    for (let i = 40; i < 50; i++) await producer.send({ topic, messages: [{ partition: i % 2, value: `job-${i}` }] });
    const got: string[] = [];
    const deadline = Date.now() + 60000;
    while (got.length < 10 && Date.now() < deadline) {
      for (const m of await c.poll()) {
        got.push(m.message.value!.toString());
        c.acknowledge(m, 'ACCEPT');
      }
    }
    // A few more polls (the ShareFetches carry the acknowledgements): nothing more comes.
    for (let i = 0; i < 3; i++) for (const m of await c.poll()) got.push(m.message.value!.toString());
    await c.commit();
    assert.deepEqual(got.sort(), Array.from({ length: 10 }, (_, i) => `job-${40 + i}`).sort());
    assert.ok(!got.includes('job-9'), 'the rejected record never came back');

    // A member that closes holding records it did not acknowledge: closing its share session
    // releases them and takes back the delivery counted (Kafka 4.1; Fjord as well), so the next
    // member gets them with delivery count 1 again, and nothing else.
    for (let i = 50; i < 53; i++) await producer.send({ topic, messages: [{ partition: i % 2, value: `job-${i}` }] });
    const held: string[] = [];
    for (const deadline2 = Date.now() + 60000; held.length < 3 && Date.now() < deadline2;) {
      for (const m of await c.poll()) held.push(`${m.message.value!.toString()}:${m.deliveryCount}`);
    }
    assert.deepEqual(held.sort(), ['job-50:1', 'job-51:1', 'job-52:1']);
    await c.disconnect();
    const d = client.shareConsumer({ groupId: group, maxWaitTimeInMs: 200 });
    consumers.push(d);
    await d.connect();
    await d.subscribe({ topics: [topic] });
    const again: string[] = [];
    for (const deadline3 = Date.now() + 60000; again.length < 3 && Date.now() < deadline3;) {
      for (const m of await d.poll()) {
        again.push(`${m.message.value!.toString()}:${m.deliveryCount}`);
        d.acknowledge(m);
      }
    }
    for (let i = 0; i < 3; i++) for (const m of await d.poll()) again.push(`${m.message.value!.toString()}:${m.deliveryCount}`);
    await d.commit();
    assert.deepEqual(again.sort(), ['job-50:1', 'job-51:1', 'job-52:1']);
  } finally {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer.disconnect();
    await admin.disconnect();
  }
}

test('Fjord\'s share consumer against Apache Kafka 4.1', { timeout: 300000 }, async () => {
  await scenario(kafka.bootstrap);
});

test('Fjord\'s share consumer against Fjord: the same scenario', { timeout: 300000 }, async () => {
  await scenario(fjord.address);
});
