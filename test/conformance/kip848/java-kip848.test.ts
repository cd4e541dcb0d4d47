// Consumer groups with the Java client: kafka-clients 4.0 consumers with group.protocol=consumer
// (KIP-848) and classic (cooperative-sticky) — the program in java/, built with Maven on first run
// (delete java/target after changing it) — against a Fjord broker in this process.
// Not part of `npm test` (test/conformance is a slow suite); run with
//   node --import tsx --test test/conformance/kip848/java-kip848.test.ts
// Needs java >= 17 and mvn (Maven Central reachable for the first build); skips otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventually, kafkaFor, uniqueTopic, withBroker } from '../../helpers.js';
import { RawConnection } from '../../raw-client.js';
import type { RunningBroker } from '../../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const project = join(here, 'java');
const jar = join(project, 'target', 'kip848.jar');

function run(cmd: string, args: string[], cwd?: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => resolve({ status: -1, out: String(e) }));
    child.on('close', (status) => resolve({ status, out }));
  });
}

let broker: RunningBroker;
let skip: string | false = false;

before(async () => {
  if ((await run('java', ['-version'])).status !== 0) skip = 'java is not installed';
  else if (!existsSync(jar)) {
    const built = await run('mvn', ['-q', '-B', '-DskipTests', 'package'], project);
    if (built.status !== 0) skip = `building the Java consumer failed (mvn):\n${built.out.slice(-2000)}`;
  }
  broker = await withBroker({ host: ['127.0.0.1'], groupConsumerSessionTimeoutMs: 6000, groupConsumerHeartbeatIntervalMs: 300 });
});
after(async () => {
  await broker?.stop();
});

class JavaMember {
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  assignment: number[] = [];
  readonly deliveries: { partition: number; offset: number; value: string }[] = [];
  private buf = '';
  log = '';

  constructor(groupId: string, topic: string, protocol: 'consumer' | 'classic', assignor = '') {
    this.child = spawn('java', ['-cp', `${jar}:${join(project, 'target', 'lib', '*')}`, 'fjord.Kip848Consumer', broker.address, groupId, topic, assignor, protocol], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((r) => this.child.on('exit', r));
    this.child.stderr!.on('data', (d) => (this.log += d));
    this.child.stdout!.on('data', (d) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const j = JSON.parse(line);
        if (j.assigned) this.assignment = j.assigned;
        else if ('v' in j) this.deliveries.push({ partition: j.p, offset: j.o, value: j.v });
      }
    });
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 15000);
    await this.exited;
    clearTimeout(t);
  }
}

/** State and member count, through ConsumerGroupDescribe (consumer) or DescribeGroups (classic). */
async function describe(groupId: string, protocol: 'consumer' | 'classic') {
  const conn = await RawConnection.connect(broker.port);
  try {
    if (protocol === 'consumer') {
      const g = (await conn.request(69, 0, { groupIds: [groupId], includeAuthorizedOperations: false })).groups[0];
      return { errorCode: g.errorCode, state: g.groupState, members: g.members.length };
    }
    const g = (await conn.request(15, 5, { groups: [groupId], includeAuthorizedOperations: false })).groups[0];
    return { errorCode: g.errorCode, state: g.groupState, members: g.members.length };
  } finally {
    conn.close();
  }
}

for (const protocol of ['consumer', 'classic'] as const) test(`Java kafka-clients 4.0, group.protocol=${protocol}: share, spread, SIGKILL hand-over within the session, nothing lost`, { timeout: 180000 }, async (t) => {
  if (skip) return t.skip(skip);
  const kafka = kafkaFor(broker, 'java-kip848');
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueTopic('java-kip848');
  const groupId = uniqueTopic('java-kip848');
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
  const producer = kafka.producer();
  await producer.connect();
  const produce = async (from: number, rounds: number) => {
    for (let r = from; r < from + rounds; r++) await producer.send({ topic, messages: [0, 1, 2, 3].map((p) => ({ partition: p, value: `${p}:${r}` })) });
  };
  const members = [new JavaMember(groupId, topic, protocol), new JavaMember(groupId, topic, protocol)];
  const shares = (ms: JavaMember[]) => ms.map((m) => m.assignment.length).sort().join(',');
  const covered = (ms: JavaMember[]) => new Set(ms.flatMap((m) => m.assignment)).size;
  const seen = () => new Set(members.flatMap((m) => m.deliveries.map((d) => d.value))).size;
  try {
    await eventually(() => shares(members) === '2,2' && covered(members) === 4, 60000, `two Java members own two partitions each\n${members.map((m) => m.log).join('\n').slice(-3000)}`);
    await produce(0, 50);
    await eventually(() => seen() === 200, 30000, 'first 200 records');
    await eventually(async () => (await describe(groupId, protocol)).state === 'Stable', 20000, 'group Stable');
    const d = await describe(groupId, protocol);
    assert.equal(d.errorCode, 0);
    assert.equal(d.members, 2);
    members.push(new JavaMember(groupId, topic, protocol));
    await eventually(() => shares(members) === '1,1,2' && covered(members) === 4, 60000, 'three Java members share four partitions');
    await produce(50, 25);
    await eventually(() => seen() === 300, 30000, '300 records');
    await sleep(500);
    const victim = [...members].sort((a, b) => b.assignment.length - a.assignment.length)[0];
    const killedAt = Date.now();
    await victim.kill();
    const committed = new Map((await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.map((p) => [p.partition, Number(p.offset)]));
    const survivors = members.filter((m) => m !== victim);
    await produce(75, 25);
    await eventually(() => shares(survivors) === '2,2' && covered(survivors) === 4, 30000, 'survivors own everything');
    const movedMs = Date.now() - killedAt;
    await eventually(() => seen() === 400, 30000, 'all 400 records');
    const count = new Map<string, { partition: number; offset: number }[]>();
    for (const m of members) for (const x of m.deliveries) count.set(x.value, [...(count.get(x.value) ?? []), x]);
    let duplicates = 0;
    for (const [value, ds] of count) {
      assert.ok(ds.length <= 2, `${value} delivered ${ds.length} times`);
      if (ds.length === 2) {
        duplicates++;
        assert.ok(ds[0].offset >= committed.get(ds[0].partition)!, `${value} re-delivered before the committed offset`);
      }
    }
    t.diagnostic(`${protocol}: partitions moved ${movedMs} ms after the SIGKILL (session 6000 ms); ${duplicates} duplicate(s)`);
    assert.ok(movedMs <= 6000 + 5000);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    await producer.disconnect();
    await admin.disconnect();
  }
});
