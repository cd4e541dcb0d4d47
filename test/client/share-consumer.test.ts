// Fjord's share consumer (src/client/share-consumer.ts) against a real broker: two consumers in one
// share group split a topic's records with every record accepted once; a handler that throws gets
// its message again (delivery 2); an explicit REJECT is never delivered again; disconnect leaves
// the group and closes the sessions. What Apache Kafka 4.1 made the client do (the same scenario
// against Kafka: test/conformance/share-client-kafka.test.ts): member ids in Kafka's Uuid form, and
// a first heartbeat answered NOT_COORDINATOR retried at a coordinator looked up again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Kafka, logLevel } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { uniqueTopic, withBroker } from '../helpers.js';

test('share consumer: two members, each record once; a throw releases, REJECT archives', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-client');
  await broker.broker.createTopic(topic, 2);
  const kafka = new Kafka({ clientId: 'share-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
  const a = kafka.shareConsumer({ groupId: 'jobs', maxWaitTimeInMs: 100 });
  const b = kafka.shareConsumer({ groupId: 'jobs', maxWaitTimeInMs: 100 });
  const producer = kafka.producer();
  try {
    await a.connect();
    await b.connect();
    await a.subscribe({ topics: [topic] });
    await b.subscribe({ topics: [topic] });
    // Open the sessions (the share-partitions start at the log end), then produce.
    assert.deepEqual(await a.poll(), []);
    assert.deepEqual(await b.poll(), []);
    await producer.connect();
    for (let i = 0; i < 40; i++) await producer.send({ topic, messages: [{ partition: i % 2, value: `job-${i}` }] });

    const accepted = new Map<string, number>();
    const deliveries: Record<string, number[]> = {};
    let threw = false;
    const handler = (who: string) => async ({ message, deliveryCount, acknowledge }: { message: { value: Buffer | null }; deliveryCount: number; acknowledge(t: 'ACCEPT' | 'RELEASE' | 'REJECT'): void }) => {
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
      accepted.set(v, (accepted.get(v) ?? 0) + 1);
    };
    const runs = [a.run({ eachMessage: handler('a') }), b.run({ eachMessage: handler('b') })];
    const deadline = Date.now() + 20000;
    while (accepted.size < 39 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    a.stop();
    b.stop();
    await Promise.all(runs);
    assert.equal(accepted.size, 39);
    assert.ok([...accepted.values()].every((n) => n === 1), 'no record accepted twice');
    assert.deepEqual(deliveries['job-5'], [1, 2], 'the message whose handler threw came again');
    assert.deepEqual(deliveries['job-9'], [1], 'a rejected message is not delivered again');
    assert.ok(!accepted.has('job-9'));
  } finally {
    await producer.disconnect();
    await a.disconnect();
    await b.disconnect();
  }
  // Both left: the group is Empty, and what they accepted is done.
  const [g] = broker.broker.shares.describe(['jobs']);
  assert.deepEqual([g.groupState, g.members.length], ['Empty', 0]);
  const id = broker.broker.storage.topic(topic)!.topicId;
  assert.deepEqual([0, 1].map((p) => broker.broker.shares.partitionState('jobs', id, p)!.spso), [20, 20]);
  await broker.stop();
});

test('share consumer speaks v1: a poll acquires at most 500 records (MaxRecords), the rest comes next', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-client-max');
  await broker.broker.createTopic(topic, 1);
  const kafka = new Kafka({ clientId: 'share-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
  const share = kafka.shareConsumer({ groupId: 'bulk', maxWaitTimeInMs: 100 });
  const producer = kafka.producer();
  try {
    await share.connect();
    await share.subscribe({ topics: [topic] });
    assert.deepEqual(await share.poll(), []);
    await producer.connect();
    // One stored batch of 600 records: v0 (no MaxRecords) would hand all of it out at once.
    await producer.send({ topic, messages: Array.from({ length: 600 }, (_, i) => ({ value: `r${i}` })) });
    const first = await share.poll();
    assert.equal(first.length, 500);
    for (const m of first) share.acknowledge(m);
    const second = await share.poll();
    assert.deepEqual(second.map((m) => Number(m.message.offset)), Array.from({ length: 100 }, (_, i) => 500 + i));
    for (const m of second) share.acknowledge(m);
    await share.commit();
    const id = broker.broker.storage.topic(topic)!.topicId;
    assert.equal(broker.broker.shares.partitionState('bulk', id, 0)!.spso, 600);
  } finally {
    await producer.disconnect();
    await share.disconnect();
    await broker.stop();
  }
});

test('share consumer member ids are Kafka Uuids (22 base64url characters, 16 bytes): Kafka 4.1 refuses others in ShareFetch', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-client-id');
  await broker.broker.createTopic(topic, 1);
  const kafka = new Kafka({ clientId: 'share-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
  const share = kafka.shareConsumer({ groupId: 'ids', maxWaitTimeInMs: 50 });
  try {
    assert.match(share.memberId, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    assert.equal(Buffer.from(share.memberId, 'base64url').length, 16);
    await share.connect();
    await share.subscribe({ topics: [topic] });
    assert.deepEqual(await share.poll(), []);
    const [g] = broker.broker.shares.describe(['ids']);
    assert.deepEqual(g.members.map((m) => m.memberId), [share.memberId]);
  } finally {
    await share.disconnect();
    await broker.stop();
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A TCP proxy in front of a broker that answers the first `count` ShareGroupHeartbeats with
 * `errorCode` in place of the broker's (as Kafka does while the group's coordinator log loads).
 */
async function heartbeatFaults(port: number, brokerPort: number, errorCode: number, count: number): Promise<{ injected: () => number; close(): Promise<void> }> {
  let injected = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(brokerPort, '127.0.0.1');
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const apiOf = new Map<number, number>();
    let fromClient = Buffer.alloc(0);
    let fromBroker = Buffer.alloc(0);
    client.on('data', (d) => {
      fromClient = Buffer.concat([fromClient, d]);
      while (fromClient.length >= 4 && fromClient.length >= 4 + fromClient.readInt32BE(0)) {
        const size = fromClient.readInt32BE(0);
        apiOf.set(fromClient.readInt32BE(8), fromClient.readInt16BE(4)); // correlation id → api key
        upstream.write(fromClient.subarray(0, 4 + size));
        fromClient = fromClient.subarray(4 + size);
      }
    });
    upstream.on('data', (d) => {
      fromBroker = Buffer.concat([fromBroker, d]);
      while (fromBroker.length >= 4 && fromBroker.length >= 4 + fromBroker.readInt32BE(0)) {
        const frame = Buffer.from(fromBroker.subarray(0, 4 + fromBroker.readInt32BE(0)));
        fromBroker = fromBroker.subarray(frame.length);
        // size, correlation id, empty header tags (1 byte), throttle time, error code
        if (apiOf.get(frame.readInt32BE(4)) === ApiKey.ShareGroupHeartbeat && injected < count && frame[8] === 0) {
          frame.writeInt16BE(errorCode, 13);
          injected++;
        }
        client.write(frame);
      }
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    injected: () => injected,
    close: () => new Promise<void>((r) => { server.close(() => r()); for (const c of sockets) c.destroy(); }),
  };
}

test('share consumer: a heartbeat answered NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS is retried, subscribe() succeeds', { timeout: 60000 }, async () => {
  for (const code of [ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]) {
    const port = await freePort();
    const brokerPort = await freePort();
    const broker = await withBroker({ port: brokerPort, advertisedPort: port });
    const faults = await heartbeatFaults(port, brokerPort, code, 2);
    const topic = uniqueTopic('share-client-coord');
    await broker.broker.createTopic(topic, 1);
    const kafka = new Kafka({ clientId: 'share-test', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 20, retries: 5 } });
    const share = kafka.shareConsumer({ groupId: `coord-${code}`, maxWaitTimeInMs: 50 });
    const producer = kafka.producer();
    try {
      await share.connect();
      await share.subscribe({ topics: [topic] });
      assert.equal(faults.injected(), 2);
      assert.deepEqual(await share.poll(), []);
      await producer.connect();
      await producer.send({ topic, messages: [{ value: 'after the retries' }] });
      let got: string[] = [];
      for (let i = 0; i < 50 && got.length === 0; i++) got = (await share.poll()).map((m) => m.message.value!.toString());
      assert.deepEqual(got, ['after the retries']);
      const [g] = broker.broker.shares.describe([`coord-${code}`]);
      assert.deepEqual(g.members.map((m) => m.memberId), [share.memberId]);
    } finally {
      await producer.disconnect();
      await share.disconnect();
      await faults.close();
      await broker.stop();
    }
  }
});

test('share consumer closing with records it did not acknowledge: the next member gets them, delivery count 1 again (as Kafka 4.1)', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-client-close');
  await broker.broker.createTopic(topic, 1);
  const kafka = new Kafka({ clientId: 'share-test', brokers: [broker.address], logLevel: logLevel.NOTHING });
  const first = kafka.shareConsumer({ groupId: 'closing', maxWaitTimeInMs: 50 });
  const second = kafka.shareConsumer({ groupId: 'closing', maxWaitTimeInMs: 50 });
  const producer = kafka.producer();
  try {
    await first.connect();
    await first.subscribe({ topics: [topic] });
    assert.deepEqual(await first.poll(), []);
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
    let held: string[] = [];
    for (let i = 0; i < 50 && held.length < 2; i++) held = held.concat((await first.poll()).map((m) => `${m.message.value}:${m.deliveryCount}`));
    assert.deepEqual(held, ['a:1', 'b:1']);
    await first.disconnect(); // closes the share session: released, the delivery taken back
    await second.connect();
    await second.subscribe({ topics: [topic] });
    let again: string[] = [];
    for (let i = 0; i < 50 && again.length < 2; i++) {
      for (const m of await second.poll()) {
        again.push(`${m.message.value}:${m.deliveryCount}`);
        second.acknowledge(m);
      }
    }
    await second.commit();
    assert.deepEqual(again, ['a:1', 'b:1']);
  } finally {
    await producer.disconnect();
    await second.disconnect();
    await broker.stop();
  }
});
