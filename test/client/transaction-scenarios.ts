// Transaction scenarios for Fjord's client, written once and run against a real Fjord broker
// (test/client/transactions.test.ts) and against Apache Kafka (test/conformance/
// fjord-client-apache-kafka.test.ts), so both brokers are held to the same answers.
import assert from 'node:assert/strict';
import type { Kafka, KafkaMessage } from '../../src/client/index.js';
import { eventually, uniqueTopic } from '../helpers.js';

/** Reads every message of `topic` from the beginning (a throw-away group) until `expect` arrived, then a little longer. */
export async function readAll(kafka: Kafka, topic: string, readUncommitted: boolean, expect: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueTopic('txn-reader'), readUncommitted, maxWaitTimeInMs: 100 });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { seen.push(message); } });
  try {
    await eventually(() => seen.length >= expect, 20000, `${expect} messages of ${topic} (read ${readUncommitted ? 'uncommitted' : 'committed'})`);
    // Anything beyond what was expected would be a bug: give it a moment to show up.
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

const values = (ms: KafkaMessage[]) => ms.map((m) => m.value?.toString()).sort();

/** Commit one transaction and abort another: read_committed sees the first only, offsets move at commit. */
export async function commitAndAbort(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('txn-out');
  const groupId = uniqueTopic('txn-group');
  const input = uniqueTopic('txn-in');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }, { topic: input, numPartitions: 1 }] });
  const producer = kafka.producer({ transactionalId: uniqueTopic('txn-id'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const committed = await producer.transaction();
    assert.equal(committed.isActive(), true);
    await committed.send({ topic, messages: [{ key: 'a', value: 'c1' }, { key: 'b', value: 'c2' }] });
    await committed.sendBatch({ topicMessages: [{ topic, messages: [{ key: 'c', value: 'c3' }] }] });
    await committed.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '42' }] }] });
    await assert.rejects(producer.transaction(), /already an ongoing transaction/);
    await committed.commit();
    assert.equal(committed.isActive(), false);
    await assert.rejects(committed.send({ topic, messages: [{ value: 'late' }] }), /once ended/);

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'a', value: 'x1' }, { key: 'd', value: 'x2' }] });
    await aborted.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '99' }] }] });
    await aborted.abort();

    // An empty transaction commits without asking the broker anything.
    await (await producer.transaction()).commit();

    assert.deepEqual(values(await readAll(kafka, topic, false, 3)), ['c1', 'c2', 'c3']);
    assert.deepEqual(values(await readAll(kafka, topic, true, 5)), ['c1', 'c2', 'c3', 'x1', 'x2']);
    const offsets = await admin.fetchOffsets({ groupId, topics: [input] });
    assert.equal(offsets[0].partitions[0].offset, '42');
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

/** A second producer with the same transactional id fences the first: its sends and commit fail. */
export async function zombieFencing(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('txn-zombie');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const transactionalId = uniqueTopic('txn-shared-id');
  const old = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, retry: { retries: 2, initialRetryTime: 50 } });
  const fresh = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await old.connect();
  await fresh.connect();
  try {
    const zombie = await old.transaction();
    await zombie.send({ topic, messages: [{ value: 'zombie-1' }] });
    // The new instance takes over the id: the zombie's open transaction is aborted.
    const live = await fresh.transaction();
    await live.send({ topic, messages: [{ value: 'live-1' }] });
    await live.commit();
    await assert.rejects(async () => {
      await zombie.send({ topic, messages: [{ value: 'zombie-2' }] });
      await zombie.commit();
    }, (err: Error & { type?: string }) => /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/.test(`${err.type} ${err.message}`));
    assert.deepEqual(values(await readAll(kafka, topic, false, 1)), ['live-1']);
  } finally {
    await old.disconnect().catch(() => undefined);
    await fresh.disconnect();
    await admin.disconnect();
  }
}

/**
 * Transactional offsets against plain commits of the same group: a plain commit made while a
 * transactional one is pending wins at commit; one made before loses; a group deleted meanwhile
 * gets nothing.
 */
export async function offsetsAgainstPlainCommits(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const input = uniqueTopic('txn-offsets-in');
  const groupId = uniqueTopic('txn-offsets-group');
  await admin.createTopics({ topics: [{ topic: input, numPartitions: 1 }] });
  const producer = kafka.producer({ transactionalId: uniqueTopic('txn-offsets-id'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const committed = async () => (await admin.fetchOffsets({ groupId, topics: [input] }))[0].partitions[0].offset;
  // Kafka answers EndTxn before its markers reach __consumer_offsets: poll for the outcome.
  const settlesAt = async (want: string, what: string) => {
    await eventually(async () => (await committed()) === want, 10000, what).catch(async () => {
      assert.equal(await committed(), want, what);
    });
  };
  const txnOffsets = (offset: string) => ({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset }] }] });
  try {
    await admin.setOffsets({ groupId, topic: input, partitions: [{ partition: 0, offset: '5' }] });
    const first = await producer.transaction();
    await first.sendOffsets(txnOffsets('42'));
    await admin.setOffsets({ groupId, topic: input, partitions: [{ partition: 0, offset: '7' }] });
    await first.commit();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await committed(), '7', 'the plain commit made after the transactional one wins');

    const second = await producer.transaction();
    await second.sendOffsets(txnOffsets('50'));
    await second.commit();
    await settlesAt('50', 'a transactional commit after the plain one wins');

    const third = await producer.transaction();
    await third.sendOffsets(txnOffsets('60'));
    await admin.deleteGroups([groupId]);
    await third.commit();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await committed(), '-1', 'a group deleted during the transaction gets none of its offsets');
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}
