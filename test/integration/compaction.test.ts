// Compaction through the real `fjord server` and kafkajs: latest value per key after cleaning,
// offsets of survivors unchanged, tombstones gone, a consumer whose next offset was cleaned away
// continues at the next survivor, keyless records refused. Kill -9 during cleaning:
// compaction-crash.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, kafkaFor, tempDir } from '../helpers.js';
import { latest, readAll, start, type Rec } from './compaction-helpers.js';

const segments = (dir: string, topic: string) => readdirSync(join(dir, `${topic}-0`)).filter((n) => n.endsWith('.log')).length;

test('kafkajs: a compacted topic reads back the latest value per key at the same offsets; tombstones go; keyless records are refused', { timeout: 120000 }, async () => {
  const dir = tempDir();
  const server = await start(dir.path);
  const kafka = kafkaFor(server);
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    const topic = 'table';
    await admin.createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'delete.retention.ms', value: '0' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }] }] });
    await producer.connect();
    await assert.rejects(producer.send({ topic, messages: [{ value: 'no key' }] }), /failed the validation|without a key/i);
    const written: Rec[] = [];
    let offset = 0;
    for (let round = 0; round < 30; round++) {
      const messages = Array.from({ length: 20 }, (_, k) => ({ key: `k${k}`, value: round === 29 && k % 5 === 0 ? null : `r${round}-k${k}-${'p'.repeat(50)}` }));
      await producer.send({ topic, messages });
      for (const m of messages) written.push({ offset: offset++, key: m.key, value: m.value });
    }
    // More rounds after the tombstones so they are in rolled segments.
    for (let round = 0; round < 10; round++) {
      const messages = Array.from({ length: 10 }, (_, k) => ({ key: `t${k}`, value: `tail${round}-${'q'.repeat(50)}` }));
      await producer.send({ topic, messages });
      for (const m of messages) written.push({ offset: offset++, key: m.key, value: m.value });
    }
    const before = segments(dir.path, topic);
    await eventually(() => /log cleaner: table-0/.test(server.output()), 30000, 'a cleaning pass');
    await eventually(() => segments(dir.path, topic) < before, 30000, 'fewer segments');

    const recs = await readAll(kafka, topic, offset);
    const expected = latest(written);
    for (const [k, v] of [...expected]) if (v === null) expected.delete(k);
    const got = latest(recs);
    for (const [k, v] of [...got]) if (v === null) got.delete(k);
    assert.deepEqual(got, expected);
    assert.ok(recs.length < written.length / 3, `${recs.length} of ${written.length} records left`);
    const byOffset = new Map(written.map((w) => [w.offset, w]));
    for (const r of recs) assert.deepEqual(r, byOffset.get(r.offset), `offset ${r.offset} kept its record`);

    // A consumer whose committed offset was cleaned away continues at the next survivor.
    const gone = written.find((w) => !recs.some((r) => r.offset === w.offset))!.offset;
    const group = 'midway';
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: String(gone) }] });
    const consumer = kafka.consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic });
    const seen: number[] = [];
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(Number(message.offset)); } });
    await eventually(() => seen.includes(offset - 1), 30000, 'the mid-way consumer reaching the end');
    await consumer.disconnect();
    assert.equal(seen[0], recs.find((r) => r.offset > gone)!.offset);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    server.child.kill('SIGKILL');
    await server.exited;
    dir.remove();
  }
});
