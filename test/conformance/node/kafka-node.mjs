// kafka-node 5.0.0 (MessageSet v0/v1 on Produce/Fetch ≤ v2): createTopics; Producer with explicit
// partitions, keys, KeyedMessage and attributes 1 = gzip / 2 = snappy; HighLevelProducer; Consumer on
// chosen partitions with autoCommit off, commit, pause/resume, setOffset; the offsetOutOfRange +
// Offset.fetch recovery; ConsumerGroup of three members with the roundrobin protocol, one closing.
import { load, main, bootstrap, topic, makeRecords, Expect, until, fail } from './common.mjs';

const kafka = load('kafka-node');
const cb = (fn) => new Promise((resolve, reject) => fn((err, res) => (err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(res))));

function client() {
  return new kafka.KafkaClient({ kafkaHost: bootstrap, requestTimeout: 15000, connectTimeout: 5000 });
}

async function createTopic(c, partitions) {
  const res = await cb((done) => c.createTopics([{ topic, partitions, replicationFactor: 1 }], done));
  if (res.length && res[0].error) fail(`createTopics: ${res[0].error}`);
  await cb((done) => c.refreshMetadata([topic], done));
}

async function producer(c, Kind = kafka.Producer, options = { requireAcks: -1 }) {
  const p = new Kind(c, options);
  if (!p.ready) await new Promise((resolve, reject) => { p.once('ready', resolve); p.once('error', reject); });
  return p;
}

/** Sends the records to the given partition in payloads of 50, with optional attributes (codec). */
async function sendTo(p, records, partition, attributes = 0, keyed = false) {
  for (let i = 0; i < records.length; i += 50) {
    const messages = records.slice(i, i + 50).map((r) => (keyed ? new kafka.KeyedMessage(r.key, r.value) : r.value));
    const payload = { topic, partition, messages, attributes };
    if (!keyed) payload.key = records[i].key; // one key for the payload: checked loosely below
    await cb((done) => p.send([payload], done));
  }
}

/** A kafka-node Consumer on the given partitions from offset 0, collecting into `expect`. */
function partitionConsumer(c, partitions, expect, options = {}) {
  const consumer = new kafka.Consumer(c, partitions.map((partition) => ({ topic, partition, offset: 0 })), {
    autoCommit: false, fromOffset: true, groupId: `${topic}-pc`, fetchMaxWaitMs: 200, encoding: 'utf8', keyEncoding: 'utf8', ...options,
  });
  consumer.on('message', (m) => expect.add(m.key, m.value));
  consumer.on('error', (err) => fail(`consumer error: ${err.message ?? err}`));
  return consumer;
}

const close = (x, ...args) => new Promise((resolve) => x.close(...args, () => resolve()));

/** Expectation for payloads sent with one key per 50 records: check the value only. */
function valuesOnly(records) {
  return new Expect(records.map((r, i) => ({ key: records[i - (i % 50)].key, value: r.value })));
}

const codec = (attributes) => async () => {
  const c = client();
  await createTopic(c, 2);
  const p = await producer(c);
  const records = makeRecords(400);
  await sendTo(p, records.slice(0, 200), 0, attributes, true);
  await sendTo(p, records.slice(200), 1, attributes, true);
  const expect = new Expect(records);
  const consumer = partitionConsumer(c, [0, 1], expect);
  await until(() => expect.done, 30000, 'every record');
  await close(consumer, false);
  await close(c);
  expect.verify();
};

