// Consumer timing as kafkajs has it, each scenario run with kafkajs (the reference) and with
// Fjord's client against the same real broker over TCP:
//  - consumer.seek() inside eachMessage re-delivers from the new offset without waiting out the
//    Fetch long poll that was in flight (maxWaitTimeInMs);
//  - a handler that throws is retried on the consumer's `retry` schedule (initialRetryTime, ...),
//    then, after `retries`, crashes with KafkaJSNumberOfRetriesExceeded and restarts or not as
//    `restartOnFailure` says.
// Only orders and behaviours are asserted, plus bounds far from the timers involved (re-delivery
// well under maxWaitTimeInMs, a retry no sooner than the backoff allows): never a speed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka as KafkaJS, logLevel as kjsLogLevel } from 'kafkajs';
import { Kafka, logLevel } from '../../src/client/index.js';
import { withBroker, uniqueTopic, eventually } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => {
  broker = await withBroker({ groupInitialRebalanceDelayMs: 0 });
});
after(async () => {
  await broker.stop();
});

const MAX_WAIT = 10000;

interface RetryConfig {
  initialRetryTime: number;
  retries: number;
  restartOnFailure?: (e: Error) => Promise<boolean>;
}

/** The part of the consumer API both clients share that these scenarios use. */
interface ScenarioConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(s: { topic: string; fromBeginning: boolean }): Promise<void>;
  run(c: { eachMessage: (p: { topic: string; partition: number; message: { offset: string; value: Buffer | null } }) => Promise<void> }): Promise<void>;
  seek(s: { topic: string; partition: number; offset: string }): void;
  on(event: 'consumer.crash', listener: (e: { payload: { error: Error; restart: boolean } }) => void): unknown;
}

interface Client {
  name: string;
  consumer(groupId: string, retry: RetryConfig): ScenarioConsumer;
}

const clients: Client[] = [
  {
    name: 'kafkajs',
    consumer: (groupId, retry) => new KafkaJS({ brokers: [broker.address], logLevel: kjsLogLevel.NOTHING, retry })
      .consumer({ groupId, maxWaitTimeInMs: MAX_WAIT, retry }) as unknown as ScenarioConsumer,
  },
  {
    name: 'fjord',
    consumer: (groupId, retry) => new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING, retry })
      .consumer({ groupId, maxWaitTimeInMs: MAX_WAIT, retry }) as unknown as ScenarioConsumer,
  },
];

async function topicWith(values: string[]): Promise<string> {
  const topic = uniqueTopic('timing');
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
  return topic;
}

test('seek() inside eachMessage re-delivers from the new offset without waiting out the long poll (kafkajs and Fjord)', async () => {
  const topic = await topicWith(['m0', 'm1', 'm2']);
  const seen: Record<string, { order: string[]; waited: number }> = {};
  for (const client of clients) {
    const consumer = client.consumer(uniqueTopic(`seek-${client.name}`), { initialRetryTime: 100, retries: 5 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const order: string[] = [];
    let soughtAt = 0;
    let redeliveredAt = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        order.push(message.value!.toString());
        if (soughtAt && !redeliveredAt) redeliveredAt = Date.now();
        // On the last message: the client's next Fetch finds nothing new and waits at the broker.
        if (message.offset === '2' && !soughtAt) {
          await new Promise((r) => setTimeout(r, 200));
          soughtAt = Date.now();
          consumer.seek({ topic, partition: 0, offset: '1' });
        }
      },
    });
    await eventually(() => order.length >= 5, 30000, `${client.name}: re-delivery after the seek`);
    await consumer.disconnect();
    seen[client.name] = { order: order.slice(0, 5), waited: redeliveredAt - soughtAt };
  }
  assert.deepEqual(seen.fjord.order, seen.kafkajs.order);
  assert.deepEqual(seen.fjord.order, ['m0', 'm1', 'm2', 'm1', 'm2']);
  for (const [name, s] of Object.entries(seen)) {
    assert.ok(s.waited < MAX_WAIT / 2, `${name}: re-delivered ${s.waited} ms after the seek; a long poll of ${MAX_WAIT} ms was in flight`);
  }
});

test('a handler that threw once is retried after initialRetryTime, not after the long poll (kafkajs and Fjord)', async () => {
  const topic = await topicWith(['m0', 'm1', 'm2']);
  const initialRetryTime = 400;
  const seen: Record<string, { order: string[]; waited: number }> = {};
  for (const client of clients) {
    const consumer = client.consumer(uniqueTopic(`throw-${client.name}`), { initialRetryTime, retries: 5 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const order: string[] = [];
    let threwAt = 0;
    let retriedAt = 0;
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        if (threwAt && !retriedAt) retriedAt = Date.now();
        order.push(value);
        if (value === 'm2' && !threwAt) {
          threwAt = Date.now();
          throw new Error('failed once');
        }
      },
    });
    await eventually(() => order.length >= 4, 30000, `${client.name}: the retry`);
    await consumer.disconnect();
    seen[client.name] = { order, waited: retriedAt - threwAt };
  }
  assert.deepEqual(seen.fjord.order, seen.kafkajs.order);
  assert.deepEqual(seen.fjord.order, ['m0', 'm1', 'm2', 'm2']);
  for (const [name, s] of Object.entries(seen)) {
    // The backoff is initialRetryTime ± 20 %: never sooner; and far less than the long poll.
    assert.ok(s.waited >= initialRetryTime * 0.8 - 5, `${name}: retried ${s.waited} ms after the error, before the backoff`);
    assert.ok(s.waited < MAX_WAIT / 2, `${name}: retried ${s.waited} ms after the error; a long poll of ${MAX_WAIT} ms was in flight`);
  }
});

