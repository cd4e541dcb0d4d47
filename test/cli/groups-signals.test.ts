// `fjord groups` in kafka-consumer-groups' layouts, and Ctrl-C on `fjord consume --group`, through
// the real CLI against a real broker: a classic and a KIP-848 group with a running `fjord consume`
// member each; list --type/--state, describe --members [--verbose] / --state / --offsets; then
// SIGINT (classic) and SIGTERM (KIP-848) make each member leave at once (the group is empty right
// after, well before any session timeout) and exit 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueTopic } from '../helpers.js';
import { brokerForFile, fjord } from './cli-helpers.js';
import { startFjord, until, type Running } from './cli-process.js';
import { Kafka, logLevel } from '../../src/index.js';

const file = brokerForFile();
const b = file.flags;
// Fjord's client: kafkajs' describeGroups does not know KIP-848 groups.
let admin: ReturnType<Kafka['admin']>;
before(async () => {
  const broker = await file.ready;
  admin = new Kafka({ clientId: 'groups-signals-test', brokers: [broker.address], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
});
after(async () => { await admin.disconnect(); });

const members = async (g: string) => (await admin.describeGroups([g])).groups[0];

test('groups list/describe in Kafka layouts; SIGINT and SIGTERM leave the group at once and exit 0', async () => {
  const t = uniqueTopic('sig');
  const classic = uniqueTopic('sig-classic');
  const modern = uniqueTopic('sig-848');
  assert.equal((await fjord(['topics', 'create', t, '--partitions', '2', ...b])).code, 0);
  await fjord(['produce', t, '--property', 'parse.key=true', '--property', 'key.separator=:', ...b], { input: 'a:1\nb:2\nc:3\nd:4\n' });
  // A session timeout far longer than the test: only a LeaveGroup can empty the group in time.
  const running: Running[] = [
    startFjord(['consume', t, '--group', classic, '--from-beginning', '--consumer-property', 'session.timeout.ms=120000', ...b]),
    startFjord(['consume', t, '--group', modern, '--group-protocol', 'consumer', '--from-beginning', ...b]),
  ];
  try {
    for (const [r, g] of [[running[0], classic], [running[1], modern]] as const) {
      let seen = '';
      await until(async () => {
        const d = await members(g);
        seen = `${d.state} with ${d.members.length} member(s), printed ${JSON.stringify(r.stdout())}, stderr ${r.stderr()}`;
        return r.stdout().split('\n').length > 4 && d.members.length === 1 && d.state === 'Stable';
      }, `${g} to read everything`).catch((err: Error) => { throw new Error(`${err.message}: ${seen}`); });
    }

    let r = await fjord(['groups', 'list', '--type', '--state', ...b]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^GROUP +TYPE +STATE/);
    assert.match(r.stdout, new RegExp(`\\n${classic} +Classic +Stable`));
    assert.match(r.stdout, new RegExp(`\\n${modern} +Consumer +Stable`));
    r = await fjord(['groups', '--list', '--type', 'consumer', ...b]);
    assert.match(r.stdout, new RegExp(`\\n${modern} +Consumer`));
    assert.doesNotMatch(r.stdout, new RegExp(classic));
    r = await fjord(['groups', '--list', ...b]);
    assert.ok(r.stdout.split('\n').includes(classic) && r.stdout.split('\n').includes(modern), r.stdout);

    r = await fjord(['groups', '--describe', '--group', classic, '--members', ...b]);
    assert.match(r.stdout, /^\nGROUP +CONSUMER-ID +HOST +CLIENT-ID +#PARTITIONS *\n/);
    assert.match(r.stdout, new RegExp(`\\n${classic} +\\S+ +\\S+ +fjord-cli +2 *\\n`));
    r = await fjord(['groups', 'describe', modern, '--members', '--verbose', ...b]);
    assert.match(r.stdout, /GROUP +CONSUMER-ID +HOST +CLIENT-ID +#PARTITIONS +CURRENT-EPOCH +CURRENT-ASSIGNMENT +TARGET-EPOCH +TARGET-ASSIGNMENT/);
    assert.match(r.stdout, new RegExp(`\\n${modern} +\\S+ +\\S+ +fjord-cli +2 +\\d+ +${t}:0,1 +\\d+ +${t}:0,1 *\\n`));
    r = await fjord(['groups', 'describe', classic, '--members', '--verbose', ...b]);
    assert.match(r.stdout, new RegExp(`\\n${classic} +\\S+ +\\S+ +fjord-cli +2 +- +${t}:0,1 +- +- *\\n`));
    r = await fjord(['groups', 'describe', classic, '--state', ...b]);
    assert.match(r.stdout, /GROUP +COORDINATOR \(ID\) +ASSIGNMENT-STRATEGY +STATE +#MEMBERS\n/);
    assert.match(r.stdout, new RegExp(`\\n${classic} +127\\.0\\.0\\.1:\\d+ +\\(\\d+\\) +\\S+ +Stable +1\\n`));
    r = await fjord(['groups', 'describe', classic, '--offsets', ...b]);
    assert.match(r.stdout, /GROUP +TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +CONSUMER-ID +HOST +CLIENT-ID\n/);
    r = await fjord(['groups', '--describe', '--group', uniqueTopic('nobody'), ...b]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error: Consumer group '.*' does not exist\./);

    // Ctrl-C: the classic member sends LeaveGroup; SIGTERM: the KIP-848 member leaves (epoch -1).
    running[0].child.kill('SIGINT');
    running[1].child.kill('SIGTERM');
    const [first, second] = await Promise.all(running.map((p) => p.exited));
    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    for (const g of [classic, modern]) {
      const d = await members(g);
      assert.equal(d.members.length, 0, `${g} still has ${d.members.length} member(s) right after the CLI exited`);
      assert.equal(d.state, 'Empty');
    }
    // What was printed was committed on the way out.
    const committed = await admin.fetchOffsets({ groupId: classic, topics: [t] });
    assert.equal(committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0), 4);
    r = await fjord(['groups', 'describe', classic, '--state', ...b]);
    assert.match(r.stdout, new RegExp(`^\\nConsumer group '${classic}' has no active members\\.\\n\\nGROUP`));
  } finally {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
});
