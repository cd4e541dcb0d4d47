// SASL/OAUTHBEARER over real TCP: signed JWTs (RS256 from a JWKS file, ES256 from a PEM key, keys
// made here with node:crypto) with Fjord's client and kafkajs; expired tokens, wrong signatures,
// audiences and issuers refused with RFC 7628's error exchange; the unsecured mode on and off; the
// principal; the session lifetime bounded by the token; start-up checks; kcat with an unsecured JWT;
// confluent-kafka-python with a signed token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka as KafkaJS, logLevel as kjsLogLevel } from 'kafkajs';
import { Kafka, logLevel, type SaslOptions } from '../../src/client/index.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { startBroker, type StartBrokerOptions } from '../../src/index.js';
import { RawConnection } from '../raw-client.js';
import { withBroker, uniqueTopic, tempDir } from '../helpers.js';

const SASL_AUTHENTICATE = 36;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dir = tempDir('fjord-oauth-');
const jwksPath = join(dir.path, 'jwks.json');
writeFileSync(jwksPath, JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] }));
const pemPath = join(dir.path, 'ec.pem');
writeFileSync(pemPath, ec.publicKey.export({ format: 'pem', type: 'spki' }));
const JWKS_URL = pathToFileURL(jwksPath).href;

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function jwt(claims: Record<string, unknown>, opts: { alg?: string; kid?: string; key?: KeyObject } = {}): string {
  const alg = opts.alg ?? 'RS256';
  const head = `${b64({ alg, typ: 'JWT', ...(opts.kid !== undefined ? { kid: opts.kid } : alg === 'RS256' ? { kid: 'k1' } : {}) })}.${b64(claims)}`;
  if (alg === 'none') return `${head}.`;
  const key = opts.key ?? (alg === 'ES256' ? ec.privateKey : rsa.privateKey);
  const sig = sign('sha256', Buffer.from(head), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${head}.${sig.toString('base64url')}`;
}
const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'alice', iat: now(), exp: now() + 3600, iss: 'https://issuer.test', aud: ['fjord', 'other'], ...extra });

async function oauthBroker(extra: StartBrokerOptions = {}) {
  return withBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: ['OAUTHBEARER', 'PLAIN'],
    saslOauthbearerJwksEndpointUrl: JWKS_URL,
    saslOauthbearerPublicKeyLocation: pemPath,
    saslOauthbearerExpectedAudience: ['fjord'],
    saslOauthbearerExpectedIssuer: 'https://issuer.test',
    connectionFailedAuthenticationDelayMs: 0,
    saslFailedAuthenticationLimit: 0,
    ...extra,
  });
}

const oauth = (token: string, extensions?: Record<string, string>): SaslOptions => ({ mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: token, ...(extensions ? { extensions } : {}) }) });
const fjord = (address: string, sasl: SaslOptions) => new Kafka({ clientId: 'oauth-test', brokers: [address], sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
const message = (token: string) => Buffer.from(`n,,\u0001auth=Bearer ${token}\u0001\u0001`);

/** A raw OAUTHBEARER login: the first SaslAuthenticate answer. */
async function rawLogin(port: number, token: string, version = 2) {
  const c = await RawConnection.connect(port);
  assert.equal((await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'OAUTHBEARER' })).errorCode, 0);
  const res = await c.request(SASL_AUTHENTICATE, version, { authBytes: message(token) }, 2);
  return { c, res };
}

/** A refused token: the error JSON with NONE, then after ^A SASL_AUTHENTICATION_FAILED and a closed connection. */
async function assertRefused(port: number, token: string, what: string) {
  const { c, res } = await rawLogin(port, token);
  assert.equal(res.errorCode, ErrorCode.NONE, what);
  assert.equal(Buffer.from(res.authBytes as Buffer).toString(), '{"status":"invalid_token"}', what);
  const fin = await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from([1]) }, 3);
  assert.equal(fin.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, what);
  await c.closed;
}

test('Fjord client and kafkajs: RS256 (JWKS file) and ES256 (PEM key) tokens log in, produce and consume; the principal is User:<sub>', async () => {
  const broker = await oauthBroker();
  try {
    const topic = uniqueTopic('oauth');
    // Created first: these clients do not retry, and Metadata's auto-creating answer is
    // UNKNOWN_TOPIC_OR_PARTITION (as Kafka 4.1's).
    await broker.broker.topics.create(topic, 1);
    const producer = fjord(broker.address, oauth(jwt(claims()), { traceId: 'abc' })).producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'fjord-rs256' }] });
    const principals = broker.broker.server.connectionInfos().map((c) => c.principal);
    assert.ok(principals.includes('User:alice'), principals.join(','));
    await producer.disconnect();

    const es = fjord(broker.address, oauth(jwt(claims({ sub: 'bob' }), { alg: 'ES256' }))).producer();
    await es.connect();
    await es.send({ topic, messages: [{ value: 'fjord-es256' }] });
    assert.ok(broker.broker.server.connectionInfos().some((c) => c.principal === 'User:bob'));
    await es.disconnect();

    const kjs = new KafkaJS({ clientId: 'kjs', brokers: [broker.address], logLevel: kjsLogLevel.NOTHING, sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: jwt(claims({ sub: 'carol' })) }) } });
    const kp = kjs.producer();
    await kp.connect();
    await kp.send({ topic, messages: [{ value: 'kafkajs' }] });
    assert.ok(broker.broker.server.connectionInfos().some((c) => c.principal === 'User:carol'));
    await kp.disconnect();
    const consumer = kjs.consumer({ groupId: `g-${topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async ({ message: m }) => { seen.push(String(m.value)); if (seen.length === 3) resolve(); } });
    });
    await consumer.disconnect();
    assert.deepEqual(seen.sort(), ['fjord-es256', 'fjord-rs256', 'kafkajs']);

    const fc = fjord(broker.address, oauth(jwt(claims()))).consumer({ groupId: `f-${topic}` });
    await fc.connect();
    await fc.subscribe({ topic, fromBeginning: true });
    const got: string[] = [];
    await new Promise<void>((resolve) => {
      void fc.run({ eachMessage: async ({ message: m }) => { got.push(String(m.value)); if (got.length === 3) resolve(); } });
    });
    await fc.disconnect();
    assert.equal(got.length, 3);
  } finally {
    await broker.stop();
  }
});

