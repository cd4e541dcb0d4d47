// --consumer-property / --producer-property applied through the real `fjord` CLI against a real
// broker (group.id, auto.offset.reset, enable.auto.commit; acks, compression.type,
// enable.idempotence), and kafka-console-consumer's --partition with --offset earliest|latest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTopic, kafkaFor } from '../helpers.js';
import { brokerForFile, fjord } from './cli-helpers.js';

const file = brokerForFile();
const b = file.flags;

test('--consumer-property and --producer-property are applied', async () => {
  const t = uniqueTopic('cprop');
  const g = uniqueTopic('cprop-group');
  await fjord(['topics', 'create', t, '--partitions', '2', ...b]);
  let r = await fjord(['produce', t, '--producer-property', 'acks=all', '--producer-property', 'compression.type=gzip', '--producer-property', 'enable.idempotence=true', ...b],
    { input: 'a\nb\nc\nd\n' });
  assert.equal(r.code, 0, r.stderr);
  // group.id and auto.offset.reset=earliest: a group that reads everything and commits it.
  r = await fjord(['consume', t, '--consumer-property', `group.id=${g}`, '--consumer-property', 'auto.offset.reset=earliest', '--exit-at-end', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['a', 'b', 'c', 'd']);
  const admin = kafkaFor(file.broker).admin();
  await admin.connect();
  // What the group has committed, partition by partition ('-1': nothing).
  const committed = async () => (await admin.fetchOffsets({ groupId: g, topics: [t] }))[0].partitions
    .map((p) => `${p.partition}:${p.offset}`).sort().join(' ');
  try {
    // The group exists under group.id and committed all four records it read.
    const firstRun = await committed();
    assert.equal(firstRun.split(' ').map((x) => Number(x.split(':')[1])).filter((o) => o > 0).reduce((a, o) => a + o, 0), 4, firstRun);
    // enable.auto.commit=false: the group reads 'e' but commits nothing more. ('e' may land on
    // either partition, so the committed offsets are compared, not the lag of one partition.)
    await fjord(['produce', t, ...b], { input: 'e\n' });
    r = await fjord(['consume', t, '--group', g, '--from-beginning', '--consumer-property', 'enable.auto.commit=false', '--exit-at-end', ...b]);
    assert.equal(r.stdout, 'e\n');
    assert.equal(await committed(), firstRun, 'nothing committed with enable.auto.commit=false');
  } finally {
    await admin.disconnect();
  }
  r = await fjord(['consume', t, '--group', g, '--consumer-property', `group.id=other`, ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /disagree/);

  // --partition with --offset earliest|latest|n, as kafka-console-consumer takes them.
  r = await fjord(['consume', t, '--partition', '1', '--offset', 'earliest', '--exit-at-end', '--property', 'print.partition=true', ...b]);
  assert.equal(r.code, 0, r.stderr);
  for (const l of r.stdout.trim().split('\n').filter(Boolean)) assert.match(l, /^Partition:1\t/);
  r = await fjord(['consume', t, '--partition', '1', '--offset', 'latest', '--timeout-ms', '300', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
});

