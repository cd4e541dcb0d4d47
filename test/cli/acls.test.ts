// `fjord acls` through the real CLI against a broker with SASL and an authorizer: add (ALLOW and
// DENY, literal and prefixed), list, remove; a user who is not a super user is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { fjord } from './cli-helpers.js';

test('fjord acls add / list / remove with kafka-acls\' flags; a non-super user is refused', async () => {
  const dir = tempDir();
  const broker = await withBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: ['PLAIN'], connectionFailedAuthenticationDelayMs: 0,
    addScram: parseAddScram('SCRAM-SHA-256=[name=admin,password=admin-secret];SCRAM-SHA-256=[name=alice,password=alice-secret]', '--add-scram'),
    authorizerClassName: 'fjord', superUsers: ['User:admin'],
  });
  const config = (user: string) => {
    const file = join(dir.path, `${user}.properties`);
    writeFileSync(file, `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${user}" password="${user}-secret";\n`);
    return file;
  };
  const acls = (user: string, ...args: string[]) => fjord(['acls', ...args, '-b', broker.address, '--command-config', config(user)]);
  try {
    const topic = uniqueTopic('cli-acl');
    let r = await acls('admin', 'add', '--allow-principal', 'User:alice', '--operation', 'Read,Describe', '--topic', topic);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Added 2 ACLs/);
    r = await acls('admin', 'add', '--deny-principal', 'User:mallory', '--operation', 'All', '--group', 'orders-', '--resource-pattern-type', 'prefixed');
    assert.equal(r.code, 0, r.stderr);
    r = await acls('admin', 'list', '--json');
    assert.equal(r.code, 0, r.stderr);
    const listed = JSON.parse(r.stdout) as { resourceName: string; resourcePatternType: number; acls: { principal: string; permissionType: number }[] }[];
    assert.deepEqual(listed.map((x) => [x.resourceName, x.acls.length]).sort(), [[topic, 2], ['orders-', 1]].sort());
    r = await acls('admin', 'list', '--topic', topic);
    assert.match(r.stdout, /TOPIC\s+\S+\s+LITERAL\s+User:alice\s+\*\s+READ\s+ALLOW/);
    r = await acls('alice', 'add', '--allow-principal', 'User:alice', '--operation', 'All', '--cluster');
    assert.equal(r.code, 1, 'alice is not a super user');
    assert.match(r.stderr, /[Aa]uthoriz/);
    r = await acls('admin', 'remove', '--topic', topic, '--allow-principal', 'User:alice');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed 2 ACLs/);
    r = await acls('admin', 'add', '--operation', 'Read', '--topic', topic);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--allow-principal or --deny-principal/);
  } finally {
    await broker.stop();
    dir.remove();
  }
});
