// SASL authentication over real TCP: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 with Fjord's client and
// kafkajs, wrong passwords, requests before authentication, unsupported mechanisms, the failure
// rate limit, SaslHandshake v0 (bare tokens) and re-authentication (KIP-368) with raw requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Kafka as KafkaJS, logLevel as kjsLogLevel } from 'kafkajs';
import { Kafka, logLevel, type SaslOptions } from '../../src/client/index.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { RawConnection } from '../raw-client.js';
import { withBroker, uniqueTopic, tempDir } from '../helpers.js';
import { hasOpenssl, makeCa } from '../tls-certs.js';

const SASL_AUTHENTICATE = 36;
const USERS = 'SCRAM-SHA-256=[name=alice,password=alice-secret];SCRAM-SHA-512=[name=bob,password=bob-secret,iterations=8192]';

async function saslBroker(extra: Record<string, unknown> = {}) {
  return withBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    addScram: parseAddScram(USERS, '--add-scram'),
    connectionFailedAuthenticationDelayMs: 0,
    ...extra,
  });
}

const fjord = (address: string, sasl: SaslOptions) => new Kafka({ clientId: 'sasl-test', brokers: [address], sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 } });

test('Fjord client: PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 authenticate and then produce and consume', async () => {
  const broker = await saslBroker();
  try {
    const topic = uniqueTopic('sasl');
    // Created first: these clients do not retry, and Metadata's auto-creating answer is
    // UNKNOWN_TOPIC_OR_PARTITION (as Kafka 4.1's).
    await broker.broker.topics.create(topic, 1);
    for (const sasl of [
      { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
      { mechanism: 'scram-sha-512', username: 'bob', password: 'bob-secret' },
      { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
      { mechanism: 'plain', username: 'bob', password: 'bob-secret' }, // PLAIN against the SHA-512 credential
    ] as SaslOptions[]) {
      const kafka = fjord(broker.address, sasl);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ value: sasl.mechanism }] });
      await producer.disconnect();
    }
    const admin = fjord(broker.address, { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' }).admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets[0].high, '4');
    await admin.disconnect();
  } finally {
    await broker.stop();
  }
});

test('kafkajs with sasl scram-sha-256 and plain runs unchanged', async () => {
  const broker = await saslBroker();
  try {
    const topic = uniqueTopic('kjs');
    // Created first: these clients do not retry, and Metadata's auto-creating answer is
    // UNKNOWN_TOPIC_OR_PARTITION (as Kafka 4.1's).
    await broker.broker.topics.create(topic, 1);
    for (const sasl of [
      { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
      { mechanism: 'scram-sha-512', username: 'bob', password: 'bob-secret' },
      { mechanism: 'plain', username: 'alice', password: 'alice-secret' },
    ] as const) {
      const kafka = new KafkaJS({ clientId: 'kjs', brokers: [broker.address], sasl, logLevel: kjsLogLevel.NOTHING, retry: { retries: 0 } });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ value: sasl.mechanism }] });
      await producer.disconnect();
    }
    const kafka = new KafkaJS({ clientId: 'kjs', brokers: [broker.address], sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' }, logLevel: kjsLogLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `g-${topic}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({ eachMessage: async ({ message }) => { seen.push(String(message.value)); if (seen.length === 3) resolve(); } });
    });
    await consumer.disconnect();
    assert.deepEqual(seen.sort(), ['plain', 'scram-sha-256', 'scram-sha-512']);
  } finally {
    await broker.stop();
  }
});

test('a wrong password or an unknown user: SASL_AUTHENTICATION_FAILED, the same message, the connection closed', async () => {
  const broker = await saslBroker();
  try {
    for (const sasl of [
      { mechanism: 'scram-sha-256', username: 'alice', password: 'wrong' },
      { mechanism: 'scram-sha-256', username: 'nobody', password: 'wrong' },
      { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }, // alice has no SHA-512 credential
      { mechanism: 'plain', username: 'alice', password: 'wrong' },
      { mechanism: 'plain', username: 'nobody', password: 'wrong' },
    ] as SaslOptions[]) {
      const admin = fjord(broker.address, sasl).admin();
      await assert.rejects(admin.connect(), (err: Error) => {
        assert.match(err.message, /Authentication failed during authentication due to invalid credentials with SASL mechanism/);
        assert.doesNotMatch(err.message, /nobody|alice|exist/);
        return true;
      });
    }
    // Raw: the answer is SASL_AUTHENTICATION_FAILED, then the broker closes the connection.
    const c = await RawConnection.connect(broker.port);
    assert.equal((await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode, 0);
    const res = await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from('\u0000alice\u0000nope') }, 2);
    assert.equal(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    await c.closed;
    // The broker still serves everyone else.
    const ok = fjord(broker.address, { mechanism: 'plain', username: 'alice', password: 'alice-secret' }).admin();
    await ok.connect();
    await ok.disconnect();
  } finally {
    await broker.stop();
  }
});

