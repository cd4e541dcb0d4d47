// Apache Kafka 4.1's own `kafka-acls` (org.apache.kafka.tools.AclCommand: CreateAcls, DescribeAcls,
// DeleteAcls) managing Fjord's ACLs: add (literal and prefixed, allow and deny, topic / group /
// cluster / transactional id, --principal / --host / --operation), --list compared with
// `fjord acls list` and DescribeAcls, --remove --force; once as a super user on a loopback
// PLAINTEXT listener and once with --command-config on a SASL_PLAINTEXT listener.
// Needs Java; slow, so not part of npm test:
//   node --import tsx --test test/conformance/kafka-acls.test.ts
// KAFKA_DIST_DIR=<dir with lib/ and config/> reuses jars already fetched; otherwise
// scripts/kafka-dist.mjs fetches them with Maven.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain JavaScript module without types
import { ensureKafka, runKafkaClassSync } from '../../scripts/kafka-dist.mjs';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../src/broker/auth/acls.js';
import { Kafka, logLevel } from '../../src/client/index.js';
import { fjord } from '../cli/cli-helpers.js';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';

async function dist() {
  const dir = process.env.KAFKA_DIST_DIR;
  if (!dir) return ensureKafka({ quiet: true });
  return { classpath: join(dir, 'lib', '*'), toolsLog4j: join(dir, 'config', 'log4j2-tools.properties'), serverLog4j: join(dir, 'config', 'log4j2-server.properties') };
}

const nameOf = (table: Record<string, number>, code: number) => Object.entries(table).find(([, v]) => v === code)?.[0] ?? `?${code}`;

/** One ACL as a comparable line: TYPE|name|PATTERN|principal|host|OPERATION|PERMISSION. */
type Row = string;

/**
 * Parses kafka-acls' listing:
 *   Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`:
 *    	(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)
 */
function parseKafkaList(out: string): Row[] {
  const rows: Row[] = [];
  let resource: string | null = null;
  for (const line of out.split('\n')) {
    const r = /ResourcePattern\(resourceType=(\w+), name=(.*), patternType=(\w+)\)/.exec(line);
    if (r) { resource = `${r[1]}|${r[2]}|${r[3]}`; continue; }
    const a = /\(principal=(.*), host=(.*), operation=(\w+), permissionType=(\w+)\)/.exec(line);
    if (a) {
      assert.ok(resource, `an ACL line before any resource: ${line}`);
      rows.push(`${resource}|${a[1]}|${a[2]}|${a[3]}|${a[4]}`);
    }
  }
  return rows.sort();
}

interface DescribedResource { resourceType: number; resourceName: string; resourcePatternType: number; acls: { principal: string; host: string; operation: number; permissionType: number }[] }

function rowsOf(resources: DescribedResource[]): Row[] {
  return resources.flatMap((r) => r.acls.map((a) => [
    nameOf(ResourceType, r.resourceType), r.resourceName, nameOf(PatternType, r.resourcePatternType),
    a.principal, a.host, nameOf(AclOperation, a.operation), nameOf(AclPermission, a.permissionType),
  ].join('|'))).sort();
}

const ANY_FILTER = { resourceType: ResourceType.ANY, resourceName: null, resourcePatternType: PatternType.ANY, principal: null, host: null, operation: AclOperation.ANY, permissionType: AclPermission.ANY };

