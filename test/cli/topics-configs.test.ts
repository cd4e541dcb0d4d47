// `fjord topics` and `fjord configs` end to end against a real broker, in Fjord's and Kafka's
// flag styles, and their answers to bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTopic } from '../helpers.js';
import { brokerForFile, fjord } from './cli-helpers.js';

const file = brokerForFile();
const b = file.flags;

test('topics create / list / describe / alter / delete, Fjord style', async () => {
  const t = uniqueTopic('cli-topic');
  let r = await fjord(['topics', 'create', t, '--partitions', '3', '--config', 'retention.ms=3600000', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Created topic ${t}.\n`);

  r = await fjord(['topics', 'create', t, ...b]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already exists/);

  r = await fjord(['topics', 'list', ...b]);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.split('\n').includes(t));

  r = await fjord(['topics', 'describe', t, '--json', ...b]);
  assert.equal(r.code, 0, r.stderr);
  const [d] = JSON.parse(r.stdout);
  assert.equal(d.topic, t);
  assert.equal(d.partitionCount, 3);
  assert.equal(d.configs['retention.ms'], '3600000');
  assert.deepEqual(d.partitions.map((p: { partition: number }) => p.partition), [0, 1, 2]);

  r = await fjord(['topics', 'alter', t, '--partitions', '5', ...b]);
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['topics', 'describe', t, ...b]);
  assert.match(r.stdout, new RegExp(`Topic: ${t}  PartitionCount: 5  ReplicationFactor: 1  Configs: retention.ms=3600000`));
  assert.match(r.stdout, /PARTITION +LEADER +REPLICAS +ISR +START-OFFSET +END-OFFSET +MESSAGES/);
  assert.equal(r.stdout.trim().split('\n').length, 2 + 5);

  r = await fjord(['topics', 'delete', t, ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Deleted topic ${t}.\n`);
  r = await fjord(['topics', 'delete', t, ...b]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not exist/);
});

test('Kafka-style flags: --create --topic --partitions --replication-factor, --list, --describe', async () => {
  const t = uniqueTopic('kafka-style');
  let r = await fjord(['topics', '--create', '--topic', t, '--partitions', '2', '--replication-factor', '1', ...b]);
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['topics', '--describe', '--topic', t, ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /PartitionCount: 2/);
  r = await fjord(['topics', '--list', '--bootstrap-server', file.broker.address]);
  assert.ok(r.stdout.includes(t));
});

test('configs describe and alter', async () => {
  const t = uniqueTopic('cli-configs');
  await fjord(['topics', 'create', t, ...b]);
  let r = await fjord(['configs', 'describe', '--topic', t, '--json', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout)['cleanup.policy'], 'delete');
  r = await fjord(['configs', '--describe', '--entity-type', 'topics', '--entity-name', t, ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /NAME +VALUE +SOURCE/);
  r = await fjord(['configs', 'alter', '--topic', t, '--set', 'retention.ms=7200000', ...b]);
  if (r.code === 0) {
    // The broker supports AlterConfigs: the override shows up.
    r = await fjord(['configs', 'describe', '--topic', t, '--overrides', '--json', ...b]);
    assert.equal(JSON.parse(r.stdout)['retention.ms'], '7200000');
  } else {
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not support AlterConfigs/);
  }
  r = await fjord(['configs', 'describe', '--topic', uniqueTopic('none'), ...b]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not exist/);
});

test('bad usage exits 2 with a hint; an unreachable broker exits 3 saying how to start one', async () => {
  let r = await fjord(['topics', 'create', 'x', '--partitions', 'three', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--partitions must be an integer/);
  assert.match(r.stderr, /fjord topics --help/);
  r = await fjord(['topics', 'list', '--bogus', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --bogus\n/);
  r = await fjord(['topics', 'frobnicate', ...b]);
  assert.equal(r.code, 2);
  r = await fjord(['nosuchcommand']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown command/);
  r = await fjord(['topics', 'list', '--bootstrap-server', '127.0.0.1:1']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /cannot reach 127\.0\.0\.1:1 — is the broker running\? start one with `fjord server`/);
  r = await fjord(['topics', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Examples:/);
});

test('configs: broker settings show their source; bad topic values are refused with the reason', async () => {
  let r = await fjord(['configs', 'describe', '--broker', '1', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /num\.partitions +1 +default-config/);
  assert.match(r.stdout, /log\.retention\.hours +168 +default-config/);
  r = await fjord(['configs', 'describe', '--broker', '1', '--json', ...b]);
  assert.equal(JSON.parse(r.stdout)['offsets.retention.minutes'], '10080');

  const t = uniqueTopic('cli-bad-config');
  r = await fjord(['topics', 'create', t, '--config', 'compression.type=brotli', ...b]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /compression\.type must be one of uncompressed, zstd, lz4, snappy, gzip, producer/);
  await fjord(['topics', 'create', t, ...b]);
  r = await fjord(['configs', 'alter', '--topic', t, '--set', 'retention.ms=-7', ...b]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /retention\.ms must be an integer of at least -1/);
});
