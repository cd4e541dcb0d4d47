// The consumer-group scenarios of issue 3 with real kafkajs clients over real TCP: members joining,
// a member killed without leaving (a consumer in a child process, SIGKILL), churn while a producer
// writes, a broker restart on file storage, members with no protocol in common, and a member that
// is sent garbage assignment bytes. Every scenario checks that no record is lost and that records
// are delivered again only inside the at-least-once window (at or after the committed offset).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AssignerProtocol, type PartitionAssigner, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { eventually, kafkaFor, tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import type { RunningBroker } from '../../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let broker: RunningBroker;
before(async () => {
  broker = await withBroker({ groupMinSessionTimeoutMs: 1000 });
});
after(async () => {
  await broker.stop();
});

interface Delivery {
  member: string;
  partition: number;
  offset: number;
  value: string;
}

/** Writes one record to every partition per round, values "<partition>:<seq>", until stopped. */
class ContinuousProducer {
  readonly produced = new Map<number, number>(); // partition → records written
  private running = true;
  private done: Promise<void>;

  constructor(private readonly producer: Producer, private readonly topic: string, private readonly partitions: number, pauseMs = 20) {
    for (let p = 0; p < partitions; p++) this.produced.set(p, 0);
    this.done = (async () => {
      while (this.running) {
        const messages = [];
        for (let p = 0; p < this.partitions; p++) messages.push({ partition: p, value: `${p}:${this.produced.get(p)}` });
        await this.producer.send({ topic: this.topic, acks: -1, messages });
        for (let p = 0; p < this.partitions; p++) this.produced.set(p, this.produced.get(p)! + 1);
        await sleep(pauseMs);
      }
    })();
  }

  total(): number {
    let n = 0;
    for (const v of this.produced.values()) n += v;
    return n;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/**
 * Checks the deliveries against what was produced: every record arrived, none more than twice and
 * at most `maxDuplicates` twice; each member saw each partition in offset order, never going back
 * further than the record it was processing (commits are synchronous per record, so a member that
 * restarts from the committed offset sees at most that one record again).
 */
function checkDeliveries(deliveries: Delivery[], produced: Map<number, number>, maxDuplicates: number): { duplicates: number } {
  const seen = new Map<string, number>();
  const last = new Map<string, number>();
  for (const d of deliveries) {
    const [p] = d.value.split(':').map(Number);
    assert.equal(p, d.partition, `record ${d.value} came from partition ${d.partition}`);
    const key = `${d.member}/${d.partition}`;
    const prev = last.get(key);
    if (prev !== undefined) assert.ok(d.offset >= prev, `${d.member} went back on partition ${d.partition} from ${prev} to ${d.offset}`);
    last.set(key, d.offset);
    seen.set(d.value, (seen.get(d.value) ?? 0) + 1);
  }
  const missing: string[] = [];
  for (const [p, n] of produced) for (let i = 0; i < n; i++) if (!seen.has(`${p}:${i}`)) missing.push(`${p}:${i}`);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} record(s) never consumed`);
  let duplicates = 0;
  for (const [value, n] of seen) {
    assert.ok(n <= 2, `record ${value} delivered ${n} times`);
    duplicates += n - 1;
  }
  assert.ok(duplicates <= maxDuplicates, `${duplicates} duplicate deliveries (at most ${maxDuplicates} expected)`);
  return { duplicates };
}

/**
 * A kafkajs consumer that commits each record synchronously after recording it, so the window of
 * records that may be delivered again is at most the one in flight per partition.
 */
async function startConsumer(
  kafka: Kafka,
  groupId: string,
  topic: string,
  name: string,
  deliveries: Delivery[],
  assignments: Map<string, number[]>,
  extra: { partitionAssigners?: PartitionAssigner[]; sessionTimeout?: number } = {},
): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: extra.sessionTimeout ?? 6000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 100,
    ...(extra.partitionAssigners ? { partitionAssigners: extra.partitionAssigners } : {}),
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => assignments.set(name, [...(e.payload.memberAssignment[topic] ?? [])].sort()));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      deliveries.push({ member: name, partition, offset: Number(message.offset), value: message.value!.toString() });
      await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  return consumer;
}

/** The same consumer in a child process, printing one JSON line per record and per assignment. */
function startChildConsumer(address: string, groupId: string, topic: string, sessionTimeout: number): {
  child: ChildProcess;
  lines: () => Record<string, unknown>[];
  exited: Promise<unknown>;
} {
  const code = `
    import { Kafka, logLevel } from 'kafkajs';
    const { BROKER, GROUP, TOPIC, SESSION } = process.env;
    const kafka = new Kafka({ clientId: 'child', brokers: [BROKER], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 50, retries: 8 } });
    const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: Number(SESSION), rebalanceTimeout: 10000, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
    consumer.on(consumer.events.GROUP_JOIN, (e) => process.stdout.write(JSON.stringify({ assigned: [...(e.payload.memberAssignment[TOPIC] ?? [])].sort() }) + '\\n'));
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => {
      process.stdout.write(JSON.stringify({ p: partition, o: Number(message.offset), v: message.value.toString() }) + '\\n');
      await consumer.commitOffsets([{ topic: TOPIC, partition, offset: String(Number(message.offset) + 1) }]);
    } });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: root,
    env: { ...process.env, BROKER: address, GROUP: groupId, TOPIC: topic, SESSION: String(sessionTimeout) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    child,
    exited,
    lines: () => {
      if (err.includes('Error') && !out) throw new Error(`child consumer failed:\n${err}`);
      return out.split('\n').filter((l) => l.endsWith('}')).map((l) => JSON.parse(l));
    },
  };
}

