// Items of kafkajs' documentation (Configuration, Producing, Consuming, Admin, Instrumentation
// events) that no other test drives through Fjord's client, against a real broker over TCP. The
// table in docs/client.md names this file for them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type EachBatchPayload, type LogEntry } from '../../src/client/index.js';
import { withBroker, uniqueTopic, eventually } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker({ groupInitialRebalanceDelayMs: 0 }); });
after(async () => { await broker.stop(); });

test('Configuration: brokers as an async function, logCreator, logger().setLogLevel', async () => {
  const lines: LogEntry[] = [];
  let asked = 0;
  const kafka = new Kafka({
    clientId: 'docs-config',
    brokers: async () => { asked++; return [broker.address]; },
    logLevel: logLevel.ERROR,
    logCreator: () => (entry) => { lines.push(entry); },
  });
  const admin = kafka.admin();
  await admin.connect();
  assert.ok(asked >= 1);
  assert.ok(Array.isArray(await admin.listTopics()));
  kafka.logger().info('not at ERROR');
  assert.equal(lines.length, 0);
  kafka.logger().setLogLevel(logLevel.INFO);
  kafka.logger().info('now at INFO', { extra: 1 });
  assert.equal(lines.length, 1);
  assert.equal(lines[0].log.message, 'now at INFO');
  assert.equal(lines[0].label, 'INFO');
  await admin.disconnect();
});

test('Producing: partition, timestamp and headers given per message; send timeout; sendBatch', async () => {
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
  const topic = uniqueTopic('docs-produce');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const [r] = await producer.send({
    topic, acks: -1, timeout: 10000,
    messages: [{ key: 'k', value: 'v', partition: 2, timestamp: '1700000000000', headers: { h1: 'a', h2: Buffer.from('b'), many: ['x', 'y'] } }],
  });
  assert.equal(r.partition, 2);
  const consumer = kafka.consumer({ groupId: uniqueTopic('docs-produce-group') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: { partition: number; timestamp: string; headers: Record<string, unknown> }[] = [];
  await consumer.run({ eachMessage: async ({ partition, message }) => { got.push({ partition, timestamp: message.timestamp, headers: message.headers ?? {} }); } });
  await eventually(() => got.length === 1, 20000, 'the message');
  assert.equal(got[0].partition, 2);
  assert.equal(got[0].timestamp, '1700000000000');
  const h = got[0].headers as Record<string, Buffer | Buffer[]>;
  assert.equal(String(h.h1), 'a');
  assert.equal(String(h.h2), 'b');
  assert.deepEqual((h.many as Buffer[]).map(String), ['x', 'y']);
  await consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
});

test('Consuming: eachBatch helpers, eachMessage pause(), autoCommitThreshold, describeGroup, fetch and batch events', async () => {
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
  const topic = uniqueTopic('docs-consume');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });

  // eachBatch: resolveOffset, uncommittedOffsets, commitOffsetsIfNecessary, isRunning, isStale, heartbeat.
  const groupId = uniqueTopic('docs-batch-group');
  const consumer = kafka.consumer({ groupId, heartbeatInterval: 100 });
  const events = new Set<string>();
  for (const e of [consumer.events.HEARTBEAT, consumer.events.REQUEST_QUEUE_SIZE, consumer.events.FETCH_START, consumer.events.FETCH, consumer.events.START_BATCH_PROCESS, consumer.events.END_BATCH_PROCESS, consumer.events.GROUP_JOIN, consumer.events.REQUEST]) {
    consumer.on(e, (ev) => { events.add(ev.type); });
  }
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let uncommittedSeen: string | undefined;
  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: false,
    eachBatch: async ({ batch, resolveOffset, uncommittedOffsets, commitOffsetsIfNecessary, isRunning, isStale, heartbeat }: EachBatchPayload) => {
      for (const m of batch.messages) {
        if (!isRunning() || isStale()) break;
        resolveOffset(m.offset);
        seen++;
        await heartbeat();
      }
      uncommittedSeen = uncommittedOffsets().topics[0]?.partitions[0]?.offset;
      await commitOffsetsIfNecessary({ topics: [{ topic, partitions: [{ partition: 0, offset: String(seen) }] }] });
    },
  });
  await eventually(() => seen === 10 && events.has('consumer.heartbeat'), 20000, 'ten messages and a heartbeat');
  assert.equal(uncommittedSeen, '10');
  const described = await consumer.describeGroup();
  assert.equal(described.groupId, groupId);
  assert.equal(described.state, 'Stable');
  assert.equal(described.members.length, 1);
  await consumer.disconnect();
  assert.deepEqual((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions[0].offset, '10');
  for (const e of ['consumer.heartbeat', 'consumer.network.request_queue_size', 'consumer.fetch_start', 'consumer.fetch', 'consumer.start_batch_process', 'consumer.end_batch_process', 'consumer.group_join', 'consumer.network.request']) {
    assert.ok(events.has(e), `event ${e}`);
  }

  // eachMessage's pause(): the partition stops until the returned function resumes it.
  const pausing = kafka.consumer({ groupId: uniqueTopic('docs-pause-group') });
  await pausing.connect();
  await pausing.subscribe({ topic, fromBeginning: true });
  const order: string[] = [];
  let resumeLater: (() => void) | null = null;
  await pausing.run({
    eachMessage: async ({ message, pause }) => {
      if (message.offset === '3' && !resumeLater) {
        resumeLater = pause();
        throw new Error('not now'); // as in kafkajs' docs: the message is fetched again after resume
      }
      order.push(message.offset);
    },
  });
  await eventually(() => resumeLater !== null, 20000, 'the pause');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(order, ['0', '1', '2']);
  assert.deepEqual(pausing.paused(), [{ topic, partitions: [0] }]);
  resumeLater!();
  await eventually(() => order.length === 10, 20000, 'the rest after resume');
  assert.deepEqual(order, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await pausing.disconnect();

  // autoCommitThreshold: a commit once that many messages were resolved (interval off).
  const thresholdGroup = uniqueTopic('docs-threshold-group');
  const threshold = kafka.consumer({ groupId: thresholdGroup });
  let commits = 0;
  threshold.on(threshold.events.COMMIT_OFFSETS, () => { commits++; });
  await threshold.connect();
  await threshold.subscribe({ topic, fromBeginning: true });
  let n = 0;
  await threshold.run({ autoCommitInterval: null, autoCommitThreshold: 5, eachMessage: async () => { n++; } });
  await eventually(() => n === 10 && commits >= 1, 20000, 'threshold commits');
  const committed = (await admin.fetchOffsets({ groupId: thresholdGroup, topics: [topic] }))[0].partitions[0].offset;
  assert.ok(committed === '5' || committed === '10', `committed ${committed}`);
  await threshold.disconnect();

  await producer.disconnect();
  await admin.disconnect();
});

test('Admin: reset consumer group offsets by timestamp (fetchTopicOffsetsByTimestamp + setOffsets)', async () => {
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
  const topic = uniqueTopic('docs-by-time');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'old', timestamp: '1000' }, { value: 'new', timestamp: '5000' }] });
  const groupId = uniqueTopic('docs-by-time-group');
  const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, 3000);
  assert.deepEqual(offsets, [{ partition: 0, offset: '1' }]);
  await admin.setOffsets({ groupId, topic, partitions: offsets });
  assert.equal((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions[0].offset, '1');
  await producer.disconnect();
  await admin.disconnect();
});