test('refused tokens: expired, wrong signature, unknown kid, wrong audience or issuer, no sub, unsecured when off, HS256 — error JSON, ^A, SASL_AUTHENTICATION_FAILED', async () => {
  const broker = await oauthBroker();
  try {
    const cases: [string, string][] = [
      ['expired (past the 30 s skew)', jwt(claims({ iat: now() - 7200, exp: now() - 60 }))],
      ['wrong signature', jwt(claims(), { key: stranger.privateKey })],
      ['unknown kid', jwt(claims(), { kid: 'nope' })],
      ['wrong audience', jwt(claims({ aud: 'someone-else' }))],
      ['no audience', jwt(claims({ aud: undefined }))],
      ['wrong issuer', jwt(claims({ iss: 'https://evil.test' }))],
      ['not yet valid', jwt(claims({ nbf: now() + 600 }))],
      ['no sub', jwt(claims({ sub: undefined }))],
      ['no iat', jwt(claims({ iat: undefined }))],
      ['unsecured while off', jwt(claims(), { alg: 'none' })],
      ['HS256', `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(claims())}.c2lnbmF0dXJl`],
      ['signature of another token', (() => { const good = jwt(claims()).split('.'); return `${good[0]}.${b64(claims({ sub: 'mallory' }))}.${good[2]}`; })()],
    ];
    for (const [what, token] of cases) await assertRefused(broker.port, token, what);

    // A malformed message fails at once (no error JSON), and the broker keeps serving.
    const c = await RawConnection.connect(broker.port);
    assert.equal((await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'OAUTHBEARER' })).errorCode, 0);
    assert.equal((await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from('n,,auth=Bearer x') }, 2)).errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    await c.closed;
    // An authzid other than the token's principal fails.
    const d = await RawConnection.connect(broker.port);
    assert.equal((await d.request(ApiKey.SaslHandshake, 1, { mechanism: 'OAUTHBEARER' })).errorCode, 0);
    const az = await d.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from(`n,a=bob,\u0001auth=Bearer ${jwt(claims())}\u0001\u0001`) }, 2);
    assert.equal(az.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    await d.closed;

    // The clients see an authentication error.
    await assert.rejects(fjord(broker.address, oauth(jwt(claims({ aud: 'x' })))).admin().connect(), (err: Error) => err.name === 'KafkaJSSASLAuthenticationError' && /invalid_token/.test(err.message));
    const kjs = new KafkaJS({ clientId: 'kjs', brokers: [broker.address], logLevel: kjsLogLevel.NOTHING, retry: { retries: 0 }, sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: jwt(claims({ exp: now() - 3600, iat: now() - 7200 })) }) } });
    // kafkajs takes the error JSON for success (its OAUTHBEARER ignores the server's answer, as against
    // Kafka); its next request finds the connection closed, so nothing gets through.
    const kadmin = kjs.admin();
    await assert.rejects((async () => { await kadmin.connect(); await kadmin.listTopics(); })());
    await kadmin.disconnect();

    const ok = fjord(broker.address, oauth(jwt(claims()))).admin();
    await ok.connect();
    await ok.disconnect();
  } finally {
    await broker.stop();
  }
});

