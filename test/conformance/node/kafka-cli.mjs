// Apache Kafka's own command-line tools (kafka-topics, kafka-console-producer,
// kafka-console-consumer, kafka-consumer-groups, kafka-transactions), run from Maven Central's
// kafka-tools jar and its dependencies (class path in $KAFKA_TOOLS_CP) — what the .sh scripts of a
// Kafka download run. The kafka-transactions scenarios open real transactions with kafkajs (from
// the conformance install) and look at them, or abort them, with the tool.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { load, main, bootstrap, brokers, topic, makeRecords, Expect, fail } from './common.mjs';

const cp = readFileSync(process.env.KAFKA_TOOLS_CP, 'utf8').trim();
const TOOLS = {
  'kafka-topics': 'org.apache.kafka.tools.TopicCommand',
  'kafka-console-producer': 'org.apache.kafka.tools.ConsoleProducer',
  'kafka-console-consumer': 'org.apache.kafka.tools.consumer.ConsoleConsumer',
  'kafka-consumer-groups': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
  'kafka-transactions': 'org.apache.kafka.tools.TransactionsCommand',
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

// ---- kafka-transactions ------------------------------------------------------------------------

/** Rows of a table the tool prints (a header line, then whitespace-separated cells), as objects. */
function table(stdout) {
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const at = lines.findIndex((l) => /^(TransactionalId|CoordinatorId|ProducerId|Topic)\s/.test(l));
  if (at < 0) return [];
  const head = lines[at].split(/\s+/);
  // The last column (TopicPartitions, say) may be empty.
  return lines.slice(at + 1).map((l) => l.split(/\s+/)).filter((c) => c.length >= head.length - 1)
    .map((cells) => Object.fromEntries(head.map((h, i) => [h, i === head.length - 1 ? cells.slice(i).join(' ') : cells[i]])));
}

const txnTool = (args) => ok('kafka-transactions', ['--bootstrap-server', bootstrap, ...args]);

/** A kafkajs transactional producer with a transaction open on partitions 0 and 1 of the topic. */
async function openTransaction(tag) {
  const { Kafka, logLevel } = load('kafkajs');
  const kafka = new Kafka({ clientId: `conformance-cli-${tag}`, brokers, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();
  const transactionalId = `${topic}-${tag}`;
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 120_000 });
  await producer.connect();
  const txn = await producer.transaction();
  const open = [0, 1].flatMap((partition) => Array.from({ length: 5 }, (_, i) => ({ partition, key: `open${i}`, value: `${tag}:open:${partition}:${i}` })));
  await txn.send({ topic, messages: open });
  return { kafka, producer, txn, transactionalId, open };
}

/** The producer's row of `describe-producers` for partition `p`. */
async function producerRow(p, producerId) {
  const r = await txnTool(['describe-producers', '--topic', topic, '--partition', String(p)]);
  const row = table(r.stdout).find((x) => x.ProducerId === String(producerId));
  if (!row) fail(`describe-producers ${topic}-${p} has no row for producer ${producerId}: ${r.stdout.trim()}`);
  return row;
}

/** `describe --transactional-id`: the one row, or a failure. */
async function describeTxn(id) {
  const r = await txnTool(['describe', '--transactional-id', id]);
  const row = table(r.stdout)[0];
  if (!row || row.TransactionalId !== id) fail(`describe shows no row for ${id}: ${r.stdout.trim()}`);
  return row;
}

/** Every value a read_committed console consumer reads from the topic (both partitions) within a few seconds. */
async function readCommitted(expectCount) {
  const r = await ok('kafka-console-consumer', ['--bootstrap-server', bootstrap, '--topic', topic, '--from-beginning', '--isolation-level', 'read_committed',
    '--max-messages', String(expectCount), '--timeout-ms', '15000']);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.includes(':'));
}

