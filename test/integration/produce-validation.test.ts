// What a producer sends is checked as Kafka checks it before anything is stored: batches whose
// header and records disagree, compressed bodies that do not decompress, decompression bombs in
// old-format message sets, and writes to Kafka's internal topic names. Exact requests over real
// TCP (test/raw-client.ts) against a real broker; after each refusal the log has not moved and
// the broker still serves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { withBroker, uniqueTopic } from '../helpers.js';
import { RawConnection, type Message } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { Codec } from '../../src/protocol/compression.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeMessage } from '../../src/protocol/legacy.js';
import { BATCH_HEADER_SIZE, batchCrc, encodeBatch, encodeBatchCompressed, type BatchInput } from '../../src/protocol/records.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
let c: RawConnection;
before(async () => {
  broker = await withBroker();
  c = await RawConnection.connect(broker.port);
});
after(async () => {
  c.close();
  await broker.stop();
});

const produceBody = (topic: string, records: Buffer, acks = -1): Message =>
  ({ transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
const result = (res: Message): Message => res.responses[0].partitionResponses[0];
let correlation = 1000;
async function produce(topic: string, records: Buffer, version = 7, conn = c): Promise<Message> {
  return result(await conn.request(ApiKey.Produce, version, produceBody(topic, records), correlation++));
}
async function logEnd(topic: string): Promise<number> {
  const res = await c.request(ApiKey.ListOffsets, 1, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1 }] }] }, correlation++);
  return Number(res.topics[0].partitions[0].offset);
}
async function freshTopic(base: string): Promise<string> {
  const topic = uniqueTopic(base);
  await broker.broker.topics.create(topic, 1);
  return topic;
}
/** A copy of `batch` with the header field at `at` (int32) set to `value` and the CRC made right again. */
function patched(batch: Buffer, edits: [at: number, value: number][]): Buffer {
  const b = Buffer.from(batch);
  for (const [at, value] of edits) b.writeInt32BE(value, at);
  b.writeUInt32BE(batchCrc(b), 17);
  return b;
}
const LAST_OFFSET_DELTA = 23;
const RECORD_COUNT = 57;

test('a batch whose record count, lastOffsetDelta and records disagree is INVALID_RECORD and moves nothing', async () => {
  const topic = await freshTopic('disagree');
  const one = encodeBatch({ records: [{ value: 'x' }] });
  // The 80-byte request of the issue: one record claiming a last offset delta of 2^31 - 1.
  const far = patched(one, [[LAST_OFFSET_DELTA, 2 ** 31 - 1]]);
  assert.equal((await produce(topic, far)).errorCode, ErrorCode.INVALID_RECORD);
  // A count and delta that agree with each other but not with the one record inside.
  assert.equal((await produce(topic, patched(one, [[LAST_OFFSET_DELTA, 2], [RECORD_COUNT, 3]]))).errorCode, ErrorCode.INVALID_RECORD);
  // Two records where the header says one: bytes left after the last record.
  const two = encodeBatch({ records: [{ value: 'a' }, { value: 'b' }] });
  assert.equal((await produce(topic, patched(two, [[LAST_OFFSET_DELTA, 0], [RECORD_COUNT, 1]]))).errorCode, ErrorCode.INVALID_RECORD);
  // Offset deltas are the broker's to give: 0, 5 is refused (the second record's delta byte patched).
  const picked = Buffer.from(two);
  const second = BATCH_HEADER_SIZE + 1 + (picked[BATCH_HEADER_SIZE] >> 1); // after record 0 (1-byte length)
  assert.equal(picked[second + 3], 2, 'record 1: length, attributes, timestamp delta 0, offset delta 1');
  picked[second + 3] = 10; // zigzag 5
  picked.writeUInt32BE(batchCrc(picked), 17);
  assert.equal((await produce(topic, picked)).errorCode, ErrorCode.INVALID_RECORD);
  assert.equal(await logEnd(topic), 0, 'nothing was stored');
  const ok = await produce(topic, two);
  assert.deepEqual([ok.errorCode, Number(ok.baseOffset)], [ErrorCode.NONE, 0]);
  assert.equal(await logEnd(topic), 2);
});

test('a batch flagged compressed whose body does not decompress is CORRUPT_MESSAGE; readers keep working', async () => {
  const topic = await freshTopic('undecompressable');
  for (const codec of [Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    // Plain records under a codec flag: the body is no gzip/snappy/lz4/zstd data.
    const liar = encodeBatch({ records: [{ value: 'not compressed at all' }], attributes: codec });
    assert.equal((await produce(topic, liar)).errorCode, ErrorCode.CORRUPT_MESSAGE, `codec ${codec}`);
  }
  // A body that decompresses, to records that disagree with the header.
  const gz = await encodeBatchCompressed({ records: [{ value: 'a' }, { value: 'b' }] }, Codec.gzip);
  assert.equal((await produce(topic, patched(gz, [[LAST_OFFSET_DELTA, 2], [RECORD_COUNT, 3]]))).errorCode, ErrorCode.INVALID_RECORD);
  assert.equal(await logEnd(topic), 0);
  // Good compressed batches of every codec are stored as sent.
  for (const codec of [Codec.gzip, Codec.snappy, Codec.lz4, Codec.zstd]) {
    const good = await encodeBatchCompressed({ records: [{ value: `v${codec}`, timestamp: 1_700_000_000_000 + codec }] }, codec);
    assert.equal((await produce(topic, good)).errorCode, ErrorCode.NONE, `codec ${codec}`);
  }
  // ListOffsets by timestamp decompresses stored batches: it answers (no closed connection).
  const byTime = await c.request(ApiKey.ListOffsets, 4, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: 1_700_000_000_002 }] }],
  }, correlation++);
  assert.deepEqual([byTime.topics[0].partitions[0].errorCode, Number(byTime.topics[0].partitions[0].offset)], [0, 1]);
});

