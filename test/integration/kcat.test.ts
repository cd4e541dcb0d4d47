// librdkafka through kcat: produce, consume, metadata and a consumer group, against a broker that
// listens on both loopbacks (librdkafka resolves localhost to ::1 first).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import { withBroker, uniqueTopic } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

const hasKcat = spawnSync('kcat', ['-V']).status === 0;
const skip = hasKcat ? false : 'kcat is not installed (apt-get install kcat; .ci/run installs it)';

let broker: RunningBroker;
let bootstrap: string;
before(async () => {
  if (!hasKcat) return;
  broker = await withBroker({ host: ['127.0.0.1', '::1'], advertisedHost: 'localhost', defaultPartitions: 2 });
  bootstrap = `localhost:${broker.port}`;
});
after(async () => { await broker?.stop(); });

/** Runs kcat asynchronously: the broker lives in this process, so a blocking spawn would starve it. */
function kcat(args: string[], input?: string): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve) => {
    const child = spawn('kcat', ['-b', bootstrap, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, status });
    });
    child.stdin.end(input ?? '');
  });
}

test('kcat -P then -C reads back every line, keys included', { skip }, async () => {
  const topic = uniqueTopic('kcat');
  const lines = Array.from({ length: 200 }, (_, i) => `key${i % 7}:value-${i}`);
  const p = await kcat(['-P', '-t', topic, '-K', ':'], lines.join('\n') + '\n');
  assert.equal(p.status, 0, p.stderr);
  const c = await kcat(['-C', '-t', topic, '-e', '-q', '-f', '%k:%s\\n']);
  assert.equal(c.status, 0, c.stderr);
  const got = c.stdout.trim().split('\n').sort();
  assert.deepEqual(got, [...lines].sort());
  // Per key, one partition.
  const parts = (await kcat(['-C', '-t', topic, '-e', '-q', '-f', '%k %p\\n'])).stdout.trim().split('\n');
  const byKey = new Map<string, Set<string>>();
  for (const row of parts) {
    const [k, part] = row.split(' ');
    byKey.set(k, (byKey.get(k) ?? new Set()).add(part));
  }
  for (const [k, set] of byKey) assert.equal(set.size, 1, `key ${k} in ${[...set]}`);
});

test('kcat -L lists the broker and topics', { skip }, async () => {
  const topic = uniqueTopic('kcat-meta');
  assert.equal((await kcat(['-P', '-t', topic], 'x\n')).status, 0);
  const l = await kcat(['-L', '-J']);
  assert.equal(l.status, 0, l.stderr);
  const meta = JSON.parse(l.stdout);
  assert.equal(meta.brokers.length, 1);
  assert.equal(meta.brokers[0].id, 1);
  const t = meta.topics.find((x: { topic: string }) => x.topic === topic);
  assert.ok(t, 'topic listed');
  assert.equal(t.partitions.length, 2);
});

test('kcat -C with offsets and -G group consume', { skip }, async () => {
  const topic = uniqueTopic('kcat-group');
  const lines = Array.from({ length: 50 }, (_, i) => `g-${i}`);
  assert.equal((await kcat(['-P', '-t', topic, '-p', '0'], lines.join('\n') + '\n')).status, 0);
  const from10 = await kcat(['-C', '-t', topic, '-p', '0', '-o', '10', '-e', '-q']);
  assert.equal(from10.stdout.trim().split('\n').length, 40);
  const group = uniqueTopic('kcat-g');
  const child = spawn('kcat', ['-b', bootstrap, '-G', group, '-o', 'beginning', '-q', '-f', '%s\\n', '-X', 'auto.offset.reset=earliest', topic]);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 30000;
  while (out.trim().split('\n').filter(Boolean).length < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  await new Promise((r) => child.on('close', r));
  assert.deepEqual(out.trim().split('\n').sort(), [...lines].sort());
});
