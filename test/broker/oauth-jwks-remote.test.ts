// OAUTHBEARER with the identity provider's JWKS served over https (sasl.oauthbearer.jwks.endpoint.url),
// from a real HTTPS server made here with a test CA the broker trusts through ssl.truststore.location:
// the keys are fetched before the broker serves; a rotated key (a token naming a kid the broker does
// not hold) makes it fetch again, so the next login with it works; an endpoint that never answers
// with keys, or sends an oversized document, stops the start with one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from '../../src/client/index.js';
import { startBroker } from '../../src/index.js';
import { withBroker, uniqueTopic, tempDir } from '../helpers.js';
import { hasOpenssl, makeCa } from '../tls-certs.js';

const k1 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const k2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = (key: KeyObject, kid: string) => ({ ...key.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' });
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

function token(key: KeyObject, kid: string, sub: string): string {
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64({ sub, iat: now, exp: now + 600 })}`;
  return `${head}.${sign('sha256', Buffer.from(head), key).toString('base64url')}`;
}

test('JWKS over https: fetched at start, fetched again for a rotated key id, the start refused without keys', { skip: hasOpenssl() ? false : 'openssl is not installed' }, async () => {
  const dir = tempDir('fjord-jwks-');
  const ca = makeCa(dir.path);
  const cert = ca.issue('idp', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost');
  let served: object[] = [jwk(k1.publicKey, 'k1')];
  let fetches = 0;
  const idp: Server = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    fetches++;
    if (req.url === '/huge.json') {
      // A provider (or something in its place) sending far more than any key set: the broker stops reading.
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"keys":[],"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`);
      return;
    }
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`;
  const broker = await withBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: ['OAUTHBEARER'],
    saslOauthbearerJwksEndpointUrl: url,
    sslTruststoreLocation: ca.caFile,
    connectionFailedAuthenticationDelayMs: 0,
    saslFailedAuthenticationLimit: 0,
  });
  const client = (tok: string) => new Kafka({ clientId: 'jwks', brokers: [broker.address], sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: tok }) }, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  try {
    assert.equal(fetches, 1, 'the keys are fetched once before the broker serves');
    const topic = uniqueTopic('jwks');
    // Created first: these clients do not retry, and Metadata's auto-creating answer is
    // UNKNOWN_TOPIC_OR_PARTITION (as Kafka 4.1's).
    await broker.broker.topics.create(topic, 1);
    const p1 = client(token(k1.privateKey, 'k1', 'alice')).producer();
    await p1.connect();
    await p1.send({ topic, messages: [{ value: 'signed by k1' }] });
    await p1.disconnect();

    // The provider rotates to k2. The first token naming k2 is refused, and makes the broker fetch again.
    served = [jwk(k2.publicKey, 'k2')];
    const rotated = token(k2.privateKey, 'k2', 'bob');
    await assert.rejects(client(rotated).producer().connect());
    const deadline = Date.now() + 10_000;
    while (fetches < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fetches, 2, 'a token naming an unknown kid fetches the set again');
    await new Promise((r) => setTimeout(r, 100));
    const p2 = client(rotated).producer();
    await p2.connect();
    await p2.send({ topic, messages: [{ value: 'signed by k2' }] });
    await p2.disconnect();

    // A token with yet another unknown kid right away does not fetch again (rate-limited).
    await assert.rejects(client(token(k1.privateKey, 'k9', 'eve')).producer().connect());
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(fetches, 2);
  } finally {
    await broker.stop();
  }

  // No keys at the URL (404) within the retry budget: the broker does not start, and says why.
  const base = { listeners: 'SASL_PLAINTEXT://127.0.0.1:0', logLevel: 'silent' as const, saslEnabledMechanisms: ['OAUTHBEARER'], sslTruststoreLocation: ca.caFile, saslOauthbearerJwksEndpointRetryBackoffMs: 50, saslOauthbearerJwksEndpointRetryBackoffMaxMs: 400 };
  await assert.rejects(startBroker({ ...base, saslOauthbearerJwksEndpointUrl: url.replace('jwks.json', 'missing.json') }), /jwks\.endpoint\.url https:\/\/127\.0\.0\.1:\d+\/missing\.json: no keys after \d+ attempt\(s\) \(HTTP 404\)/);
  await assert.rejects(startBroker({ ...base, saslOauthbearerJwksEndpointUrl: url.replace('jwks.json', 'huge.json') }), /no keys after \d+ attempt\(s\) \(the document is larger than 1048576 bytes\)/);
  // An untrusted certificate is a failed fetch, not a silent success.
  await assert.rejects(startBroker({ ...base, sslTruststoreLocation: undefined, saslOauthbearerJwksEndpointUrl: url }), /no keys after .*certificate/);
  await new Promise<void>((r) => idp.close(() => r()));
  dir.remove();
});
