// SASL authentication after ApiVersions: SaslHandshake picks the mechanism, then SaslAuthenticate
// carries the exchange. PLAIN (RFC 4616), SCRAM-SHA-256/512 (RFC 5802, 7677) and OAUTHBEARER
// (RFC 7628 as Kafka frames it, KIP-255; kafkajs' option shape) are built in.
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { ApiKey } from '../protocol/apis.js';
import type { ApiKeyNumber, RequestOf, ResponseOf } from '../protocol/generated/types.js';
import { FjordError, FjordProtocolError, KafkaJSSASLAuthenticationError } from './errors.js';

export type SaslOptions =
  | { mechanism: 'plain'; username: string; password: string }
  | { mechanism: 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'oauthbearer'; oauthBearerProvider: () => Promise<OauthbearerToken>; authorizationIdentity?: string };

/** What an oauthBearerProvider returns (kafkajs' shape): the token and optional SASL extensions. */
export interface OauthbearerToken {
  value: string;
  extensions?: Record<string, string>;
}

const SASL_AUTHENTICATE = 36; // not among apis.ts' named keys

interface Requester {
  readonly broker: string;
  request<K extends ApiKeyNumber>(apiKey: K, body: RequestOf<K>, options?: { version?: number; timeout?: number }): Promise<ResponseOf<K>>;
  versionOf(apiKey: number): number;
}

/** Authenticates `conn`; each SASL request may take `timeout` ms (kafkajs' authenticationTimeout, default 10000). */
export async function authenticate(conn: Requester, sasl: SaslOptions, timeout = 10000): Promise<void> {
  const mechanism = sasl.mechanism.toUpperCase();
  const hs = await conn.request(ApiKey.SaslHandshake, { mechanism }, { timeout });
  if (hs.errorCode !== 0) {
    throw new KafkaJSSASLAuthenticationError(`${conn.broker} does not accept SASL mechanism ${mechanism} (it offers ${hs.mechanisms.join(', ') || 'none'})`, { cause: new FjordProtocolError(hs.errorCode) });
  }
  const step = async (bytes: Buffer): Promise<Buffer> => {
    const res = await conn.request(SASL_AUTHENTICATE, { authBytes: bytes }, { timeout });
    if (res.errorCode !== 0) throw new KafkaJSSASLAuthenticationError(`SASL ${mechanism} authentication failed on ${conn.broker}: ${res.errorMessage ?? new FjordProtocolError(res.errorCode).message}`);
    return res.authBytes;
  };
  if (sasl.mechanism === 'oauthbearer') {
    await oauthBearer(conn, step, sasl.oauthBearerProvider, sasl.authorizationIdentity);
    return;
  }
  if (sasl.mechanism === 'plain') {
    await step(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`, 'utf8'));
    return;
  }
  await scram(step, sasl.mechanism === 'scram-sha-256' ? 'sha256' : 'sha512', sasl.username, sasl.password);
}

async function oauthBearer(conn: Requester, step: (b: Buffer) => Promise<Buffer>, provider: () => Promise<OauthbearerToken>, authzid?: string): Promise<void> {
  const token = await provider();
  if (typeof token?.value !== 'string' || token.value === '') throw new KafkaJSSASLAuthenticationError('SASL OAUTHBEARER: the oauthBearerProvider gave no token value');
  const extensions = Object.entries(token.extensions ?? {}).map(([k, v]) => {
    if (!/^[A-Za-z]+$/.test(k) || k === 'auth' || !/^[\x21-\x7E \t\r\n]+$/.test(v)) throw new KafkaJSSASLAuthenticationError(`SASL OAUTHBEARER: extension "${k}" is not a valid key=value (RFC 7628)`);
    return `${k}=${v}\u0001`;
  }).join('');
  const message = `n,${authzid ? `a=${authzid}` : ''},\u0001auth=Bearer ${token.value}\u0001${extensions}\u0001`;
  const answer = await step(Buffer.from(message, 'utf8'));
  if (answer.length > 0) {
    // RFC 7628 3.2.2: an error (JSON) from the server; acknowledge it with ^A, the broker then fails the exchange.
    try {
      await step(Buffer.from([1]));
    } catch (err) {
      throw new KafkaJSSASLAuthenticationError(`SASL OAUTHBEARER authentication failed on ${conn.broker}: ${answer.toString('utf8')}`, { cause: err as Error });
    }
    throw new KafkaJSSASLAuthenticationError(`SASL OAUTHBEARER authentication failed on ${conn.broker}: ${answer.toString('utf8')}`);
  }
}

const saslName = (s: string) => s.replace(/=/g, '=3D').replace(/,/g, '=2C');

async function scram(step: (b: Buffer) => Promise<Buffer>, digest: 'sha256' | 'sha512', username: string, password: string): Promise<void> {
  const nonce = randomBytes(24).toString('base64');
  const firstBare = `n=${saslName(username)},r=${nonce}`;
  const serverFirst = (await step(Buffer.from(`n,,${firstBare}`))).toString('utf8');
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
  const serverNonce = attrs.get('r');
  const salt = attrs.get('s');
  const iterations = Number(attrs.get('i'));
  if (!serverNonce || !serverNonce.startsWith(nonce) || !salt || !Number.isInteger(iterations) || iterations < 1) {
    throw new FjordError(`unexpected SCRAM server message "${serverFirst}"`, { retriable: false });
  }
  const keyLength = digest === 'sha256' ? 32 : 64;
  const salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), iterations, keyLength, digest);
  const hmac = (key: Buffer, text: string) => createHmac(digest, key).update(text).digest();
  const clientKey = hmac(salted, 'Client Key');
  const storedKey = createHash(digest).update(clientKey).digest();
  const finalWithoutProof = `c=biws,r=${serverNonce}`;
  const authMessage = `${firstBare},${serverFirst},${finalWithoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(clientKey.length);
  for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ signature[i];
  const serverFinal = (await step(Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`))).toString('utf8');
  const expected = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
  if (!serverFinal.startsWith('v=') || serverFinal.slice(2) !== expected) {
    throw new FjordError('the broker\'s SCRAM signature did not verify', { retriable: false });
  }
}