const sizes = (assignments: Map<string, number[]>, names: string[]) => names.map((n) => assignments.get(n)?.length ?? 0).sort().join(',');
const coverage = (assignments: Map<string, number[]>, names: string[]) => new Set(names.flatMap((n) => assignments.get(n) ?? [])).size;

test('3 consumers own 2 partitions each, a 4th spreads them again, one killed without leaving hands its partitions over within its session timeout; nothing lost, duplicates only after the committed offset', async () => {
  const kafka = kafkaFor(broker, 'scenario-kill');
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('kill');
  const groupId = uniqueTopic('kill-group');
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
  const producer = kafka.producer();
  await producer.connect();
  const writer = new ContinuousProducer(producer, topic, 6);
  const deliveries: Delivery[] = [];
  const assignments = new Map<string, number[]>();
  const consumers: Consumer[] = [];
  const childSession = 3000;
  const child = startChildConsumer(broker.address, groupId, topic, childSession);
  try {
    // The child process is one of the first three members.
    await eventually(() => child.lines().some((l) => 'assigned' in l), 20000, 'child consumer joined');
    for (const name of ['a', 'b']) consumers.push(await startConsumer(kafka, groupId, topic, name, deliveries, assignments));
    const childAssigned = () => {
      const last = child.lines().filter((l) => 'assigned' in l).at(-1);
      return (last?.assigned as number[] | undefined) ?? [];
    };
    const allSizes = (names: string[]) => [...names.map((n) => assignments.get(n)?.length ?? 0), childAssigned().length].sort().join(',');
    await eventually(() => allSizes(['a', 'b']) === '2,2,2' && new Set([...(assignments.get('a') ?? []), ...(assignments.get('b') ?? []), ...childAssigned()]).size === 6,
      20000, '2/2/2 across three members');

    // A fourth member: the six partitions are spread over four.
    consumers.push(await startConsumer(kafka, groupId, topic, 'c', deliveries, assignments));
    await eventually(() => allSizes(['a', 'b', 'c']) === '1,1,2,2' && new Set([...['a', 'b', 'c'].flatMap((n) => assignments.get(n) ?? []), ...childAssigned()]).size === 6,
      20000, '2/2/1/1 across four members');
    await eventually(() => child.lines().filter((l) => 'v' in l).length > 0, 10000, 'the child consumed something');

    // Kill the child without LeaveGroup; read what it had committed once it is gone.
    const owned = childAssigned();
    assert.ok(owned.length > 0);
    const killedAt = Date.now();
    child.child.kill('SIGKILL');
    await child.exited;
    const committed = new Map((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => [p.partition, Number(p.offset)]));
    await eventually(() => sizes(assignments, ['a', 'b', 'c']) === '2,2,2' && coverage(assignments, ['a', 'b', 'c']) === 6, childSession + 10000, 'partitions moved to the survivors');
    const movedAfterMs = Date.now() - killedAt;
    assert.ok(movedAfterMs <= childSession + 3000, `partitions moved ${movedAfterMs} ms after the kill (session ${childSession} ms)`);

    await sleep(500);
    await writer.stop();
    await eventually(() => deliveries.length + child.lines().filter((l) => 'v' in l).length >= writer.total(), 20000, 'every record consumed');
    await sleep(300);

    const childDeliveries: Delivery[] = child.lines().filter((l) => 'v' in l).map((l) => ({ member: 'child', partition: l.p as number, offset: l.o as number, value: l.v as string }));
    const all = [...childDeliveries, ...deliveries];
    // Records the child had and a survivor saw again must be at or after what the child committed.
    const childSeen = new Set(childDeliveries.map((d) => d.value));
    for (const d of deliveries) {
      if (childSeen.has(d.value) && owned.includes(d.partition)) {
        assert.ok(d.offset >= committed.get(d.partition)!, `record ${d.value} at offset ${d.offset} re-delivered although ${committed.get(d.partition)} was committed`);
      }
    }
    // Each partition the child owned resumes on its new owner exactly at the child's last commit.
    for (const p of owned) {
      const resumed = deliveries.filter((d) => d.partition === p).map((d) => d.offset).filter((o) => o >= committed.get(p)!);
      assert.equal(Math.min(...resumed), committed.get(p)!, `partition ${p} resumed at the committed offset`);
    }
    // One in-flight record per partition per ownership change at most.
    checkDeliveries(all, writer.produced, 6 * 4);
    const group = (await admin.describeGroups([groupId])).groups[0];
    assert.equal(group.state, 'Stable');
    assert.equal(group.members.length, 3);
  } finally {
    child.child.kill('SIGKILL');
    await writer.stop();
    await Promise.all(consumers.map((c) => c.disconnect()));
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('twenty join/leave cycles while a producer writes: every record consumed in order per partition, the group ends Stable', async (t) => {
  const kafka = kafkaFor(broker, 'scenario-churn');
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('churn');
  const groupId = uniqueTopic('churn-group');
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const producer = kafka.producer();
  await producer.connect();
  const writer = new ContinuousProducer(producer, topic, 4);
  const deliveries: Delivery[] = [];
  const assignments = new Map<string, number[]>();
  const base = [await startConsumer(kafka, groupId, topic, 'base-0', deliveries, assignments), await startConsumer(kafka, groupId, topic, 'base-1', deliveries, assignments)];
  try {
    await eventually(() => sizes(assignments, ['base-0', 'base-1']) === '2,2', 20000, 'two base members share four partitions');
    for (let cycle = 0; cycle < 20; cycle++) {
      const name = `cycle-${cycle}`;
      const extra = await startConsumer(kafka, groupId, topic, name, deliveries, assignments);
      // Joined: the three members cover all partitions between them.
      await eventually(() => (assignments.get(name)?.length ?? 0) > 0 && coverage(assignments, ['base-0', 'base-1', name]) === 4, 20000, `cycle ${cycle}: join`);
      await extra.disconnect();
      assignments.delete(name);
      await eventually(() => sizes(assignments, ['base-0', 'base-1']) === '2,2' && coverage(assignments, ['base-0', 'base-1']) === 4, 20000, `cycle ${cycle}: leave`);
    }
    await writer.stop();
    await eventually(() => new Set(deliveries.map((d) => d.value)).size >= writer.total(), 20000, 'every record consumed');
    const { duplicates } = checkDeliveries(deliveries, writer.produced, 4 * 40);
    const group = (await admin.describeGroups([groupId])).groups[0];
    assert.equal(group.state, 'Stable');
    assert.equal(group.members.length, 2);
    t.diagnostic(`churn: ${writer.total()} records, ${duplicates} duplicate deliveries`);
  } finally {
    await writer.stop();
    await Promise.all(base.map((c) => c.disconnect()));
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('broker restart mid-life (file storage, real server process): members rejoin and resume from committed offsets', async (t) => {
  const dir = tempDir('fjord-groups-restart-');
  const args = ['--data-dir', dir.path, '--group-initial-rebalance-delay-ms', '0', '--log-level', 'info'];
  let server: ServerProcess = await startServerProcess(args);
  const port = server.port;
  const kafka = kafkaFor(server, 'scenario-restart');
  const admin = kafka.admin();
  const producer = kafka.producer();
  const topic = uniqueTopic('restart');
  const groupId = uniqueTopic('restart-group');
  const deliveries: Delivery[] = [];
  const assignments = new Map<string, number[]>();
  const consumers: Consumer[] = [];
  const produced = new Map<number, number>([[0, 0], [1, 0], [2, 0]]);
  const produce = async (rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      await producer.send({ topic, acks: -1, messages: [0, 1, 2].map((p) => ({ partition: p, value: `${p}:${produced.get(p)}` })) });
      for (const p of [0, 1, 2]) produced.set(p, produced.get(p)! + 1);
    }
  };
  try {
    await admin.connect();
    await producer.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await produce(50);
    const stays = await startConsumer(kafka, groupId, topic, 'stays', deliveries, assignments);
    const goes = await startConsumer(kafka, groupId, topic, 'goes', deliveries, assignments);
    consumers.push(stays);
    await eventually(() => sizes(assignments, ['stays', 'goes']) === '1,2', 20000, 'two members share three partitions');
    await eventually(() => new Set(deliveries.map((d) => d.value)).size === 150, 20000, 'first 150 records consumed');
    await goes.disconnect();
    await eventually(() => (assignments.get('stays')?.length ?? 0) === 3, 20000, 'the remaining member owns all partitions');
    await produce(20);
    await eventually(() => new Set(deliveries.map((d) => d.value)).size === 210, 20000, '210 records consumed');
    const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => [p.partition, p.offset]).sort();
    await eventually(async () => JSON.stringify(await committed()) === JSON.stringify([[0, '70'], [1, '70'], [2, '70']]), 10000, 'offsets 70 committed');
    const before = await committed();

    // Restart on the same port. The remaining member keeps retrying meanwhile.
    server.child.kill('SIGTERM');
    await server.exited;
    server = await startServerProcess([...args, '--port', String(port)]);
    assert.equal(server.port, port);
    const after = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => [p.partition, p.offset]).sort();
    assert.deepEqual(after, before, 'committed offsets survived the restart');
    await produce(30);
    // A member that was not running before the restart joins and starts at the committed offsets.
    consumers.push(await startConsumer(kafka, groupId, topic, 'new', deliveries, assignments));
    await eventually(() => sizes(assignments, ['stays', 'new']) === '1,2', 30000, 'rejoined: two members share three partitions');
    await produce(30);
    await eventually(() => new Set(deliveries.map((d) => d.value)).size === 390, 30000, 'every record consumed');
    for (const p of assignments.get('new') ?? []) {
      const first = deliveries.find((d) => d.member === 'new' && d.partition === p);
      if (first) assert.ok(first.offset >= 70, `the new member started partition ${p} at ${first.offset}, not before the committed 70`);
    }
    const { duplicates } = checkDeliveries(deliveries, produced, 6);
    const group = (await admin.describeGroups([groupId])).groups[0];
    assert.equal(group.state, 'Stable');
    assert.equal(group.members.length, 2);
    t.diagnostic(`restart: 390 records, ${duplicates} duplicate deliveries`);
  } finally {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    server.child.kill('SIGKILL');
    await server.exited;
    dir.remove();
  }
});

/** A kafkajs assigner: round-robin over the members, under a chosen protocol name; `garbageFor` members get junk bytes. */
function assigner(name: string, garbageFor: (memberId: string) => boolean = () => false): PartitionAssigner {
  return () => ({
    name,
    version: 0,
    async assign({ members, topics }) {
      const good = members.filter((m) => !garbageFor(m.memberId)).sort((a, b) => a.memberId.localeCompare(b.memberId));
      const plan = new Map<string, number[]>(good.map((m) => [m.memberId, []]));
      const partitions = topics.flatMap((topic) => [0, 1, 2, 3].map((p) => ({ topic, p })));
      partitions.forEach(({ p }, i) => plan.get(good[i % good.length].memberId)!.push(p));
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: garbageFor(m.memberId)
          ? Buffer.from('\u00de\u00ad garbage, not an assignment')
          : AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { [topics[0]]: plan.get(m.memberId)! }, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

test('a member with no protocol in common gets INCONSISTENT_GROUP_PROTOCOL while the group keeps working', async () => {
  const kafka = kafkaFor(broker, 'scenario-mixed');
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('mixed');
  const groupId = uniqueTopic('mixed-group');
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const producer = kafka.producer();
  await producer.connect();
  const writer = new ContinuousProducer(producer, topic, 4);
  const deliveries: Delivery[] = [];
  const assignments = new Map<string, number[]>();
  const members = [await startConsumer(kafka, groupId, topic, 'rr-0', deliveries, assignments), await startConsumer(kafka, groupId, topic, 'rr-1', deliveries, assignments)];
  const odd = kafka.consumer({ groupId, partitionAssigners: [assigner('OnlyMine')], retry: { retries: 0, restartOnFailure: async () => false } });
  try {
    await eventually(() => sizes(assignments, ['rr-0', 'rr-1']) === '2,2', 20000, 'two members share four partitions');
    const generation = (await admin.describeGroups([groupId])).groups[0];
    const crashed = new Promise<Error>((resolve) => odd.on(odd.events.CRASH, (e) => resolve(e.payload.error)));
    await odd.connect();
    await odd.subscribe({ topic, fromBeginning: true });
    await odd.run({ eachMessage: async () => assert.fail('the odd member must not get records') });
    const error = await crashed;
    assert.match(String((error as { type?: string }).type ?? error.message), /INCONSISTENT_GROUP_PROTOCOL|protocol/i);
    await sleep(300);
    await writer.stop();
    await eventually(() => new Set(deliveries.map((d) => d.value)).size >= writer.total(), 20000, 'every record consumed by the two members');
    checkDeliveries(deliveries, writer.produced, 0);
    const group = (await admin.describeGroups([groupId])).groups[0];
    assert.equal(group.state, 'Stable');
    assert.deepEqual(group.members.map((m) => m.memberId).sort(), generation.members.map((m) => m.memberId).sort(), 'membership unchanged');
    assert.equal(group.protocol, 'RoundRobinAssigner');
  } finally {
    await writer.stop();
    await odd.disconnect().catch(() => undefined);
    await Promise.all(members.map((c) => c.disconnect()));
    await producer.disconnect();
    await admin.disconnect();
  }
});

test('garbage assignment bytes from the leader reach only their member (the coordinator passes bytes through); the others keep working', async () => {
  const good = kafkaFor(broker, 'good');
  const bad = kafkaFor(broker, 'bad');
  const admin = good.admin();
  await admin.connect();
  const topic = uniqueTopic('garbage');
  const groupId = uniqueTopic('garbage-group');
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const producer = good.producer();
  await producer.connect();
  const writer = new ContinuousProducer(producer, topic, 4);
  const deliveries: Delivery[] = [];
  const assignments = new Map<string, number[]>();
  const picky = assigner('Picky', (memberId) => memberId.startsWith('bad-'));
  const members = [
    await startConsumer(good, groupId, topic, 'good-0', deliveries, assignments, { partitionAssigners: [picky] }),
    await startConsumer(good, groupId, topic, 'good-1', deliveries, assignments, { partitionAssigners: [picky] }),
  ];
  const victim = bad.consumer({ groupId, partitionAssigners: [picky], sessionTimeout: 3000, heartbeatInterval: 200, maxWaitTimeInMs: 100, retry: { retries: 0, restartOnFailure: async () => false } });
  try {
    await eventually(() => sizes(assignments, ['good-0', 'good-1']) === '2,2', 20000, 'two members share four partitions');
    const crashed = new Promise<Error>((resolve) => victim.on(victim.events.CRASH, (e) => resolve(e.payload.error)));
    await victim.connect();
    await victim.subscribe({ topic, fromBeginning: true });
    await victim.run({ eachMessage: async () => assert.fail('the member with a garbage assignment must not get records') });
    const error = await crashed;
    assert.match(error.message, /buffer|range|bounds|array|length/i, 'the client failed to decode the bytes it was sent');
    await eventually(async () => {
      const g = (await admin.describeGroups([groupId])).groups[0];
      return g.state === 'Stable' && g.members.length === 2;
    }, 20000, 'the group settles without the victim');
    await sleep(300);
    await writer.stop();
    await eventually(() => new Set(deliveries.map((d) => d.value)).size >= writer.total(), 20000, 'every record consumed by the good members');
    checkDeliveries(deliveries, writer.produced, 4 * 4);
    assert.equal(sizes(assignments, ['good-0', 'good-1']), '2,2');
  } finally {
    await writer.stop();
    await victim.disconnect().catch(() => undefined);
    await Promise.all(members.map((c) => c.disconnect()));
    await producer.disconnect();
    await admin.disconnect();
  }
});
