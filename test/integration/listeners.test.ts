// Named listeners and TLS over real TCP with certificates made here by openssl: a PLAINTEXT and an
// SSL listener side by side (Fjord's client, kafkajs and kcat through each, each told its own
// listener's address), mutual TLS with principal mapping and per-listener overrides, certificate
// reload without a restart, and `fjord server` refusing an unauthenticated network listener.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { Kafka as KafkaJs, logLevel as kafkajsLogLevel } from 'kafkajs';
import { Kafka, logLevel } from '../../src/client/index.js';
import { createLogger, startBroker } from '../../src/index.js';
import { eventually, tempDir, uniqueTopic } from '../helpers.js';
import { hasOpenssl, makeCa } from '../tls-certs.js';

const skip = hasOpenssl() ? false : 'openssl is not installed';

/** The subject CN of the certificate a new TLS connection to `port` is served. */
function servedCn(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: [ca] }, () => {
      const cn = s.getPeerX509Certificate()?.subject.split('\n').find((l) => l.startsWith('CN='));
      s.destroy();
      resolve(cn ?? '');
    });
    s.on('error', reject);
  });
}

test('a PLAINTEXT and an SSL listener: Fjord\'s client and kafkajs through each, each told its own listener', { skip }, async () => {
  const dir = tempDir();
  const ca = makeCa(dir.path);
  const server = ca.issue('server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  const broker = await startBroker({ listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0', sslKeystoreLocation: server.bundleFile, logLevel: 'silent' });
  try {
    const [plain, ssl] = broker.listeners;
    assert.deepEqual([plain.name, plain.securityProtocol, ssl.name, ssl.securityProtocol], ['PLAINTEXT', 'PLAINTEXT', 'SSL', 'SSL']);
    assert.notEqual(plain.port, ssl.port);
    assert.equal(broker.address, plain.address);
    const topic = uniqueTopic('listeners');
    // Fjord's client over SSL: Metadata / DescribeCluster answer with the SSL listener's port.
    const fjordSsl = new Kafka({ brokers: [ssl.address], logLevel: logLevel.NOTHING, ssl: { ca: [ca.ca] } });
    const admin = fjordSsl.admin();
    await admin.connect();
    assert.deepEqual((await admin.describeCluster()).brokers.map((b) => [b.host, b.port]), [['127.0.0.1', ssl.port]]);
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = fjordSsl.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'through SSL' }] });
    await producer.disconnect();
    // Fjord's client over PLAINTEXT is told the PLAINTEXT port.
    const fjordPlain = new Kafka({ brokers: [plain.address], logLevel: logLevel.NOTHING }).admin();
    await fjordPlain.connect();
    assert.deepEqual((await fjordPlain.describeCluster()).brokers.map((b) => b.port), [plain.port]);
    await fjordPlain.disconnect();
    // kafkajs through each listener: its metadata names that listener, and it reads what SSL wrote.
    const routes: [typeof plain, tls.ConnectionOptions | undefined][] = [[plain, undefined], [ssl, { ca: [ca.ca], servername: 'localhost' }]];
    for (const [listener, sslOption] of routes) {
      const kafka = new KafkaJs({ brokers: [listener.address], logLevel: kafkajsLogLevel.NOTHING, ...(sslOption ? { ssl: sslOption } : {}) });
      const kadmin = kafka.admin();
      await kadmin.connect();
      assert.deepEqual((await kadmin.describeCluster()).brokers.map((b) => b.port), [listener.port], listener.name);
      const offsets = await kadmin.fetchTopicOffsets(topic);
      assert.equal(offsets[0].high, '1');
      await kadmin.disconnect();
    }
    const consumer = new KafkaJs({ brokers: [ssl.address], logLevel: kafkajsLogLevel.NOTHING, ssl: { ca: [ca.ca], servername: 'localhost' } }).consumer({ groupId: uniqueTopic('g') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(String(message.value)) });
    await eventually(() => got.length > 0, 15000, 'kafkajs consumer over SSL (FindCoordinator answered with the SSL listener)');
    await consumer.disconnect();
    assert.deepEqual(got, ['through SSL']);
    // Without the CA the client refuses the broker's certificate.
    await assert.rejects(new Kafka({ brokers: [ssl.address], logLevel: logLevel.NOTHING, ssl: true, retry: { retries: 0 } }).admin().connect());
  } finally {
    await broker.stop();
    dir.remove();
  }
});

