// `fjord server --config`: the Java properties parser, Kafka's names mapped onto the settings
// table, unsupported lines reported, bad values refused, precedence (flags > environment > file >
// defaults); listener resolution and ssl.principal.mapping.rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFromProperties, parseProperties } from '../../src/broker/config-file.js';
import { serverSettings } from '../../src/cli/app.js';
import { DEFAULT_CONFIG } from '../../src/broker/settings.js';
import { resolveListeners, unauthenticatedNetworkProblem, ConfigError } from '../../src/broker/listeners.js';
import { mapPrincipal, parsePrincipalRules, pemBlocks } from '../../src/broker/tls.js';

test('properties: comments, = : and blank separators, escapes, line continuations, last value wins', () => {
  const text = [
    '# a comment',
    '   ! another comment',
    '',
    'a=1',
    'b : two words  ',
    'c   3',
    '  d=continued \\',
    '      here\\',
    '   and here',
    'e\\:key=x\\ty\\u0041\\\\',
    'f=ends with even backslashes\\\\',
    'g=next',
    'a=last',
    'h',
  ].join('\r\n');
  assert.deepEqual(parseProperties(text).map((p) => [p.key, p.value, p.line]), [
    ['a', '1', 4],
    ['b', 'two words  ', 5],
    ['c', '3', 6],
    ['d', 'continued hereand here', 7],
    ['e:key', 'x\tyA\\', 10],
    ['f', 'ends with even backslashes\\', 11],
    ['g', 'next', 12],
    ['a', 'last', 13],
    ['h', '', 14],
  ]);
  assert.throws(() => parseProperties('k=\\uZZZZ'), /\\uXXXX/);
});

