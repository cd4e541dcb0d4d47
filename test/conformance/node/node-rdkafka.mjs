// node-rdkafka (librdkafka bundled and compiled by npm): producer with delivery reports, a
// KafkaConsumer in a group from the earliest offset, every codec.
import { load, main, bootstrap, topic, makeRecords, Expect, until, fail, skip } from './common.mjs';

const Kafka = load('node-rdkafka');

function createTopic(partitions) {
  const admin = Kafka.AdminClient.create({ 'client.id': 'conformance-admin', 'metadata.broker.list': bootstrap });
  return new Promise((resolve, reject) => admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 20000, (err) => {
    admin.disconnect();
    if (err) reject(new Error(`createTopic: ${err.message}`)); else resolve();
  }));
}

async function produce(records, conf = {}) {
  const producer = new Kafka.Producer({ 'metadata.broker.list': bootstrap, dr_cb: true, acks: 'all', 'linger.ms': 5, ...conf });
  const reports = [];
  producer.on('delivery-report', (err, report) => reports.push({ err, report }));
  producer.on('event.error', (err) => fail(`producer error: ${err.message}`));
  await new Promise((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(20);
  for (const r of records) producer.produce(topic, null, Buffer.from(r.value), r.key);
  await new Promise((resolve, reject) => producer.flush(30000, (err) => (err ? reject(err) : resolve())));
  await until(() => reports.length === records.length, 10000, 'every delivery report');
  const bad = reports.find((r) => r.err);
  if (bad) fail(`delivery report error: ${bad.err.message}`);
  await new Promise((resolve) => producer.disconnect(resolve));
}

async function consume(records, groupId) {
  const expect = new Expect(records);
  const consumer = new Kafka.KafkaConsumer({ 'group.id': groupId, 'metadata.broker.list': bootstrap, 'enable.auto.commit': true }, { 'auto.offset.reset': 'earliest' });
  consumer.on('data', (m) => expect.add(m.key, m.value));
  consumer.on('event.error', (err) => fail(`consumer error: ${err.message}`));
  await new Promise((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  consumer.subscribe([topic]);
  consumer.consume();
  await until(() => expect.done, 50000, 'every record');
  await new Promise((resolve) => consumer.disconnect(resolve));
  expect.verify();
}

const codec = (name) => async () => {
  if (!Kafka.features.includes(name)) skip(`this node-rdkafka build has no ${name} (librdkafka features: ${Kafka.features.join(',')})`);
  await createTopic(2);
  const records = makeRecords(500);
  await produce(records, { 'compression.codec': name });
  await consume(records, `${topic}-g`);
};

await main({
  'produce-delivery-reports': async () => {
    await createTopic(3);
    const records = makeRecords(1000);
    await produce(records);
    await consume(records, `${topic}-check`);
  },
  'consumer-group': async () => {
    const records = makeRecords(300);
    await produce(records); // auto-creates the topic
    await consume(records, `${topic}-group`);
    const more = makeRecords(10, `${topic}-more`);
    await produce(more);
    await consume(more, `${topic}-group`); // resumes from the committed offsets
  },
  'compression-gzip': codec('gzip'),
  'compression-snappy': codec('snappy'),
  'compression-lz4': codec('lz4'),
  'compression-zstd': codec('zstd'),
});
