// kafkajs 2.2.4: producer/consumer, idempotent producer, consumer group of two, admin, codecs,
// transactions (send + sendOffsets + commit, an aborted one, a read_committed consumer).
import { load, main, brokers, topic, makeRecords, Expect, until, fail, skip } from './common.mjs';

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = load('kafkajs');

// kafkajs has gzip built in; snappy and lz4 come from the codec packages its README points to.
// (@kafkajs/zstd needs the native cppzst, which does not build on Node 20: no zstd here.)
function codecPackage(type, pkg) {
  try {
    const mod = load(pkg);
    // kafkajs-snappy exports the codec factory; kafkajs-lz4 a class whose instances carry it.
    CompressionCodecs[type] = pkg === 'kafkajs-lz4' ? new (mod.default ?? mod)().codec : mod;
    return null;
  } catch (err) {
    return `${pkg} is not installed (${err.message.split('\n')[0]})`;
  }
}

const kafka = new Kafka({ clientId: 'conformance-kafkajs', brokers, logLevel: logLevel.ERROR, retry: { retries: 10, initialRetryTime: 100 } });

async function produceAndRead(records, producerOptions = {}, sendOptions = {}) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer(producerOptions);
  await producer.connect();
  for (let i = 0; i < records.length; i += 100) {
    const res = await producer.send({ topic, messages: records.slice(i, i + 100), acks: -1, ...sendOptions });
    for (const r of res) if (r.errorCode !== 0) fail(`produce error ${r.errorCode}`);
  }
  await producer.disconnect();
  const expect = new Expect(records);
  const consumer = kafka.consumer({ groupId: `${topic}-g` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const lastOffset = new Map();
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const off = Number(message.offset);
      if (lastOffset.has(partition) && off <= lastOffset.get(partition)) fail(`offsets not increasing on partition ${partition}`);
      lastOffset.set(partition, off);
      expect.add(message.key, message.value);
    },
  });
  await until(() => expect.done, 60_000, 'every record');
  await consumer.disconnect();
  expect.verify();
}

/**
 * producer.transaction(): one transaction with send + sendOffsets + commit, one with the same and
 * abort, then another committed. A read_committed consumer (kafkajs's default) reads every committed
 * record once and none of the aborted; the group's offsets are those of the committed transaction.
 */
async function transactions() {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const producer = kafka.producer({ transactionalId: `${topic}-tx`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const group = `${topic}-offsets`;
  const committed = makeRecords(100, `${topic}-c1`);
  const aborted = makeRecords(50, `${topic}-ab`);
  const later = makeRecords(10, `${topic}-c2`);
  const run = async (records, offset, end) => {
    const txn = await producer.transaction();
    await txn.send({ topic, messages: records });
    await txn.sendOffsets({ consumerGroupId: group, topics: [{ topic, partitions: [{ partition: 0, offset: String(offset) }] }] });
    await txn[end]();
  };
  await run(committed, 42, 'commit');
  await run(aborted, 999, 'abort');
  await run(later, 43, 'commit');
  await producer.disconnect();
  // The last transaction's records follow the aborted ones in every partition: reading them all
  // means the consumer went past the aborted records (and would have failed on any of them).
  const expect = new Expect([...committed, ...later]);
  const consumer = kafka.consumer({ groupId: `${topic}-reader` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => expect.add(message.key, message.value) });
  await until(() => expect.done, 60_000, 'every committed record');
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  expect.verify();
  const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const p0 = offsets.partitions.find((p) => p.partition === 0);
  if (p0?.offset !== '43') fail(`group ${group} has offset ${p0?.offset} on partition 0, want 43 (the aborted 999 must not count)`);
  await admin.disconnect();
}

await main({
  transactions,
  'produce-consume': () => produceAndRead(makeRecords(1000)),
  'idempotent-producer': () => produceAndRead(makeRecords(500), { idempotent: true, maxInFlightRequests: 1 }),
  'compression-gzip': () => produceAndRead(makeRecords(500), {}, { compression: CompressionTypes.GZIP }),
  'compression-snappy': async () => {
    const missing = codecPackage(CompressionTypes.Snappy, 'kafkajs-snappy');
    if (missing) fail(missing);
    await produceAndRead(makeRecords(500), {}, { compression: CompressionTypes.Snappy });
  },
  'compression-lz4': async () => {
    const missing = codecPackage(CompressionTypes.LZ4, 'kafkajs-lz4');
    if (missing) skip(missing);
    await produceAndRead(makeRecords(500), {}, { compression: CompressionTypes.LZ4 });
  },
  'compression-zstd': () => skip('kafkajs has no zstd codec that installs here (@kafkajs/zstd needs cppzst, which fails to build on Node 20)'),
  'consumer-group': async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
    await admin.disconnect();
    const records = makeRecords(800);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: records });
    await producer.disconnect();
    const expect = new Expect(records);
    const assigned = [new Set(), new Set()];
    const consumers = [0, 1].map(() => kafka.consumer({ groupId: `${topic}-group`, sessionTimeout: 10000, heartbeatInterval: 500 }));
    await Promise.all(consumers.map(async (c, i) => {
      await c.connect();
      await c.subscribe({ topics: [topic], fromBeginning: true });
      await c.run({ eachMessage: async ({ partition, message }) => { assigned[i].add(partition); expect.add(message.key, message.value); } });
    }));
    await until(() => expect.done, 60_000, 'every record across the group');
    // Both members got partitions once the group settled.
    await until(async () => {
      const d = await Promise.all(consumers.map((c) => c.describeGroup()));
      return d[0].members.length === 2 && d[0].members.every((m) => m.memberAssignment.length > 0);
    }, 20_000, 'two members with assignments');
    await Promise.all(consumers.map((c) => c.disconnect()));
    expect.verify();
    // The group's committed offsets reach the end of every partition.
    const a = kafka.admin();
    await a.connect();
    await until(async () => {
      const [o] = await a.fetchOffsets({ groupId: `${topic}-group`, topics: [topic] });
      const ends = await a.fetchTopicOffsets(topic);
      return o.partitions.every((p) => p.offset === ends.find((e) => e.partition === p.partition).high);
    }, 15_000, 'committed offsets at the end');
    await a.disconnect();
  },
  admin: async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: true });
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) fail('created topic not listed');
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    if (md.topics[0].partitions.length !== 2) fail(`expected 2 partitions, got ${md.topics[0].partitions.length}`);
    await admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }).catch((e) => fail(`createPartitions: ${e.message}`));
    const cfg = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }], includeSynonyms: false });
    const v = cfg.resources[0].configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
    if (v !== '3600000') fail(`retention.ms is ${v}`);
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length !== brokers.length || cluster.controller == null) fail('describeCluster');
    await admin.deleteTopics({ topics: [topic] });
    await until(async () => !(await admin.listTopics()).includes(topic), 10_000, 'topic deletion');
    await admin.disconnect();
  },
});