test('a refused token counts toward the per-address failure limit even when the client never sends ^A', async () => {
  const broker = await oauthBroker({ saslFailedAuthenticationLimit: 2, saslFailedAuthenticationPenaltyMs: 300 });
  try {
    for (let i = 0; i < 2; i++) {
      const { c, res } = await rawLogin(broker.port, jwt(claims({ aud: 'x' })));
      assert.equal(Buffer.from(res.authBytes as Buffer).toString(), '{"status":"invalid_token"}');
      c.close(); // as kafkajs leaves it: no ^A
    }
    const started = Date.now();
    const { c, res } = await rawLogin(broker.port, jwt(claims()));
    assert.equal(res.errorCode, 0);
    assert.ok(Date.now() - started >= 290, `waited ${Date.now() - started} ms`);
    c.close();
  } finally {
    await broker.stop();
  }
});

test('session lifetime (KIP-368): bounded by the token\'s exp and by connections.max.reauth.ms; an expired session is closed at the next request', async () => {
  const broker = await oauthBroker({ saslOauthbearerClockSkewSeconds: 0 });
  const metadata = { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };
  try {
    const { c, res } = await rawLogin(broker.port, jwt(claims({ exp: now() + 2 })));
    assert.equal(res.errorCode, 0);
    assert.ok(res.sessionLifetimeMs > 0 && res.sessionLifetimeMs <= 2000, String(res.sessionLifetimeMs));
    await new Promise((r) => setTimeout(r, res.sessionLifetimeMs + 100));
    c.write(RawConnection.frame(ApiKey.Metadata, 12, 5, metadata));
    await c.closed;
    const long = await rawLogin(broker.port, jwt(claims()));
    assert.ok(long.res.sessionLifetimeMs > 3500_000 && long.res.sessionLifetimeMs <= 3600_000, String(long.res.sessionLifetimeMs));
    long.c.close();
  } finally {
    await broker.stop();
  }
  const short = await oauthBroker({ connectionsMaxReauthMs: 5000 });
  try {
    const { c, res } = await rawLogin(short.port, jwt(claims()));
    assert.ok(res.sessionLifetimeMs > 0 && res.sessionLifetimeMs <= 5000, String(res.sessionLifetimeMs));
    c.close();
  } finally {
    await short.stop();
  }
});

test('unsecured mode: alg none tokens log in only when --sasl-oauthbearer-unsecured-jwt is on', async () => {
  const broker = await withBroker({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: ['OAUTHBEARER'], saslOauthbearerUnsecuredJwt: true, connectionFailedAuthenticationDelayMs: 0 });
  try {
    const unsigned = jwt({ sub: 'dev', exp: now() + 600 }, { alg: 'none' });
    const admin = fjord(broker.address, oauth(unsigned)).admin();
    await admin.connect();
    assert.ok(broker.broker.server.connectionInfos().some((c) => c.principal === 'User:dev'));
    await admin.disconnect();
    // Still checked: exp, and a signature present on an alg none token; signed tokens need keys.
    await assertRefused(broker.port, jwt({ sub: 'dev', exp: now() - 600 }, { alg: 'none' }), 'expired unsecured');
    await assertRefused(broker.port, `${unsigned}c2ln`, 'alg none with a signature');
    await assertRefused(broker.port, jwt(claims()), 'signed without keys');
  } finally {
    await broker.stop();
  }
});

