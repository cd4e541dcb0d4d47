// The one table of settings (src/broker/settings.ts): every row reachable by flag and environment,
// defaults derived from it, topic validation and DescribeConfigs following it, and the committed
// docs matching it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  BROKER_SETTINGS, BROKER_SETTING_KEYS, type BrokerSetting, TOPIC_SETTINGS, FIXED_BROKER_CONFIGS, KAFKA_CONFIG_TYPE, brokerDefaultText,
  DEFAULT_CONFIG, envVar, topicConfigProblem, topicDefault,
} from '../../src/broker/settings.js';
import type { BrokerConfig } from '../../src/broker/config.js';
import { Broker } from '../../src/broker/broker.js';
import { defaultTopicConfigs, TopicError } from '../../src/broker/topics.js';
import { serverConfig, serverHelp } from '../../src/cli/app.js';
import { startBroker } from '../../src/index.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { README, SETTINGS_DOC, readmeWithTable, renderSettingsDoc } from '../../scripts/gen-settings-doc.js';

test('docs/settings.md and the README options table match the table (npx tsx scripts/gen-settings-doc.ts rewrites them)', () => {
  assert.equal(readFileSync(SETTINGS_DOC, 'utf8'), renderSettingsDoc());
  const readme = readFileSync(README, 'utf8');
  assert.equal(readme, readmeWithTable(readme));
});

test('flags, environment variables and Kafka names are unique', () => {
  const flags = BROKER_SETTING_KEYS.map((k) => BROKER_SETTINGS[k].flag);
  assert.equal(new Set(flags).size, flags.length);
  const kafka = [
    ...BROKER_SETTING_KEYS.flatMap((k) => [BROKER_SETTINGS[k].kafka, BROKER_SETTINGS[k].kafkaAlias]).filter((n) => n !== undefined),
    ...Object.keys(FIXED_BROKER_CONFIGS),
  ];
  assert.equal(new Set(kafka).size, kafka.length);
});

test('DEFAULT_CONFIG and the topic defaults come from the table', () => {
  for (const key of BROKER_SETTING_KEYS) assert.deepEqual(DEFAULT_CONFIG[key], BROKER_SETTINGS[key].default, key);
  assert.deepEqual(Object.keys(defaultTopicConfigs(DEFAULT_CONFIG)), Object.keys(TOPIC_SETTINGS));
  // A topic setting with a broker setting behind it follows that setting.
  const config: BrokerConfig = { ...DEFAULT_CONFIG, retentionMs: 60000, segmentBytes: 4096, maxMessageBytes: 500 };
  assert.equal(topicDefault(config, 'retention.ms'), '60000');
  assert.equal(defaultTopicConfigs(config)['segment.bytes'], '4096');
  assert.equal(new Broker({ ...config, dataDir: 'memory' }).topics.configValue({ name: 't', topicId: '', partitionCount: 1, configs: {} }, 'max.message.bytes'), '500');
});

/** Values for settings without a default whose type takes neither a number nor any word. */
const SAMPLES: Partial<Record<keyof BrokerConfig, string>> = {
  listeners: 'PLAINTEXT://127.0.0.1:9092,SSL://:9093',
  advertisedListeners: 'PLAINTEXT://broker.example:9092',
  listenerSecurityProtocolMap: 'INTERNAL:PLAINTEXT,EXTERNAL:SSL',
  listenerSsl: 'listener.name.ssl.ssl.keystore.location=/etc/fjord/broker.pem;listener.name.ssl.ssl.client.auth=required',
};

/** Sets one setting by flag and by variable (its default, or a sample where it has none) and reads it back. */
function roundTrip<K extends keyof BrokerConfig>(key: K): void {
  const s: BrokerSetting<K> = BROKER_SETTINGS[key];
  const textValue = s.example !== undefined ? s.example : s.default === undefined ? (SAMPLES[key] ?? (s.type.kafkaType === 'INT' ? '19092' : 'broker.example')) : s.type.format(s.default);
  const byFlag = serverConfig([`--${s.flag}`, textValue], {});
  const byEnv = serverConfig([], { [envVar(s.flag)]: textValue });
  assert.ok(byFlag !== 'help' && byEnv !== 'help');
  assert.equal(s.type.format(byFlag[key] ?? assert.fail(`--${s.flag} set nothing`)), textValue);
  assert.deepEqual(byEnv[key], byFlag[key], envVar(s.flag));
  if (s.default !== undefined && s.example === undefined) assert.deepEqual(byFlag[key], s.default);
}