await main({
  'create-topics': async () => {
    const c = client();
    await createTopic(c, 3);
    const md = await cb((done) => c.loadMetadataForTopics([topic], done));
    const parts = Object.keys(md[1].metadata[topic] ?? {});
    if (parts.length !== 3) fail(`metadata lists ${parts.length} partitions, want 3`);
    await close(c);
  },
  'producer-keys-partitions': async () => {
    const c = client();
    await createTopic(c, 3);
    const p = await producer(c);
    const records = makeRecords(600);
    for (let part = 0; part < 3; part++) await sendTo(p, records.slice(part * 200, part * 200 + 200), part, 0, true);
    const expect = new Expect(records);
    const seenPartition = new Map();
    const consumer = partitionConsumer(c, [0, 1, 2], expect);
    consumer.on('message', (m) => seenPartition.set(m.value, m.partition));
    await until(() => expect.done, 30000, 'every record');
    await close(consumer, false);
    await close(c);
    expect.verify();
    records.forEach((r, i) => { if (seenPartition.get(r.value) !== Math.floor(i / 200)) fail(`record ${i} in partition ${seenPartition.get(r.value)}`); });
  },
  'compression-gzip': codec(1),
  'compression-snappy': codec(2),
  'high-level-producer': async () => {
    const c = client();
    await createTopic(c, 3);
    const p = await producer(c, kafka.HighLevelProducer, { requireAcks: -1, partitionerType: 3 /* keyed */ });
    const records = makeRecords(300);
    for (const r of records) await cb((done) => p.send([{ topic, key: r.key, messages: new kafka.KeyedMessage(r.key, r.value) }], done));
    const expect = new Expect(records);
    const consumer = partitionConsumer(c, [0, 1, 2], expect);
    await until(() => expect.done, 30000, 'every record');
    await close(consumer, false);
    await close(c);
    expect.verify();
  },
  'consumer-commit-pause-resume': async () => {
    const c = client();
    await createTopic(c, 1);
    const p = await producer(c);
    const first = makeRecords(100, `${topic}-a`);
    await sendTo(p, first, 0, 0, true);
    const expect = new Expect(first);
    const consumer = partitionConsumer(c, [0], expect);
    await until(() => expect.done, 30000, 'the first records');
    await cb((done) => consumer.commit(true, done));
    // Paused: nothing arrives; resumed: the rest arrives. A fetch already in flight when pause()
    // is called may still deliver, so let it finish (fetchMaxWaitMs is 200) before producing.
    consumer.pause();
    await new Promise((r) => setTimeout(r, 1000));
    const second = makeRecords(50, `${topic}-b`);
    let during = 0;
    const e2 = new Expect(second);
    consumer.removeAllListeners('message');
    consumer.on('message', (m) => { during++; e2.add(m.key, m.value); });
    await sendTo(p, second, 0, 0, true);
    await new Promise((r) => setTimeout(r, 1500));
    if (during > 0) fail(`${during} messages arrived while paused`);
    consumer.resume();
    await until(() => e2.done, 30000, 'records after resume');
    e2.verify();
    // setOffset back to 0: everything is read again.
    const all = new Expect([...first, ...second]);
    consumer.removeAllListeners('message');
    consumer.on('message', (m) => all.add(m.key, m.value));
    consumer.setOffset(topic, 0, 0);
    await until(() => all.done, 30000, 'records after setOffset(0)');
    await close(consumer, false); // closes its client too
    // The committed offset is where commit() left it.
    const c2 = client();
    const offset = new kafka.Offset(c2);
    const fetched = await cb((done) => offset.fetchCommitsV1(`${topic}-pc`, [{ topic, partition: 0 }], done));
    if (fetched[topic][0] !== 100) fail(`committed offset ${fetched[topic][0]}, want 100`);
    await close(c2);
    all.verify();
  },
  'offset-out-of-range': async () => {
    const c = client();
    await createTopic(c, 1);
    const p = await producer(c);
    const records = makeRecords(120);
    await sendTo(p, records, 0, 0, true);
    const expect = new Expect(records);
    const consumer = new kafka.Consumer(c, [{ topic, partition: 0, offset: 100000 }], { autoCommit: false, fromOffset: true, fetchMaxWaitMs: 200, encoding: 'utf8', keyEncoding: 'utf8' });
    const offset = new kafka.Offset(c);
    let recovered = false;
    consumer.on('offsetOutOfRange', (tp) => {
      offset.fetch([{ topic: tp.topic, partition: tp.partition, time: -2, maxNum: 1 }], (err, offsets) => {
        if (err) fail(`Offset.fetch: ${err.message ?? err}`);
        const earliest = offsets[tp.topic][tp.partition][0];
        recovered = true;
        consumer.setOffset(tp.topic, tp.partition, earliest);
      });
    });
    consumer.on('message', (m) => expect.add(m.key, m.value));
    consumer.on('error', (err) => fail(`consumer error: ${err.message ?? err}`));
    await until(() => expect.done, 30000, 'every record after offsetOutOfRange recovery');
    if (!recovered) fail('offsetOutOfRange was never emitted');
    const latest = await cb((done) => offset.fetchLatestOffsets([topic], done));
    if (latest[topic][0] !== 120) fail(`fetchLatestOffsets says ${latest[topic][0]}, want 120`);
    await close(consumer, false);
    await close(c);
    expect.verify();
  },
  'consumer-group-roundrobin': async () => {
    const c = client();
    await createTopic(c, 6);
    const p = await producer(c);
    const first = makeRecords(300, `${topic}-a`);
    for (let part = 0; part < 6; part++) await sendTo(p, first.slice(part * 50, part * 50 + 50), part, 0, true);
    const groupId = `${topic}-group`;
    const got = [new Set(), new Set(), new Set()];
    let phase = new Expect(first);
    const firstValues = new Set(first.map((r) => r.value));
    const members = [0, 1, 2].map((i) => {
      const m = new kafka.ConsumerGroup({ kafkaHost: bootstrap, groupId, protocol: ['roundrobin'], fromOffset: 'earliest', sessionTimeout: 10000,
        heartbeatInterval: 500, autoCommit: true, autoCommitIntervalMs: 200, encoding: 'utf8', keyEncoding: 'utf8', fetchMaxWaitMs: 200 }, [topic]);
      m.on('message', (msg) => {
        got[i].add(msg.value);
        // After a rebalance, records of the first batch may come again (at-least-once): not counted.
        if (phase.want.has(msg.value) || !firstValues.has(msg.value)) phase.add(msg.key, msg.value);
      });
      m.on('error', (err) => fail(`ConsumerGroup member ${i}: ${err.message ?? err}`));
      return m;
    });
    await until(() => phase.done, 40000, 'every record of the first batch');
    // Roundrobin over six partitions: each of the three members reads some of them.
    await until(() => got.every((s) => s.size > 0), 20000, 'all three members to consume');
    phase.verify();
    await new Promise((r) => setTimeout(r, 500)); // let auto-commit run
    await close(members[2], true);
    const second = makeRecords(300, `${topic}-b`);
    phase = new Expect(second);
    for (let part = 0; part < 6; part++) await sendTo(p, second.slice(part * 50, part * 50 + 50), part, 0, true);
    // The two remaining members take over the closed one's partitions.
    await until(() => phase.done, 40000, 'every record of the second batch after one member closed');
    if (second.some((r) => got[2].has(r.value))) fail('the closed member consumed records');
    await Promise.all([close(members[0], true), close(members[1], true)]);
    await close(c);
    phase.verify();
  },
});
