// Consumer groups through librdkafka: kcat -G (the Debian librdkafka) and confluent-kafka-python
// (its wheel bundles a recent librdkafka), classic protocol with eager and cooperative assignors, and
// the KIP-848 consumer protocol (group.protocol=consumer; needs librdkafka >= 2.12).
// Members run as child processes, spawned asynchronously (the broker lives in this process).
// Scenarios: members share partitions, a member killed with SIGKILL hands its partitions over within
// its session timeout, nothing is lost, and records seen twice are at or after the committed offset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, kafkaFor, uniqueTopic, withBroker } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { tempDir } from '../helpers.js';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
let bootstrap: string;
let hasKcat = false;
let hasPython = false;
let hasKip848Python = false;

/** Runs a command to completion without blocking the event loop. */
function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', () => resolve({ status: -1, stdout }));
    child.on('close', (status) => resolve({ status, stdout }));
  });
}

before(async () => {
  hasKcat = (await run('kcat', ['-V'])).status === 0;
  hasPython = (await run('python3', ['-c', 'import confluent_kafka'])).status === 0;
  if (hasPython) {
    const v = (await run('python3', ['-c', 'import confluent_kafka; print(confluent_kafka.libversion()[1])'])).stdout.trim();
    hasKip848Python = Number(v) >= 0x020c0000;
  }
  broker = await withBroker({
    host: ['127.0.0.1', '::1'], advertisedHost: 'localhost', groupMinSessionTimeoutMs: 1000,
    groupConsumerSessionTimeoutMs: 3000, groupConsumerHeartbeatIntervalMs: 300,
  });
  bootstrap = `localhost:${broker.port}`;
});
after(async () => {
  await broker?.stop();
});

const NO_KCAT = 'kcat is not installed (apt-get install kcat)';
const NO_PYTHON = 'confluent-kafka for python3 is not installed (pip install confluent-kafka)';
const NO_KIP848 = 'confluent-kafka for python3 with librdkafka >= 2.12 is not installed (pip install confluent-kafka)';

interface Delivery {
  member: string;
  partition: number;
  offset: number;
  value: string;
}

/** One librdkafka group member in a child process. */
class RdMember {
  readonly deliveries: Delivery[] = [];
  assignment: number[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  private out = '';
  log = '';

  constructor(readonly name: string, cmd: string, args: string[], kind: 'kcat' | 'python', topic: string, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
    this.child.stdout!.on('data', (d) => {
      this.out += d;
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.onLine(kind, line);
      }
    });
    this.child.stderr!.on('data', (d) => {
      this.log += d;
      if (kind === 'kcat') this.onKcatLog(topic);
    });
  }

  private onLine(kind: 'kcat' | 'python', line: string): void {
    if (kind === 'kcat') {
      const m = /^(\d+) (\d+) (.*)$/.exec(line);
      if (m) this.deliveries.push({ member: this.name, partition: Number(m[1]), offset: Number(m[2]), value: m[3] });
      return;
    }
    if (!line.startsWith('{')) return;
    const j = JSON.parse(line);
    if (j.assigned) this.assignment = j.assigned;
    else if ('v' in j) this.deliveries.push({ member: this.name, partition: j.p, offset: j.o, value: j.v });
  }

  /** kcat -G reports rebalances on stderr: "% Group g rebalanced (memberid ...): assigned: t [0], t [1]". */
  private onKcatLog(topic: string): void {
    const lines = this.log.split('\n').filter((l) => / rebalanced /.test(l));
    const last = lines.at(-1);
    if (!last) return;
    if (/revoked:/.test(last)) this.assignment = [];
    else this.assignment = [...last.matchAll(new RegExp(`${topic} \\[(\\d+)\\]`, 'g'))].map((m) => Number(m[1])).sort();
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** A clean stop: the member leaves the group. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15000);
    await this.exited;
    clearTimeout(timer);
  }
}

