// Bounded memory on the connection side, through real TCP: the broker-wide budget of request
// bytes (queued.max.request.bytes), idle and stuck connections (connections.max.idle.ms), the
// broker's cap on Fetch responses (fetch.max.bytes), one budget for every partition's tail cache
// (--tail-cache-bytes), and AlterConfigs racing DeleteTopics. Assertions are on behaviour and on
// the broker's own accounting, never on timing or RSS.
import { test } from 'node:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { eventually, tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch, iterateBatches } from '../../src/protocol/records.js';
import type { FilePartitionLog } from '../../src/storage/file/partition-log.js';

const KiB = 1024;
const sizePrefix = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const produceBody = (topic: string, records: Buffer, partition = 0) => ({
  transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
});
const fetchBody = (topic: string, fetchOffset: number, maxBytes: number, maxWaitMs = 0) => ({
  replicaId: -1, maxWaitMs, minBytes: 1, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset, logStartOffset: -1, partitionMaxBytes: maxBytes }] }],
  forgottenTopicsData: [], rackId: '',
});
const batchOf = (bytes: number, tag = 'x') => encodeBatch({ records: [{ value: Buffer.alloc(bytes, tag) }] });
/** Resolves true if `c` closed within `ms`, false if it is still open then (not a timing assertion: a bound on waiting). */
const closedWithin = (c: RawConnection, ms: number) =>
  Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

