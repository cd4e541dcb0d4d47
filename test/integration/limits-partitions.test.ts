// The broker-wide cap on partitions (--max-partitions), through real TCP: CreateTopics and
// CreatePartitions past it answer POLICY_VIOLATION naming the setting, auto-creation past it does
// not create, and the connection stays. Also: a topic whose partition folders cannot be made
// answers KAFKA_STORAGE_ERROR (not a closed connection) and leaves nothing behind.
import { test } from 'node:test';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { BROKER_SETTINGS, brokerDefaultText } from '../../src/broker/settings.js';

const createTopic = (name: string, numPartitions: number, validateOnly = false) => ({
  topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly,
});
const metadata = (name: string) => ({
  topics: [{ name }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
});

test('--max-partitions: CreateTopics, CreatePartitions and auto-creation past it are refused; the connection stays', async () => {
  const running = await withBroker({ maxPartitions: 10, defaultPartitions: 2 });
  const c = await RawConnection.connect(running.port);
  let correlation = 1;
  try {
    const a = uniqueTopic('cap-a');
    assert.equal((await c.request(ApiKey.CreateTopics, 4, createTopic(a, 6), correlation++)).topics[0].errorCode, ErrorCode.NONE);
    // 6 + 5 > 10: refused, validateOnly too, with a message naming the setting; nothing created.
    for (const validateOnly of [true, false]) {
      const r = (await c.request(ApiKey.CreateTopics, 4, createTopic(uniqueTopic('cap-b'), 5, validateOnly), correlation++)).topics[0];
      assert.equal(r.errorCode, ErrorCode.POLICY_VIOLATION, `validateOnly ${validateOnly}`);
      assert.match(r.errorMessage ?? '', /max-partitions/);
    }
    // Two topics in one request: the first fits (6 + 3), the second (9 + 2) does not.
    const [b, d] = [uniqueTopic('cap-b'), uniqueTopic('cap-d')];
    const two = await c.request(ApiKey.CreateTopics, 4, {
      topics: [b, d].map((name, i) => ({ name, numPartitions: 3 - i, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 5000, validateOnly: false,
    }, correlation++);
    assert.deepEqual(two.topics.map((t: { errorCode: number }) => t.errorCode), [ErrorCode.NONE, ErrorCode.POLICY_VIOLATION]);
    assert.equal(running.broker.storage.topic(d), undefined);

    // CreatePartitions: 9 now; growing a from 6 to 8 would make 11.
    const grow = (count: number) => c.request(ApiKey.CreatePartitions, 1, { topics: [{ name: a, count, assignments: null }], timeoutMs: 5000, validateOnly: false }, correlation++);
    const refused = (await grow(8)).results[0];
    assert.equal(refused.errorCode, ErrorCode.POLICY_VIOLATION);
    assert.match(refused.errorMessage ?? '', /max-partitions/);
    assert.equal(running.broker.storage.topic(a)?.partitionCount, 6);
    assert.equal((await grow(7)).results[0].errorCode, ErrorCode.NONE, 'up to the cap is fine');

    // Auto-creation (2 partitions by default) at 10 of 10: not created, UNKNOWN_TOPIC_OR_PARTITION.
    const auto = uniqueTopic('cap-auto');
    const m = await c.request(ApiKey.Metadata, 9, metadata(auto), correlation++);
    assert.equal(m.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(running.broker.storage.topic(auto), undefined, 'not auto-created');

    // Deleting a topic frees its partitions.
    const del = await c.request(ApiKey.DeleteTopics, 4, { topicNames: [b], timeoutMs: 5000 }, correlation++);
    assert.equal(del.responses[0].errorCode, ErrorCode.NONE);
    const again = await c.request(ApiKey.Metadata, 9, metadata(auto), correlation++);
    assert.equal(again.topics[0].errorCode, ErrorCode.NONE);
    assert.equal(running.broker.storage.topic(auto)?.partitionCount, 2);
  } finally {
    c.close();
    await running.stop();
  }
});

test('a topic whose partition folders cannot be made: CreateTopics answers KAFKA_STORAGE_ERROR, the connection stays, nothing is left behind', async () => {
  const dir = tempDir();
  const running = await withBroker({ dataDir: dir.path, defaultPartitions: 4 });
  const c = await RawConnection.connect(running.port);
  try {
    const topic = uniqueTopic('stray');
    // A folder Fjord does not know where partition 2 would go makes creation fail part way.
    mkdirSync(join(dir.path, `${topic}-2`));
    const r = (await c.request(ApiKey.CreateTopics, 4, createTopic(topic, 4), 1)).topics[0];
    assert.equal(r.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(running.broker.storage.topic(topic), undefined);
    for (const p of [0, 1, 3]) assert.equal(existsSync(join(dir.path, `${topic}-${p}`)), false, `${topic}-${p} left behind`);
    // Auto-creation of it fails the same way: the topic is unknown, the connection stays.
    const m = await c.request(ApiKey.Metadata, 9, metadata(topic), 2);
    assert.equal(m.topics[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await c.request(ApiKey.ApiVersions, 0, {}, 3)).errorCode, ErrorCode.NONE);
  } finally {
    c.close();
    await running.stop();
    dir.remove();
  }
});

test('docs/limits.md names every limit setting of the settings table, with its flag and default', () => {
  const doc = readFileSync(new URL('../../docs/limits.md', import.meta.url), 'utf8');
  const limits: (keyof typeof BROKER_SETTINGS)[] = [
    'maxRequestBytes', 'queuedMaxRequestBytes', 'connectionsMaxIdleMs', 'fetchMaxBytes', 'maxMessageBytes', 'tailCacheBytes', 'maxPartitions',
    'groupMinSessionTimeoutMs', 'groupMaxSessionTimeoutMs',
  ];
  for (const key of limits) {
    const { kafka, flag } = BROKER_SETTINGS[key];
    const row = doc.split('\n').find((line) => line.startsWith('|') && line.includes(`\`--${flag}\``));
    assert.ok(row, `no row with --${flag}`);
    if (kafka) assert.ok(row.includes(`\`${kafka}\``), `row of --${flag} does not name ${kafka}`);
    assert.ok(row.includes(brokerDefaultText(key)), `row of --${flag} does not give its default ${brokerDefaultText(key)}`);
  }
});
