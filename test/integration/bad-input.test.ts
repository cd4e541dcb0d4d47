// Garbage, truncated, oversized and unknown requests: the client gets Kafka's answer or a closed
// connection, and the broker goes on serving everyone else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { kafkaFor, withBroker, uniqueTopic } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker({ maxRequestBytes: 1024 * 1024 }); });
after(async () => { await broker.stop(); });

async function stillServes(): Promise<void> {
  const kafka = kafkaFor(broker);
  const producer = kafka.producer();
  await producer.connect();
  const topic = uniqueTopic('alive');
  const [r] = await producer.send({ topic, messages: [{ value: 'still here' }] });
  assert.equal(r.errorCode, 0);
  await producer.disconnect();
}

const sizeFrame = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };

test('random garbage closes that connection only', async () => {
  for (let i = 0; i < 20; i++) {
    const c = await RawConnection.connect(broker.port);
    const junk = randomBytes(64 + i * 13);
    junk.writeInt32BE(junk.length - 4, 0); // a well-sized frame of garbage
    c.write(junk);
    await Promise.race([c.closed, new Promise((r) => setTimeout(r, 300))]);
    c.close();
  }
  await stillServes();
});

test('oversized and negative frame sizes close the connection without allocating', async () => {
  const big = await RawConnection.connect(broker.port);
  big.write(sizeFrame(200 * 1024 * 1024));
  await big.closed;
  const negative = await RawConnection.connect(broker.port);
  negative.write(sizeFrame(-5));
  await negative.closed;
  await stillServes();
});

test('truncated frame then disconnect leaves the broker healthy', async () => {
  const c = await RawConnection.connect(broker.port);
  const frame = RawConnection.frame(ApiKey.Metadata, 1, 1, { topics: null });
  c.write(frame.subarray(0, frame.length - 3));
  await new Promise((r) => setTimeout(r, 50));
  c.close();
  await stillServes();
});

test('unknown API key closes the connection', async () => {
  const c = await RawConnection.connect(broker.port);
  const header = Buffer.alloc(4 + 2 + 2 + 4 + 2);
  header.writeInt32BE(10, 0);
  header.writeInt16BE(999, 4);
  header.writeInt16BE(0, 6);
  header.writeInt32BE(7, 8);
  header.writeInt16BE(-1, 12);
  c.write(header);
  await c.closed;
});

test('ApiVersions with an unknown version answers UNSUPPORTED_VERSION with a v0 body', async () => {
  const c = await RawConnection.connect(broker.port);
  // A newer client sends a flexible (header v2) request with a version we do not know.
  const frame = RawConnection.frame(ApiKey.ApiVersions, 3, 42, { clientSoftwareName: 'future', clientSoftwareVersion: '9' });
  frame.writeInt16BE(99, 6); // claim version 99
  c.write(frame);
  const res = await c.response(ApiKey.ApiVersions, 0);
  assert.equal(res.correlationId, 42);
  assert.equal(res.body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
  const keys = res.body.apiKeys.map((k: { apiKey: number }) => k.apiKey);
  assert.ok(keys.includes(ApiKey.Produce) && keys.includes(ApiKey.Fetch));
  c.close();
});

test('ApiVersions lists exactly the implemented APIs, Produce from v0', async () => {
  const c = await RawConnection.connect(broker.port);
  const body = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
  const byKey = new Map(body.apiKeys.map((k: { apiKey: number; minVersion: number; maxVersion: number }) => [k.apiKey, k]));
  assert.equal(body.errorCode, 0);
  // 68/69 (KIP-848) are served since the consumer protocol works end to end (groups-librdkafka.test.ts).
  // 71/72 (KIP-714 telemetry) are served since handlers/telemetry.ts (test/broker/admin-apis.test.ts).
  for (const served of [71, 72]) assert.ok(byKey.has(served), `API ${served} is advertised`);
  assert.ok(byKey.has(ApiKey.Metadata));
  c.close();
});

test('unsupported version of a non-ApiVersions request closes the connection', async () => {
  const c = await RawConnection.connect(broker.port);
  const frame = RawConnection.frame(ApiKey.Metadata, 1, 5, { topics: null });
  frame.writeInt16BE(200, 6);
  c.write(frame);
  await c.closed;
});

test('many requests in one chunk and one request split byte by byte are all answered in order', async () => {
  const c = await RawConnection.connect(broker.port);
  const frames = Array.from({ length: 30 }, (_, i) => RawConnection.frame(ApiKey.Metadata, 1, 100 + i, { topics: [] }));
  c.write(Buffer.concat(frames));
  for (let i = 0; i < 30; i++) {
    const res = await c.response(ApiKey.Metadata, 1);
    assert.equal(res.correlationId, 100 + i);
  }
  const split = RawConnection.frame(ApiKey.ApiVersions, 1, 999, {});
  for (const byte of split) {
    c.write(Buffer.from([byte]));
    await new Promise((r) => setImmediate(r));
  }
  const res = await c.response(ApiKey.ApiVersions, 1);
  assert.equal(res.correlationId, 999);
  c.close();
});

test('acks=0 gets no response; a corrupt batch gets CORRUPT_MESSAGE', async () => {
  const topic = uniqueTopic('raw');
  await broker.broker.topics.create(topic, 1);
  const c = await RawConnection.connect(broker.port);
  const batch = encodeBatch({ records: [{ value: 'x' }] });
  const produce = (acks: number, records: Buffer) => ({ transactionalId: null, acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  c.write(RawConnection.frame(ApiKey.Produce, 7, 1, produce(0, batch)));
  const corrupt = Buffer.from(batch);
  corrupt[corrupt.length - 1] ^= 0xff;
  c.write(RawConnection.frame(ApiKey.Produce, 7, 2, produce(1, corrupt)));
  const res = await c.response(ApiKey.Produce, 7);
  assert.equal(res.correlationId, 2, 'the acks=0 request must not be answered');
  assert.equal(res.body.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
  // The acks=0 record did land.
  const offsets = await c.request(ApiKey.ListOffsets, 1, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1 }] }] }, 3);
  assert.equal(offsets.topics[0].partitions[0].offset, 1);
  c.close();
});

test('a frame larger than socket.request.max.bytes is refused even when fully sent', async () => {
  const c = await RawConnection.connect(broker.port);
  c.write(Buffer.concat([sizeFrame(2 * 1024 * 1024), Buffer.alloc(1024)]));
  await c.closed;
  await stillServes();
});