test('queued.max.request.bytes: frames are counted in full from their size; over the budget, sockets are not read until requests finish', async () => {
  const running = await withBroker({ queuedMaxRequestBytes: 1024 * KiB, maxRequestBytes: 4096 * KiB, connectionsMaxIdleMs: -1 });
  const budget = running.broker.server.requestBudget;
  try {
    const topic = uniqueTopic('budget');
    await running.broker.topics.create(topic, 1, { 'max.message.bytes': String(2048 * KiB) });
    // Three connections each start a 300 KiB frame and send a third of it: 900 KiB reserved.
    const stalled: RawConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawConnection.connect(running.port);
      const frame = RawConnection.frame(ApiKey.Produce, 7, 1, produceBody(topic, batchOf(300 * KiB - 200)));
      c.write(frame.subarray(0, 100 * KiB));
      stalled.push(c);
    }
    await eventually(() => budget.stats().inUse >= 3 * 300 * KiB - 3 * KiB, 5000, 'three frames reserved');
    // A fourth, whole 300 KiB Produce does not fit: it waits, and is not read meanwhile.
    const waiting = await RawConnection.connect(running.port);
    waiting.write(RawConnection.frame(ApiKey.Produce, 7, 7, produceBody(topic, batchOf(300 * KiB - 200, 'w'))));
    await eventually(() => budget.stats().waiting === 1, 5000, 'the fourth frame to wait');
    assert.ok(budget.stats().inUse <= 1024 * KiB, `in use ${budget.stats().inUse}`);
    // A small request also waits its turn behind it (first come, first served).
    const small = await RawConnection.connect(running.port);
    small.write(RawConnection.frame(ApiKey.ApiVersions, 0, 9, {}));
    await eventually(() => budget.stats().waiting === 2, 5000, 'the small frame to wait');
    // One stalled client finishes its frame: it is answered, and the waiting ones go on.
    stalled[0].write(RawConnection.frame(ApiKey.Produce, 7, 1, produceBody(topic, batchOf(300 * KiB - 200))).subarray(100 * KiB));
    assert.equal((await stalled[0].response(ApiKey.Produce, 7)).body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    const r = await waiting.response(ApiKey.Produce, 7);
    assert.equal(r.correlationId, 7);
    assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    assert.equal((await small.response(ApiKey.ApiVersions, 0)).correlationId, 9);
    // Closing the others gives back what their unfinished frames held.
    for (const c of stalled.slice(1)) c.close();
    await eventually(() => budget.stats().inUse === 0 && budget.stats().waiting === 0, 5000, 'the budget to empty');
    assert.ok(budget.stats().peak <= 1024 * KiB, `peak ${budget.stats().peak} above the budget`);
    // A frame larger than the whole budget (but within socket.request.max.bytes) is read alone.
    const big = await RawConnection.connect(running.port);
    const res = await big.request(ApiKey.Produce, 7, produceBody(topic, batchOf(1500 * KiB)));
    assert.equal(res.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    for (const c of [waiting, small, big, stalled[0]]) c.close();
  } finally {
    await running.stop();
  }
});

test('connections.max.idle.ms: silent connections and unfinished frames are closed; a long poll or a busy client is not', async () => {
  const running = await withBroker({ connectionsMaxIdleMs: 400, queuedMaxRequestBytes: 1024 * KiB });
  const budget = running.broker.server.requestBudget;
  try {
    const topic = uniqueTopic('idle');
    await running.broker.topics.create(topic, 1);
    const silent = await RawConnection.connect(running.port);
    const partial = await RawConnection.connect(running.port);
    partial.write(sizePrefix(800 * KiB));
    partial.write(Buffer.alloc(1000));
    // A frame trickled a byte at a time does not keep its reservation forever either.
    const trickle = await RawConnection.connect(running.port);
    trickle.write(sizePrefix(100 * KiB));
    const drip = setInterval(() => { if (!trickle.isClosed) trickle.write(Buffer.alloc(1)); }, 50);
    const polling = await RawConnection.connect(running.port);
    const poll = polling.request(ApiKey.Fetch, 11, fetchBody(topic, 0, 1 << 20, 1500));
    const busy = await RawConnection.connect(running.port);
    let busyAnswers = 0;
    const keepBusy = (async () => {
      for (let i = 0; i < 20 && !busy.isClosed; i++) {
        await busy.request(ApiKey.ApiVersions, 0, {}, i);
        busyAnswers++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await eventually(() => budget.stats().inUse >= 900 * KiB, 5000, 'the unfinished frames to be reserved');
    await Promise.all([silent.closed, partial.closed, trickle.closed]);
    clearInterval(drip);
    await eventually(() => budget.stats().inUse === 0, 5000, 'the unfinished frames to be given back');
    const fetched = await poll; // answered after its wait, though it was quiet for longer than the idle time
    assert.equal(fetched.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    await keepBusy;
    assert.equal(busyAnswers, 20);
    assert.equal(busy.isClosed, false);
    // And the broker still serves new clients.
    const fresh = await RawConnection.connect(running.port);
    assert.equal((await fresh.request(ApiKey.ApiVersions, 0, {})).errorCode, ErrorCode.NONE);
    for (const c of [polling, busy, fresh]) c.close();
  } finally {
    await running.stop();
  }
});

test('fetch.max.bytes caps a Fetch response whatever maxBytes the client sends (the first batch still goes out whole)', async () => {
  const running = await withBroker({ fetchMaxBytes: 64 * KiB });
  try {
    const topic = uniqueTopic('fetch-cap');
    await running.broker.topics.create(topic, 1);
    const c = await RawConnection.connect(running.port);
    for (let i = 0; i < 10; i++) {
      const r = await c.request(ApiKey.Produce, 7, produceBody(topic, batchOf(20 * KiB)), 100 + i);
      assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
    const res = await c.request(ApiKey.Fetch, 11, fetchBody(topic, 0, 50 * 1024 * KiB), 200);
    const records: Buffer = res.responses[0].partitions[0].records;
    const batches = [...iterateBatches(records)];
    assert.ok(records.length <= 64 * KiB, `got ${records.length} bytes`);
    assert.equal(batches.length, 3);
    // v0-2 have no maxBytes field: the broker's cap applies to them too.
    const old = await c.request(ApiKey.Fetch, 2, { replicaId: -1, maxWaitMs: 0, minBytes: 1, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 50 * 1024 * KiB }] }] }, 201);
    assert.ok(old.responses[0].partitions[0].records.length <= 64 * KiB);
    // A batch larger than the cap is still served, alone.
    await c.request(ApiKey.Produce, 7, produceBody(topic, batchOf(100 * KiB)), 300);
    const one = await c.request(ApiKey.Fetch, 11, fetchBody(topic, 10, 50 * 1024 * KiB), 301);
    assert.equal([...iterateBatches(one.responses[0].partitions[0].records)].length, 1);
    c.close();
  } finally {
    await running.stop();
  }
});

test('--tail-cache-bytes bounds the tail caches of all partitions together; evicted data is read from disk', async () => {
  const dir = tempDir('fjord-tail-');
  const running = await withBroker({ dataDir: dir.path, flush: 'os', tailCacheBytes: 1024 * KiB });
  try {
    const topic = uniqueTopic('tail');
    const partitions = 40;
    await running.broker.topics.create(topic, partitions);
    const c = await RawConnection.connect(running.port);
    const pinned = () => {
      let sum = 0;
      for (let p = 0; p < partitions; p++) sum += (running.broker.storage.partition(topic, p) as FilePartitionLog).tailCacheStats().pinnedBytes;
      return sum;
    };
    let id = 1;
    for (let round = 0; round < 3; round++) {
      for (let p = 0; p < partitions; p++) {
        const r = await c.request(ApiKey.Produce, 7, produceBody(topic, batchOf(100 * KiB, String.fromCharCode(97 + round)), p), id++);
        assert.equal(r.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
        assert.ok(pinned() <= 1024 * KiB, `tail caches pin ${pinned()} bytes`);
      }
    }
    assert.ok(pinned() > 0, 'the newest appends are cached');
    // The oldest data, long evicted, comes back from disk intact.
    const res = await c.request(ApiKey.Fetch, 11, { ...fetchBody(topic, 0, 1 << 20), topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }] }, id++);
    const batches = [...iterateBatches(res.responses[0].partitions[0].records)];
    assert.equal(batches.length, 3);
    c.close();
  } finally {
    await running.stop();
    dir.remove();
  }
});

test('AlterConfigs racing DeleteTopics answers UNKNOWN_TOPIC_OR_PARTITION and keeps the connection', async () => {
  const dir = tempDir('fjord-race-');
  const running = await withBroker({ dataDir: dir.path });
  try {
    for (const api of [ApiKey.AlterConfigs, ApiKey.IncrementalAlterConfigs]) {
      const topic = uniqueTopic('race');
      await running.broker.topics.create(topic, 1);
      const c = await RawConnection.connect(running.port);
      const alter = api === ApiKey.AlterConfigs
        ? { resources: [{ resourceType: 2, resourceName: topic, configs: [{ name: 'retention.ms', value: '1000' }] }], validateOnly: false }
        : { resources: [{ resourceType: 2, resourceName: topic, configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }] }], validateOnly: false };
      // Pipelined in one write: the delete holds the catalog while the alter has found the topic.
      c.write(Buffer.concat([
        RawConnection.frame(ApiKey.DeleteTopics, 4, 1, { topicNames: [topic], timeoutMs: 5000 }),
        RawConnection.frame(api, 1, 2, alter),
      ]));
      const deleted = await c.response(ApiKey.DeleteTopics, 4);
      assert.equal(deleted.body.responses[0].errorCode, ErrorCode.NONE);
      const altered = await c.response(api, 1);
      assert.equal(altered.correlationId, 2);
      assert.equal(altered.body.responses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      assert.equal(await closedWithin(c, 50), false);
      assert.equal((await c.request(ApiKey.ApiVersions, 0, {}, 3)).errorCode, ErrorCode.NONE);
      c.close();
    }
  } finally {
    await running.stop();
    dir.remove();
  }
});

test('DeleteRecords whose partition files vanished (a deletion racing it) answers an error code and keeps the connection', async () => {
  // Found by the fuzzer: DeleteRecords raced DeleteTopics and deleteBefore wrote into a partition
  // folder the deletion had just removed, which closed the connection. The race is made
  // deterministic here by removing the folder under a live topic.
  const dir = tempDir('fjord-race-');
  const running = await withBroker({ dataDir: dir.path });
  try {
    const topic = uniqueTopic('race-dr');
    await running.broker.topics.create(topic, 1);
    const c = await RawConnection.connect(running.port);
    for (let i = 0; i < 3; i++) await c.request(ApiKey.Produce, 7, produceBody(topic, batchOf(100)));
    rmSync(join(dir.path, `${topic}-0`), { recursive: true, force: true });
    const trimmed = await c.request(ApiKey.DeleteRecords, 1, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 2 }] }], timeoutMs: 5000 });
    assert.equal(trimmed.topics[0].partitions[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal((await c.request(ApiKey.ApiVersions, 0, {}, 3)).errorCode, ErrorCode.NONE, 'the connection still answers');
    c.close();
  } finally {
    await running.stop();
    dir.remove();
  }
});
