// The probes of kafka-behaviour-probes.ts against Apache Kafka 4.1 (KRaft, one node) and against
// Fjord in the same test: the answers a client notices must be the same, except for the
// differences docs/compatibility.md lists ("Where Fjord answers otherwise than Kafka 4.1"), which
// are asserted here as they are so that a change on either side shows. Needs Java; slow, so not
// part of npm test:
//   node --import tsx --test test/conformance/kafka-behaviour-kafka.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, startKafka } from '../../scripts/kafka-dist.mjs';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { uniqueTopic, withBroker } from '../helpers.js';
import * as probe from './kafka-behaviour-probes.js';

type Seen = Record<string, unknown>;

async function observe(address: string, topic: string): Promise<Seen> {
  const { byName, inList } = await probe.consumerOffsetsListed(address);
  const shape = (t: probe.Message) => ({ errorCode: t.errorCode, isInternal: t.isInternal, hasPartitions: t.partitions.length > 0 });
  return {
    listed: { byName: shape(byName), inList: shape(inList) },
    auto: await probe.autoCreation(address, `${topic}-auto`),
    autoV3: await probe.autoCreation(address, `${topic}-auto3`, 3),
    errors: await probe.createTopicsErrors(address, `${topic}-errs`),
    zstd: await probe.zstdFetch(address, `${topic}-zstd`),
    minInsync: Object.fromEntries(Object.entries(await probe.minInsyncReplicas(address, `${topic}-errs`, '1')).map(([k, v]) => [k, (v as { value: string }).value])),
    reads: await probe.consumerOffsetsReads(address),
    transactionState: ((t) => ({ errorCode: t.errorCode, isInternal: t.isInternal }))((await probe.metadata(address, ['__transaction_state'], false)).topics[0]),
    // Last: Kafka deletes __consumer_offsets when asked.
    offsetsTopic: await probe.consumerOffsetsRequests(address),
  };
}

test('what clients notice: Fjord answers as Apache Kafka 4.1, except the documented differences', { timeout: 600000 }, async () => {
  const dist = await ensureKafka({ quiet: true });
  const kafka = await startKafka({ dist, heap: '512M', quiet: true }) as { bootstrap: string; stop(): Promise<void> };
  const fjord = await withBroker();
  try {
    const topic = uniqueTopic('behaviour');
    const fromKafka = await observe(kafka.bootstrap, topic);
    const fromFjord = await observe(fjord.address, topic);
    // The documented differences, as each broker answers.
    assert.deepEqual(fromKafka.zstd, { 'zstd-v9': 0, 'zstd-v10': 0, 'producer-v9': 0, 'producer-v10': 0 }, 'Kafka 4.1 serves zstd to Fetch v4-9');
    assert.deepEqual(fromFjord.zstd, { 'zstd-v9': ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'zstd-v10': 0, 'producer-v9': 0, 'producer-v10': 0 }, 'Fjord keeps KIP-110\'s refusal');
    const offsetsK = fromKafka.offsetsTopic as Seen;
    const offsetsF = fromFjord.offsetsTopic as Seen;
    assert.equal(offsetsK.deleteTopics, ErrorCode.NONE, 'Kafka 4.1 deletes __consumer_offsets');
    assert.equal(offsetsF.deleteTopics, ErrorCode.TOPIC_DELETION_DISABLED);
    assert.equal(offsetsF.createPartitions, ErrorCode.INVALID_REQUEST);
    assert.equal(offsetsK.createPartitions, ErrorCode.NONE, 'Kafka 4.1 would grow __consumer_offsets');
    // Auto-creation: Kafka answers the creating request UNKNOWN_TOPIC_OR_PARTITION, Fjord with the topic.
    for (const key of ['auto', 'autoV3'] as const) {
      const k = fromKafka[key] as Seen;
      const f = fromFjord[key] as Seen;
      assert.deepEqual(k.first, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partitions: 0, isInternal: false });
      assert.deepEqual(f.first, { errorCode: ErrorCode.NONE, partitions: 1, isInternal: false });
      delete k.first;
      delete f.first;
    }
    // v3 auto-creates whatever the flag: the same first-answer difference on the second name.
    assert.deepEqual((fromKafka.autoV3 as Seen).notAllowed, [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.NONE]);
    assert.deepEqual((fromFjord.autoV3 as Seen).notAllowed, [ErrorCode.NONE, ErrorCode.NONE]);
    delete (fromKafka.autoV3 as Seen).notAllowed;
    delete (fromFjord.autoV3 as Seen).notAllowed;
    for (const seen of [fromKafka, fromFjord]) {
      delete seen.zstd;
      delete (seen.offsetsTopic as Seen).deleteTopics;
      delete (seen.offsetsTopic as Seen).createPartitions;
    }
    // Everything else: the same.
    assert.deepEqual(fromFjord, fromKafka, `Fjord:\n${JSON.stringify(fromFjord, null, 1)}\nKafka:\n${JSON.stringify(fromKafka, null, 1)}`);
  } finally {
    await fjord.stop();
    await kafka.stop();
  }
});
