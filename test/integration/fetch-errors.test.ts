// A Fetch whose partition has an error is answered at once, whatever maxWaitMs says (as Kafka
// does). Found by segmentio/kafka-go's own TestConn "unchecked seeks ...": its Conn sends a huge
// maxWaitMs and hung forever waiting for OFFSET_OUT_OF_RANGE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker, uniqueTopic } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => { broker = await withBroker(); });
after(async () => { await broker.stop(); });

const fetchBody = (partitions: { topic: string; fetchOffset: number }[], maxWaitMs: number) => ({
  replicaId: -1, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: partitions.map((p) => ({ topic: p.topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: p.fetchOffset, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] })),
  forgottenTopicsData: [], rackId: '',
});

test('Fetch past the end answers OFFSET_OUT_OF_RANGE at once, even with a long maxWaitMs', async () => {
  const topic = uniqueTopic('fetch-oor');
  const other = uniqueTopic('fetch-oor-idle');
  await broker.broker.topics.create(topic, 1);
  await broker.broker.topics.create(other, 1);
  const c = await RawConnection.connect(broker.port);
  const produced = await c.request(ApiKey.Produce, 7, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeBatch({ records: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) }) }] }],
  });
  assert.equal(produced.responses[0].partitionResponses[0].errorCode, 0);

  for (const version of [2, 5, 10, 11]) {
    const t0 = Date.now();
    // One partition out of range, one idle partition with nothing to read: no waiting either way.
    const res = await c.request(ApiKey.Fetch, version, fetchBody([{ topic, fetchOffset: 42 }, { topic: other, fetchOffset: 0 }], 60_000), version);
    const took = Date.now() - t0;
    assert.ok(took < 2000, `Fetch v${version} took ${took} ms`);
    const p = res.responses[0].partitions[0];
    assert.equal(p.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, `v${version}`);
    assert.equal(p.highWatermark, 10);
  }
  c.close();
});
