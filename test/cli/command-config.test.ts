// `--command-config`: Kafka's client properties file reaches a SASL_SSL listener through the real
// CLI (SCRAM-SHA-512 over TLS with the CA from the file), and properties the command line cannot
// act on stop it with their names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { loadCommandConfig, parseJaas } from '../../src/cli/command-config.js';
import { tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { hasOpenssl, makeCa } from '../tls-certs.js';
import { fjord } from './cli-helpers.js';

test('fjord topics with --command-config: SASL_SSL + SCRAM-SHA-512 from a Kafka client properties file', { skip: hasOpenssl() ? false : 'openssl is not installed' }, async () => {
  const dir = tempDir();
  const ca = makeCa(dir.path);
  const cert = ca.issue('server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  const broker = await withBroker({
    listeners: 'SASL_SSL://127.0.0.1:0', sslKeystoreLocation: cert.bundleFile, saslEnabledMechanisms: ['SCRAM-SHA-512'],
    addScram: parseAddScram('SCRAM-SHA-512=[name=alice,password=alice-secret]', '--add-scram'), connectionFailedAuthenticationDelayMs: 0,
  });
  try {
    const props = join(dir.path, 'client.properties');
    writeFileSync(props, [
      '# the same file works with kafka-topics.sh --command-config',
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-512',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
      '    username="alice" password="alice-secret";',
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${ca.caFile}`,
      '',
    ].join('\n'));
    const topic = uniqueTopic('cmd-config');
    const created = await fjord(['topics', 'create', topic, '--partitions', '2', '-b', broker.address, '--command-config', props]);
    assert.equal(created.code, 0, created.stderr);
    const listed = await fjord(['topics', 'list', '-b', broker.address, '--command-config', props]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(topic));
    // Without the file the broker is not reachable for this client (TLS + SASL needed).
    const bare = await fjord(['topics', 'list', '-b', broker.address, '--request-timeout', '2000']);
    assert.notEqual(bare.code, 0);
    // A wrong password from the file is an authentication error.
    writeFileSync(props, ['security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512', 'sasl.jaas.config=x.ScramLoginModule required username="alice" password="nope";', `ssl.truststore.location=${ca.caFile}`].join('\n'));
    const wrong = await fjord(['topics', 'list', '-b', broker.address, '--command-config', props]);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /[Aa]uthenticat/);
  } finally {
    await broker.stop();
    dir.remove();
  }
});

test('--command-config refuses what it cannot act on, naming it', () => {
  const dir = tempDir();
  try {
    const file = (name: string, lines: string[]) => {
      const p = join(dir.path, name);
      writeFileSync(p, lines.join('\n'));
      return p;
    };
    assert.throws(() => loadCommandConfig(file('a', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=GSSAPI', 'sasl.jaas.config=x required;'])), /GSSAPI is not supported/);
    assert.throws(() => loadCommandConfig(file('b', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN'])), /sasl.jaas.config is needed/);
    assert.throws(() => loadCommandConfig(file('c', ['linger.ms=5', 'acks=all'])), /not supported by Fjord's command line: linger.ms, acks/);
    assert.throws(() => loadCommandConfig(file('d', ['ssl.truststore.location=/nowhere.pem'])), /need security.protocol SSL/);
    assert.throws(() => loadCommandConfig(file('e', ['security.protocol=TLS'])), /security.protocol must be one of/);
    assert.throws(() => loadCommandConfig(join(dir.path, 'missing')), /ENOENT/);
    const ok = loadCommandConfig(file('f', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'client.id=ops', 'request.timeout.ms=5000',
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="b\\\\"x";']));
    assert.deepEqual(ok, { clientId: 'ops', requestTimeout: 5000, sasl: { mechanism: 'plain', username: 'bob', password: 'b"x' } });
    assert.deepEqual(parseJaas('M required a="1" b=two;', 'f').options, { a: '1', b: 'two' });
  } finally {
    dir.remove();
  }
});
