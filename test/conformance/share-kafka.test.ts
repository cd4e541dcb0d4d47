// Share groups with Kafka 4.1's own client: test/conformance/share/ShareConsumers.java (two
// KafkaShareConsumers, explicit acknowledgement, a RELEASEd record that must come back, then
// Admin describeShareGroups / listGroups(forShareGroups)) run against Apache Kafka 4.1 (KRaft, one
// node, share groups switched on with the share.version=1 feature) and against Fjord: the "= "
// lines must be the same from both.
// Kafka 4.1's client speaks ShareGroupHeartbeat/ShareFetch/ShareAcknowledge/ShareGroupDescribe v1
// only; Fjord serves v1 (its layout from scripts/protocol-overlay.ts, since ../shared's spec has v0
// only), and its ApiVersions is checked to offer it before the program runs against it.
//
// test/conformance/share/ShareOffsets.java: the share-group admin APIs 90–92 through Kafka 4.1's
// Admin (listShareGroupOffsets, alterShareGroupOffsets, deleteShareGroupOffsets) and Kafka's own
// `kafka-share-groups.sh` (ShareGroupCommand: --describe --offsets, --delete-offsets; its
// --reset-offsets is "not yet implemented" in 4.1), plus a classic consumer, a KIP-848 consumer
// and an offset commit refused with a share group's id. Its "= " lines and the tool's lines must be
// the same from both brokers; its "! " lines are where Kafka 4.1.1 falls short of its own design
// (stale start offsets, an AlterShareGroupOffsets that changes nothing): each broker is held to
// its own list, so a Kafka that starts doing it right shows up here.
// Needs Java; slow, so not part of npm test:  node --import tsx --test test/conformance/share-kafka.test.ts
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync, startKafka } from '../../scripts/kafka-dist.mjs';
import { ApiKey } from '../../src/protocol/apis.js';
import { RawConnection, type Message } from '../raw-client.js';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';

const PROGRAM = fileURLToPath(new URL('./share/ShareConsumers.java', import.meta.url));
const OFFSETS_PROGRAM = fileURLToPath(new URL('./share/ShareOffsets.java', import.meta.url));
const SHARE_GROUP_COMMAND = 'org.apache.kafka.tools.consumer.group.ShareGroupCommand';
type Run = { code: number; stdout: string; stderr: string };
/** The versions Kafka 4.1's KafkaShareConsumer and Admin send (their only ones). */
const CLIENT_VERSIONS: [number, number][] = [[ApiKey.ShareGroupHeartbeat, 1], [ApiKey.ShareFetch, 1], [ApiKey.ShareAcknowledge, 1], [ApiKey.ShareGroupDescribe, 1]];

async function missingVersions(port: number): Promise<string[]> {
  const conn = await RawConnection.connect(port);
  try {
    const r: Message = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'share-test', clientSoftwareVersion: '1' });
    return CLIENT_VERSIONS.filter(([key, v]) => !r.apiKeys.some((a: Message) => a.apiKey === key && a.minVersion <= v && a.maxVersion >= v)).map(([key, v]) => `API ${key} v${v}`);
  } finally {
    conn.socket.destroy();
  }
}

const same = (out: string) => out.split('\n').filter((l) => l.startsWith('= '));
const own = (out: string) => out.split('\n').filter((l) => l.startsWith('! '));
/** A tool's output lines, blank ones dropped and runs of spaces made one (column widths vary). */
const toolLines = (out: string) => out.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter((l) => l !== '');

type KafkaDist = unknown;
let dist: KafkaDist;
let kafka: { bootstrap: string; stop(): Promise<void> };
let fjord: Awaited<ReturnType<typeof withBroker>>;
let dir: ReturnType<typeof tempDir>;
const run = async (cls: string, args: string[]) => (await runKafkaClassSync(cls, args, { dist, heap: '256M' })) as Run;

before(async () => {
  dist = await ensureKafka({ quiet: true });
  kafka = await startKafka({ dist, heap: '512M', quiet: true });
  dir = tempDir();
  fjord = await withBroker({ dataDir: dir.path });
  // Kafka 4.1: share groups are off until the share.version feature is raised.
  const feature = await run('org.apache.kafka.tools.FeatureCommand', ['--bootstrap-server', kafka.bootstrap, 'upgrade', '--feature', 'share.version=1']);
  assert.equal(feature.code, 0, `${feature.stdout}\n${feature.stderr}`);
});

after(async () => {
  await fjord?.stop();
  await kafka?.stop();
  dir?.remove();
});

