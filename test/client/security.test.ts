// TLS and SASL (PLAIN, SCRAM-SHA-256/512) on the client. Fjord's broker speaks neither, so the test
// puts a proxy in front of it: a TLS listener, or a TCP listener that performs the SASL exchange
// itself (adding SaslHandshake/SaslAuthenticate to the broker's ApiVersions answer) and then
// forwards bytes. The broker advertises the proxy's port, so every connection goes through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { apiSchema } from '../../src/protocol/apis.js';
import { compile } from '../../src/protocol/codec.js';
import { readRequestHeader, writeResponseHeader } from '../../src/protocol/header.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { Kafka, logLevel, type SaslOptions } from '../../src/client/index.js';
import { withBroker, tempDir, uniqueTopic } from '../helpers.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Reads whole frames (without the size prefix) from a socket. */
function frames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const size = buf.readInt32BE(0);
      const frame = buf.subarray(4, 4 + size);
      buf = buf.subarray(4 + size);
      onFrame(frame);
    }
  });
}

const sized = (payload: Buffer) => {
  const p = Buffer.alloc(4);
  p.writeInt32BE(payload.length);
  return Buffer.concat([p, payload]);
};

function respond(apiKey: number, version: number, correlationId: number, body: Record<string, unknown>): Buffer {
  const w = new Writer();
  writeResponseHeader(w, apiKey, version, correlationId);
  compile(apiSchema(apiKey)!.response, version).encode(w, body);
  return sized(w.finish());
}

