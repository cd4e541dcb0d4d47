// kcat (librdkafka): produce with keys, consume to the end, -L metadata, -G balanced consumer, codecs.
import { spawn } from 'node:child_process';
import { main, bootstrap, topic, makeRecords, Expect, fail } from './common.mjs';

function kcat(args, input = '', timeoutMs = 60_000) {
  return new Promise((resolve) => {
    const child = spawn('kcat', ['-b', bootstrap, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => { clearTimeout(timer); resolve({ stdout, stderr, status }); });
    child.stdin.end(input);
  });
}

async function produce(records, extra = []) {
  const p = await kcat(['-P', '-t', topic, '-K', '\t', '-X', 'acks=all', ...extra], records.map((r) => `${r.key}\t${r.value}`).join('\n') + '\n');
  if (p.status !== 0) fail(`kcat -P exited ${p.status}: ${p.stderr.trim().split('\n').pop()}`);
}

async function consumeAll(records, extra = []) {
  const c = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\t%p\t%o\n', ...extra]);
  if (c.status !== 0) fail(`kcat -C exited ${c.status}: ${c.stderr.trim().split('\n').pop()}`);
  const expect = new Expect(records);
  for (const line of c.stdout.split('\n').filter(Boolean)) {
    const [k, v] = line.split('\t');
    expect.add(k, v);
  }
  expect.verify();
}

const codec = (name) => async () => {
  const records = makeRecords(500);
  await produce(records, ['-z', name]);
  await consumeAll(records);
};

await main({
  'produce-consume': async () => {
    const records = makeRecords(1000);
    await produce(records);
    await consumeAll(records);
  },
  metadata: async () => {
    await produce(makeRecords(3));
    const l = await kcat(['-L', '-J']);
    if (l.status !== 0) fail(`kcat -L exited ${l.status}: ${l.stderr}`);
    const md = JSON.parse(l.stdout);
    if (md.brokers?.length !== 1) fail(`expected 1 broker, got ${JSON.stringify(md.brokers)}`);
    const t = md.topics.find((x) => x.topic === topic);
    if (!t) fail('topic missing from -L');
    if (t.partitions.some((p) => p.leader !== md.brokers[0].id)) fail('a partition leader is not the listed broker');
  },
  'consumer-group': async () => {
    const records = makeRecords(300);
    await produce(records);
    // -G balanced consumer; stop after reading every record (-c) so the group commits and leaves.
    const c = await kcat(['-G', `${topic}-group`, '-X', 'auto.offset.reset=earliest', '-c', String(records.length), '-q', '-f', '%k\t%s\n', topic]);
    if (c.status !== 0) fail(`kcat -G exited ${c.status}: ${c.stderr.trim().split('\n').pop()}`);
    const expect = new Expect(records);
    for (const line of c.stdout.split('\n').filter(Boolean)) { const [k, v] = line.split('\t'); expect.add(k, v); }
    expect.verify();
    // A second member of the same group sees nothing new (offsets were committed on close).
    const more = makeRecords(5, `${topic}-second`);
    await produce(more);
    const c2 = await kcat(['-G', `${topic}-group`, '-X', 'auto.offset.reset=earliest', '-c', '5', '-q', '-f', '%k\t%s\n', topic]);
    const e2 = new Expect(more);
    for (const line of c2.stdout.split('\n').filter(Boolean)) { const [k, v] = line.split('\t'); e2.add(k, v); }
    e2.verify();
  },
  'compression-gzip': codec('gzip'),
  'compression-snappy': codec('snappy'),
  'compression-lz4': codec('lz4'),
  'compression-zstd': codec('zstd'),
});
