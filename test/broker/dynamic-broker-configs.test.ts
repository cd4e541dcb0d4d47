// Dynamic broker configs: IncrementalAlterConfigs / AlterConfigs on the broker resource (type 4) for
// the settings marked dynamic in the settings table (the log cleaner's), with Kafka 4.1's answers
// (probed on a one-node Kafka 4.1): the per-broker value, then the cluster default (""), then the
// value the broker started with; DescribeConfigs' source and synonyms; Kafka's errors. The change is
// honoured at once (the cleaner's timer re-armed) and kept across a restart on the same data dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import type { RunningBroker } from '../../src/index.js';
import { RawConnection, type Message } from '../raw-client.js';
import { eventually, kafkaFor, tempDir, withBroker } from '../helpers.js';

const BROKER = 4;
const SET = 0, DELETE = 1, APPEND = 2;
const DYNAMIC_BROKER_CONFIG = 2, DYNAMIC_DEFAULT_BROKER_CONFIG = 3, STATIC_BROKER_CONFIG = 4, DEFAULT_CONFIG = 5;
let correlation = 1;

const alter = (c: RawConnection, name: string, configs: [string, number, string | null][], validateOnly = false) =>
  c.request(44, 1, { resources: [{ resourceType: BROKER, resourceName: name, configs: configs.map(([n, op, value]) => ({ name: n, configOperation: op, value })) }], validateOnly }, correlation++);
const answer = (res: Message) => [res.responses[0].errorCode, res.responses[0].errorMessage];
async function describe(c: RawConnection, key: string): Promise<Message> {
  const res = await c.request(32, 4, { resources: [{ resourceType: BROKER, resourceName: '1', configurationKeys: [key] }], includeSynonyms: true, includeDocumentation: false }, correlation++);
  return res.results[0].configs[0];
}

/** Bytes of partition 0 of `topic` from its first offset: shrinks when the cleaner compacts it. */
async function partitionBytes(broker: RunningBroker, topic: string): Promise<number> {
  const log = broker.broker.storage.partition(topic, 0)!;
  let bytes = 0;
  for (let offset = log.logStartOffset(); offset < log.logEndOffset();) {
    const { chunks } = await log.read(offset, 1 << 20, true);
    if (chunks.length === 0) break;
    for (const chunk of chunks) bytes += chunk.length;
    const last = chunks[chunks.length - 1];
    // next batch: base offset (8 bytes at 0) + lastOffsetDelta (4 bytes at 23) + 1 of the last batch read
    let pos = 0, next = offset;
    while (pos + 61 <= last.length) {
      const len = last.readInt32BE(pos + 8);
      next = Number(last.readBigInt64BE(pos)) + last.readInt32BE(pos + 23) + 1;
      pos += 12 + len;
    }
    offset = next;
  }
  return bytes;
}