test('mutual TLS: the client certificate\'s subject mapped by ssl.principal.mapping.rules; per-listener ssl.client.auth', { skip }, async () => {
  const dir = tempDir();
  const ca = makeCa(dir.path);
  const server = ca.issue('server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  const alice = ca.issue('alice', '/O=Example/OU=Payments/CN=Alice');
  const otherDir = tempDir();
  const stranger = makeCa(otherDir.path, '/CN=Other CA').issue('mallory', '/CN=Mallory');
  otherDir.remove();
  const broker = await startBroker({
    listeners: ['MTLS://127.0.0.1:0', 'OPTIONAL://127.0.0.1:0'],
    listenerSecurityProtocolMap: ['MTLS:SSL', 'OPTIONAL:SSL'],
    sslKeystoreKey: server.key, sslKeystoreCertificateChain: server.cert, sslTruststoreCertificates: ca.ca,
    sslClientAuth: 'required',
    sslPrincipalMappingRules: 'RULE:^CN=([^,]+),OU=Payments,.*$/$1/L,DEFAULT',
    listenerSsl: { OPTIONAL: { sslClientAuth: 'requested' } },
    logLevel: 'silent',
  });
  try {
    const [mtls, optional] = broker.listeners;
    const principals = (listener: string) => broker.broker.server.connectionInfos().filter((c) => c.listener.name === listener).map((c) => c.principal);
    const asAlice = new Kafka({ brokers: [mtls.address], logLevel: logLevel.NOTHING, ssl: { ca: [ca.ca], key: alice.key, cert: alice.cert } }).admin();
    await asAlice.connect();
    await asAlice.listTopics();
    assert.deepEqual([...new Set(principals('MTLS'))], ['User:alice']);
    await asAlice.disconnect();
    // required: no certificate, or one the truststore does not vouch for, is refused.
    await assert.rejects(new Kafka({ brokers: [mtls.address], logLevel: logLevel.NOTHING, ssl: { ca: [ca.ca] }, retry: { retries: 0 } }).admin().connect());
    await assert.rejects(new Kafka({ brokers: [mtls.address], logLevel: logLevel.NOTHING, ssl: { ca: [ca.ca], key: stranger.key, cert: stranger.cert }, retry: { retries: 0 } }).admin().connect());
    // requested (this listener only): no certificate is User:ANONYMOUS; the CA's certificate maps as above.
    const anonymous = new Kafka({ brokers: [optional.address], logLevel: logLevel.NOTHING, ssl: { ca: [ca.ca] } }).admin();
    await anonymous.connect();
    await anonymous.listTopics();
    assert.deepEqual([...new Set(principals('OPTIONAL'))], ['User:ANONYMOUS']);
    await anonymous.disconnect();
    await assert.rejects(new Kafka({ brokers: [optional.address], logLevel: logLevel.NOTHING, ssl: { ca: [ca.ca], key: stranger.key, cert: stranger.cert }, retry: { retries: 0 } }).admin().listTopics());
  } finally {
    await broker.stop();
    dir.remove();
  }
});

test('certificates reload without a restart; a bad new file keeps the old context and warns once', { skip }, async () => {
  const dir = tempDir();
  const ca = makeCa(dir.path);
  const first = ca.issue('first', '/CN=first', 'IP:127.0.0.1');
  const second = ca.issue('second', '/CN=second', 'IP:127.0.0.1');
  const keystore = join(dir.path, 'broker.pem');
  writeFileSync(keystore, first.key + first.cert);
  const lines: string[] = [];
  const broker = await startBroker({ listeners: 'SSL://127.0.0.1:0', sslKeystoreLocation: keystore, sslReloadIntervalMs: 50, logger: createLogger('info', (l) => lines.push(l)) });
  try {
    const { port } = broker.listeners[0];
    assert.equal(await servedCn(port, ca.ca), 'CN=first');
    writeFileSync(keystore, second.key + second.cert);
    await eventually(async () => (await servedCn(port, ca.ca)) === 'CN=second', 10000, 'the new certificate served');
    assert.ok(lines.some((l) => /INFO .*listener SSL: reloaded TLS key and certificates/.test(l)));
    // A key that does not match the certificate: the old context stays, one warning.
    writeFileSync(keystore, first.key + second.cert);
    await eventually(() => lines.some((l) => /WARN .*listener SSL: the key and certificates do not make a TLS context.*still serving the previous certificates/.test(l)), 10000, 'the warning');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lines.filter((l) => l.includes('WARN')).length, 1);
    assert.equal(await servedCn(port, ca.ca), 'CN=second');
  } finally {
    await broker.stop();
    dir.remove();
  }
});

