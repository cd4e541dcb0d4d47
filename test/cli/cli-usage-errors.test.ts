// Command lines `fjord` refuses, through the real CLI: line reader input errors (exit 1), properties
// Fjord would not act on (exit 2, named, with the supported list), and unknown flags, which name the
// nearest known one (exit 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTopic } from '../helpers.js';
import { brokerForFile, fjord } from './cli-helpers.js';

const file = brokerForFile();
const b = file.flags;

test('line reader errors and refused properties', async () => {
  const t = uniqueTopic('bad-props');
  let r = await fjord(['produce', t, '--property', 'parse.key=true', '--property', 'parse.headers=true', ...b], { input: 'b\tk\tv\n' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 1: no header key separator ":" in "b"/);
  r = await fjord(['produce', t, '--property', 'parse.key=true', ...b], { input: 'no tab here\n' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 1 has no key separator "\t"/);
  r = await fjord(['produce', t, '--property', 'parse.headers=true', '--property', 'headers.separator=:', ...b], { input: 'x\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /headers.separator and headers.key.separator may not be equal/);
  r = await fjord(['produce', t, '--property', 'reader.magic=1', ...b], { input: 'x\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--property reader.magic is not a line reader property/);
  r = await fjord(['produce', t, '--producer-property', 'transactional.id=x', ...b], { input: 'x\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--producer-property transactional.id is not supported by fjord produce; supported: acks, /);
  r = await fjord(['produce', t, '--producer-property', 'compression.type=brotli', ...b], { input: 'x\n' });
  assert.equal(r.code, 2, 'compression.type is read, not ignored');
  assert.match(r.stderr, /--compression takes none, gzip, snappy, lz4 or zstd, not "brotli"/);
  r = await fjord(['consume', t, '--property', 'print.epoch=true', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /print.epoch is not supported/);
  r = await fjord(['consume', t, '--property', 'print.everything=true', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--property print.everything is not a formatter property/);
  r = await fjord(['consume', t, '--consumer-property', 'max.poll.records=10', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--consumer-property max.poll.records is not supported by fjord consume; supported: .*group.id/);
  r = await fjord(['consume', t, '--consumer-property', 'session.timeout.ms=10000', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /need --group/);
});

test('unknown flags name the nearest known one, exit 2', async () => {
  let r = await fjord(['consume', 't', '--bootstrap-sever', file.broker.address]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --bootstrap-sever; did you mean --bootstrap-server\?/);
  r = await fjord(['produce', 't', '--key-seperator', ':', ...b], { input: 'x\n' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --key-seperator; did you mean --key-separator\?/);
  r = await fjord(['groups', 'list', '--jsno', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /did you mean --json\?/);
  r = await fjord(['topics', 'list', '--frobnicate', ...b]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --frobnicate\n/);
  r = await fjord(['server', '--data-dri', '/tmp/x']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option --data-dri; did you mean --data-dir\?/);
});