test('every broker setting is reachable by its flag and its environment variable; flags win', () => {
  for (const key of BROKER_SETTING_KEYS) roundTrip(key);
  const both = serverConfig(['--log-retention-ms', '1000'], { FJORD_LOG_RETENTION_MS: '2000', FJORD_NODE_ID: '7' });
  assert.ok(both !== 'help');
  assert.equal(both.retentionMs, 1000);
  assert.equal(both.nodeId, 7);
  // An empty variable counts as unset; a bad one is named in the error.
  assert.deepEqual(serverConfig([], { FJORD_PORT: '' }), {});
  assert.throws(() => serverConfig([], { FJORD_PORT: '70000' }), /FJORD_PORT must be an integer from 0 to 65535, not "70000"/);
  assert.throws(() => serverConfig(['--log-level', 'loud'], {}), /--log-level must be one of debug, info, warn, error, silent/);
  assert.throws(() => serverConfig(['--auto-create', 'maybe'], {}), /--auto-create must be on or off/);
  assert.deepEqual(serverConfig(['--data-dir', 'memory'], {}), { dataDir: 'memory' });
});

test('fjord server --help lists every flag, variable and default', () => {
  const help = serverHelp();
  for (const key of BROKER_SETTING_KEYS) {
    const s = BROKER_SETTINGS[key];
    assert.ok(help.includes(`--${s.flag} <`), s.flag);
    assert.ok(help.includes(envVar(s.flag)), envVar(s.flag));
    assert.ok(help.includes(`default ${brokerDefaultText(key) || 'none'}`), key);
  }
});

test('topic configs: unknown keys and values outside the type are refused with INVALID_CONFIG', () => {
  const good: Record<string, string> = {
    'cleanup.policy': 'compact, delete', 'compression.type': 'zstd', 'max.message.bytes': '0', 'message.timestamp.type': 'LogAppendTime',
    'min.insync.replicas': '1', 'retention.bytes': '-1', 'retention.ms': '-1', 'segment.bytes': '14', 'segment.ms': '9223372036854775807',
    'unclean.leader.election.enable': 'TRUE', 'compression.gzip.level': '-1', 'compression.lz4.level': '9', 'compression.zstd.level': '3',
    'file.delete.delay.ms': '0', 'flush.messages': '9223372036854775807', 'flush.ms': '9223372036854775807',
    'follower.replication.throttled.replicas': '0:1,1:1', 'leader.replication.throttled.replicas': '*', 'index.interval.bytes': '100',
    'local.retention.bytes': '-2', 'local.retention.ms': '-2', 'message.timestamp.after.max.ms': '0', 'message.timestamp.before.max.ms': '9223372036854775807',
    'preallocate': 'False', 'remote.log.copy.disable': 'false', 'remote.log.delete.on.disable': 'false', 'remote.storage.enable': 'false',
    'segment.index.bytes': '4096', 'segment.jitter.ms': '0',
    'delete.retention.ms': '0', 'max.compaction.lag.ms': '9223372036854775807', 'min.cleanable.dirty.ratio': '0.01', 'min.compaction.lag.ms': '0',
  };
  assert.deepEqual(Object.keys(good).sort(), Object.keys(TOPIC_SETTINGS).sort(), 'a good value for every topic setting');
  for (const [name, value] of Object.entries(good)) assert.equal(topicConfigProblem(name, value), null, name);
  const bad: [string, string, RegExp][] = [
    ['no.such.config', '1', /unknown topic config no.such.config/],
    ['min.cleanable.dirty.ratio', '1.5', /min.cleanable.dirty.ratio must be a number from 0 to 1/],
    ['min.cleanable.dirty.ratio', 'half', /must be a number/],
    ['toString', '1', /unknown topic config toString/],
    ['retention.ms', 'soon', /retention.ms must be an integer of at least -1, not "soon"/],
    ['retention.ms', '-2', /at least -1/],
    ['segment.ms', '9223372036854775808', /segment.ms must be an integer/],
    ['segment.bytes', '2147483648', /segment.bytes must be an integer from 14 to 2147483647/],
    ['min.insync.replicas', '0', /at least 1/],
    ['cleanup.policy', 'delete,shred', /cleanup.policy must be a comma-separated list of delete, compact/],
    ['cleanup.policy', '', /cleanup.policy/],
    ['compression.type', 'brotli', /compression.type must be one of uncompressed, zstd, lz4, snappy, gzip, producer/],
    ['message.timestamp.type', 'Now', /CreateTime, LogAppendTime/],
    ['unclean.leader.election.enable', 'yes', /must be true or false/],
    ['retention.bytes', '-5', /retention.bytes must be an integer of at least -1/],
    // Refused settings take only their default, and say why.
    ['preallocate', 'true', /preallocate=true is not supported by Fjord: .*only false is accepted/],
    ['remote.storage.enable', 'true', /tiered storage .* is not supported/],
    ['local.retention.ms', '1000', /tiered storage/],
    ['flush.messages', '1', /flush.messages=1 is not supported by Fjord: fsync is broker-wide/],
    ['flush.ms', '1000', /per-topic flushing is not supported/],
    ['compression.zstd.level', '9', /only 3 is accepted/],
    ['leader.replication.throttled.replicas', 'all', /must be \*, or \[partition\]:\[broker\] pairs/],
  ];
  const broker = new Broker({ dataDir: 'memory' });
  for (const [name, value, message] of bad) {
    assert.match(topicConfigProblem(name, value) ?? '', message, `${name}=${value}`);
    assert.throws(() => broker.topics.checkConfigs({ [name]: value }), (err: unknown) => err instanceof TopicError && err.errorCode === ErrorCode.INVALID_CONFIG);
  }
});