test('IncrementalAlterConfigs on the broker: log.cleaner.backoff.ms changes at once, shows as DYNAMIC_BROKER_CONFIG, survives a restart', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const options = { dataDir: dir.path, nodeId: 1, segmentBytes: 4096, logCleanerBackoffMs: 3_600_000 };
  let broker = await withBroker(options);
  try {
    let c = await RawConnection.connect(broker.port);
    const before = await describe(c, 'log.cleaner.backoff.ms');
    assert.deepEqual([before.value, before.readOnly, before.configSource], ['3600000', false, STATIC_BROKER_CONFIG]);
    assert.deepEqual(before.synonyms.map((s: Message) => [s.value, s.source]), [['3600000', STATIC_BROKER_CONFIG], ['15000', DEFAULT_CONFIG]]);
    assert.equal((await describe(c, 'node.id')).readOnly, true);

    // a compacted topic with many versions of each key on small segments; the cleaner waits an hour
    await broker.broker.topics.create('dyn-compacted', 1, { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.01' });
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    for (let round = 0; round < 12; round++) {
      await producer.send({ topic: 'dyn-compacted', acks: -1, messages: Array.from({ length: 25 }, (_, k) => ({ key: `k${k}`, value: `r${round}-${'z'.repeat(60)}` })) });
    }
    await producer.disconnect();
    const full = await partitionBytes(broker, 'dyn-compacted');

    // validateOnly changes nothing
    assert.deepEqual(answer(await alter(c, '1', [['log.cleaner.backoff.ms', SET, '50']], true)), [0, null]);
    assert.equal((await describe(c, 'log.cleaner.backoff.ms')).value, '3600000');
    // the change: taken, honoured without a restart (the cleaner runs within moments, not an hour)
    assert.deepEqual(answer(await alter(c, '1', [['log.cleaner.backoff.ms', SET, '50']])), [0, null]);
    const after = await describe(c, 'log.cleaner.backoff.ms');
    assert.deepEqual([after.value, after.readOnly, after.configSource], ['50', false, DYNAMIC_BROKER_CONFIG]);
    assert.deepEqual(after.synonyms.map((s: Message) => [s.value, s.source]), [['50', DYNAMIC_BROKER_CONFIG], ['3600000', STATIC_BROKER_CONFIG], ['15000', DEFAULT_CONFIG]]);
    await eventually(async () => (await partitionBytes(broker, 'dyn-compacted')) < full / 2, 30000, 'the cleaner compacting after the dynamic change');

    // Kafka 4.1's refusals
    assert.deepEqual(answer(await alter(c, '7', [['log.cleaner.backoff.ms', SET, '100']])), [ErrorCode.INVALID_REQUEST, 'Unexpected broker id, expected 1, but received 7']);
    assert.deepEqual(answer(await alter(c, '1', [['node.id', SET, '9']])), [ErrorCode.INVALID_REQUEST, 'Cannot update these configs dynamically: Set(node.id)']);
    assert.deepEqual(answer(await alter(c, '1', [['log.cleaner.backoff.ms', APPEND, '5']])), [ErrorCode.INVALID_CONFIG, 'Config value append is not allowed for config key: log.cleaner.backoff.ms']);
    const bad = answer(await alter(c, '1', [['log.cleaner.backoff.ms', SET, 'abc']]));
    assert.equal(bad[0], ErrorCode.INVALID_REQUEST);
    assert.match(String(bad[1]), /^Invalid value abc for configuration log\.cleaner\.backoff\.ms: /);
    assert.equal(answer(await alter(c, '1', [['no.such.config', SET, '1']]))[0], ErrorCode.INVALID_CONFIG);
    assert.equal(answer(await alter(c, '1', [['log.cleaner.threads', SET, '2']]))[0], ErrorCode.INVALID_REQUEST);
    assert.equal((await describe(c, 'log.cleaner.backoff.ms')).value, '50');

    // the cluster default sits under the broker's own value; deleting that one shows the default
    assert.deepEqual(answer(await alter(c, '', [['log.cleaner.backoff.ms', SET, '700']])), [0, null]);
    assert.equal((await describe(c, 'log.cleaner.backoff.ms')).value, '50');
    assert.deepEqual(answer(await alter(c, '1', [['log.cleaner.backoff.ms', DELETE, null], ['log.cleaner.io.max.bytes.per.second', SET, '1000000']])), [0, null]);
    const fallback = await describe(c, 'log.cleaner.backoff.ms');
    assert.deepEqual([fallback.value, fallback.configSource], ['700', DYNAMIC_DEFAULT_BROKER_CONFIG]);
    assert.equal(broker.broker.config.logCleanerIoMaxBytesPerSecond, 1_000_000);
    c.socket.destroy();

    // kept across a restart on the same data dir
    await broker.stop();
    broker = await withBroker(options);
    c = await RawConnection.connect(broker.port);
    assert.equal((await describe(c, 'log.cleaner.backoff.ms')).value, '700');
    assert.equal((await describe(c, 'log.cleaner.io.max.bytes.per.second')).configSource, DYNAMIC_BROKER_CONFIG);
    // AlterConfigs (not incremental) replaces the broker's whole set: the io bound goes back
    const replaced = await c.request(33, 2, { resources: [{ resourceType: BROKER, resourceName: '1', configs: [{ name: 'log.cleaner.dedupe.buffer.size', value: '2097152' }] }], validateOnly: false }, correlation++);
    assert.equal(replaced.responses[0].errorCode, 0);
    assert.equal((await describe(c, 'log.cleaner.io.max.bytes.per.second')).configSource, DEFAULT_CONFIG);
    assert.equal(broker.broker.config.logCleanerIoMaxBytesPerSecond, Number.MAX_VALUE);
    assert.equal(broker.broker.config.logCleanerDedupeBufferSize, 2_097_152);
    c.socket.destroy();
  } finally {
    await broker.stop();
    dir.remove();
  }
});
