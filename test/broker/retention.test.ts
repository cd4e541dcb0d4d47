// Time-based retention moves the log start past expired batches, on both storage engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from '../../src/index.js';
import { encodeBatch, validateBatches } from '../../src/protocol/records.js';
import { tempDir } from '../helpers.js';

for (const engine of ['memory', 'file'] as const) {
  test(`retention.ms drops expired records (${engine} storage)`, async () => {
    const dir = tempDir();
    const b = await startBroker({ dataDir: engine === 'memory' ? 'memory' : dir.path, logLevel: 'silent', retentionCheckIntervalMs: 0, segmentBytes: 2048 });
    try {
      const now = Date.now();
      await b.broker.topics.create('short', 1, { 'retention.ms': '60000' });
      await b.broker.topics.create('forever', 1, { 'retention.ms': '-1' });
      for (const topic of ['short', 'forever']) {
        const log = b.broker.storage.partition(topic, 0)!;
        for (let i = 0; i < 20; i++) {
          const old = i < 12;
          const batch = encodeBatch({ records: [{ value: 'x'.repeat(200), timestamp: old ? now - 3_600_000 : now }] });
          await log.append(batch, validateBatches(batch), { sync: false });
        }
      }
      const moved = await b.broker.retention.runOnce(now);
      assert.equal(moved, 1);
      assert.equal(b.broker.storage.partition('short', 0)!.logStartOffset(), 12);
      assert.equal(b.broker.storage.partition('forever', 0)!.logStartOffset(), 0);
      // Nothing more to do on a second pass.
      assert.equal(await b.broker.retention.runOnce(now), 0);
      // Everything expired: the log becomes empty but keeps its end offset.
      await b.broker.retention.runOnce(now + 10 * 3_600_000);
      const log = b.broker.storage.partition('short', 0)!;
      assert.equal(log.logStartOffset(), 20);
      assert.equal(log.logEndOffset(), 20);
    } finally {
      await b.stop();
      dir.remove();
    }
  });
}
