// kcat (librdkafka): produce with keys, consume to the end, -L metadata, -G balanced consumer, codecs;
// security (each against a broker of its own, see run.ts startSecureFjord): SASL_SSL with
// SCRAM-SHA-512; SASL_SSL with OAUTHBEARER, unsecured JWTs (kcat has no token callback) and, where
// librdkafka has libcurl, its OIDC client-credentials login against a token endpoint this program
// serves, handing out ES256 JWTs the broker checks against its JWKS file; a wrong password.
import { spawn } from 'node:child_process';
import { sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { main, bootstrap, topic, makeRecords, Expect, fail } from './common.mjs';

/** The broker address kcat is pointed at (security scenarios switch it to a SASL listener). */
let broker = bootstrap;
const env = process.env;

function kcat(args, input = '', timeoutMs = 60_000) {
  return new Promise((resolve) => {
    const child = spawn('kcat', ['-b', broker, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => { clearTimeout(timer); resolve({ stdout, stderr, status }); });
    child.stdin.end(input);
  });
}

async function produce(records, extra = []) {
  const p = await kcat(['-P', '-t', topic, '-K', '\t', '-X', 'acks=all', ...extra], records.map((r) => `${r.key}\t${r.value}`).join('\n') + '\n');
  if (p.status !== 0) fail(`kcat -P exited ${p.status}: ${p.stderr.trim().split('\n').pop()}`);
}

async function consumeAll(records, extra = []) {
  const c = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\t%p\t%o\n', ...extra]);
  if (c.status !== 0) fail(`kcat -C exited ${c.status}: ${c.stderr.trim().split('\n').pop()}`);
  const expect = new Expect(records);
  for (const line of c.stdout.split('\n').filter(Boolean)) {
    const [k, v] = line.split('\t');
    expect.add(k, v);
  }
  expect.verify();
}

const codec = (name) => async () => {
  const records = makeRecords(500);
  await produce(records, ['-z', name]);
  await consumeAll(records);
};

const X = (conf) => Object.entries(conf).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
const scram = (mechanism, password = env.FJORD_PASSWORD) => X({
  'security.protocol': 'SASL_SSL', 'ssl.ca.location': env.FJORD_CA,
  'sasl.mechanisms': mechanism, 'sasl.username': env.FJORD_USER, 'sasl.password': password,
});

/** Produces and consumes back over the SASL_SSL listener with these client settings. */
async function roundTrip(conf, n = 300) {
  broker = env.FJORD_SASL_SSL;
  const records = makeRecords(n);
  await produce(records, conf);
  await consumeAll(records, conf);
}

/** A minimal OAuth token endpoint (client credentials grant) issuing signed JWTs for one client. */
async function tokenEndpoint(clientId, clientSecret) {
  const key = readFileSync(env.FJORD_JWT_KEY);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  let issued = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      const form = new URLSearchParams(body);
      if (req.method !== 'POST' || form.get('grant_type') !== 'client_credentials' || basic !== `${clientId}:${clientSecret}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      const now = Math.floor(Date.now() / 1000);
      const head = `${b64({ alg: 'ES256', typ: 'JWT', kid: env.FJORD_JWT_KID })}.${b64({ sub: env.FJORD_USER, iss: env.FJORD_JWT_ISSUER, aud: env.FJORD_JWT_AUDIENCE, iat: now, exp: now + 600 })}`;
      const token = `${head}.${sign('sha256', Buffer.from(head), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 600 }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/token`, issued: () => issued, close: () => server.close() };
}

await main({
  'sasl-ssl-scram-sha-512': () => roundTrip(scram('SCRAM-SHA-512')),
  // librdkafka's unsecured-JWT login (kcat has no token callback) against a broker started with
  // --sasl-oauthbearer-unsecured-jwt: the development mode of both sides.
  'sasl-ssl-oauthbearer-unsecured': () => roundTrip(X({
    'security.protocol': 'SASL_SSL', 'ssl.ca.location': env.FJORD_CA, 'sasl.mechanisms': 'OAUTHBEARER',
    'enable.sasl.oauthbearer.unsecure.jwt': 'true', 'sasl.oauthbearer.config': `principal=${env.FJORD_USER}`,
  })),
  // Signed tokens: librdkafka's OIDC login (client credentials) against the token endpoint above.
  // Needs a librdkafka built with libcurl; Debian's kcat is not, so this is skipped there.
  'sasl-ssl-oauthbearer-oidc': async () => {
    const idp = await tokenEndpoint('kcat', 'kcat-secret');
    const conf = [...X({ 'security.protocol': 'SASL_SSL', 'ssl.ca.location': env.FJORD_CA, 'sasl.mechanisms': 'OAUTHBEARER' }),
      ...X({ 'sasl.oauthbearer.method': 'oidc', 'sasl.oauthbearer.client.id': 'kcat', 'sasl.oauthbearer.client.secret': 'kcat-secret', 'sasl.oauthbearer.token.endpoint.url': idp.url })];
    broker = env.FJORD_SASL_SSL;
    const probe = await kcat(['-L', '-m', '10', ...conf]);
    if (/not supported in this build/.test(probe.stderr)) { console.log(`SKIP: ${probe.stderr.trim().split('\n').pop().slice(0, 120)}`); process.exit(3); }
    await roundTrip(conf);
    if (idp.issued() < 2) fail(`the token endpoint issued ${idp.issued()} tokens, expected one per kcat run`);
    idp.close();
  },
  'sasl-wrong-password': async () => {
    broker = env.FJORD_SASL_SSL;
    const started = Date.now();
    const l = await kcat(['-L', '-m', '5', ...scram('SCRAM-SHA-512', 'not-the-password')], '', 30_000);
    if (l.status === 0) fail('kcat -L with a wrong password succeeded');
    if (!/authentication/i.test(l.stderr)) fail(`kcat did not report an authentication failure: ${l.stderr.trim().split('\n').pop()}`);
    if (Date.now() - started > 20_000) fail('kcat took over 20 s to give up');
    // The broker keeps serving: the right password works at once.
    await roundTrip(scram('SCRAM-SHA-512'), 50);
  },
  'produce-consume': async () => {
    const records = makeRecords(1000);
    await produce(records);
    await consumeAll(records);
  },
  metadata: async () => {
    await produce(makeRecords(3));
    const l = await kcat(['-L', '-J']);
    if (l.status !== 0) fail(`kcat -L exited ${l.status}: ${l.stderr}`);
    const md = JSON.parse(l.stdout);
    // One broker, or as many as the bootstrap list names (test:conformance --cluster).
    const expected = broker.split(',').length;
    if (md.brokers?.length !== expected) fail(`expected ${expected} broker(s), got ${JSON.stringify(md.brokers)}`);
    const t = md.topics.find((x) => x.topic === topic);
    if (!t) fail('topic missing from -L');
    if (t.partitions.some((p) => !md.brokers.some((b) => b.id === p.leader))) fail('a partition leader is not a listed broker');
  },
  'consumer-group': async () => {
    const records = makeRecords(300);
    await produce(records);
    // -G balanced consumer; stop after reading every record (-c) so the group commits and leaves.
    const c = await kcat(['-G', `${topic}-group`, '-X', 'auto.offset.reset=earliest', '-c', String(records.length), '-q', '-f', '%k\t%s\n', topic]);
    if (c.status !== 0) fail(`kcat -G exited ${c.status}: ${c.stderr.trim().split('\n').pop()}`);
    const expect = new Expect(records);
    for (const line of c.stdout.split('\n').filter(Boolean)) { const [k, v] = line.split('\t'); expect.add(k, v); }
    expect.verify();
    // A second member of the same group sees nothing new (offsets were committed on close).
    const more = makeRecords(5, `${topic}-second`);
    await produce(more);
    const c2 = await kcat(['-G', `${topic}-group`, '-X', 'auto.offset.reset=earliest', '-c', '5', '-q', '-f', '%k\t%s\n', topic]);
    const e2 = new Expect(more);
    for (const line of c2.stdout.split('\n').filter(Boolean)) { const [k, v] = line.split('\t'); e2.add(k, v); }
    e2.verify();
  },
  'compression-gzip': codec('gzip'),
  'compression-snappy': codec('snappy'),
  'compression-lz4': codec('lz4'),
  'compression-zstd': codec('zstd'),
});