async function commitMore(kafka, tag, n) {
  const producer = kafka.producer({ transactionalId: `${topic}-${tag}-after`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  const values = [0, 1].flatMap((partition) => Array.from({ length: n }, (_, i) => ({ partition, key: `c${i}`, value: `${tag}:committed:${partition}:${i}` })));
  await txn.send({ topic, messages: values });
  await txn.commit();
  await producer.disconnect();
  return values.map((v) => v.value);
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
    // One broker is node 1; run.ts --cluster gives nodes 1..3 (one per bootstrap address).
    const leaderOk = (l) => { const m = /Leader:\s*(\d+)\b/.exec(l); return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= brokers.length; };
    if (!parts.every(leaderOk)) fail(`a partition without a leader among nodes 1..${brokers.length}: ${parts.join(' | ')}`);
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
  'transactions-list': async () => {
    const t = await openTransaction('list');
    const r = await txnTool(['list']);
    const row = table(r.stdout).find((x) => x.TransactionalId === t.transactionalId);
    if (!row) fail(`list does not show ${t.transactionalId}: ${r.stdout.trim()}`);
    if (row.TransactionState !== 'Ongoing') fail(`list shows ${t.transactionalId} as ${row.TransactionState}, want Ongoing`);
    await t.txn.commit();
    const after = table((await txnTool(['list'])).stdout).find((x) => x.TransactionalId === t.transactionalId);
    if (after?.TransactionState !== 'CompleteCommit') fail(`after commit list shows ${after?.TransactionState}, want CompleteCommit`);
    await t.producer.disconnect();
  },
  'transactions-describe': async () => {
    const t = await openTransaction('describe');
    const row = await describeTxn(t.transactionalId);
    if (row.TransactionState !== 'Ongoing') fail(`describe: state ${row.TransactionState}, want Ongoing`);
    for (const p of [0, 1]) if (!row.TopicPartitions.includes(`${topic}-${p}`)) fail(`describe: TopicPartitions ${row.TopicPartitions} lacks ${topic}-${p}`);
    if (!(Number(row.ProducerId) >= 0) || row.TransactionTimeoutMs !== '120000') fail(`describe: producer ${row.ProducerId}, timeout ${row.TransactionTimeoutMs}`);
    await t.txn.abort();
    const done = await describeTxn(t.transactionalId);
    if (done.TransactionState !== 'CompleteAbort') fail(`after abort describe shows ${done.TransactionState}, want CompleteAbort`);
    await t.producer.disconnect();
  },
  'transactions-describe-producers': async () => {
    const t = await openTransaction('producers');
    const { ProducerId: pid } = await describeTxn(t.transactionalId);
    const row = await producerRow(0, pid);
    if (row.CurrentTransactionStartOffset !== '0') fail(`CurrentTransactionStartOffset ${row.CurrentTransactionStartOffset}, want 0 (the transaction's first record)`);
    if (row.LastSequence !== '4') fail(`LastSequence ${row.LastSequence}, want 4 (five records)`);
    await t.txn.commit();
    const after = await producerRow(0, pid);
    if (after.CurrentTransactionStartOffset !== 'None' && after.CurrentTransactionStartOffset !== '-1') fail(`after commit CurrentTransactionStartOffset is ${after.CurrentTransactionStartOffset}`);
    await t.producer.disconnect();
  },
  'transactions-find-hanging': async () => {
    // The open transaction is known to its coordinator with these partitions: not hanging,
    // even with --max-transaction-timeout 0 (every open transaction is a candidate).
    const t = await openTransaction('hanging');
    const r = await txnTool(['find-hanging', '--broker-id', '1', '--max-transaction-timeout', '0']);
    const rows = table(r.stdout);
    if (!/^Topic\s+Partition\s+ProducerId/m.test(r.stdout) || rows.length > 0) fail(`find-hanging reports: ${r.stdout.trim()}`);
    await t.txn.abort();
    await t.producer.disconnect();
  },
  'transactions-abort': async () => {
    const t = await openTransaction('abort');
    const { ProducerId: pid, ProducerEpoch: epoch } = await describeTxn(t.transactionalId);
    const start = (await producerRow(0, pid)).CurrentTransactionStartOffset;
    await txnTool(['abort', '--topic', topic, '--partition', '0', '--start-offset', start]);
    // Fjord aborts the whole transaction (both partitions) and fences its producer (epoch + 1).
    const row = await describeTxn(t.transactionalId);
    if (row.TransactionState !== 'CompleteAbort') fail(`after abort describe shows ${row.TransactionState}, want CompleteAbort`);
    if (Number(row.ProducerEpoch) !== Number(epoch) + 1) fail(`after abort the epoch is ${row.ProducerEpoch}, want ${Number(epoch) + 1}`);
    for (const p of [0, 1]) {
      const r = await producerRow(p, pid);
      if (r.CurrentTransactionStartOffset !== 'None' && r.CurrentTransactionStartOffset !== '-1') fail(`${topic}-${p} still has an open transaction at ${r.CurrentTransactionStartOffset}`);
    }
    const fenced = await t.txn.commit().then(() => null, (err) => err);
    if (!fenced) fail('the aborted transaction committed afterwards');
    // The last stable offset moved: records committed after the abort are readable, the aborted ones never.
    const committed = await commitMore(t.kafka, 'abort', 3);
    const seen = await readCommitted(committed.length);
    const aborted = seen.filter((v) => v.includes(':open:'));
    if (aborted.length) fail(`read_committed consumer saw ${aborted.length} aborted records (${aborted[0]})`);
    const missing = committed.filter((v) => !seen.includes(v));
    if (missing.length) fail(`read_committed consumer missed ${missing.length} committed records (${missing[0]})`);
    await t.producer.disconnect().catch(() => undefined);
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