test('a handler that keeps throwing: retries, then a crash with NumberOfRetriesExceeded; restartOnFailure decides (kafkajs and Fjord)', async () => {
  const topic = await topicWith(['m0', 'm1', 'm2']);
  const outcome: Record<string, unknown> = {};
  for (const client of clients) {
    for (const restart of [false, true]) {
      const crashes: { name: string; causeMessage: string | undefined; restart: boolean }[] = [];
      let hookCalls = 0;
      const consumer = client.consumer(uniqueTopic(`crash-${client.name}`), {
        initialRetryTime: 50,
        retries: 2,
        restartOnFailure: async () => { hookCalls++; return restart; },
      });
      consumer.on('consumer.crash', (e) => {
        const cause = (e.payload.error as Error & { cause?: Error }).cause;
        crashes.push({ name: e.payload.error.name, causeMessage: cause?.message, restart: e.payload.restart });
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const order: string[] = [];
      let failuresLeft = 3; // the first try and both retries fail
      await consumer.run({
        eachMessage: async ({ message }) => {
          const value = message.value!.toString();
          order.push(value);
          if (value === 'm1' && failuresLeft > 0) {
            failuresLeft--;
            throw new Error('still failing');
          }
        },
      });
      await eventually(() => crashes.length >= 1, 30000, `${client.name}: the crash`);
      if (restart) await eventually(() => order.includes('m2'), 30000, `${client.name}: consumption after the restart`);
      else await new Promise((r) => setTimeout(r, 500));
      await consumer.disconnect();
      // kafkajs may deliver m0 again after its restart (it commits on its own schedule); count m1.
      outcome[`${client.name} restart=${restart}`] = {
        crashes, hookCalls,
        m1Deliveries: order.filter((v) => v === 'm1').length,
        reachedM2: order.includes('m2'),
      };
    }
  }
  for (const restart of [false, true]) {
    assert.deepEqual(outcome[`fjord restart=${restart}`], outcome[`kafkajs restart=${restart}`], `restart=${restart}`);
  }
  assert.deepEqual(outcome['fjord restart=false'], {
    crashes: [{ name: 'KafkaJSNumberOfRetriesExceeded', causeMessage: 'still failing', restart: false }],
    hookCalls: 1, m1Deliveries: 3, reachedM2: false,
  });
  assert.deepEqual(outcome['fjord restart=true'], {
    crashes: [{ name: 'KafkaJSNumberOfRetriesExceeded', causeMessage: 'still failing', restart: true }],
    hookCalls: 1, m1Deliveries: 4, reachedM2: true,
  });
});

test('Fjord: a partition resumed while the long poll for the others waits at the broker is fetched at once', async () => {
  // kafkajs waits for that poll (up to maxWaitTimeInMs); Fjord gives it up, since the broker holds it.
  const topic = uniqueTopic('resume');
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ value: 'p0-a', partition: 0 }, { value: 'p1-a', partition: 1 }] });
  const consumer = kafka.consumer({ groupId: uniqueTopic('resume-group'), maxWaitTimeInMs: MAX_WAIT });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: { value: string; at: number }[] = [];
  await consumer.run({ eachMessage: async ({ message }) => { got.push({ value: message.value!.toString(), at: Date.now() }); } });
  await eventually(() => got.length === 2, 30000, 'the first two');
  consumer.pause([{ topic, partitions: [0] }]);
  // A record for partition 1 answers the poll out now; the next Fetch asks for partition 1 only
  // and waits at the broker, so a record for partition 0 does not end it.
  await producer.send({ topic, messages: [{ value: 'p1-b', partition: 1 }] });
  await eventually(() => got.length === 3, 30000, 'p1-b');
  await new Promise((r) => setTimeout(r, 300));
  await producer.send({ topic, messages: [{ value: 'p0-b', partition: 0 }] });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(got.length, 3);
  const resumedAt = Date.now();
  consumer.resume([{ topic, partitions: [0] }]);
  await eventually(() => got.length === 4, 30000, 'the message after resume');
  assert.equal(got[3].value, 'p0-b');
  const waited = got[3].at - resumedAt;
  assert.ok(waited < MAX_WAIT / 2, `delivered ${waited} ms after resume; a long poll of ${MAX_WAIT} ms was in flight`);
  await consumer.disconnect();
  await producer.disconnect();
});
