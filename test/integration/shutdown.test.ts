// Stopping a broker while requests are in flight, through real TCP: it takes no new request, lets
// the ones it took finish against open storage and answers them, then closes. A DeleteTopics of
// two topics that is half way when stop() begins is answered (both deleted), with no ERROR logged.
// And a request that waits in its handler (a long-polling Fetch) holds no share of
// queued.max.request.bytes once decoded, unless it keeps bytes of its frame (Produce, JoinGroup, SyncGroup).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { createLogger } from '../../src/index.js';

const createTopic = (name: string) => ({
  topics: [{ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false,
});

test('stop() during a DeleteTopics: the request finishes and is answered, storage closes after it, nothing is logged as ERROR', async () => {
  const dir = tempDir();
  const lines: string[] = [];
  const logger = createLogger('warn', (l) => lines.push(l));
  let running = await withBroker({ dataDir: dir.path, logger });
  const c = await RawConnection.connect(running.port);
  const [a, b] = [uniqueTopic('stop-a'), uniqueTopic('stop-b')];
  try {
    for (const [i, name] of [a, b].entries()) {
      assert.equal((await c.request(ApiKey.CreateTopics, 4, createTopic(name), 1 + i)).topics[0].errorCode, ErrorCode.NONE);
    }
    // Start stopping the broker the moment the first deletion reaches storage.
    const storage = running.broker.storage;
    const deleteTopic = storage.deleteTopic.bind(storage);
    let stopping: Promise<void> | null = null;
    storage.deleteTopic = (name: string) => {
      const deleting = deleteTopic(name);
      stopping ??= running.stop();
      return deleting;
    };
    c.write(RawConnection.frame(ApiKey.DeleteTopics, 4, 10, { topicNames: [a, b], timeoutMs: 5000 }));
    const answered = await Promise.race([c.response(ApiKey.DeleteTopics, 4), c.closed.then(() => null)]);
    assert.ok(answered, 'the connection was closed without an answer');
    assert.equal(answered.correlationId, 10);
    assert.deepEqual(answered.body.responses.map((r: { name: string; errorCode: number }) => [r.name, r.errorCode]), [[a, ErrorCode.NONE], [b, ErrorCode.NONE]]);
    assert.ok(stopping, 'stop() began during the request');
    await stopping;
    await c.closed; // closed by the broker once the answer went out
    assert.deepEqual(lines.filter((l) => / ERROR /.test(l)), []);

    // Both deletions are on disk.
    running = await withBroker({ dataDir: dir.path });
    assert.equal(running.broker.storage.topic(a), undefined);
    assert.equal(running.broker.storage.topic(b), undefined);
  } finally {
    c.close();
    await running.stop();
    dir.remove();
  }
});

test('a long-polling Fetch gives its frame back to queued.max.request.bytes once decoded: other connections are served meanwhile', async () => {
  const budget = 4096;
  const running = await withBroker({ queuedMaxRequestBytes: budget });
  const [poller, other] = await Promise.all([RawConnection.connect(running.port), RawConnection.connect(running.port)]);
  try {
    const topic = uniqueTopic('poll');
    assert.equal((await other.request(ApiKey.CreateTopics, 4, createTopic(topic), 1)).topics[0].errorCode, ErrorCode.NONE);
    // A Fetch frame larger than the whole budget (a long client id) waiting up to 3 s for records.
    const fetch = {
      replicaId: -1, maxWaitMs: 3000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }],
    };
    const frame = RawConnection.frame(ApiKey.Fetch, 4, 7, fetch, 'c'.repeat(2 * budget));
    assert.ok(frame.length > budget);
    poller.write(frame);
    let fetched = false;
    const fetchAnswered = poller.response(ApiKey.Fetch, 4).then((r) => { fetched = true; return r; });
    const stats = () => running.broker.server.requestBudget.stats();
    await eventually(() => stats().peak >= frame.length - 4, 5000, 'the Fetch frame reserved');
    // Decoded, it holds nothing of its frame: the reservation goes although the poll goes on.
    await eventually(() => stats().inUse === 0 || fetched, 5000, 'the reservation given back or the Fetch answered');
    assert.equal(fetched, false, 'the Fetch frame stayed reserved until its answer');
    // So a frame on another connection fits while the Fetch waits.
    const m = await other.request(ApiKey.ApiVersions, 0, {}, 2);
    assert.equal(m.errorCode, ErrorCode.NONE);
    assert.equal(fetched, false, 'ApiVersions was served only after the long poll ended');
    // Produce, JoinGroup and SyncGroup keep parts of their frame (records, metadata): theirs stays reserved until answered.
    const r = await fetchAnswered;
    assert.equal(r.correlationId, 7);
  } finally {
    poller.close();
    other.close();
    await running.stop();
  }
});