test('ShareConsumers.java: every record accepted once, a released record comes back; Kafka 4.1 and Fjord', { timeout: 600000 }, async () => {
  const fromKafka = await run(PROGRAM, [kafka.bootstrap, uniqueTopic('share-java'), 'share-java']);
  assert.equal(fromKafka.code, 0, `against Kafka:\n${fromKafka.stdout}\n${fromKafka.stderr}`);
  const expected = [
    '= describe state Stable members 2',
    '= member share-0 partitions [0]',
    '= member share-1 partitions [0]',
    '= group config share.auto.offset.reset=earliest',
    '= errors []',
    '= accepted 100 of 100',
    '= accepted twice 0',
    '= released record came back with delivery count 2',
    '= listed as share group [share-java]',
  ];
  assert.deepEqual(same(fromKafka.stdout), expected, fromKafka.stdout);

  assert.deepEqual(await missingVersions(fjord.port), [], 'Fjord offers the share API versions Kafka 4.1\'s client sends');
  const fromFjord = await run(PROGRAM, [fjord.address, uniqueTopic('share-java'), 'share-java']);
  assert.equal(fromFjord.code, 0, `against Fjord:\n${fromFjord.stdout}\n${fromFjord.stderr}`);
  assert.deepEqual(same(fromFjord.stdout), same(fromKafka.stdout), `Fjord:\n${fromFjord.stdout}\nKafka:\n${fromKafka.stdout}`);
});

/** ShareOffsets.java's two phases with kafka-share-groups.sh between them, against one broker. */
async function offsetsRun(bootstrap: string, topic: string, group: string): Promise<{ program: string; tools: string[][] }> {
  const consume = await run(OFFSETS_PROGRAM, [bootstrap, topic, group, 'consume']);
  assert.equal(consume.code, 0, `consume phase against ${bootstrap}:\n${consume.stdout}\n${consume.stderr}`);
  const tools: string[][] = [];
  for (const args of [
    ['--describe', '--offsets', '--group', group],
    ['--delete-offsets', '--group', group, '--topic', topic],
    ['--describe', '--offsets', '--group', group],
    ['--delete-offsets', '--group', group, '--topic', topic],
  ]) {
    const t = await run(SHARE_GROUP_COMMAND, ['--bootstrap-server', bootstrap, ...args]);
    assert.equal(t.code, 0, `kafka-share-groups.sh ${args.join(' ')} against ${bootstrap}:\n${t.stdout}\n${t.stderr}`);
    tools.push(toolLines(t.stdout));
  }
  const admin = await run(OFFSETS_PROGRAM, [bootstrap, topic, group, 'admin']);
  assert.equal(admin.code, 0, `admin phase against ${bootstrap}:\n${admin.stdout}\n${admin.stderr}`);
  return { program: consume.stdout + admin.stdout, tools };
}

test('ShareOffsets.java and kafka-share-groups.sh: share-group offsets (APIs 90–92) and a share group\'s id refused elsewhere; Kafka 4.1 and Fjord', { timeout: 600000 }, async () => {
  const topic = uniqueTopic('share-offsets');
  const group = 'share-offsets';
  const fromKafka = await offsetsRun(kafka.bootstrap, topic, group);
  const expected = [
    '= offsets of a group that does not exist {}',
    '= consumed 15',
    '= alter while Stable ok',
    '= delete while Stable GroupNotEmptyException',
    "= classic consumer with the share group's id InconsistentGroupProtocolException",
    "= consumer consumer with the share group's id GroupIdNotFoundException",
    "= offset commit with the share group's id GroupIdNotFoundException",
    '= offsets after the tool deleted them {}',
    '= alter an unknown topic UnknownTopicOrPartitionException',
    '= alter partition 0 to 3 ok',
    '= offsets after delete {}',
    '= delete offsets of an unknown topic UnknownTopicOrPartitionException',
    '= delete offsets of a group that does not exist GroupIdNotFoundException',
    '= alter a group that does not exist ok',
  ];
  assert.deepEqual(same(fromKafka.program), expected, fromKafka.program);
  // Where Kafka 4.1.1 falls short: start offsets stuck at 0, alter a no-op.
  assert.deepEqual(own(fromKafka.program), [
    '! offsets while Stable {0=0, 1=0}',
    "! alter a partition past the topic's ok",
    '! offsets after alter {}',
    '! offsets of partition 0 named {0=null}',
    '! delete offsets of the topic UnknownTopicOrPartitionException',
    '! offsets of it {}',
  ], fromKafka.program);
  const header = 'GROUP TOPIC PARTITION START-OFFSET';
  const afterDescribe = [
    ['TOPIC STATUS', `${topic} Successful`],
    [header],
    ['TOPIC STATUS', `${topic} Error: There is no offset information to delete.`],
  ];
  assert.deepEqual(fromKafka.tools, [[header, `${group} ${topic} 0 0`, `${group} ${topic} 1 0`], ...afterDescribe]);

  const fromFjord = await offsetsRun(fjord.address, topic, group);
  assert.deepEqual(same(fromFjord.program), same(fromKafka.program), `Fjord:\n${fromFjord.program}\nKafka:\n${fromKafka.program}`);
  // Fjord's true answers: all 10 + 5 records accepted, alter sets the start offset.
  assert.deepEqual(own(fromFjord.program), [
    '! offsets while Stable {0=10, 1=5}',
    "! alter a partition past the topic's UnknownTopicOrPartitionException",
    '! offsets after alter {0=3}',
    '! offsets of partition 0 named {0=3}',
    '! delete offsets of the topic ok',
    '! offsets of it {0=4}',
  ], fromFjord.program);
  assert.deepEqual(fromFjord.tools, [[header, `${group} ${topic} 0 10`, `${group} ${topic} 1 5`], ...afterDescribe]);
});
