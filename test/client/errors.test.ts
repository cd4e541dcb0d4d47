// Errors people meet: unknown topics with auto-creation off, a broker that is down or goes away,
// calls before connect. Each must fail with a clear, typed error within the retry budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  FjordConnectionError, FjordError, FjordNonRetriableError, FjordNotConnectedError, FjordNumberOfRetriesExceeded,
  FjordProtocolError, FjordTopicMetadataError, Kafka, logLevel,
} from '../../src/client/index.js';
import { withBroker, uniqueTopic } from '../helpers.js';

const quick = { initialRetryTime: 20, retries: 3, maxRetryTime: 200 };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test('unknown topic with auto-creation off: producer and consumer fail with the topic named', async () => {
  const broker = await withBroker({ autoCreateTopics: false });
  try {
    const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING, retry: quick });
    const producer = kafka.producer();
    await producer.connect();
    const topic = uniqueTopic('missing');
    const started = Date.now();
    const err = await producer.send({ topic, messages: [{ value: 'x' }] }).then(() => null, (e) => e);
    assert.ok(err instanceof FjordNumberOfRetriesExceeded, String(err));
    assert.ok(err.cause instanceof FjordTopicMetadataError);
    assert.match(err.message, new RegExp(`topic "${topic}" does not exist`));
    assert.ok(Date.now() - started < 5000, 'within the retry budget');
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueTopic('g') });
    await consumer.connect();
    await assert.rejects(consumer.subscribe({ topic }), /does not exist/);
    await consumer.disconnect();
  } finally {
    await broker.stop();
  }
});

test('broker down: connect fails with a connection error naming the address, within the retry budget', async () => {
  const port = await freePort();
  const kafka = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: quick, connectionTimeout: 500 });
  for (const client of [kafka.producer(), kafka.admin(), kafka.consumer({ groupId: 'g' })]) {
    const started = Date.now();
    const err = await client.connect().then(() => null, (e) => e);
    assert.ok(err instanceof FjordNumberOfRetriesExceeded, String(err));
    assert.ok(err.cause instanceof FjordConnectionError);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(err.message, /ECONNREFUSED/);
    assert.ok(Date.now() - started < 3000);
  }
});

test('broker stops while a producer is connected: send rejects instead of hanging', async () => {
  const broker = await withBroker();
  const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING, retry: quick, connectionTimeout: 500 });
  const producer = kafka.producer();
  await producer.connect();
  const topic = uniqueTopic('gone');
  await producer.send({ topic, messages: [{ value: 'before' }] });
  await broker.stop();
  const err = await producer.send({ topic, messages: [{ value: 'after' }] }).then(() => null, (e) => e);
  assert.ok(err instanceof FjordError, String(err));
  assert.match(err.message, /connect|closed|Connection/i);
  await producer.disconnect();
});

test('calls before connect and bad arguments are non-retriable errors', async () => {
  const broker = await withBroker();
  try {
    const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await assert.rejects(producer.send({ topic: 't', messages: [{ value: 'x' }] }), FjordNotConnectedError);
    await producer.connect();
    await assert.rejects(producer.send({ topic: 't', messages: [{ key: 'no value' } as never] }), FjordNonRetriableError);
    await assert.rejects(producer.send({ topic: '', messages: [{ value: 'x' }] }), /Invalid topic/);
    await assert.rejects(producer.send({ topic: uniqueTopic('p'), messages: [{ value: 'x', partition: 7 }] }), /partition 7 does not exist/);
    await producer.disconnect();
    assert.throws(() => kafka.consumer({ groupId: '' }), /groupId/);
    const standalone = kafka.consumer({});
    await standalone.connect();
    await assert.rejects(standalone.subscribe({ topic: 't' }), /assign\(\)/);
    await standalone.disconnect();
    const consumer = kafka.consumer({ groupId: 'g' });
    await consumer.connect();
    await assert.rejects(consumer.run({ eachMessage: async () => undefined }), /not subscribed/);
    await consumer.disconnect();
  } finally {
    await broker.stop();
  }
});

test('a protocol error carries the Kafka error name, code and retriability', () => {
  const e = new FjordProtocolError(3);
  assert.equal(e.type, 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.equal(e.code, 3);
  assert.equal(e.retriable, true);
  const f = new FjordProtocolError(36);
  assert.equal(f.type, 'TOPIC_ALREADY_EXISTS');
  assert.equal(f.retriable, false);
  assert.ok(f instanceof FjordError && f instanceof Error);
});
