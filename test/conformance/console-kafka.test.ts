// `fjord console` standalone against Apache Kafka 4.1 (issue 17: the console is startable alone
// against any Kafka-compatible cluster, through Fjord's client). One KRaft node from
// scripts/kafka-dist.mjs; the console's JSON API (what every page of the UI calls) does the round
// a user does: overview, create a topic, produce, find the record, a group's lag, reset it, edit a
// config, delete the topic. Needs Java; slow, so run by `npm run test:kafka-tools`, not npm test:
//   node --import tsx --test test/conformance/console-kafka.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, startKafka } from '../../scripts/kafka-dist.mjs';
import { startFjordConsole } from '../console/server.js';

const mutate = { 'x-fjord-console': '1', 'content-type': 'application/json' };

test('fjord console against Apache Kafka 4.1: overview, topics, produce and browse, group lag and reset, configs, delete', { timeout: 300_000 }, async () => {
  const dist = await ensureKafka({ quiet: true });
  const kafka = (await startKafka({ dist, heap: '1G', quiet: true })) as { bootstrap: string; stop(): Promise<void> };
  let console_: Awaited<ReturnType<typeof startFjordConsole>> | null = null;
  try {
    console_ = await startFjordConsole(['--bootstrap-server', kafka.bootstrap]);
    const url = console_.url;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}api/${path}`, { method, headers: method === 'GET' ? {} : mutate, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    const overview = await call('GET', 'overview');
    assert.equal(overview.status, 200, JSON.stringify(overview.body));
    assert.equal((overview.body.brokers as unknown[]).length, 1);
    assert.equal(typeof overview.body.clusterId, 'string');

    assert.equal((await call('POST', 'topics', { name: 'console-orders', partitions: 2, configs: { 'retention.ms': '600000' } })).status, 200);
    const again = await call('POST', 'topics', { name: 'console-orders', partitions: 2 });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    const topics = (await call('GET', 'topics')).body as unknown as { name: string }[];
    assert.ok(topics.some((t) => t.name === 'console-orders'), JSON.stringify(topics));

    const sent = await call('POST', 'topics/console-orders/messages', { partition: 1, key: 'order-7', value: '{"total":42}', headers: [{ key: 'source', value: 'console' }] });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.equal(sent.body.partition, 1);
    const found = await call('GET', 'topics/console-orders/partitions/1/messages?from=offset&offset=0&search=order-7');
    assert.equal(found.status, 200, JSON.stringify(found.body));
    const records = found.body.records as { offset: string; key: string; value: string; headers: { key: string; value: string }[] }[];
    assert.equal(records.length, 1);
    // Keys, values and header values travel base64 (the page shows them as text, JSON or hex).
    const text = (b64: string | null) => (b64 === null ? null : Buffer.from(b64, 'base64').toString());
    assert.equal(text(records[0].key), 'order-7');
    assert.equal(text(records[0].value), '{"total":42}');
    assert.deepEqual(records[0].headers.map((h) => [h.key, text(h.value)]), [['source', 'console']]);

    // Topic details: partitions with offsets, configs with the override, sizes from DescribeLogDirs.
    const detail = await call('GET', 'topics/console-orders');
    assert.equal(detail.status, 200, JSON.stringify(detail.body));
    const configs = detail.body.configs as { name: string; value: string }[];
    assert.equal(configs.find((c) => c.name === 'retention.ms')?.value, '600000');
    assert.equal((await call('POST', 'topics/console-orders/configs', { set: { 'max.message.bytes': '65536' } })).status, 200);
    const tuned = (await call('GET', 'topics/console-orders')).body.configs as { name: string; value: string }[];
    assert.equal(tuned.find((c) => c.name === 'max.message.bytes')?.value, '65536');
    assert.equal(tuned.find((c) => c.name === 'retention.ms')?.value, '600000', 'the other override stays');

    // A group that committed offset 0 of partition 1 (one record behind): lag 1, then reset to latest.
    const client = new Kafka({ clientId: 'console-kafka-test', brokers: [kafka.bootstrap], logLevel: logLevel.NOTHING });
    const admin = client.admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId: 'billing', topic: 'console-orders', partitions: [{ partition: 1, offset: '0' }] });
    } finally {
      await admin.disconnect();
    }
    const group = await call('GET', 'groups/billing');
    assert.equal(group.status, 200, JSON.stringify(group.body));
    const offsets = group.body.offsets as { topic: string; partition: number; committed: number; end: number; lag: number | null }[];
    assert.deepEqual(offsets.filter((o) => o.topic === 'console-orders').map((o) => [o.partition, o.committed, o.end, o.lag]), [[1, 0, 1, 1]]);
    const reset = await call('POST', 'groups/billing/reset', { topic: 'console-orders', to: 'latest' });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    const after = (await call('GET', 'groups/billing')).body.offsets as { partition: number; lag: number | null }[];
    assert.deepEqual(after.map((o) => o.lag), [0, 0].slice(0, after.length));

    assert.equal((await call('DELETE', 'topics/console-orders', {})).status, 200);
    assert.equal((await call('GET', 'topics/console-orders')).status, 404);
  } finally {
    await console_?.stop();
    await kafka.stop();
  }
});
