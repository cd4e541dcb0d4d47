// Apache Kafka's own command-line tools (kafka-topics, kafka-console-producer,
// kafka-console-consumer, kafka-consumer-groups), run from Maven Central's kafka-tools jar and
// its dependencies (class path in $KAFKA_TOOLS_CP) — what the .sh scripts of a Kafka download run.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { main, bootstrap, topic, makeRecords, Expect, fail } from './common.mjs';

const cp = readFileSync(process.env.KAFKA_TOOLS_CP, 'utf8').trim();
const TOOLS = {
  'kafka-topics': 'org.apache.kafka.tools.TopicCommand',
  'kafka-console-producer': 'org.apache.kafka.tools.ConsoleProducer',
  'kafka-console-consumer': 'org.apache.kafka.tools.consumer.ConsoleConsumer',
  'kafka-consumer-groups': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
};

function tool(name, args, input = '') {
  return new Promise((resolve) => {
    const child = spawn('java', ['-Xms64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', cp, TOOLS[name], ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      process.stdout.write(`$ ${name} ${args.join(' ')}\n${stdout}${stderr}\n[exit ${status}]\n`);
      resolve({ stdout, stderr, status });
    });
    child.stdin.end(input);
  });
}

async function ok(name, args, input) {
  const r = await tool(name, args, input);
  if (r.status !== 0) fail(`${name} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`);
  return r;
}

const records = makeRecords(200, 'cli');
const group = `${topic}-console`;

async function ensureTopic() {
  await ok('kafka-topics', ['--bootstrap-server', bootstrap, '--create', '--if-not-exists', '--topic', topic, '--partitions', '3']);
}

async function produce() {
  await ok('kafka-console-producer', ['--bootstrap-server', bootstrap, '--topic', topic, '--property', 'parse.key=true', '--property', 'key.separator=\t'],
    records.map((r) => `${r.key}\t${r.value}`).join('\n') + '\n');
}

async function consume() {
  const r = await ok('kafka-console-consumer', ['--bootstrap-server', bootstrap, '--topic', topic, '--from-beginning', '--max-messages', String(records.length),
    '--group', group, '--timeout-ms', '30000', '--property', 'print.key=true', '--property', 'key.separator=\t']);
  const expect = new Expect(records);
  for (const line of r.stdout.split('\n').filter((l) => l.includes('\t'))) {
    const [k, v] = line.split('\t');
    expect.add(k, v);
  }
  expect.verify();
}

await main({
  'topics-create': async () => {
    await ok('kafka-topics', ['--create', '--topic', topic, '--partitions', '3', '--bootstrap-server', bootstrap]);
  },
  'topics-list': async () => {
    await ensureTopic();
    const r = await ok('kafka-topics', ['--list', '--bootstrap-server', bootstrap]);
    if (!r.stdout.split('\n').map((l) => l.trim()).includes(topic)) fail(`--list does not show ${topic}: ${r.stdout.trim()}`);
  },
  'topics-describe': async () => {
    await ensureTopic();
    const r = await ok('kafka-topics', ['--describe', '--topic', topic, '--bootstrap-server', bootstrap]);
    if (!/PartitionCount:\s*3/.test(r.stdout)) fail(`--describe does not say PartitionCount: 3: ${r.stdout.trim().split('\n')[0]}`);
    const parts = r.stdout.split('\n').filter((l) => /Partition:\s*\d/.test(l));
    if (parts.length !== 3) fail(`--describe lists ${parts.length} partitions`);
    if (!parts.every((l) => /Leader:\s*1\b/.test(l))) fail(`a partition without leader 1: ${parts.join(' | ')}`);
  },
  'console-producer': async () => {
    await ensureTopic();
    await produce();
  },
  'console-consumer': async () => {
    await ensureTopic();
    // The console producer scenario ran before on this broker; produce here if it did not.
    const probe = await tool('kafka-console-consumer', ['--bootstrap-server', bootstrap, '--topic', topic, '--from-beginning', '--max-messages', '1', '--timeout-ms', '5000']);
    if (!probe.stdout.includes('cli:v')) await produce();
    await consume();
  },
  'consumer-groups-describe': async () => {
    const r = await ok('kafka-consumer-groups', ['--bootstrap-server', bootstrap, '--describe', '--group', group]);
    // One row per partition: TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG; all consumed.
    const rows = r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => c[1] === topic);
    if (rows.length !== 3) fail(`expected 3 partition rows for ${group}, got ${rows.length}: ${r.stdout.trim()}`);
    const total = rows.reduce((n, c) => n + Number(c[3]), 0);
    if (total !== records.length) fail(`CURRENT-OFFSET adds up to ${total}, want ${records.length}`);
    if (rows.some((c) => c[5] !== '0')) fail(`LAG is not 0 everywhere: ${rows.map((c) => c[5]).join(',')}`);
    const list = await ok('kafka-consumer-groups', ['--bootstrap-server', bootstrap, '--list']);
    if (!list.stdout.includes(group)) fail(`--list does not show ${group}`);
  },
});