test('DescribeConfigs: broker configs from the table with source and type; topic defaults say where they come from', async () => {
  const broker = await startBroker({ retentionMs: 3600000, groupInitialRebalanceDelayMs: 0 });
  const c = await RawConnection.connect(broker.port);
  try {
    const describe = async (resourceType: number, resourceName: string) =>
      (await c.request(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType, resourceName, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false })).results[0];
    const brokerResult = await describe(4, '1');
    assert.equal(brokerResult.errorCode, 0);
    const byName = new Map<string, { value: string; configSource: number; readOnly: boolean; configType: number }>(
      brokerResult.configs.map((e: { name: string }) => [e.name, e]));
    const expected = [
      ...BROKER_SETTING_KEYS.flatMap((k) => [BROKER_SETTINGS[k].kafka, BROKER_SETTINGS[k].kafkaAlias]).filter((n) => n !== undefined),
      ...Object.keys(FIXED_BROKER_CONFIGS),
    ].sort();
    assert.deepEqual([...byName.keys()], expected);
    const retention = byName.get('log.retention.ms')!;
    assert.deepEqual([retention.value, retention.configSource, retention.readOnly, retention.configType], ['3600000', 4, true, KAFKA_CONFIG_TYPE.LONG]);
    const partitions = byName.get('num.partitions')!;
    assert.deepEqual([partitions.value, partitions.configSource, partitions.configType], ['1', 5, KAFKA_CONFIG_TYPE.INT]);
    assert.deepEqual([byName.get('auto.create.topics.enable')!.value, byName.get('auto.create.topics.enable')!.configType], ['true', KAFKA_CONFIG_TYPE.BOOLEAN]);
    assert.equal(byName.get('broker.id')!.value, '1');

    // v0 carries isDefault instead of a source.
    const v0 = (await c.request(ApiKey.DescribeConfigs, 0, { resources: [{ resourceType: 4, resourceName: '', configurationKeys: ['num.partitions', 'log.retention.ms'] }] })).results[0];
    assert.deepEqual(v0.configs.map((e: { name: string; isDefault: boolean }) => [e.name, e.isDefault]), [['log.retention.ms', false], ['num.partitions', true]]);

    await broker.broker.topics.create('described', 1, { 'segment.ms': '60000' });
    const topicResult = await describe(2, 'described');
    const topic = new Map<string, { value: string; configSource: number; configType: number }>(
      topicResult.configs.map((e: { name: string }) => [e.name, e]));
    assert.deepEqual([...topic.keys()], Object.keys(TOPIC_SETTINGS).sort());
    assert.deepEqual([topic.get('segment.ms')!.value, topic.get('segment.ms')!.configSource], ['60000', 1]);
    assert.deepEqual([topic.get('retention.ms')!.value, topic.get('retention.ms')!.configSource], ['3600000', 4]);
    assert.deepEqual([topic.get('cleanup.policy')!.value, topic.get('cleanup.policy')!.configSource, topic.get('cleanup.policy')!.configType], ['delete', 5, KAFKA_CONFIG_TYPE.LIST]);

    // CreateTopics and IncrementalAlterConfigs refuse what the table refuses, with its message.
    const created = await c.request(ApiKey.CreateTopics, 5, {
      topics: [{ name: 'bad-configs', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'compression.type', value: 'brotli' }] }],
      timeoutMs: 1000, validateOnly: false,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(created.topics[0].errorMessage, /compression.type must be one of/);
    const appended = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: 2, resourceName: 'described', configs: [{ name: 'retention.ms', configOperation: 2, value: '5' }] }], validateOnly: false,
    });
    assert.equal(appended.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
    assert.match(appended.responses[0].errorMessage, /retention.ms is not a list config/);
  } finally {
    c.close();
    await broker.stop();
  }
});