test('Kafka names set settings, fjord.* names set Fjord\'s own, listener.name.*.ssl.* and .sasl.enabled.mechanisms set per-listener ones; the rest is reported', () => {
  const text = `
process.roles=broker,controller
node.id=3
listeners=PLAINTEXT://127.0.0.1:9092,EXTERNAL://0.0.0.0:9093
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,EXTERNAL:SSL
advertised.listeners=EXTERNAL://broker.example:443
ssl.client.auth=required
listener.name.external.ssl.keystore.location=/etc/fjord/external.pem
listener.name.external.ssl.endpoint.identification.algorithm=
listener.name.plaintext.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256
num.partitions=6
fjord.data.dir=memory
log.dirs=/var/lib/kafka
controller.quorum.voters=1@localhost:9093
`;
  const { config, unsupported } = configFromProperties(parseProperties(text), 'server.properties');
  assert.equal(config.nodeId, 3);
  assert.deepEqual(config.listeners, ['PLAINTEXT://127.0.0.1:9092', 'EXTERNAL://0.0.0.0:9093']);
  assert.deepEqual(config.advertisedListeners, ['EXTERNAL://broker.example:443']);
  assert.equal(config.sslClientAuth, 'required');
  assert.deepEqual(config.listenerSsl, { EXTERNAL: { sslKeystoreLocation: '/etc/fjord/external.pem' }, PLAINTEXT: { saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-256'] } });
  assert.equal(config.defaultPartitions, 6);
  assert.equal(config.dataDir, 'memory');
  assert.deepEqual(unsupported, ['process.roles', 'listener.name.external.ssl.endpoint.identification.algorithm', 'log.dirs', 'controller.quorum.voters']);
  // The listeners resolve: EXTERNAL is SSL by the map and advertises its own address.
  const specs = resolveListeners({ ...DEFAULT_CONFIG, ...config });
  assert.deepEqual(specs.map((s) => [s.name, s.securityProtocol, s.hosts, s.port, s.advertisedHost, s.advertisedPort]), [
    ['PLAINTEXT', 'PLAINTEXT', ['127.0.0.1'], 9092, undefined, undefined],
    ['EXTERNAL', 'SSL', ['0.0.0.0'], 9093, 'broker.example', 443],
  ]);
  // A supported key with a bad value is one line naming the file, line and key.
  assert.throws(() => configFromProperties(parseProperties('\nnum.partitions=zero'), 'server.properties'), /^Error: server\.properties:2: num\.partitions must be an integer/);
  assert.throws(() => configFromProperties(parseProperties('ssl.client.auth=sometimes'), 'f'), /f:1: ssl\.client\.auth must be one of none, requested, required/);
  assert.throws(() => configFromProperties(parseProperties('listeners=PLAINTEXT:9092'), 'f'), /f:1: listeners: listener "PLAINTEXT:9092" is not NAME:\/\/host:port/);
  assert.throws(() => configFromProperties(parseProperties('ssl.principal.mapping.rules=RULE:^CN=(.*$/$1/'), 'f'), /f:1: ssl\.principal\.mapping\.rules/);
});

test('precedence: flags over environment over the config file over defaults', () => {
  const file = 'num.partitions=2\nlog.retention.ms=1000\nmessage.max.bytes=5000\nfjord.allow.unauthenticated.network=true\n';
  const read = (path: string) => {
    assert.equal(path, 'server.properties');
    return file;
  };
  const settings = serverSettings(['--config', 'server.properties', '--partitions', '4'], { FJORD_PARTITIONS: '3', FJORD_LOG_RETENTION_MS: '2000' }, read);
  assert.ok(settings !== 'help');
  assert.equal(settings.config.defaultPartitions, 4); // flag
  assert.equal(settings.config.retentionMs, 2000); // environment over the file
  assert.equal(settings.config.maxMessageBytes, 5000); // file
  assert.equal(settings.config.allowUnauthenticatedNetwork, true);
  assert.equal(settings.config.segmentBytes, undefined); // default (filled in by DEFAULT_CONFIG)
  // FJORD_CONFIG names the file too; a switch alone means on.
  const byEnv = serverSettings(['--allow-unauthenticated-network', '--auto-create', 'off'], { FJORD_CONFIG: 'server.properties' }, read);
  assert.ok(byEnv !== 'help');
  assert.equal(byEnv.config.defaultPartitions, 2);
  assert.equal(byEnv.config.allowUnauthenticatedNetwork, true);
  assert.equal(byEnv.config.autoCreateTopics, false);
  // listeners replaces --host/--port; giving both is an error, whatever the source.
  assert.throws(() => serverSettings(['--config', 'x', '--port', '9000'], {}, () => 'listeners=PLAINTEXT://127.0.0.1:9092'), /listeners replaces --host\/--port/);
  assert.throws(() => serverSettings(['--config', 'missing.properties'], {}), /cannot read the config file missing\.properties \(ENOENT\)/);
});

test('listeners: names, protocols, advertised listeners and the refusal of unauthenticated network listeners', () => {
  const base = { ...DEFAULT_CONFIG };
  assert.throws(() => resolveListeners({ ...base, listeners: ['INTERNAL://127.0.0.1:1'] }), (e: Error) => e instanceof ConfigError && /listener INTERNAL has no security protocol/.test(e.message));
  assert.throws(() => resolveListeners({ ...base, listeners: ['PLAINTEXT://127.0.0.1:1', 'PLAINTEXT://127.0.0.1:2'] }), /given twice/);
  assert.throws(() => resolveListeners({ ...base, listeners: ['PLAINTEXT://127.0.0.1:1', 'SSL://127.0.0.1:1'] }), /both use port 1/);
  assert.throws(() => resolveListeners({ ...base, listeners: ['PLAINTEXT://127.0.0.1:1'], advertisedListeners: ['SSL://x:1'] }), /advertised listener SSL is not one of the listeners/);
  assert.throws(() => resolveListeners({ ...base, listeners: ['PLAINTEXT://127.0.0.1:1'], advertisedHost: 'x' }), /advertised.listeners/);
  const ipv6 = resolveListeners({ ...base, listeners: ['SSL://[::1]:0', 'PLAINTEXT://:0'] });
  assert.deepEqual(ipv6.map((s) => s.hosts), [['::1'], ['']]);
  // Without listeners: one PLAINTEXT listener from --host/--port, as before.
  assert.deepEqual(resolveListeners(base).map((s) => [s.name, s.hosts, s.port]), [['PLAINTEXT', ['127.0.0.1', '::1'], 9092]]);
  const problem = (config: typeof base, clientAuth: 'none' | 'requested' | 'required' = 'none') => unauthenticatedNetworkProblem(resolveListeners(config), config, () => clientAuth);
  assert.equal(problem(base), null);
  assert.match(problem({ ...base, listenHosts: ['0.0.0.0'] }) ?? '', /^refusing to listen on 0\.0\.0\.0 with listener PLAINTEXT \(PLAINTEXT\).*--allow-unauthenticated-network/);
  assert.match(problem({ ...base, listeners: ['SSL://:9093'] }, 'requested') ?? '', /every interface with listener SSL \(SSL without ssl.client.auth=required\)/);
  assert.equal(problem({ ...base, listeners: ['SSL://10.1.2.3:9093'] }, 'required'), null);
  assert.equal(problem({ ...base, listenHosts: ['0.0.0.0'], allowUnauthenticatedNetwork: true }), null);
  assert.equal(problem({ ...base, listeners: ['PLAINTEXT://localhost:1', 'SSL://127.0.0.2:2', 'X://[::1]:3'], listenerSecurityProtocolMap: ['X:PLAINTEXT'] }), null);
});

test('ssl.principal.mapping.rules: Kafka\'s RULE syntax, first whole match wins, L/U, DEFAULT, no rule = null', () => {
  const rules = parsePrincipalRules('RULE:^CN=([^,]+),OU=Service\\/Users,.*$/svc-$1/L, RULE:^CN=(.*?),.*$/$1/, DEFAULT');
  assert.equal(mapPrincipal('CN=Billing,OU=Service/Users,O=Example', rules), 'svc-billing');
  assert.equal(mapPrincipal('CN=Alice,O=Example', rules), 'Alice');
  assert.equal(mapPrincipal('O=Example', rules), 'O=Example');
  assert.equal(mapPrincipal('CN=Bob,O=X', parsePrincipalRules('RULE:^CN=(.*?),O=(.*)$/$2 $1/U')), 'X BOB');
  assert.equal(mapPrincipal('O=X', parsePrincipalRules('RULE:^CN=(.*)$/$1/')), null);
  assert.throws(() => parsePrincipalRules(''), /at least one rule/);
  assert.throws(() => parsePrincipalRules('RULE:^CN=(.*)$/$1'), /not RULE:pattern\/replacement/);
  assert.throws(() => parsePrincipalRules('SOMETIMES'), /neither DEFAULT nor RULE/);
  assert.throws(() => parsePrincipalRules('RULE:(/x/'), /bad pattern/);
});

test('inline PEM that lost its line breaks (a continued properties line) is put back in shape', () => {
  const body = 'A'.repeat(100);
  const [block] = pemBlocks(`-----BEGIN CERTIFICATE----- ${body.slice(0, 50)} ${body.slice(50)} -----END CERTIFICATE-----`);
  assert.equal(block.pem, `-----BEGIN CERTIFICATE-----\n${'A'.repeat(64)}\n${'A'.repeat(36)}\n-----END CERTIFICATE-----\n`);
});
