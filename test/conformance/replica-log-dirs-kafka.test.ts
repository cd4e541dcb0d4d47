// One Java program (test/conformance/admin-apis/ReplicaLogDirs.java: Kafka 4.1's Admin
// alterReplicaLogDirs and describeReplicaLogDirs) run against Apache Kafka 4.1 (KRaft, one node) and
// against Fjord started in the same test: its "= " lines must be the same from both. Needs Java; slow,
// so not part of npm test (npm run test:kafka-tools runs it):
//   node --import tsx --test test/conformance/replica-log-dirs-kafka.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync, startKafka } from '../../scripts/kafka-dist.mjs';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';

const PROGRAM = fileURLToPath(new URL('./admin-apis/ReplicaLogDirs.java', import.meta.url));
type Run = { code: number; stdout: string; stderr: string };

test('ReplicaLogDirs.java: alterReplicaLogDirs answers the same from Fjord as from Kafka 4.1', { timeout: 600000 }, async () => {
  const dist = await ensureKafka({ quiet: true });
  const kafka = await startKafka({ dist, heap: '512M', quiet: true }) as { bootstrap: string; stop(): Promise<void> };
  const dir = tempDir();
  const fjord = await withBroker({ dataDir: dir.path });
  try {
    const topic = uniqueTopic('replica-log-dirs');
    const run = async (bootstrap: string) => (await runKafkaClassSync(PROGRAM, [bootstrap, topic], { dist, heap: '256M' })) as Run;
    const fromKafka = await run(kafka.bootstrap);
    assert.equal(fromKafka.code, 0, `against Kafka:\n${fromKafka.stdout}\n${fromKafka.stderr}`);
    const fromFjord = await run(fjord.address);
    assert.equal(fromFjord.code, 0, `against Fjord:\n${fromFjord.stdout}\n${fromFjord.stderr}`);
    const same = (out: string) => out.split('\n').filter((l) => l.startsWith('= '));
    assert.ok(same(fromKafka.stdout).length >= 10, fromKafka.stdout);
    assert.deepEqual(same(fromFjord.stdout), same(fromKafka.stdout), `Fjord:\n${fromFjord.stdout}\nKafka:\n${fromKafka.stdout}`);
    assert.ok(fromFjord.stdout.includes(`~ dir ${dir.path}\n`), fromFjord.stdout);
  } finally {
    await fjord.stop();
    await kafka.stop();
    dir.remove();
  }
});