test('kcat over the SSL listener', { skip: skip || (spawnSync('kcat', ['-V']).status === 0 ? false : 'kcat is not installed') }, async () => {
  const dir = tempDir();
  const ca = makeCa(dir.path);
  const server = ca.issue('server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  const broker = await startBroker({ listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0', sslKeystoreLocation: server.bundleFile, logLevel: 'silent' });
  try {
    const ssl = broker.listeners[1];
    const topic = uniqueTopic('kcat-ssl');
    const kcat = (args: string[], input?: string) => new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('kcat', ['-b', ssl.address, '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.caFile}`, ...args]);
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('exit', (code) => resolve({ code, out }));
      child.stdin.end(input ?? '');
    });
    const produced = await kcat(['-P', '-t', topic], 'over TLS\n');
    assert.equal(produced.code, 0, produced.out);
    const listed = await kcat(['-L', '-t', topic]);
    assert.match(listed.out, new RegExp(`broker 1 at 127\\.0\\.0\\.1:${ssl.port}`));
    const consumed = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-q']);
    assert.equal(consumed.out.trim(), 'over TLS');
  } finally {
    await broker.stop();
    dir.remove();
  }
});

/** Runs `fjord server` to its exit (or kills it once `until` appears in its output). */
function runServer(args: string[], until?: RegExp): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', ...args]);
    let out = '';
    const seen = (d: Buffer) => {
      out += d;
      if (until && until.test(out)) child.kill('SIGINT');
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('fjord server refuses an unauthenticated listener on a non-loopback address, in one line, unless told', async () => {
  const refused = await runServer(['--host', '0.0.0.0', '--port', '0', '--data-dir', 'memory']);
  assert.equal(refused.code, 2);
  assert.match(refused.out, /^fjord server: refusing to listen on 0\.0\.0\.0 with listener PLAINTEXT \(PLAINTEXT\): .*--allow-unauthenticated-network \(fjord\.allow\.unauthenticated\.network=true\)\n$/);
  const listeners = await runServer(['--listeners', 'PLAINTEXT://127.0.0.1:0,INTERNAL://:0', '--listener-security-protocol-map', 'INTERNAL:PLAINTEXT', '--data-dir', 'memory']);
  assert.equal(listeners.code, 2);
  assert.match(listeners.out, /refusing to listen on every interface with listener INTERNAL/);
  const allowed = await runServer(['--host', '0.0.0.0', '--port', '0', '--data-dir', 'memory', '--allow-unauthenticated-network'], /listening on/);
  assert.match(allowed.out, /Fjord listening on 0\.0\.0\.0 port \d+ \(advertised as localhost:\d+\)/);
  assert.equal(allowed.code, 0);
});

test('fjord server --config: Kafka\'s names, unsupported lines in one warning, a bad value exits 2', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'server.properties');
    writeFileSync(file, [
      '# from a Kafka install',
      'process.roles=broker,controller',
      'node.id=7',
      'listeners=PLAINTEXT://127.0.0.1:0,REPLICATION://127.0.0.1:0',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT',
      'advertised.listeners=REPLICATION://replication.example:19093',
      'log.dirs=/tmp/kraft-combined-logs',
      'fjord.data.dir=memory',
      '',
    ].join('\n'));
    const started = await runServer(['--config', file], /listening on/);
    assert.equal(started.code, 0, started.out);
    assert.match(started.out, /WARN +.*server\.properties: 2 setting\(s\) Fjord does not support, not applied: process\.roles, log\.dirs\n/);
    assert.match(started.out, /Fjord listening on PLAINTEXT \(PLAINTEXT\) on 127\.0\.0\.1 port \d+ \(advertised as 127\.0\.0\.1:\d+\), REPLICATION \(PLAINTEXT\) on 127\.0\.0\.1 port \d+ \(advertised as replication\.example:19093\)/);
    writeFileSync(file, 'num.partitions=many\n');
    const bad = await runServer(['--config', file]);
    assert.equal(bad.code, 2);
    assert.match(bad.out, /^fjord server: .*server\.properties:1: num\.partitions must be an integer/);
  } finally {
    dir.remove();
  }
});
