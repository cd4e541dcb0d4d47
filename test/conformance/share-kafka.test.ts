// Share groups with Kafka 4.1's own client: test/conformance/share/ShareConsumers.java (two
// KafkaShareConsumers, explicit acknowledgement, a RELEASEd record that must come back, then
// Admin describeShareGroups / listGroups(forShareGroups)) run against Apache Kafka 4.1 (KRaft, one
// node, share groups switched on with the share.version=1 feature) and against Fjord: the "= "
// lines must be the same from both.
// Kafka 4.1's client speaks ShareGroupHeartbeat/ShareFetch/ShareAcknowledge/ShareGroupDescribe v1
// only; Fjord serves v1 (its layout from scripts/protocol-overlay.ts, since ../shared's spec has v0
// only), and its ApiVersions is checked to offer it before the program runs against it.
// Needs Java; slow, so not part of npm test:  node --import tsx --test test/conformance/share-kafka.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync, startKafka } from '../../scripts/kafka-dist.mjs';
import { ApiKey } from '../../src/protocol/apis.js';
import { RawConnection, type Message } from '../raw-client.js';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';

const PROGRAM = fileURLToPath(new URL('./share/ShareConsumers.java', import.meta.url));
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

test('ShareConsumers.java: every record accepted once, a released record comes back; Kafka 4.1 and Fjord', { timeout: 600000 }, async () => {
  const dist = await ensureKafka({ quiet: true });
  const run = async (cls: string, args: string[]) => (await runKafkaClassSync(cls, args, { dist, heap: '256M' })) as Run;
  const kafka = await startKafka({ dist, heap: '512M', quiet: true }) as { bootstrap: string; stop(): Promise<void> };
  const dir = tempDir();
  const fjord = await withBroker({ dataDir: dir.path });
  try {
    // Kafka 4.1: share groups are off until the share.version feature is raised.
    const feature = await run('org.apache.kafka.tools.FeatureCommand', ['--bootstrap-server', kafka.bootstrap, 'upgrade', '--feature', 'share.version=1']);
    assert.equal(feature.code, 0, `${feature.stdout}\n${feature.stderr}`);
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
  } finally {
    await fjord.stop();
    await kafka.stop();
    dir.remove();
  }
});