test('start-up checks: OAUTHBEARER without keys, a JWKS URL of another scheme, a missing file, OAUTHBEARER settings without the mechanism', async () => {
  const base = { listeners: 'SASL_PLAINTEXT://127.0.0.1:0', logLevel: 'silent' as const };
  await assert.rejects(startBroker({ ...base, saslEnabledMechanisms: ['OAUTHBEARER'] }), /without keys to check tokens/);
  await assert.rejects(startBroker({ ...base, saslEnabledMechanisms: ['OAUTHBEARER'], saslOauthbearerJwksEndpointUrl: 'ftp://idp.example/jwks' }), /give an https:, http: or file: URL/);
  await assert.rejects(startBroker({ ...base, saslEnabledMechanisms: ['OAUTHBEARER'], saslOauthbearerJwksEndpointUrl: pathToFileURL(join(dir.path, 'missing.json')).href }), /cannot read it \(ENOENT\)/);
  await assert.rejects(startBroker({ ...base, saslEnabledMechanisms: ['OAUTHBEARER'], saslOauthbearerPublicKeyLocation: jwksPath }), /holds no public key/);
  await assert.rejects(startBroker({ ...base, saslEnabledMechanisms: ['PLAIN'], saslOauthbearerJwksEndpointUrl: JWKS_URL }), /OAUTHBEARER is not in sasl.enabled.mechanisms/);
});

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

test('kcat (librdkafka) with an unsecured JWT (enable.sasl.oauthbearer.unsecure.jwt) produces and consumes; refused when the mode is off', { skip: has('kcat', ['-V']) ? false : 'kcat is not installed' }, async () => {
  const broker = await withBroker({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: ['OAUTHBEARER'], saslOauthbearerUnsecuredJwt: true, connectionFailedAuthenticationDelayMs: 0 });
  const topic = uniqueTopic('kcat-oauth');
  const common = ['-b', broker.address, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=OAUTHBEARER', '-X', 'enable.sasl.oauthbearer.unsecure.jwt=true', '-X', 'sasl.oauthbearer.config=principal=kcat-user'];
  try {
    // (execFileSync would block the broker running in this process.)
    await spawnAsync('kcat', [...common, '-P', '-t', topic], 'one\ntwo\n');
    const got = await spawnAsync('kcat', [...common, '-C', '-t', topic, '-o', 'beginning', '-e', '-q']);
    assert.deepEqual(got.trim().split('\n'), ['one', 'two']);
  } finally {
    await broker.stop();
  }
  const off = await oauthBroker();
  try {
    await assert.rejects(spawnAsync('kcat', ['-b', off.address, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=OAUTHBEARER', '-X', 'enable.sasl.oauthbearer.unsecure.jwt=true', '-X', 'sasl.oauthbearer.config=principal=kcat-user', '-L', '-m', '5']));
  } finally {
    await off.stop();
  }
});

const PY_OAUTH = `
import sys, time
from confluent_kafka import Producer, Consumer
address, topic, token, exp = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
conf = {'bootstrap.servers': address, 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'OAUTHBEARER',
        'oauth_cb': lambda _config: (token, exp)}
p = Producer(conf)
p.produce(topic, b'from-librdkafka')
assert p.flush(20) == 0, 'produce did not finish'
c = Consumer(dict(conf, **{'group.id': 'py-' + topic, 'auto.offset.reset': 'earliest'}))
c.subscribe([topic])
for _ in range(60):
    m = c.poll(1.0)
    if m is not None and m.error() is None:
        print(m.value().decode())
        break
c.close()
`;

test('confluent-kafka-python (librdkafka) with a signed RS256 token from oauth_cb produces and consumes', { skip: has('python3', ['-c', 'import confluent_kafka']) ? false : 'confluent-kafka-python is not installed' }, async () => {
  const broker = await oauthBroker();
  try {
    const topic = uniqueTopic('py-oauth');
    const exp = now() + 3600;
    const got = await spawnAsync('python3', ['-c', PY_OAUTH, broker.address, topic, jwt(claims({ sub: 'py-user', exp })), String(exp)], undefined, 90000);
    assert.equal(got.trim(), 'from-librdkafka');
  } finally {
    await broker.stop();
  }
});

async function spawnAsync(cmd: string, args: string[], input?: string, timeoutMs = 30000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => p.kill(), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited ${code}: ${err.slice(0, 500)}`));
    });
    p.stdin.end(input ?? '');
  });
}

test.after(() => dir.remove());