function kcatMember(name: string, groupId: string, topic: string, sessionTimeoutMs: number): RdMember {
  return new RdMember(name, 'kcat', [
    '-b', bootstrap, '-G', groupId, '-u', '-f', '%p %o %s\\n',
    '-X', 'auto.offset.reset=earliest', '-X', `session.timeout.ms=${sessionTimeoutMs}`, '-X', 'heartbeat.interval.ms=300',
    '-X', 'enable.auto.commit=true', '-X', 'auto.commit.interval.ms=100', '-X', 'fetch.wait.max.ms=100',
    topic,
  ], 'kcat', topic);
}

/** A confluent-kafka consumer committing each record synchronously; prints its assignment when it changes. */
const PYTHON_CONSUMER = `
import json, os, signal, sys, time
from confluent_kafka import Consumer
env = os.environ
conf = {'bootstrap.servers': env['BOOTSTRAP'], 'group.id': env['GROUP'], 'auto.offset.reset': 'earliest',
        'enable.auto.commit': False, 'fetch.wait.max.ms': 100}
if env.get('PROTOCOL', 'classic') == 'consumer':
    conf['group.protocol'] = 'consumer'
    if env.get('ASSIGNOR'): conf['group.remote.assignor'] = env['ASSIGNOR']
else:
    conf.update({'session.timeout.ms': int(env['SESSION']), 'heartbeat.interval.ms': 300,
                 'partition.assignment.strategy': env['STRATEGY']})
c = Consumer(conf)
c.subscribe(env['TOPIC'].split(','))
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
last = None
while not stop:
    m = c.poll(0.05)
    now = sorted(p.partition for p in c.assignment())
    if now != last:
        last = now
        print(json.dumps({'assigned': now}), flush=True)
    if m is None: continue
    if m.error():
        print(json.dumps({'error': str(m.error())}), flush=True)
        continue
    print(json.dumps({'p': m.partition(), 'o': m.offset(), 'v': m.value().decode()}), flush=True)
    try:
        c.commit(message=m, asynchronous=False)
    except Exception as e:
        print(json.dumps({'commit_error': str(e)}), flush=True)
c.close()
`;

function python(name: string, groupId: string, topic: string, opts: { sessionTimeoutMs?: number; strategy?: string; protocol?: 'classic' | 'consumer'; assignor?: string; bootstrap?: string } = {}): RdMember {
  return new RdMember(name, 'python3', ['-c', PYTHON_CONSUMER], 'python', topic, {
    ...process.env,
    BOOTSTRAP: opts.bootstrap ?? bootstrap, GROUP: groupId, TOPIC: topic,
    SESSION: String(opts.sessionTimeoutMs ?? 6000), STRATEGY: opts.strategy ?? 'range,roundrobin',
    PROTOCOL: opts.protocol ?? 'classic', ASSIGNOR: opts.assignor ?? '',
  });
}

async function produce(topic: string, partitions: number, from: number, rounds: number): Promise<void> {
  const kafka = kafkaFor(broker, 'rd-producer');
  const producer = kafka.producer();
  await producer.connect();
  for (let r = from; r < from + rounds; r++) {
    await producer.send({ topic, acks: -1, messages: Array.from({ length: partitions }, (_, p) => ({ partition: p, value: `${p}:${r}` })) });
  }
  await producer.disconnect();
}