test('before authentication only ApiVersions and SaslHandshake are taken: anything else closes the connection', async () => {
  const broker = await saslBroker();
  try {
    const c = await RawConnection.connect(broker.port);
    const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    assert.equal(versions.errorCode, 0);
    assert.ok(versions.apiKeys.some((k: { apiKey: number }) => k.apiKey === ApiKey.SaslHandshake));
    c.write(RawConnection.frame(ApiKey.Metadata, 12, 2, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
    await c.closed;
    // SaslAuthenticate without a handshake closes too; so does a Metadata request between the handshake and SaslAuthenticate.
    const d = await RawConnection.connect(broker.port);
    d.write(RawConnection.frame(SASL_AUTHENTICATE, 2, 1, { authBytes: Buffer.from('\u0000alice\u0000alice-secret') }));
    await d.closed;
    const e = await RawConnection.connect(broker.port);
    assert.equal((await e.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode, 0);
    e.write(RawConnection.frame(ApiKey.Metadata, 12, 2, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
    await e.closed;
  } finally {
    await broker.stop();
  }
});

test('an unsupported or disabled mechanism (GSSAPI; OAUTHBEARER, PLAIN not enabled here): UNSUPPORTED_SASL_MECHANISM with the enabled list, then closed', async () => {
  const broker = await saslBroker({ saslEnabledMechanisms: ['SCRAM-SHA-512'] });
  try {
    for (const mechanism of ['OAUTHBEARER', 'GSSAPI', 'PLAIN', 'scram-sha-512']) {
      const c = await RawConnection.connect(broker.port);
      const res = await c.request(ApiKey.SaslHandshake, 1, { mechanism });
      assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanism);
      assert.deepEqual(res.mechanisms, ['SCRAM-SHA-512']);
      await c.closed;
    }
    await assert.rejects(fjord(broker.address, { mechanism: 'plain', username: 'bob', password: 'bob-secret' }).admin().connect(), /offers SCRAM-SHA-512/);
  } finally {
    await broker.stop();
  }
});

test('without SASL enabled: everything works as before; SaslHandshake / SaslAuthenticate answer ILLEGAL_SASL_STATE', async () => {
  const broker = await withBroker();
  try {
    const c = await RawConnection.connect(broker.port);
    assert.equal((await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    assert.equal((await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.alloc(0) }, 2)).errorCode, ErrorCode.ILLEGAL_SASL_STATE);
    const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 3);
    assert.equal(md.brokers.length, 1);
    c.socket.destroy();
  } finally {
    await broker.stop();
  }
});

/** Client side of SCRAM for raw tests. */
function scramClient(hash: 'sha256' | 'sha512', user: string, password: string) {
  const nonce = randomBytes(18).toString('base64');
  const firstBare = `n=${user},r=${nonce}`;
  return {
    first: Buffer.from(`n,,${firstBare}`),
    final(serverFirst: Buffer): Buffer {
      const attrs = new Map(serverFirst.toString().split(',').map((kv) => [kv[0], kv.slice(2)] as const));
      const salted = pbkdf2Sync(password, Buffer.from(attrs.get('s')!, 'base64'), Number(attrs.get('i')), hash === 'sha256' ? 32 : 64, hash);
      const clientKey = createHmac(hash, salted).update('Client Key').digest();
      const storedKey = createHash(hash).update(clientKey).digest();
      const without = `c=biws,r=${attrs.get('r')}`;
      const sig = createHmac(hash, storedKey).update(`${firstBare},${serverFirst},${without}`).digest();
      return Buffer.from(`${without},p=${Buffer.from(clientKey.map((b, i) => b ^ sig[i])).toString('base64')}`);
    },
  };
}

test('SaslHandshake v0: the SCRAM messages follow as bare frames, then Kafka requests', async () => {
  const broker = await saslBroker();
  try {
    const c = await RawConnection.connect(broker.port);
    assert.equal((await c.request(ApiKey.SaslHandshake, 0, { mechanism: 'SCRAM-SHA-256' })).errorCode, 0);
    const client = scramClient('sha256', 'alice', 'alice-secret');
    const bare = (b: Buffer) => { const p = Buffer.alloc(4); p.writeInt32BE(b.length); return Buffer.concat([p, b]); };
    c.write(bare(client.first));
    const serverFirst = await c.nextFrame();
    assert.match(serverFirst.toString(), /^r=.*,s=.*,i=4096$/);
    c.write(bare(client.final(serverFirst)));
    assert.match((await c.nextFrame()).toString(), /^v=/);
    const md = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, 3);
    assert.equal(md.brokers.length, 1);
    c.socket.destroy();
    // A bad bare token closes the connection (v0 has no error answer).
    const d = await RawConnection.connect(broker.port);
    assert.equal((await d.request(ApiKey.SaslHandshake, 0, { mechanism: 'PLAIN' })).errorCode, 0);
    d.write(bare(Buffer.from('\u0000alice\u0000nope')));
    await d.closed;
  } finally {
    await broker.stop();
  }
});

test('re-authentication (KIP-368): sessionLifetimeMs, expiry closes, re-authenticating keeps the connection, another user is refused', async () => {
  const broker = await saslBroker({ connectionsMaxReauthMs: 400 });
  const metadata = { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false };
  const login = async (c: RawConnection, user: string, password: string, id: number) => {
    assert.equal((await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' }, id)).errorCode, 0);
    const client = scramClient('sha256', user, password);
    const first = await c.request(SASL_AUTHENTICATE, 2, { authBytes: client.first }, id + 1);
    assert.equal(first.errorCode, 0);
    return c.request(SASL_AUTHENTICATE, 2, { authBytes: client.final(first.authBytes) }, id + 2);
  };
  try {
    // Expiry without re-authentication: the next request closes the connection.
    const c = await RawConnection.connect(broker.port);
    const done = await login(c, 'alice', 'alice-secret', 1);
    assert.equal(done.errorCode, 0);
    assert.ok(done.sessionLifetimeMs > 0 && done.sessionLifetimeMs <= 400, String(done.sessionLifetimeMs));
    assert.equal((await c.request(ApiKey.Metadata, 12, metadata, 10)).brokers.length, 1);
    await new Promise((r) => setTimeout(r, 500));
    c.write(RawConnection.frame(ApiKey.Metadata, 12, 11, metadata));
    await c.closed;

    // Re-authenticating in time keeps the connection going past the first lifetime.
    const d = await RawConnection.connect(broker.port);
    assert.equal((await login(d, 'alice', 'alice-secret', 1)).errorCode, 0);
    await new Promise((r) => setTimeout(r, 500)); // expired: only a SaslHandshake (re-authentication) is taken
    const again = await login(d, 'alice', 'alice-secret', 20);
    assert.equal(again.errorCode, 0);
    assert.ok(again.sessionLifetimeMs > 0);
    assert.equal((await d.request(ApiKey.Metadata, 12, metadata, 30)).brokers.length, 1);
    d.socket.destroy();

    // Re-authenticating as someone else fails and closes the connection.
    const e = await RawConnection.connect(broker.port);
    assert.equal((await login(e, 'alice', 'alice-secret', 1)).errorCode, 0);
    await broker.broker.credentials.set('carol', 'SCRAM-SHA-256', await (await import('../../src/broker/auth/scram.js')).credentialFromPassword('SCRAM-SHA-256', 'carol-secret'));
    const other = await login(e, 'carol', 'carol-secret', 20);
    assert.equal(other.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    await e.closed;
  } finally {
    await broker.stop();
  }
});

test('failed attempts from one address past the limit: every further attempt is answered only after the penalty', async () => {
  const broker = await saslBroker({ saslFailedAuthenticationLimit: 2, saslFailedAuthenticationPenaltyMs: 300 });
  try {
    const attempt = async (password: string) => {
      const c = await RawConnection.connect(broker.port);
      await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
      const started = Date.now();
      const res = await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from(`\u0000alice\u0000${password}`) }, 2);
      c.socket.destroy();
      return { errorCode: res.errorCode, waited: Date.now() - started };
    };
    assert.equal((await attempt('x')).errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.equal((await attempt('y')).errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    // Past the limit: the answer (right or wrong password) waits at least the penalty.
    const third = await attempt('z');
    assert.equal(third.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    assert.ok(third.waited >= 290, `waited ${third.waited} ms`);
    const right = await attempt('alice-secret');
    assert.equal(right.errorCode, 0);
    assert.ok(right.waited >= 290, `waited ${right.waited} ms`);
  } finally {
    await broker.stop();
  }
});

test('malformed SCRAM messages fail cleanly (no crash): channel binding, bad nonce, bad username escapes, garbage', async () => {
  const broker = await saslBroker({ saslFailedAuthenticationLimit: 0 });
  try {
    for (const first of ['p=tls-server-end-point,,n=alice,r=abc', 'n,,n=al=ice,r=abc', 'n,,n=alice,r=a,b', 'garbage', '', 'n,a=bob,n=alice,r=abc', 'n,,n=alice,r=abc,m=x', '\u0000\u0001']) {
      const c = await RawConnection.connect(broker.port);
      await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' });
      const res = await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from(first) }, 2);
      assert.equal(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED, first);
      await c.closed;
    }
    // A final message with a changed nonce / channel binding fails too.
    for (const tamper of [(s: string) => s.replace('c=biws', 'c=eSws'), (s: string) => s.replace(/r=([^,]*)/, 'r=$1x'), (s: string) => s.replace(/r=([^,]*)/, (_m, n: string) => `r=${n.slice(0, -1)}`), (s: string) => s.replace(/p=.*/, 'p=AAAA')]) {
      const c = await RawConnection.connect(broker.port);
      await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' });
      const client = scramClient('sha256', 'alice', 'alice-secret');
      const first = await c.request(SASL_AUTHENTICATE, 2, { authBytes: client.first }, 2);
      const res = await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from(tamper(client.final(first.authBytes).toString())) }, 3);
      assert.equal(res.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      await c.closed;
    }
  } finally {
    await broker.stop();
  }
});

test('DescribeUserScramCredentials / AlterUserScramCredentials: Kafka\'s answers, and a credential set over the wire logs in', async () => {
  // Managed over a PLAINTEXT listener; logged in with over the SASL_PLAINTEXT one.
  const broker = await saslBroker({ listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-256'] });
  try {
    const c = await RawConnection.connect(broker.port);
    const salt = randomBytes(16);
    const salted = pbkdf2Sync('carol-secret', salt, 4096, 32, 'sha256');
    const res = await c.request(51, 0, {
      deletions: [{ name: 'nobody', mechanism: 1 }],
      upsertions: [
        { name: 'carol', mechanism: 1, iterations: 4096, salt, saltedPassword: salted },
        { name: 'dave', mechanism: 1, iterations: 1000, salt, saltedPassword: salted },
        { name: 'erin', mechanism: 3, iterations: 4096, salt, saltedPassword: salted },
        { name: 'fred', mechanism: 2, iterations: 4096, salt, saltedPassword: salted }, // 32 bytes for SHA-512: taken, as Kafka does
        { name: '', mechanism: 1, iterations: 4096, salt, saltedPassword: salted },
      ],
    });
    assert.deepEqual(res.results.map((r: { user: string; errorCode: number }) => [r.user, r.errorCode]), [
      ['nobody', ErrorCode.RESOURCE_NOT_FOUND], ['carol', 0], ['dave', ErrorCode.UNACCEPTABLE_CREDENTIAL],
      ['erin', ErrorCode.UNSUPPORTED_SASL_MECHANISM], ['fred', 0], ['', ErrorCode.UNACCEPTABLE_CREDENTIAL],
    ]);
    const dup = await c.request(51, 0, { deletions: [{ name: 'carol', mechanism: 1 }], upsertions: [{ name: 'carol', mechanism: 1, iterations: 4096, salt, saltedPassword: salted }] }, 2);
    assert.equal(dup.results[0].errorCode, ErrorCode.DUPLICATE_RESOURCE);
    const all = await c.request(50, 0, { users: null }, 3);
    assert.deepEqual(all.results.map((r: { user: string; credentialInfos: unknown[] }) => [r.user, r.credentialInfos]), [
      ['alice', [{ mechanism: 1, iterations: 4096 }]], ['bob', [{ mechanism: 2, iterations: 8192 }]], ['carol', [{ mechanism: 1, iterations: 4096 }]], ['fred', [{ mechanism: 2, iterations: 4096 }]],
    ]);
    const some = await c.request(50, 0, { users: [{ name: 'carol' }, { name: 'zed' }, { name: 'bob' }, { name: 'bob' }] }, 4);
    assert.deepEqual(some.results.map((r: { user: string; errorCode: number }) => [r.user, r.errorCode]), [
      ['carol', 0], ['zed', ErrorCode.RESOURCE_NOT_FOUND], ['bob', ErrorCode.DUPLICATE_RESOURCE],
    ]);
    c.socket.destroy();
    // carol's credential (salted by the client) works for SCRAM and PLAIN on the SASL listener.
    const saslListener = broker.listeners.find((l) => l.securityProtocol === 'SASL_PLAINTEXT')!;
    for (const mechanism of ['scram-sha-256', 'plain'] as const) {
      const admin = fjord(saslListener.address, { mechanism, username: 'carol', password: 'carol-secret' }).admin();
      await admin.connect();
      await admin.disconnect();
    }
  } finally {
    await broker.stop();
  }
});

test('the tutorial program: kafkajs with ssl and sasl scram-sha-256 on a SASL_SSL listener, next to a PLAINTEXT one', { skip: hasOpenssl() ? false : 'openssl is not installed' }, async () => {
  const dir = tempDir();
  const ca = makeCa(dir.path);
  const cert = ca.issue('server', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  const broker = await saslBroker({ listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0', sslKeystoreLocation: cert.bundleFile });
  try {
    const saslSsl = broker.listeners.find((l) => l.securityProtocol === 'SASL_SSL')!;
    const kafka = new KafkaJS({
      clientId: 'tutorial', brokers: [saslSsl.address], logLevel: kjsLogLevel.NOTHING,
      ssl: { ca: [ca.ca], servername: 'localhost' }, sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
    });
    const topic = uniqueTopic('tutorial-sasl-ssl');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'over TLS, authenticated' }] });
    await producer.disconnect();
    const meta = await kafka.admin();
    await meta.connect();
    const offsets = await meta.fetchTopicOffsets(topic);
    assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), 1);
    await meta.disconnect();
    // The same listener refuses a wrong password, and TLS without SASL gets nothing done.
    const wrong = new KafkaJS({ brokers: [saslSsl.address], logLevel: kjsLogLevel.NOTHING, retry: { retries: 0 }, ssl: { ca: [ca.ca], servername: 'localhost' }, sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'nope' } });
    await assert.rejects(wrong.admin().connect());
  } finally {
    await broker.stop();
    dir.remove();
  }
});

test('listener.name.<name>.sasl.enabled.mechanisms: each SASL listener offers its own mechanisms; refused on a listener without SASL', async () => {
  const broker = await saslBroker({
    listeners: 'INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0',
    listenerSecurityProtocolMap: ['INTERNAL:SASL_PLAINTEXT', 'EXTERNAL:SASL_PLAINTEXT'],
    saslEnabledMechanisms: ['PLAIN'],
    listenerSsl: { EXTERNAL: { saslEnabledMechanisms: ['SCRAM-SHA-512'] } },
  });
  try {
    const [internal, external] = broker.broker.listeners;
    const handshake = async (port: number, mechanism: string) => {
      const c = await RawConnection.connect(port);
      try {
        return await c.request(ApiKey.SaslHandshake, 1, { mechanism });
      } finally {
        c.close();
      }
    };
    assert.deepEqual(await handshake(internal.advertisedPort, 'PLAIN'), { errorCode: ErrorCode.NONE, mechanisms: ['PLAIN'] });
    assert.deepEqual(await handshake(internal.advertisedPort, 'SCRAM-SHA-512'), { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['PLAIN'] });
    assert.deepEqual(await handshake(external.advertisedPort, 'PLAIN'), { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['SCRAM-SHA-512'] });
    const admin = fjord(`127.0.0.1:${external.advertisedPort}`, { mechanism: 'scram-sha-512', username: 'bob', password: 'bob-secret' }).admin();
    await admin.connect();
    assert.ok(Array.isArray(await admin.listTopics()));
    await admin.disconnect();
    await assert.rejects(fjord(`127.0.0.1:${external.advertisedPort}`, { mechanism: 'plain', username: 'bob', password: 'bob-secret' }).admin().connect());
  } finally {
    await broker.stop();
  }
  await assert.rejects(
    saslBroker({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0', listenerSsl: { PLAINTEXT: { saslEnabledMechanisms: ['PLAIN'] } } }),
    /listener.name.plaintext.sasl.enabled.mechanisms is set, but listener PLAINTEXT uses PLAINTEXT/,
  );
  await assert.rejects(
    saslBroker({ saslEnabledMechanisms: [], listeners: 'A://127.0.0.1:0,B://127.0.0.1:0', listenerSecurityProtocolMap: ['A:SASL_PLAINTEXT', 'B:SASL_PLAINTEXT'], listenerSsl: { A: { saslEnabledMechanisms: ['PLAIN'] } } }),
    /listener B uses SASL_PLAINTEXT, but no SASL mechanism is enabled: .*listener.name.b.sasl.enabled.mechanisms/,
  );
});