test('kafka-acls --add / --list / --remove against Fjord: what it lists is what Fjord holds', { timeout: 600000 }, async () => {
  const dir = tempDir();
  const broker = await withBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-512'], connectionFailedAuthenticationDelayMs: 0,
    addScram: parseAddScram('SCRAM-SHA-512=[name=admin,password=admin-secret];SCRAM-SHA-512=[name=alice,password=alice-secret]', '--add-scram'),
    // The loopback PLAINTEXT listener's clients are User:ANONYMOUS: a super user here, as an operator's
    // local console would be; the SASL listener's admin is the other super user.
    authorizerClassName: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', superUsers: ['User:ANONYMOUS', 'User:admin'],
  });
  const plain = broker.listeners.find((l) => l.securityProtocol === 'PLAINTEXT')!.address;
  const sasl = broker.listeners.find((l) => l.securityProtocol === 'SASL_PLAINTEXT')!.address;
  const d = await dist();
  const scramConfig = (user: string) => {
    const file = join(dir.path, `${user}-scram.properties`);
    writeFileSync(file, [
      'security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${user}-secret";`, '',
    ].join('\n'));
    return file;
  };
  const adminConfig = scramConfig('admin');
  const kafkaAcls = async (bootstrap: string, args: string[], config?: string) =>
    (await runKafkaClassSync('org.apache.kafka.tools.AclCommand', ['--bootstrap-server', bootstrap, ...(config ? ['--command-config', config] : []), ...args], { dist: d, heap: '256M' })) as { code: number; stdout: string; stderr: string };
  const client = new Kafka({ brokers: [plain], logLevel: logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  const fjordList = async () => {
    const r = await fjord(['acls', 'list', '--json', '-b', sasl, '--command-config', adminConfig]);
    assert.equal(r.code, 0, r.stderr);
    return rowsOf(JSON.parse(r.stdout) as DescribedResource[]);
  };
  const described = async () => rowsOf((await admin.describeAcls(ANY_FILTER)).resources);
  try {
    const topic = uniqueTopic('kacl');
    let r = await kafkaAcls(plain, ['--add', '--allow-principal', 'User:alice', '--allow-host', '127.0.0.1', '--operation', 'Read', '--operation', 'Describe', '--topic', topic]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Adding ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=.*, patternType=LITERAL\)`/);
    r = await kafkaAcls(plain, ['--add', '--deny-principal', 'User:mallory', '--operation', 'All', '--topic', 'orders-', '--resource-pattern-type', 'prefixed']);
    assert.equal(r.code, 0, r.stderr);
    r = await kafkaAcls(plain, ['--add', '--allow-principal', 'User:alice', '--allow-principal', 'User:bob', '--operation', 'Read', '--group', 'etl-', '--resource-pattern-type', 'PREFIXED']);
    assert.equal(r.code, 0, r.stderr);
    r = await kafkaAcls(plain, ['--add', '--allow-principal', 'User:ops', '--operation', 'DescribeConfigs', '--operation', 'IdempotentWrite', '--operation', 'ClusterAction', '--cluster']);
    assert.equal(r.code, 0, r.stderr);
    r = await kafkaAcls(plain, ['--add', '--allow-principal', 'User:alice', '--operation', 'Write', '--operation', 'Describe', '--transactional-id', 'tx-1']);
    assert.equal(r.code, 0, r.stderr);
    r = await kafkaAcls(plain, ['--add', '--deny-principal', 'User:*', '--deny-host', '10.1.2.3', '--operation', 'Write', '--topic', '*']);
    assert.equal(r.code, 0, r.stderr);
    // The convenience options: --producer adds WRITE, DESCRIBE, CREATE on the topic; --consumer adds READ, DESCRIBE on topic and group.
    r = await kafkaAcls(plain, ['--add', '--allow-principal', 'User:carol', '--producer', '--topic', 'metrics', '--idempotent']);
    assert.equal(r.code, 0, r.stderr);
    r = await kafkaAcls(plain, ['--add', '--allow-principal', 'User:carol', '--consumer', '--topic', 'metrics', '--group', 'dash']);
    assert.equal(r.code, 0, r.stderr);

    const expected = [
      `TOPIC|${topic}|LITERAL|User:alice|127.0.0.1|READ|ALLOW`, `TOPIC|${topic}|LITERAL|User:alice|127.0.0.1|DESCRIBE|ALLOW`,
      'TOPIC|orders-|PREFIXED|User:mallory|*|ALL|DENY',
      'GROUP|etl-|PREFIXED|User:alice|*|READ|ALLOW', 'GROUP|etl-|PREFIXED|User:bob|*|READ|ALLOW',
      'CLUSTER|kafka-cluster|LITERAL|User:ops|*|DESCRIBE_CONFIGS|ALLOW', 'CLUSTER|kafka-cluster|LITERAL|User:ops|*|IDEMPOTENT_WRITE|ALLOW',
      'CLUSTER|kafka-cluster|LITERAL|User:ops|*|CLUSTER_ACTION|ALLOW',
      'TRANSACTIONAL_ID|tx-1|LITERAL|User:alice|*|WRITE|ALLOW', 'TRANSACTIONAL_ID|tx-1|LITERAL|User:alice|*|DESCRIBE|ALLOW',
      'TOPIC|*|LITERAL|User:*|10.1.2.3|WRITE|DENY',
      'TOPIC|metrics|LITERAL|User:carol|*|WRITE|ALLOW', 'TOPIC|metrics|LITERAL|User:carol|*|DESCRIBE|ALLOW', 'TOPIC|metrics|LITERAL|User:carol|*|CREATE|ALLOW',
      'CLUSTER|kafka-cluster|LITERAL|User:carol|*|IDEMPOTENT_WRITE|ALLOW',
      'TOPIC|metrics|LITERAL|User:carol|*|READ|ALLOW', 'GROUP|dash|LITERAL|User:carol|*|READ|ALLOW',
    ].sort();
    // --consumer repeats DESCRIBE on the topic: an ACL that exists already is kept once.
    r = await kafkaAcls(plain, ['--list']);
    assert.equal(r.code, 0, r.stderr);
    const listed = parseKafkaList(r.stdout);
    assert.deepEqual(listed, expected);
    assert.deepEqual(await fjordList(), expected, 'fjord acls list agrees');
    assert.deepEqual(await described(), expected, 'DescribeAcls agrees');

    // Filters: one resource; a principal; pattern types.
    r = await kafkaAcls(plain, ['--list', '--topic', topic]);
    assert.deepEqual(parseKafkaList(r.stdout), expected.filter((x) => x.startsWith(`TOPIC|${topic}|`)));
    r = await kafkaAcls(plain, ['--list', '--principal', 'User:alice']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseKafkaList(r.stdout), expected.filter((x) => x.split('|')[3] === 'User:alice'));
    r = await kafkaAcls(plain, ['--list', '--group', 'etl-', '--resource-pattern-type', 'prefixed']);
    assert.deepEqual(parseKafkaList(r.stdout), expected.filter((x) => x.startsWith('GROUP|etl-|')));
    // MATCH: every ACL that applies to topic orders-2024 (the prefix and the wildcard).
    r = await kafkaAcls(plain, ['--list', '--topic', 'orders-2024', '--resource-pattern-type', 'match']);
    assert.deepEqual(parseKafkaList(r.stdout), ['TOPIC|*|LITERAL|User:*|10.1.2.3|WRITE|DENY', 'TOPIC|orders-|PREFIXED|User:mallory|*|ALL|DENY']);
    r = await kafkaAcls(plain, ['--list', '--cluster']);
    assert.deepEqual(parseKafkaList(r.stdout), expected.filter((x) => x.startsWith('CLUSTER|')));
    r = await kafkaAcls(plain, ['--list', '--transactional-id', 'tx-1']);
    assert.deepEqual(parseKafkaList(r.stdout), expected.filter((x) => x.startsWith('TRANSACTIONAL_ID|')));

    // Remove: one operation of one principal; then a whole resource; then a prefixed one.
    r = await kafkaAcls(plain, ['--remove', '--force', '--allow-principal', 'User:alice', '--allow-host', '127.0.0.1', '--operation', 'Read', '--topic', topic]);
    assert.equal(r.code, 0, r.stderr);
    let now = expected.filter((x) => x !== `TOPIC|${topic}|LITERAL|User:alice|127.0.0.1|READ|ALLOW`);
    assert.deepEqual(await described(), now);
    r = await kafkaAcls(plain, ['--remove', '--force', '--transactional-id', 'tx-1']);
    assert.equal(r.code, 0, r.stderr);
    now = now.filter((x) => !x.startsWith('TRANSACTIONAL_ID|'));
    r = await kafkaAcls(plain, ['--remove', '--force', '--group', 'etl-', '--resource-pattern-type', 'prefixed']);
    assert.equal(r.code, 0, r.stderr);
    now = now.filter((x) => !x.startsWith('GROUP|etl-|'));
    r = await kafkaAcls(plain, ['--list']);
    assert.deepEqual(parseKafkaList(r.stdout), now);
    assert.deepEqual(await fjordList(), now);

    // Over the SASL listener as the super user admin, with --command-config.
    r = await kafkaAcls(sasl, ['--add', '--allow-principal', 'User:dave', '--operation', 'Alter', '--operation', 'AlterConfigs', '--topic', 'sasl-', '--resource-pattern-type', 'prefixed'], adminConfig);
    assert.equal(r.code, 0, r.stderr);
    now = [...now, 'TOPIC|sasl-|PREFIXED|User:dave|*|ALTER|ALLOW', 'TOPIC|sasl-|PREFIXED|User:dave|*|ALTER_CONFIGS|ALLOW'].sort();
    r = await kafkaAcls(sasl, ['--list'], adminConfig);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseKafkaList(r.stdout), now);
    assert.deepEqual(await described(), now);
    // alice is no super user and has no ALTER on the cluster: refused, nothing changes.
    r = await kafkaAcls(sasl, ['--add', '--allow-principal', 'User:alice', '--operation', 'All', '--cluster'], scramConfig('alice'));
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /ClusterAuthorizationException|not authorized/i);
    r = await kafkaAcls(sasl, ['--list'], scramConfig('alice'));
    assert.match(r.stdout + r.stderr, /ClusterAuthorizationException|not authorized/i);
    r = await kafkaAcls(sasl, ['--remove', '--force', '--topic', 'sasl-', '--resource-pattern-type', 'prefixed'], adminConfig);
    assert.equal(r.code, 0, r.stderr);
    now = now.filter((x) => !x.startsWith('TOPIC|sasl-|'));
    // Everything else, with one --remove of every topic ACL (the resource-pattern-type any filter).
    r = await kafkaAcls(sasl, ['--remove', '--force', '--topic', '*', '--resource-pattern-type', 'any'], adminConfig);
    assert.equal(r.code, 0, r.stderr);
    now = now.filter((x) => !x.startsWith('TOPIC|*|'));
    assert.deepEqual(await described(), now);
    assert.deepEqual(await fjordList(), now);
  } finally {
    await admin.disconnect();
    await broker.stop();
    dir.remove();
  }
});
