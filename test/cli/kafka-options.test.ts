// Kafka console-tool options through the real `fjord` CLI against a real broker: the formatter
// properties of kafka-console-consumer (output compared with what Kafka 4.1's tool prints), the
// line reader properties of kafka-console-producer, --consumer-property / --producer-property
// applied, --broker-list, --partition/--offset. Refusals and typos: cli-usage-errors.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker, uniqueTopic, kafkaFor } from '../helpers.js';
import { fjord } from './cli-helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
let b: string[];
before(async () => {
  broker = await withBroker();
  b = ['--bootstrap-server', broker.address];
});
after(async () => { await broker.stop(); });

test('produce --property parse.headers/parse.key and consume --property print.*: Kafka 4.1 console formats', async () => {
  const t = uniqueTopic('props');
  assert.equal((await fjord(['topics', 'create', t, '--partitions', '1', ...b])).code, 0);
  let r = await fjord(['produce', '--topic', t, '--broker-list', broker.address, '--property', 'parse.key=true', '--property', 'parse.headers=true', '--property', 'null.marker=NULL'],
    { input: 'h1:v1,h2:v2\tk1\tval1\nh3:NULL\tNULL\tval2\n' });
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['produce', t, '--property', 'parse.key=true', '--property', 'key.separator=:', '--property', 'ignore.error=true', ...b], { input: 'nokey\nk:v\n' });
  assert.equal(r.code, 0, r.stderr);

  // What kafka-console-consumer 4.1 prints for the same records (checked against the real tool).
  r = await fjord(['consume', t, '--from-beginning', '--exit-at-end', ...['print.timestamp', 'print.partition', 'print.offset', 'print.headers', 'print.key'].flatMap((p) => ['--property', `${p}=true`]), ...b]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(lines.map((l) => l.replace(/^CreateTime:\d+\t/, 'CreateTime:T\t')), [
    'CreateTime:T\tPartition:0\tOffset:0\th1:v1,h2:v2\tk1\tval1',
    'CreateTime:T\tPartition:0\tOffset:1\th3:null\tnull\tval2',
    'CreateTime:T\tPartition:0\tOffset:2\tNO_HEADERS\tnull\tnokey',
    'CreateTime:T\tPartition:0\tOffset:3\tNO_HEADERS\tk\tv',
  ]);
  for (const l of lines) assert.ok(Math.abs(Number(/^CreateTime:(\d+)/.exec(l)![1]) - Date.now()) < 600_000, l);

  r = await fjord(['consume', t, '--from-beginning', '--max-messages', '2', '--property', 'print.value=false', '--property', 'print.key=true',
    '--property', 'key.separator= | ', '--property', 'print.headers=true', '--property', 'headers.separator=;', '--property', 'null.literal=<none>', ...b]);
  assert.equal(r.stdout, 'h1:v1;h2:v2 | k1\nh3:<none> | <none>\n');

  // A topic stamped by the broker prints LogAppendTime, as Kafka's tool does.
  const lat = uniqueTopic('lat');
  await fjord(['topics', 'create', lat, '--config', 'message.timestamp.type=LogAppendTime', ...b]);
  await fjord(['produce', lat, ...b], { input: 'x\n' });
  r = await fjord(['consume', lat, '--from-beginning', '--exit-at-end', '--property', 'print.timestamp=true', ...b]);
  assert.match(r.stdout, /^LogAppendTime:\d+\tx\n$/);
});

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
  const admin = kafkaFor(broker).admin();
  await admin.connect();
  try {
    // The group exists under group.id and committed what it read.
    const committed = await admin.fetchOffsets({ groupId: g, topics: [t] });
    assert.ok(committed[0].partitions.some((p) => Number(p.offset) > 0), JSON.stringify(committed));
  } finally {
    await admin.disconnect();
  }
  // enable.auto.commit=false: the group reads but commits nothing more.
  await fjord(['produce', t, ...b], { input: 'e\n' });
  r = await fjord(['consume', t, '--group', g, '--from-beginning', '--consumer-property', 'enable.auto.commit=false', '--exit-at-end', ...b]);
  assert.equal(r.stdout, 'e\n');
  r = await fjord(['groups', 'describe', g, '--json', ...b]);
  assert.ok(JSON.parse(r.stdout)[0].partitions.reduce((n: number, p: { lag: number }) => n + p.lag, 0) >= 1, 'e is not committed');
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

