// One Java program (test/conformance/admin-apis/AdminApis.java: Kafka 4.1's AdminClient describeTopics,
// describeLogDirs, electLeaders, alterPartitionReassignments / listPartitionReassignments,
// describeMetadataQuorum, describeFeatures, updateFeatures, and a producer with enable.metrics.push=true) run against
// Apache Kafka 4.1 (KRaft, one node) and against Fjord started in the same test: its "= " lines must
// be the same from both. Then Kafka's kafka-topics --describe and kafka-metadata-quorum describe
// --status against Fjord. Needs Java; slow, so not part of npm test:
//   node --import tsx --test test/conformance/admin-apis-kafka.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync, startKafka } from '../../scripts/kafka-dist.mjs';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';

const PROGRAM = fileURLToPath(new URL('./admin-apis/AdminApis.java', import.meta.url));
type Run = { code: number; stdout: string; stderr: string };

test('AdminApis.java: the same answers from Fjord as from Kafka 4.1; kafka-topics and kafka-metadata-quorum on Fjord', { timeout: 600000 }, async () => {
  const dist = await ensureKafka({ quiet: true });
  const run = async (cls: string, args: string[]) => (await runKafkaClassSync(cls, args, { dist, heap: '256M' })) as Run;
  const kafka = await startKafka({ dist, heap: '512M', quiet: true }) as { bootstrap: string; stop(): Promise<void> };
  const dir = tempDir();
  const fjord = await withBroker({ dataDir: dir.path });
  try {
    const topic = uniqueTopic('adminapis');
    const fromKafka = await run(PROGRAM, [kafka.bootstrap, topic]);
    assert.equal(fromKafka.code, 0, `against Kafka:\n${fromKafka.stdout}\n${fromKafka.stderr}`);
    const fromFjord = await run(PROGRAM, [fjord.address, topic]);
    assert.equal(fromFjord.code, 0, `against Fjord:\n${fromFjord.stdout}\n${fromFjord.stderr}`);
    const same = (out: string) => out.split('\n').filter((l) => l.startsWith('= '));
    assert.ok(same(fromKafka.stdout).length > 20, fromKafka.stdout);
    assert.deepEqual(same(fromFjord.stdout), same(fromKafka.stdout), `Fjord:\n${fromFjord.stdout}\nKafka:\n${fromKafka.stdout}`);
    // Fjord's own values: its data dir, its features (no TV2: EndTxn v5 is not served).
    assert.ok(fromFjord.stdout.includes(`~   dir ${dir.path} `), fromFjord.stdout);
    assert.match(fromFjord.stdout, /~ finalized group\.version=1\n~ finalized metadata\.version=27\n/);
    assert.doesNotMatch(fromFjord.stdout, /finalized transaction\.version/);
    assert.match(fromFjord.stdout, /~ producer clientInstanceId true/);
    // updateFeatures: a downgrade Kafka makes (validateOnly) is refused by Fjord, whose levels are what it does.
    assert.match(fromKafka.stdout, /~ updateFeatures group\.version safe downgrade validateOnly: ok\n/);
    assert.match(fromFjord.stdout, /~ updateFeatures group\.version safe downgrade validateOnly: InvalidUpdateVersionException: .*Fjord runs group\.version at level 1 only/);

    // kafka-topics --describe (DescribeTopicPartitions).
    const topics = await run('topics', ['--bootstrap-server', fjord.address, '--describe', '--topic', topic]);
    assert.equal(topics.code, 0, topics.stderr);
    assert.match(topics.stdout, new RegExp(`Topic: ${topic}\\tTopicId: \\S+\\tPartitionCount: 3\\tReplicationFactor: 1`));
    for (let p = 0; p < 3; p++) assert.match(topics.stdout, new RegExp(`Topic: ${topic}\\tPartition: ${p}\\tLeader: 1\\tReplicas: 1\\tIsr: 1`));
    // kafka-metadata-quorum describe --status (DescribeQuorum, DescribeCluster).
    const quorum = await run('org.apache.kafka.tools.MetadataQuorumCommand', ['--bootstrap-server', fjord.address, 'describe', '--status']);
    assert.equal(quorum.code, 0, quorum.stderr);
    assert.match(quorum.stdout, /LeaderId:\s+1\n/);
    assert.match(quorum.stdout, /MaxFollowerLag:\s+0\n/);
    assert.match(quorum.stdout, /CurrentVoters:\s+\[\{"id": 1/);
    assert.match(quorum.stdout, /CurrentObservers:\s+\[\]/);
  } finally {
    await fjord.stop();
    await kafka.stop();
    dir.remove();
  }
});
