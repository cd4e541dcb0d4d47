// The default partitioner must put a key where Java's and librdkafka's (murmur2_random) clients
// put it: toPositive(murmur2(keyBytes)) % numPartitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Partitioners as KafkajsPartitioners } from 'kafkajs';
import { Kafka, logLevel, murmur2, partitionForKey, toPositive } from '../../src/client/index.js';
import { withBroker, uniqueTopic } from '../helpers.js';

/**
 * MurmurHash2 (32-bit) written straight from its definition with BigInt arithmetic mod 2^32,
 * independent of the Math.imul implementation under test. Kafka seeds it with 0x9747b28c.
 */
function referenceMurmur2(data: Buffer): number {
  const MASK = 0xffffffffn;
  const m = 0x5bd1e995n;
  const mul = (a: bigint, b: bigint) => (a * b) & MASK;
  let h = (0x9747b28cn ^ BigInt(data.length)) & MASK;
  let i = 0;
  for (; i + 4 <= data.length; i += 4) {
    let k = BigInt(data[i]) | (BigInt(data[i + 1]) << 8n) | (BigInt(data[i + 2]) << 16n) | (BigInt(data[i + 3]) << 24n);
    k = mul(k, m);
    k ^= k >> 24n;
    k = mul(k, m);
    h = mul(h, m) ^ k;
  }
  const rest = data.length - i;
  if (rest >= 3) h ^= BigInt(data[i + 2]) << 16n;
  if (rest >= 2) h ^= BigInt(data[i + 1]) << 8n;
  if (rest >= 1) {
    h ^= BigInt(data[i]);
    h = mul(h, m);
  }
  h ^= h >> 13n;
  h = mul(h, m);
  h ^= h >> 15n;
  return Number(BigInt.asIntN(32, h));
}

test('murmur2 agrees with a from-the-definition reference on edge lengths and random keys', () => {
  const keys: Buffer[] = [Buffer.alloc(0)];
  for (let len = 1; len <= 16; len++) keys.push(Buffer.alloc(len, 0xff), Buffer.alloc(len, 0x80), randomBytes(len));
  for (let i = 0; i < 500; i++) keys.push(randomBytes(1 + (i % 97)));
  for (const k of keys) assert.equal(murmur2(k), referenceMurmur2(k), `key ${k.toString('hex')}`);
});

test('murmur2 of strings hashes their UTF-8 bytes; known values of the Java client', () => {
  // Hashes published for Java's Utils.murmur2; the reference implementation above agrees.
  const known: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, hash] of known) {
    assert.equal(murmur2(key), hash, key);
    assert.equal(referenceMurmur2(Buffer.from(key)), hash, `reference ${key}`);
  }
  assert.equal(murmur2('ключ-🔑'), referenceMurmur2(Buffer.from('ключ-🔑', 'utf8')));
});

test('partition = toPositive(murmur2) % n, never Math.abs', () => {
  // A key whose hash is negative: toPositive clears the sign bit (Math.abs would differ).
  const neg = 'foobar';
  const h = murmur2(neg);
  assert.ok(h < 0);
  assert.equal(toPositive(h), h & 0x7fffffff);
  for (const n of [1, 2, 3, 7, 12, 100]) {
    assert.equal(partitionForKey(neg, n), (h & 0x7fffffff) % n);
    assert.notEqual((h & 0x7fffffff) % 100, Math.abs(h) % 100);
  }
  // Expected assignments worked out from the hashes above, for 3 and 10 partitions.
  const expected: [string, number, number][] = [
    ['21', 3, (-973932308 & 0x7fffffff) % 3],
    ['foobar', 10, (-790332482 & 0x7fffffff) % 10],
    ['abc', 7, 479470107 % 7],
  ];
  for (const [key, n, p] of expected) assert.equal(partitionForKey(key, n), p);
});

test('same assignments as kafkajs\' Java-compatible partitioner', () => {
  const javaCompatible = KafkajsPartitioners.JavaCompatiblePartitioner();
  for (let i = 0; i < 300; i++) {
    const key = i % 2 ? `user-${i}-${randomBytes(4).toString('hex')}` : randomBytes(1 + (i % 40)).toString('latin1');
    const n = 1 + (i % 24);
    const partitionMetadata = Array.from({ length: n }, (_, p) => ({ partitionId: p, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
    const theirs = javaCompatible({ topic: 't', partitionMetadata, message: { key, value: 'v' } });
    assert.equal(partitionForKey(key, n), theirs, `key ${JSON.stringify(key)} over ${n}`);
  }
});

test('a producer puts keyed messages on the murmur2 partition of a real broker', async () => {
  const broker = await withBroker();
  try {
    const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueTopic('keys');
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    const producer = kafka.producer();
    await producer.connect();
    const keys = Array.from({ length: 60 }, (_, i) => `customer-${i}`);
    const results = await producer.send({ topic, messages: keys.map((key) => ({ key, value: key })) });
    const perPartition = new Map<number, number>();
    for (const key of keys) perPartition.set(partitionForKey(key, 6), (perPartition.get(partitionForKey(key, 6)) ?? 0) + 1);
    assert.equal(results.length, perPartition.size);
    const offsets = await admin.fetchTopicOffsets(topic);
    for (const o of offsets) assert.equal(Number(o.high), perPartition.get(o.partition) ?? 0, `partition ${o.partition}`);
    await producer.disconnect();
    await admin.disconnect();
  } finally {
    await broker.stop();
  }
});

test('LegacyPartitioner places keys as kafkajs 1.x did (kafkajs 2 LegacyPartitioner)', async () => {
  const { Partitioners } = await import('../../src/client/index.js');
  const ours = Partitioners.LegacyPartitioner();
  const theirs = KafkajsPartitioners.LegacyPartitioner();
  let differsFromJava = 0;
  for (let i = 0; i < 300; i++) {
    const key = i % 2 ? `order-${i}-${randomBytes(3).toString('hex')}` : randomBytes(1 + (i % 33));
    const n = 1 + (i % 24);
    const partitionMetadata = Array.from({ length: n }, (_, p) => ({ partitionId: p, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
    const expected = theirs({ topic: 't', partitionMetadata, message: { key, value: 'v' } });
    assert.equal(ours({ topic: 't', partitionMetadata, message: { key } }), expected, `key ${key.toString()} over ${n}`);
    if (expected !== partitionForKey(key, n)) differsFromJava++;
  }
  assert.ok(differsFromJava > 0, 'the legacy hash is not the Java one');
});
