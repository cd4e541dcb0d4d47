// `fjord consume --group` and `fjord groups` end to end against a real broker: a classic group
// commits and shows lag, reset-offsets and delete; a KIP-848 group through --group-protocol consumer.
// (Split from produce-consume.test.ts, which stays within the per-file time limit under load.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTopic } from '../helpers.js';
import { brokerForFile, fjord } from './cli-helpers.js';

const file = brokerForFile();
const b = file.flags;

test('a group consumes and commits; groups describe shows lag; reset-offsets and delete', async () => {
  const t = uniqueTopic('grp');
  const g = uniqueTopic('cli-group');
  await fjord(['topics', 'create', t, '--partitions', '2', ...b]);
  await fjord(['produce', t, ...b], { input: Array.from({ length: 20 }, (_, i) => `g${i}`).join('\n') });
  let r = await fjord(['consume', t, '--group', g, '--from-beginning', '--max-messages', '5', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 5);

  r = await fjord(['groups', 'describe', g, '--json', ...b]);
  assert.equal(r.code, 0, r.stderr);
  const [desc] = JSON.parse(r.stdout);
  assert.equal(desc.state, 'Empty');
  // Partitions the group never committed are not listed (as kafka-consumer-groups.sh does).
  type Row = { committed: number | null; lag: number | null; end: number };
  const rows: Row[] = desc.partitions;
  assert.equal(rows.reduce((n, p) => n + (p.committed ?? 0), 0), 5);
  for (const p of rows) assert.equal(p.lag, p.end - (p.committed ?? 0));
  r = await fjord(['groups', '--describe', '--group', g, ...b]);
  assert.match(r.stdout, /TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +CONSUMER-ID +HOST +CLIENT-ID/);

  // Resuming as the group reads the other 15 (--from-beginning: for a partition never committed).
  r = await fjord(['consume', t, '--group', g, '--from-beginning', '--exit-at-end', ...b]);
  assert.equal(r.stdout.trim().split('\n').length, 15);

  r = await fjord(['groups', 'list', ...b]);
  assert.match(r.stdout, new RegExp(`${g} +Classic +Empty`));

  r = await fjord(['groups', 'reset-offsets', g, '--topic', t, '--to-earliest', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Dry run/);
  r = await fjord(['groups', 'describe', g, '--json', ...b]);
  assert.equal(JSON.parse(r.stdout)[0].partitions.reduce((n: number, p: { lag: number }) => n + p.lag, 0), 0);
  r = await fjord(['groups', '--reset-offsets', '--group', g, '--topic', t, '--shift-by', '-2', '--execute', ...b]);
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['groups', 'describe', g, '--json', ...b]);
  const parts: { lag: number; end: number }[] = JSON.parse(r.stdout)[0].partitions;
  assert.equal(parts.reduce((n, p) => n + p.lag, 0), parts.reduce((n, p) => n + Math.min(2, p.end), 0));

  r = await fjord(['groups', 'delete', g, ...b]);
  assert.equal(r.code, 0, r.stderr);
  r = await fjord(['groups', 'describe', g, ...b]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not exist/);
});

test('a KIP-848 group through the CLI: consume with --group-protocol consumer, describe its lag', async () => {
  const t = uniqueTopic('k848');
  const g = uniqueTopic('cli-848');
  await fjord(['topics', 'create', t, '--partitions', '2', ...b]);
  await fjord(['produce', t, ...b], { input: Array.from({ length: 10 }, (_, i) => `x${i}`).join('\n') });
  let r = await fjord(['consume', t, '--group', g, '--group-protocol', 'consumer', '--from-beginning', '--max-messages', '4', ...b]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 4);
  r = await fjord(['groups', 'describe', g, '--json', ...b]);
  assert.equal(r.code, 0, r.stderr);
  const [d] = JSON.parse(r.stdout);
  assert.equal(d.state, 'Empty');
  const rows: { committed: number | null; lag: number | null; end: number }[] = d.partitions;
  assert.equal(rows.reduce((n, p) => n + (p.committed ?? 0), 0), 4);
  for (const p of rows) assert.equal(p.lag, p.end - (p.committed ?? 0));
});