test('appends start in request order while compressed batches are being checked', async () => {
  const topic = await freshTopic('order');
  // Pipelined on one connection: a compressed batch (checked asynchronously) then a plain one.
  const compressed = await encodeBatchCompressed({ records: Array.from({ length: 2000 }, (_, i) => ({ value: `compressed ${i}`.repeat(20) })) }, Codec.gzip);
  const plain = encodeBatch({ records: [{ value: 'plain' }] });
  c.write(RawConnection.frame(ApiKey.Produce, 7, 1, produceBody(topic, compressed)));
  c.write(RawConnection.frame(ApiKey.Produce, 7, 2, produceBody(topic, plain)));
  const first = await c.response(ApiKey.Produce, 7);
  const second = await c.response(ApiKey.Produce, 7);
  assert.deepEqual([first.correlationId, Number(result(first.body).baseOffset)], [1, 0]);
  assert.deepEqual([second.correlationId, Number(result(second.body).baseOffset)], [2, 2000]);
});

/** A Produce v2 message set: one v1 wrapper compressed with gzip around `inner`. */
function gzipWrapper(inner: Buffer[]): Buffer {
  return encodeMessage({ offset: inner.length - 1, magic: 1, attributes: Codec.gzip, timestamp: 1, value: gzipSync(Buffer.concat(inner), { level: 9 }) });
}

test('old-format compressed message sets are capped when decompressed (MESSAGE_TOO_LARGE), one wrapper or many', async () => {
  const topic = await freshTopic('bomb');
  // 64 MiB of zeros in one inner message: ~64 KB on the wire, past 32 × max.message.bytes.
  const bomb = gzipWrapper([encodeMessage({ offset: 0, magic: 1, timestamp: 1, value: Buffer.alloc(64 * 1024 * 1024) })]);
  assert.ok(bomb.length < 200 * 1024);
  assert.equal((await produce(topic, bomb, 2)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  // Twenty wrappers of 2 MiB each: every one is small, together they pass the cap.
  const piece = gzipWrapper([encodeMessage({ offset: 0, magic: 1, timestamp: 1, value: Buffer.alloc(2 * 1024 * 1024) })]);
  assert.equal((await produce(topic, Buffer.concat(Array.from({ length: 20 }, () => piece)), 2)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  assert.equal(await logEnd(topic), 0);
  // A v2 batch is capped the same way.
  const v2bomb = await encodeBatchCompressed({ records: [{ value: Buffer.alloc(40 * 1024 * 1024) }] } satisfies BatchInput, Codec.gzip);
  assert.equal((await produce(topic, v2bomb)).errorCode, ErrorCode.MESSAGE_TOO_LARGE);
  // Below the cap, old-format compressed messages are converted and stored.
  const fine = gzipWrapper([0, 1, 2].map((i) => encodeMessage({ offset: i, magic: 1, timestamp: 1, value: Buffer.from(`m${i}`) })));
  const ok = await produce(topic, fine, 2);
  assert.deepEqual([ok.errorCode, Number(ok.baseOffset)], [ErrorCode.NONE, 0]);
  assert.equal(await logEnd(topic), 3);
});

test("Kafka's internal topic names cannot be created, auto-created or produced to", async () => {
  const create = async (name: string) => (await c.request(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false,
  }, correlation++)).topics[0];
  // __consumer_offsets always exists (an internal topic Metadata lists): TOPIC_ALREADY_EXISTS, as Kafka answers.
  assert.equal((await create('__consumer_offsets')).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.equal((await create('__transaction_state')).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.equal((await create('__cluster_metadata')).errorCode, ErrorCode.INVALID_REQUEST);
  // Kafka reserves these names, not the prefix: `__` topics of one's own are fine.
  const own = `__own-${uniqueTopic()}`;
  assert.equal((await create(own)).errorCode, ErrorCode.NONE);

  const metadata = await c.request(ApiKey.Metadata, 9, {
    topics: [{ name: '__transaction_state' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  }, correlation++);
  // Unknown until a transaction used it, as Kafka answers before it creates it.
  assert.deepEqual([metadata.topics[0].errorCode, metadata.topics[0].isInternal], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true]);
  assert.equal(broker.broker.storage.topic('__transaction_state'), undefined, 'not auto-created');

  const batch = encodeBatch({ records: [{ value: 'forged commit' }] });
  assert.equal((await produce('__consumer_offsets', batch)).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  // Even a topic of that name left in a data dir from before (made here straight in storage).
  await broker.broker.storage.createTopic('__consumer_offsets', 1, {});
  assert.equal((await produce('__consumer_offsets', batch)).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  assert.equal((await produce(own, batch)).errorCode, ErrorCode.NONE);
});
