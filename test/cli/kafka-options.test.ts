// Kafka console-tool options through the real `fjord` CLI against a real broker: the formatter
// properties of kafka-console-consumer (output compared with what Kafka 4.1's tool prints), the
// line reader properties of kafka-console-producer, --broker-list. Client properties and
// --partition/--offset: client-properties.test.ts; refusals and typos: cli-usage-errors.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTopic } from '../helpers.js';
import { brokerForFile, fjord } from './cli-helpers.js';

const file = brokerForFile();
const b = file.flags;

test('produce --property parse.headers/parse.key and consume --property print.*: Kafka 4.1 console formats', async () => {
  const t = uniqueTopic('props');
  assert.equal((await fjord(['topics', 'create', t, '--partitions', '1', ...b])).code, 0);
  let r = await fjord(['produce', '--topic', t, '--broker-list', file.broker.address, '--property', 'parse.key=true', '--property', 'parse.headers=true', '--property', 'null.marker=NULL'],
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