/** Every record `p:0..rounds-1` arrived; none more than twice; repeats only at/after `allowedFrom` offsets. */
function checkAll(deliveries: Delivery[], partitions: number, rounds: number, allowedFrom: Map<number, number> = new Map()): number {
  const count = new Map<string, Delivery[]>();
  for (const d of deliveries) count.set(d.value, [...(count.get(d.value) ?? []), d]);
  const missing: string[] = [];
  for (let p = 0; p < partitions; p++) for (let r = 0; r < rounds; r++) if (!count.has(`${p}:${r}`)) missing.push(`${p}:${r}`);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} record(s) never consumed`);
  let duplicates = 0;
  for (const [value, ds] of count) {
    assert.ok(ds.length <= 2, `${value} delivered ${ds.length} times`);
    if (ds.length === 2) {
      duplicates++;
      const from = allowedFrom.get(ds[0].partition);
      assert.ok(from !== undefined && ds[0].offset >= from, `${value} (offset ${ds[0].offset}) delivered twice, before the committed offset ${from}`);
    }
  }
  return duplicates;
}

const covered = (members: RdMember[]) => new Set(members.flatMap((m) => m.assignment)).size;
const shares = (members: RdMember[]) => members.map((m) => m.assignment.length).sort().join(',');

/** What the broker reports about a group: state and member count (DescribeGroups or ConsumerGroupDescribe). */
type Describe = (groupId: string) => Promise<{ state: string; members: number }>;

async function describeClassic(groupId: string): Promise<{ state: string; members: number }> {
  const admin = kafkaFor(broker, 'rd-admin').admin();
  await admin.connect();
  try {
    const g = (await admin.describeGroups([groupId])).groups[0];
    return { state: g.state, members: g.members.length };
  } finally {
    await admin.disconnect();
  }
}

async function describeConsumer(groupId: string): Promise<{ state: string; members: number }> {
  const conn = await RawConnection.connect(broker.port);
  try {
    const d = await conn.request(69, 0, { groupIds: [groupId], includeAuthorizedOperations: false });
    const g = d.groups[0];
    assert.equal(g.errorCode, ErrorCode.NONE);
    // The classic API does not describe it (as Kafka: Dead), ListGroups v5 knows its type.
    const classic = await conn.request(ApiKey.DescribeGroups, 5, { groups: [groupId], includeAuthorizedOperations: false }, 2);
    assert.equal(classic.groups[0].groupState, 'Dead');
    const listed = await conn.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] }, 3);
    assert.ok(listed.groups.some((x: { groupId: string; groupType: string; protocolType: string }) => x.groupId === groupId && x.groupType === 'consumer' && x.protocolType === 'consumer'));
    return { state: g.groupState, members: g.members.length };
  } finally {
    conn.close();
  }
}

async function groupScenario(t: { diagnostic(s: string): void }, makeMember: (name: string, groupId: string, topic: string) => RdMember, sessionTimeoutMs: number, describe: Describe = describeClassic): Promise<void> {
  const topic = uniqueTopic('rd-group');
  const groupId = uniqueTopic('rd-group');
  const admin = kafkaFor(broker, 'rd-admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const members = [makeMember('m0', groupId, topic), makeMember('m1', groupId, topic)];
  try {
    await eventually(() => shares(members) === '2,2' && covered(members) === 4, 30000, 'two members own two partitions each');
    await produce(topic, 4, 0, 50);
    await eventually(() => new Set(members.flatMap((m) => m.deliveries.map((d) => d.value))).size === 200, 20000, 'first 200 records');
    await eventually(async () => (await describe(groupId)).state === 'Stable', 10000, 'group Stable');
    assert.equal((await describe(groupId)).members, 2);

    // A third member joins: partitions are spread again.
    members.push(makeMember('m2', groupId, topic));
    await eventually(() => shares(members) === '1,1,2' && covered(members) === 4, 30000, 'three members share four partitions');
    await produce(topic, 4, 50, 25);

    // Kill the member with the most partitions, without leaving.
    const victim = [...members].sort((a, b) => b.assignment.length - a.assignment.length)[0];
    await eventually(() => victim.deliveries.length > 0 || victim.assignment.length > 0, 10000, 'victim active');
    const owned = victim.assignment;
    await sleep(500); // let its last commits land
    const killedAt = Date.now();
    await victim.kill();
    const committed = new Map((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => [p.partition, Number(p.offset)]));
    const survivors = members.filter((m) => m !== victim);
    await produce(topic, 4, 75, 25);
    await eventually(() => shares(survivors) === '2,2' && covered(survivors) === 4, sessionTimeoutMs + 15000, 'survivors own all partitions');
    const movedMs = Date.now() - killedAt;
    await eventually(() => new Set(members.flatMap((m) => m.deliveries.map((d) => d.value))).size === 400, 20000, 'all 400 records');
    await sleep(300);
    await eventually(async () => JSON.stringify(await describe(groupId)) === JSON.stringify({ state: 'Stable', members: 2 }), 10000, 'group Stable with two members');
    const duplicates = checkAll(members.flatMap((m) => m.deliveries), 4, 100, committed);
    assert.ok(owned.length > 0);
    t.diagnostic(`partitions of the killed member moved after ${movedMs} ms (session ${sessionTimeoutMs} ms); ${duplicates} duplicate(s)`);
    assert.ok(movedMs <= sessionTimeoutMs + 5000, `moved after ${movedMs} ms`);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    await admin.disconnect();
  }
}

test('kcat -G (librdkafka 2.0, classic, range): share, spread, SIGKILL hand-over, nothing lost', async (t) => {
  if (!hasKcat) return t.skip(NO_KCAT);
  await groupScenario(t, (name, g, topic) => kcatMember(name, g, topic, 3000), 3000);
});

test('confluent-kafka-python (classic, cooperative-sticky): share, spread, SIGKILL hand-over, nothing lost', async (t) => {
  if (!hasPython) return t.skip(NO_PYTHON);
  await groupScenario(t, (name, g, topic) => python(name, g, topic, { sessionTimeoutMs: 3000, strategy: 'cooperative-sticky' }), 3000);
});

test('confluent-kafka-python with group.protocol=consumer (KIP-848, uniform): share, spread, SIGKILL hand-over within the session, nothing lost', async (t) => {
  if (!hasKip848Python) return t.skip(NO_KIP848);
  await groupScenario(t, (name, g, topic) => python(name, g, topic, { protocol: 'consumer' }), 3000, describeConsumer);
});

test('confluent-kafka-python with group.protocol=consumer: range assignor and a topic regex subscription', async (t) => {
  if (!hasKip848Python) return t.skip(NO_KIP848);
  const prefix = uniqueTopic('rx');
  const admin = kafkaFor(broker, 'rd-admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: `${prefix}-a`, numPartitions: 2 }, { topic: `${prefix}-b`, numPartitions: 2 }, { topic: `${prefix}x-no`, numPartitions: 1 }] });
  const groupId = uniqueTopic('rx-group');
  const member = python('rx', groupId, `^${prefix}-.*`, { protocol: 'consumer', assignor: 'range' });
  try {
    await eventually(() => member.assignment.length === 4, 20000, 'four partitions of the two matching topics');
    const producer = kafkaFor(broker, 'rx-producer').producer();
    await producer.connect();
    for (const topic of [`${prefix}-a`, `${prefix}-b`, `${prefix}x-no`]) {
      await producer.send({ topic, messages: [{ partition: 0, value: `${topic}:0` }] });
    }
    await producer.disconnect();
    await eventually(() => member.deliveries.length >= 2, 20000, 'records of the matching topics');
    await sleep(500);
    assert.deepEqual(member.deliveries.map((d) => d.value).sort(), [`${prefix}-a:0`, `${prefix}-b:0`]);
    const conn = await RawConnection.connect(broker.port);
    const d = (await conn.request(69, 0, { groupIds: [groupId], includeAuthorizedOperations: false })).groups[0];
    conn.close();
    assert.equal(d.assignorName, 'range');
    assert.ok(d.members[0].subscribedTopicRegex.includes(`^${prefix}-.*`), d.members[0].subscribedTopicRegex); // librdkafka sends "(re1)|(re2)"
  } finally {
    await member.stop();
    await admin.disconnect();
  }
});

test('confluent-kafka-python with group.protocol=consumer across a broker restart (file storage): members rejoin and resume from committed offsets', async (t) => {
  if (!hasKip848Python) return t.skip(NO_KIP848);
  const dir = tempDir('fjord-kip848-restart-');
  const args = ['--data-dir', dir.path, '--group-initial-rebalance-delay-ms', '0', '--group-consumer-session-timeout-ms', '6000', '--group-consumer-heartbeat-interval-ms', '300'];
  let server: ServerProcess = await startServerProcess(args);
  const port = server.port;
  const kafka = kafkaFor(server, 'kip848-restart');
  const admin = kafka.admin();
  const topic = uniqueTopic('kip848-restart');
  const groupId = uniqueTopic('kip848-restart');
  const members: RdMember[] = [];
  const produceTo = async (from: number, rounds: number) => {
    const producer = kafka.producer();
    await producer.connect();
    for (let r = from; r < from + rounds; r++) await producer.send({ topic, acks: -1, messages: [0, 1].map((p) => ({ partition: p, value: `${p}:${r}` })) });
    await producer.disconnect();
  };
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await produceTo(0, 50);
    for (const name of ['a', 'b']) members.push(python(name, groupId, topic, { protocol: 'consumer', bootstrap: server.address }));
    await eventually(() => shares(members) === '1,1', 30000, 'one partition each');
    const seen = () => new Set(members.flatMap((m) => m.deliveries.map((d) => d.value))).size;
    await eventually(() => seen() === 100, 20000, 'first 100 records');
    const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => p.offset).join();
    await eventually(async () => (await committed()) === '50,50', 10000, 'offsets 50 committed');
    await admin.disconnect();

    server.child.kill('SIGTERM');
    await server.exited;
    server = await startServerProcess([...args, '--port', String(port)]);
    await admin.connect();
    assert.equal(await committed(), '50,50', 'committed offsets survived the restart');
    await produceTo(50, 50);
    await eventually(() => seen() === 200, 30000, 'every record after the restart');
    await eventually(() => shares(members) === '1,1', 30000, 'members rejoined');
    const duplicates = checkAll(members.flatMap((m) => m.deliveries), 2, 100, new Map([[0, 50], [1, 50]]));
    t.diagnostic(`KIP-848 restart: 200 records, ${duplicates} duplicate(s)`);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    await admin.disconnect().catch(() => undefined);
    server.child.kill('SIGKILL');
    await server.exited;
    dir.remove();
  }
});

test('kcat -G joining a kafkajs group (no assignor in common) gets INCONSISTENT_GROUP_PROTOCOL; the kafkajs members keep consuming', async (t) => {
  if (!hasKcat) return t.skip(NO_KCAT);
  const topic = uniqueTopic('rd-mixed');
  const groupId = uniqueTopic('rd-mixed');
  const kafka = kafkaFor(broker, 'rd-mixed');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  const seen = new Set<string>();
  const consumer = kafka.consumer({ groupId, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { seen.add(message.value!.toString()); } });
  const rd = kcatMember('kcat', groupId, topic, 6000);
  try {
    await produce(topic, 2, 0, 20);
    await eventually(() => seen.size === 40, 20000, 'kafkajs consumed the first 40');
    await eventually(() => /[Ii]nconsistent group protocol/.test(rd.log), 20000, `kcat told INCONSISTENT_GROUP_PROTOCOL:\n${rd.log}`);
    await produce(topic, 2, 20, 20);
    await eventually(() => seen.size === 80, 20000, 'kafkajs consumed the next 40');
    assert.equal(rd.deliveries.length, 0);
    const g = (await admin.describeGroups([groupId])).groups[0];
    assert.equal(g.state, 'Stable');
    assert.equal(g.members.length, 1);
    assert.equal(g.protocol, 'RoundRobinAssigner');
  } finally {
    await rd.stop();
    await consumer.disconnect();
    await admin.disconnect();
  }
});