/** SASL server side: PLAIN or SCRAM with one user. Returns the answer to each client message. */
function saslServer(mechanism: string, user: string, password: string) {
  if (mechanism === 'PLAIN') {
    return (msg: Buffer) => {
      const [, u, p] = msg.toString('utf8').split('\u0000');
      return u === user && p === password ? { ok: true, reply: Buffer.alloc(0) } : { ok: false, reply: Buffer.alloc(0) };
    };
  }
  const digest = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = pbkdf2Sync(password, salt, iterations, digest === 'sha256' ? 32 : 64, digest);
  const hmac = (k: Buffer, s: string) => createHmac(digest, k).update(s).digest();
  let firstBare = '';
  let serverFirst = '';
  let nonce = '';
  return (msg: Buffer) => {
    const text = msg.toString('utf8');
    if (!serverFirst) {
      firstBare = text.slice(3); // after "n,,"
      const attrs = new Map(firstBare.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
      if (attrs.get('n') !== user) return { ok: false, reply: Buffer.alloc(0) };
      nonce = attrs.get('r')! + randomBytes(12).toString('base64');
      serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`;
      return { ok: true, reply: Buffer.from(serverFirst) };
    }
    const withoutProof = text.slice(0, text.lastIndexOf(',p='));
    const proof = Buffer.from(text.slice(text.lastIndexOf(',p=') + 3), 'base64');
    const authMessage = `${firstBare},${serverFirst},${withoutProof}`;
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash(digest).update(clientKey).digest();
    const signature = hmac(storedKey, authMessage);
    const recovered = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) recovered[i] = proof[i] ^ signature[i];
    const ok = createHash(digest).update(recovered).digest().equals(storedKey) && withoutProof === `c=biws,r=${nonce}`;
    return { ok, reply: Buffer.from(`v=${hmac(hmac(salted, 'Server Key'), authMessage).toString('base64')}`) };
  };
}

/** A proxy to `target` on `port`; with `sasl`, it authenticates each connection itself first. */
function proxy(port: number, target: number, options: { tls?: tls.TlsOptions; sasl?: { mechanism: string; user: string; password: string } }) {
  let authenticated = 0;
  const onClient = (client: net.Socket) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    if (!options.sasl) {
      client.pipe(upstream);
      upstream.pipe(client);
      return;
    }
    const sasl = options.sasl;
    let server = saslServer(sasl.mechanism, sasl.user, sasl.password);
    let done = false;
    let pendingApiVersions: { correlationId: number; version: number } | null = null;
    frames(upstream, (frame) => {
      if (pendingApiVersions) {
        // Add the SASL APIs to the broker's ApiVersions answer.
        const { correlationId, version } = pendingApiVersions;
        pendingApiVersions = null;
        const r = new Reader(frame);
        r.int32();
        const body = compile(apiSchema(18)!.response, version).decode(r);
        body.apiKeys = [...(body.apiKeys as object[]), { apiKey: 17, minVersion: 0, maxVersion: 1 }, { apiKey: 36, minVersion: 0, maxVersion: 2 }];
        client.write(respond(18, version, correlationId, body));
        return;
      }
      client.write(sized(frame));
    });
    frames(client, (frame) => {
      if (done) {
        upstream.write(sized(frame));
        return;
      }
      const r = new Reader(frame);
      const h = readRequestHeader(r);
      const body = compile(apiSchema(h.apiKey)!.request, h.apiVersion).decode(r);
      if (h.apiKey === 18) {
        pendingApiVersions = { correlationId: h.correlationId, version: h.apiVersion };
        upstream.write(sized(frame));
      } else if (h.apiKey === 17) {
        const ok = body.mechanism === sasl.mechanism;
        client.write(respond(17, h.apiVersion, h.correlationId, { errorCode: ok ? 0 : 33, mechanisms: [sasl.mechanism] }));
        server = saslServer(sasl.mechanism, sasl.user, sasl.password);
      } else if (h.apiKey === 36) {
        const { ok, reply } = server(body.authBytes as Buffer);
        client.write(respond(36, h.apiVersion, h.correlationId, { errorCode: ok ? 0 : 58, errorMessage: ok ? null : 'bad credentials', authBytes: reply, sessionLifetimeMs: 0 }));
        const text = (body.authBytes as Buffer).toString('utf8');
        if (ok && (sasl.mechanism === 'PLAIN' || text.includes(',p='))) {
          done = true;
          authenticated++;
        }
      } else {
        client.destroy(); // anything else before authentication is refused
      }
    });
  };
  const server = options.tls ? tls.createServer(options.tls, onClient) : net.createServer(onClient);
  return new Promise<{ close(): Promise<void>; authenticated: () => number }>((resolve) => {
    server.listen(port, '127.0.0.1', () => resolve({
      authenticated: () => authenticated,
      close: () => new Promise<void>((r) => { server.close(() => r()); (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.(); }),
    }));
  });
}

async function roundTrip(kafka: Kafka): Promise<void> {
  const topic = uniqueTopic('secure');
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: 'over a secured connection' }] });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), 1);
  await admin.disconnect();
}

async function selfSigned(): Promise<{ key: Buffer; cert: Buffer } | null> {
  const dir = tempDir('fjord-tls-');
  const key = join(dir.path, 'key.pem');
  const cert = join(dir.path, 'cert.pem');
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    p.on('error', () => resolve(null));
    p.on('exit', resolve);
  });
  if (code !== 0) return null;
  const out = { key: readFileSync(key), cert: readFileSync(cert) };
  dir.remove();
  return out;
}

test('TLS: every connection goes over TLS and is verified against the given CA', async (t) => {
  const pems = await selfSigned();
  if (!pems) return t.skip('openssl is not available');
  const port = await freePort();
  const brokerPort = await freePort();
  const broker = await withBroker({ port: brokerPort, advertisedPort: port });
  const tlsProxy = await proxy(port, brokerPort, { tls: { key: pems.key, cert: pems.cert } });
  try {
    await roundTrip(new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, ssl: { ca: [pems.cert] } }));
    // Without the CA, the certificate is refused.
    const untrusted = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, ssl: true, retry: { retries: 0 } });
    await assert.rejects(untrusted.admin().connect(), /self.signed|certificate/i);
  } finally {
    await tlsProxy.close();
    await broker.stop();
  }
});

for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
  test(`SASL ${mechanism}: authenticates every connection; wrong password is refused`, async () => {
    const port = await freePort();
    const brokerPort = await freePort();
    const broker = await withBroker({ port: brokerPort, advertisedPort: port });
    const saslProxy = await proxy(port, brokerPort, { sasl: { mechanism: mechanism.toUpperCase(), user: 'alice', password: 's3cret' } });
    try {
      const sasl = { mechanism, username: 'alice', password: 's3cret' } satisfies SaslOptions;
      await roundTrip(new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, sasl }));
      assert.ok(saslProxy.authenticated() >= 2, `${saslProxy.authenticated()} authenticated connections`);
      const wrong = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, sasl: { ...sasl, password: 'nope' }, retry: { retries: 0 } });
      await assert.rejects(wrong.admin().connect(), /authentication failed/);
    } finally {
      await saslProxy.close();
      await broker.stop();
    }
  });
}
