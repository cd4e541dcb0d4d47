// A damaged older segment (not the tail): reads below the damage are served, a read in it answers
// CORRUPT_MESSAGE for that partition only, the connection stays open, the damage is logged once,
// ListOffsets by timestamp answers an error code, and restart reports the damage without deleting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { batchCrc, encodeBatch, iterateBatches } from '../../src/protocol/records.js';
import { startBroker, type BrokerLogger } from '../../src/index.js';

const T0 = 1_700_000_000_000;
const fetchBody = (parts: { topic: string; partition: number; fetchOffset: number }[], maxBytes = 1 << 20) => ({
  replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: parts.map((p) => ({ topic: p.topic, partitions: [{ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.fetchOffset, logStartOffset: -1, partitionMaxBytes: maxBytes }] })),
  forgottenTopicsData: [], rackId: '',
});
const offsetsOf = (records: Buffer | Buffer[] | null) =>
  (records === null ? [] : Array.isArray(records) ? records : [records]).flatMap((c) => [...iterateBatches(c)].map((b) => b.header.baseOffset));

test('a damaged older segment: served below the damage, CORRUPT_MESSAGE in it, connection and other partitions fine', async () => {
  const dir = tempDir();
  const lines: string[] = [];
  const logger: BrokerLogger = { debug: () => {}, info: () => {}, warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  try {
    let b = await startBroker({ dataDir: dir.path, logLevel: 'silent', segmentBytes: 2000, logger });
    await b.broker.topics.create('dmg', 2);
    let c = await RawConnection.connect(b.port);
    // 60 one-record batches per partition, each with its own timestamp: several segments each.
    for (let i = 0; i < 60; i++) {
      const res = await c.request(ApiKey.Produce, 7, {
        transactionalId: null, acks: -1, timeoutMs: 5000,
        topicData: [{ name: 'dmg', partitionData: [0, 1].map((index) => ({ index, records: encodeBatch({ records: [{ value: `value-${index}-${i}`.padEnd(60, '.'), timestamp: T0 + i * 1000 }] }) })) }],
      });
      for (const p of res.responses[0].partitionResponses) assert.equal(p.errorCode, 0);
    }
    c.close();
    await b.stop();

    // Garbage in the middle of partition 0's first (old) segment, across several batches.
    const partDir = join(dir.path, 'dmg-0');
    const logs = readdirSync(partDir).filter((n) => n.endsWith('.log')).sort();
    assert.ok(logs.length >= 3, `segments: ${logs.join(', ')}`);
    const first = join(partDir, logs[0]);
    const before = readFileSync(first);
    const batches = [...iterateBatches(before)];
    assert.ok(batches.length >= 10);
    const hit = batches[5]; // offsets 0..4 stay intact
    let pos = 0;
    for (let i = 0; i < 5; i++) pos += batches[i].header.size;
    assert.equal(hit.header.baseOffset, 5);
    const damaged = Buffer.from(before);
    damaged.fill(0xa5, pos + 8, pos + 8 + 150); // the length field of batch 5 onwards
    writeFileSync(first, damaged);
    const size = statSync(first).size;

    b = await startBroker({ dataDir: dir.path, logLevel: 'silent', segmentBytes: 2000, logger });
    c = await RawConnection.connect(b.port);
    try {
      // Restart reported the damage once and kept the file.
      assert.equal(lines.filter((l) => l.includes('damaged')).length, 1, lines.join('\n'));
      assert.equal(statSync(first).size, size);

      // Below the damage: the good batches before it.
      const low = await c.request(ApiKey.Fetch, 12, fetchBody([{ topic: 'dmg', partition: 0, fetchOffset: 2 }]));
      const p0 = low.responses[0].partitions[0];
      assert.equal(p0.errorCode, ErrorCode.NONE);
      assert.deepEqual(offsetsOf(p0.records), [2, 3, 4]);

      // At the damage: CORRUPT_MESSAGE for partition 0, partition 1 served in the same request.
      for (let n = 0; n < 3; n++) {
        const at = await c.request(ApiKey.Fetch, 12, fetchBody([{ topic: 'dmg', partition: 0, fetchOffset: 6 }, { topic: 'dmg', partition: 1, fetchOffset: 6 }]));
        assert.equal(at.responses[0].partitions[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
        assert.equal(at.responses[1].partitions[0].errorCode, ErrorCode.NONE);
        assert.equal(offsetsOf(at.responses[1].partitions[0].records)[0], 6);
      }
      // The connection still answers.
      const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
      assert.equal(versions.errorCode, 0);
      // Still logged once, not once per fetch.
      assert.equal(lines.filter((l) => l.includes('damaged')).length, 1, lines.join('\n'));

      // Past the damaged segment: the next segments are served.
      const second = Number(logs[1].slice(0, 20));
      const later = await c.request(ApiKey.Fetch, 12, fetchBody([{ topic: 'dmg', partition: 0, fetchOffset: second }]));
      assert.equal(later.responses[0].partitions[0].errorCode, ErrorCode.NONE);
      assert.equal(offsetsOf(later.responses[0].partitions[0].records)[0], second);

      // ListOffsets by timestamp: before the damage answers the offset, in it an error code.
      const lo = await c.request(ApiKey.ListOffsets, 7, {
        replicaId: -1, isolationLevel: 0,
        topics: [{ name: 'dmg', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: T0 + 3000 }, { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: T0 + 7000 }] }],
      });
      assert.equal(lo.topics[0].partitions[0].errorCode, ErrorCode.NONE);
      assert.equal(lo.topics[0].partitions[0].offset, 3);
      assert.equal(lo.topics[0].partitions[1].offset, 7);
      const lo2 = await c.request(ApiKey.ListOffsets, 7, {
        replicaId: -1, isolationLevel: 0,
        topics: [{ name: 'dmg', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: T0 + 7000 }] }],
      });
      assert.equal(lo2.topics[0].partitions[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
      const again = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
      assert.equal(again.errorCode, 0);
    } finally {
      c.close();
      await b.stop();
    }
  } finally {
    dir.remove();
  }
});

test("a bad CRC in an older segment (headers intact) is served as stored, as Kafka does: the consumer's own CRC check sees it; nothing around it is affected", async () => {
  const dir = tempDir();
  try {
    let b = await startBroker({ dataDir: dir.path, logLevel: 'silent', segmentBytes: 2000 });
    await b.broker.topics.create('crc', 1);
    let c = await RawConnection.connect(b.port);
    for (let i = 0; i < 40; i++) {
      await c.request(ApiKey.Produce, 7, {
        transactionalId: null, acks: -1, timeoutMs: 5000,
        topicData: [{ name: 'crc', partitionData: [{ index: 0, records: encodeBatch({ records: [{ value: `v${i}`.padEnd(60, '.') }] }) }] }],
      });
    }
    c.close();
    await b.stop();
    const partDir = join(dir.path, 'crc-0');
    const first = join(partDir, readdirSync(partDir).filter((n) => n.endsWith('.log')).sort()[0]);
    const bytes = readFileSync(first);
    const batches = [...iterateBatches(bytes)];
    let pos = 0;
    for (let i = 0; i < 4; i++) pos += batches[i].header.size;
    bytes[pos + batches[4].header.size - 3] ^= 0xff; // a value byte of batch 4
    writeFileSync(first, bytes);

    b = await startBroker({ dataDir: dir.path, logLevel: 'silent', segmentBytes: 2000 });
    c = await RawConnection.connect(b.port);
    try {
      const low = await c.request(ApiKey.Fetch, 12, fetchBody([{ topic: 'crc', partition: 0, fetchOffset: 1 }]));
      assert.equal(low.responses[0].partitions[0].errorCode, ErrorCode.NONE);
      assert.deepEqual(offsetsOf(low.responses[0].partitions[0].records).slice(0, 5), [1, 2, 3, 4, 5], 'the header chain is intact: reads go on through it');
      // Reads check headers, not CRCs (a CRC per served batch cost a quarter of consume
      // throughput); the stored bytes go out and the client's own CRC check rejects them.
      const at = await c.request(ApiKey.Fetch, 12, fetchBody([{ topic: 'crc', partition: 0, fetchOffset: 4 }]));
      assert.equal(at.responses[0].partitions[0].errorCode, ErrorCode.NONE);
      const served = Buffer.concat([at.responses[0].partitions[0].records].flat());
      const bad = [...iterateBatches(served)][0];
      assert.equal(bad.header.baseOffset, 4);
      assert.notEqual(batchCrc(served.subarray(0, bad.header.size)), bad.header.crc, 'the damaged batch is served as stored');
      // The header chain is intact: the batches after the bad one are still served.
      const after = await c.request(ApiKey.Fetch, 12, fetchBody([{ topic: 'crc', partition: 0, fetchOffset: 5 }]));
      assert.equal(after.responses[0].partitions[0].errorCode, ErrorCode.NONE);
      assert.equal(offsetsOf(after.responses[0].partitions[0].records)[0], 5);
    } finally {
      c.close();
      await b.stop();
    }
  } finally {
    dir.remove();
  }
});
