// `fjord produce` and `fjord consume` end to end against a real broker (groups: groups-consume.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker, uniqueTopic } from '../helpers.js';
import { brokerForFile, fjord } from './cli-helpers.js';

const file = brokerForFile();
const b = file.flags;

test('100k lines piped through fjord produce come back out of fjord consume, in order', async () => {
  const t = uniqueTopic('pipe');
  assert.equal((await fjord(['topics', 'create', t, '--partitions', '1', ...b])).code, 0);
  const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
  const input = `${lines.join('\n')}\n`;
  const p = await fjord(['produce', t, '--compression', 'lz4', ...b], { input, timeoutMs: 120000 });
  assert.equal(p.code, 0, p.stderr);
  const c = await fjord(['consume', t, '--from-beginning', '--exit-at-end', ...b], { timeoutMs: 120000 });
  assert.equal(c.code, 0, c.stderr);
  const got = c.stdout.split('\n');
  assert.equal(got.length, lines.length + 1, `${got.length - 1} lines came back`);
  const firstDiff = lines.findIndex((l, i) => got[i] !== l);
  assert.equal(firstDiff, -1, `line ${firstDiff}: ${JSON.stringify(got[firstDiff])} != ${JSON.stringify(lines[firstDiff])}`);
});

test('keys, headers, partitions and formats', async () => {
  const t = uniqueTopic('fmt');
  await fjord(['topics', 'create', t, '--partitions', '3', ...b]);
  let r = await fjord(['produce', t, '--key-separator', ':', '--header', 'source=cli', '--header', 'v=1', ...b], { input: 'alice:hello\nbob:world\nalice:again\n' });
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['consume', t, '--from-beginning', '--exit-at-end', '--format', 'json', ...b]);
  assert.equal(r.code, 0, r.stderr);
  const msgs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(msgs.length, 3);
  for (const m of msgs) {
    assert.equal(m.topic, t);
    assert.deepEqual(m.headers, { source: 'cli', v: '1' });
    assert.equal(typeof m.offset, 'number');
    assert.ok(Math.abs(m.timestamp - Date.now()) < 60000);
  }
  const alice = msgs.filter((m) => m.key === 'alice');
  assert.deepEqual(alice.map((m) => m.value), ['hello', 'again']);
  assert.equal(alice[0].partition, alice[1].partition);

  // JSON input, an explicit partition, and the text and key/value output formats.
  r = await fjord(['produce', t, '--format', 'json', ...b], { input: '{"key":"k","value":"v","partition":2,"headers":{"h":"x"}}\n' });
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['consume', t, '--partition', '2', '--offset', 'earliest', '--exit-at-end', '--format', 'text', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /partition=2 offset=\d+ timestamp=\d{4}-\d\d-\d\dT[^ ]+Z key=k headers=h=x value=v\n$/);
  r = await fjord(['consume', '--topic', t, '--from-beginning', '--max-messages', '2', '--property', 'print.key=true', '--property', 'key.separator==', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 2);
  for (const line of r.stdout.trim().split('\n')) assert.match(line, /^(alice|bob|k)=/);
});

test('--offset and --timestamp choose where to start; --partition routes', async () => {
  const t = uniqueTopic('start');
  await fjord(['topics', 'create', t, '--partitions', '2', ...b]);
  // Two runs, two batches: an hour apart.
  const base = Date.now() - 2 * 3600_000;
  const json = (from: number, ts: number) => Array.from({ length: 5 }, (_, i) => `{"value":"m${from + i}","timestamp":${ts + i}}`).join('\n');
  let r = await fjord(['produce', t, '--format', 'json', '--partition', '1', '--acks', '1', ...b], { input: json(0, base) });
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['produce', t, '--format', 'json', '--partition', '1', ...b], { input: json(5, base + 3600_000) });
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['consume', t, '--partition', '1', '--offset', '7', '--exit-at-end', ...b]);
  assert.equal(r.stdout, 'm7\nm8\nm9\n');
  r = await fjord(['consume', t, '--timestamp', new Date(base + 1800_000).toISOString(), '--exit-at-end', ...b]);
  assert.equal(r.stdout, 'm5\nm6\nm7\nm8\nm9\n');
  r = await fjord(['consume', t, '--partition', '0', '--from-beginning', '--exit-at-end', ...b]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, '');
  r = await fjord(['consume', t, '--partition', '9', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /has no partition 9/);
});

test('bad input: unknown topic, malformed lines and flags, no broker', async () => {
  let r = await fjord(['consume', uniqueTopic('missing'), '--from-beginning', ...b]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /topic "[^"]+" does not exist/);
  r = await fjord(['produce', uniqueTopic('kv'), '--key-separator', ':', ...b], { input: 'no separator here\n' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 1 has no key separator ":"/);
  r = await fjord(['produce', uniqueTopic('c'), '--compression', 'brotli', ...b], { input: 'x\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--compression takes none, gzip, snappy, lz4 or zstd/);
  r = await fjord(['consume', 'x', '--from-beginning', '--offset', '3', ...b]);
  assert.equal(r.code, 2);
  r = await fjord(['produce', ...b], { input: 'x\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs a topic/);
  r = await fjord(['produce', 'x', '--bootstrap-server', '127.0.0.1:1'], { input: 'x\n' });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /cannot reach 127\.0\.0\.1:1/);

  const strict = await withBroker({ autoCreateTopics: false });
  try {
    r = await fjord(['produce', uniqueTopic('no-auto'), '--bootstrap-server', strict.address], { input: 'x\n' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not exist .*fjord topics create/);
  } finally {
    await strict.stop();
  }
});
