// SASL/OAUTHBEARER (RFC 7628 as Kafka frames it, KIP-255) on the broker: the client's one message
// "n,[a=authzid],\x01auth=Bearer <token>\x01[key=value\x01...]\x01" and the check of its token.
//
// Tokens are JWTs (RFC 7519) in compact JWS form. Signed ones (RS256/384/512, PS256/384/512,
// ES256/384/512, EdDSA; never HMAC, which would make a public key a shared secret) are verified with
// node:crypto against the keys of sasl.oauthbearer.jwks.endpoint.url (a JWKS in a file: URL, or
// served over http(s) by an identity provider: jwks-remote.ts) and/or a PEM file of public keys
// (Fjord's own setting). Kafka's unsecured tokens (alg "none", empty
// signature, what librdkafka's enable.sasl.oauthbearer.unsecure.jwt sends) are taken only when
// fjord.sasl.oauthbearer.unsecured.jwt is on, with a WARN at start.
//
// Claims, as Kafka's validators check them: exp required (expired past the clock skew: refused),
// iat required for signed tokens (Kafka's jose4j validator requires it) and never in the future past
// the skew, nbf honoured, iss equal to the expected issuer and aud holding one of the expected
// audiences when those are set, and the principal claim (sub.claim.name, default "sub") a non-empty
// string: the connection's principal is User:<it>.
//
// A token that fails gets RFC 7628's error exchange, as Kafka's server does it: the server answers
// {"status":"invalid_token"}, the client must answer "\x01", and only then does the authentication
// fail (SASL_AUTHENTICATION_FAILED). A malformed message, or an authzid other than the token's
// principal, fails at once. Extensions are parsed and checked for syntax, then ignored (Kafka's
// default validators do not validate any). Key files are re-read when they change (checked at most
// once a second); content that does not load keeps the old keys, with a WARN.
import { createPublicKey, verify, constants, type KeyObject, type JsonWebKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BrokerConfig } from '../config.js';
import { ConfigError } from '../listeners.js';
import type { Logger } from '../logger.js';
import { AuthenticationFailure } from './scram.js';
import { RemoteJwks } from './jwks-remote.js';

export type OAuthSettings = Pick<BrokerConfig,
  'saslEnabledMechanisms' | 'saslOauthbearerJwksEndpointUrl' | 'saslOauthbearerPublicKeyLocation' | 'saslOauthbearerExpectedAudience'
  | 'saslOauthbearerExpectedIssuer' | 'saslOauthbearerSubClaimName' | 'saslOauthbearerClockSkewSeconds' | 'saslOauthbearerUnsecuredJwt'
  | 'saslOauthbearerJwksEndpointRefreshMs' | 'saslOauthbearerJwksEndpointRetryBackoffMs' | 'saslOauthbearerJwksEndpointRetryBackoffMaxMs'
  | 'sslTruststoreLocation' | 'sslTruststoreCertificates'>;

/** The OAUTHBEARER settings that name keys, claims to expect or the unsecured mode (refused when the mechanism is not enabled). */
export function oauthSettingsGiven(config: OAuthSettings): string[] {
  const set: string[] = [];
  if (config.saslOauthbearerJwksEndpointUrl !== undefined) set.push('sasl.oauthbearer.jwks.endpoint.url');
  if (config.saslOauthbearerPublicKeyLocation !== undefined) set.push('fjord.sasl.oauthbearer.public.key.location');
  if (config.saslOauthbearerExpectedAudience.length > 0) set.push('sasl.oauthbearer.expected.audience');
  if (config.saslOauthbearerExpectedIssuer !== undefined) set.push('sasl.oauthbearer.expected.issuer');
  if (config.saslOauthbearerUnsecuredJwt) set.push('fjord.sasl.oauthbearer.unsecured.jwt');
  return set;
}

/** The error message RFC 7628 has the server send for a token it refuses. */
export const INVALID_TOKEN_RESPONSE = '{"status":"invalid_token"}';

/** A token that was accepted. */
export interface ValidToken {
  /** The principal claim's value (the principal is User:<name>). */
  readonly name: string;
  /** When the token expires (ms since the epoch). */
  readonly expiresAtMs: number;
}

/** Why a token was refused (logged at INFO; the client only learns "invalid_token"). */
export class TokenInvalid extends Error {}

interface Algorithm {
  readonly keyTypes: readonly string[];
  readonly hash: string | null;
  readonly curve?: string;
  readonly pss?: boolean;
}

const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  RS256: { keyTypes: ['rsa'], hash: 'sha256' },
  RS384: { keyTypes: ['rsa'], hash: 'sha384' },
  RS512: { keyTypes: ['rsa'], hash: 'sha512' },
  PS256: { keyTypes: ['rsa', 'rsa-pss'], hash: 'sha256', pss: true },
  PS384: { keyTypes: ['rsa', 'rsa-pss'], hash: 'sha384', pss: true },
  PS512: { keyTypes: ['rsa', 'rsa-pss'], hash: 'sha512', pss: true },
  ES256: { keyTypes: ['ec'], hash: 'sha256', curve: 'prime256v1' },
  ES384: { keyTypes: ['ec'], hash: 'sha384', curve: 'secp384r1' },
  ES512: { keyTypes: ['ec'], hash: 'sha512', curve: 'secp521r1' },
  EdDSA: { keyTypes: ['ed25519', 'ed448'], hash: null },
};

export interface VerificationKey {
  readonly key: KeyObject;
  readonly kid?: string;
  /** The JWK's alg, when it names one: the key serves only that algorithm. */
  readonly alg?: string;
}

/** A file of keys, re-read when its size or modification time changes. */
class KeyFile {
  keys: VerificationKey[] = [];
  private stamp = '';
  private badStamp = '';

  constructor(readonly path: string, private readonly what: string, private readonly parse: (text: string) => VerificationKey[]) {}

  /** Loads the file at start: throws ConfigError when it does not give a key. */
  load(): void {
    const problem = this.reload();
    if (problem) throw new ConfigError(`${this.what} ${this.path}: ${problem}`);
  }

  /** Re-reads the file if it changed; a file that does not load keeps the old keys (WARN once). */
  refresh(logger: Logger): void {
    const problem = this.reload();
    if (problem && this.badStamp !== this.stamp) {
      this.badStamp = this.stamp;
      logger.warn(`${this.what} ${this.path} could not be loaded (${problem}); the keys loaded before are kept`);
    }
  }

  private reload(): string | null {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch (err) {
      return `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
    if (stamp === this.stamp || stamp === this.badStamp) return null;
    try {
      const keys = this.parse(readFileSync(this.path, 'utf8'));
      if (keys.length === 0) throw new Error('it holds no public key usable for signatures');
      this.keys = keys;
      this.stamp = stamp;
      this.badStamp = '';
      return null;
    } catch (err) {
      this.stamp = stamp;
      return (err as Error).message;
    }
  }
}

/** The keys of a JWKS document ({"keys": [...]}); symmetric keys and keys not for signatures are left out. */
export function parseJwks(text: string): VerificationKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('it is not JSON');
  }
  const list = (doc as { keys?: unknown }).keys;
  if (!Array.isArray(list)) throw new Error('it is not a JWKS (no "keys" array)');
  const keys: VerificationKey[] = [];
  for (const jwk of list as JsonWebKey[]) {
    if (typeof jwk !== 'object' || jwk === null || jwk.kty === 'oct') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    const { d: _private, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: pub, format: 'jwk' });
    } catch (err) {
      throw new Error(`key ${typeof jwk.kid === 'string' ? `"${jwk.kid}"` : keys.length} is not a valid JWK (${(err as Error).message})`);
    }
    keys.push({ key, ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}), ...(typeof jwk.alg === 'string' ? { alg: jwk.alg } : {}) });
  }
  return keys;
}

/** The public keys (or certificates) of a PEM file. */
export function parsePemKeys(text: string): VerificationKey[] {
  const blocks = text.match(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g) ?? [];
  return blocks.map((block) => {
    if (/PRIVATE KEY/.test(block)) throw new Error('it holds a private key: give the public key only');
    try {
      return { key: createPublicKey(block) };
    } catch (err) {
      throw new Error(`a PEM block is not a public key (${(err as Error).message})`);
    }
  });
}

const b64urlJson = (part: string, what: string): Record<string, unknown> => {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new TokenInvalid(`the token's ${what} is not base64url`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new TokenInvalid(`the token's ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenInvalid(`the token's ${what} is not a JSON object`);
  return value as Record<string, unknown>;
};

/** Checks tokens against the configured keys and claims. */
export class OAuthBearerValidator {
  private readonly files: KeyFile[] = [];
  /** The provider's JWKS when the URL is http(s): fetched by start(). */
  private readonly remote: RemoteJwks<VerificationKey> | null = null;
  private lastRefresh = 0;

  /** Fetches a remote JWKS before the broker serves (throws ConfigError when it cannot). */
  async start(): Promise<void> {
    await this.remote?.start();
  }

  stop(): void {
    this.remote?.stop();
  }

  /** Throws ConfigError (one line) when the settings cannot work. */
  constructor(private readonly config: OAuthSettings, private readonly logger: Logger) {
    const url = config.saslOauthbearerJwksEndpointUrl;
    if (url !== undefined) {
      if (/^https?:/i.test(url)) {
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch (err) {
          throw new ConfigError(`sasl.oauthbearer.jwks.endpoint.url is not a valid URL (${(err as Error).message})`);
        }
        this.remote = new RemoteJwks(parsed, {
          refreshMs: config.saslOauthbearerJwksEndpointRefreshMs,
          retryBackoffMs: config.saslOauthbearerJwksEndpointRetryBackoffMs,
          retryBackoffMaxMs: config.saslOauthbearerJwksEndpointRetryBackoffMaxMs,
          extraCa: trustedCa(config),
        }, parseJwks, logger);
      } else if (!/^file:/i.test(url)) {
        throw new ConfigError(`sasl.oauthbearer.jwks.endpoint.url ${url.replace(/^([a-z][a-z0-9+.-]*:).*$/is, '$1...')}: give an https:, http: or file: URL`);
      } else {
        let path: string;
        try {
          path = fileURLToPath(url);
        } catch (err) {
          throw new ConfigError(`sasl.oauthbearer.jwks.endpoint.url ${url} is not a valid file: URL (${(err as Error).message})`);
        }
        this.files.push(new KeyFile(path, 'sasl.oauthbearer.jwks.endpoint.url', parseJwks));
      }
    }
    if (config.saslOauthbearerPublicKeyLocation !== undefined) {
      this.files.push(new KeyFile(config.saslOauthbearerPublicKeyLocation, 'fjord.sasl.oauthbearer.public.key.location', parsePemKeys));
    }
    for (const f of this.files) f.load();
    if (this.files.length === 0 && !this.remote && !config.saslOauthbearerUnsecuredJwt) {
      throw new ConfigError('OAUTHBEARER is enabled without keys to check tokens: set sasl.oauthbearer.jwks.endpoint.url (https://... or file:///...jwks.json) or --sasl-oauthbearer-public-key-location, or for development only --sasl-oauthbearer-unsecured-jwt on');
    }
    if (config.saslOauthbearerUnsecuredJwt) {
      logger.warn('OAUTHBEARER takes unsecured JWTs (alg "none", --sasl-oauthbearer-unsecured-jwt): any client can log in as anyone; use it for development only');
    }
  }

  /** The token's principal and expiry, or TokenInvalid saying why not. */
  validate(token: string, nowMs = Date.now()): ValidToken {
    const parts = token.split('.');
    if (parts.length !== 3) throw new TokenInvalid('the token is not a JWT in compact form (three dot-separated parts)');
    const header = b64urlJson(parts[0], 'header');
    const claims = b64urlJson(parts[1], 'payload');
    const alg = header.alg;
    if (typeof alg !== 'string') throw new TokenInvalid('the token\'s header has no alg');
    const unsecured = alg === 'none';
    if (unsecured) {
      if (!this.config.saslOauthbearerUnsecuredJwt) throw new TokenInvalid('the token is unsecured (alg "none") and unsecured tokens are not accepted');
      if (parts[2] !== '') throw new TokenInvalid('an unsecured token (alg "none") must have an empty signature');
    } else {
      this.verifySignature(alg, header, parts);
    }
    return this.checkClaims(claims, nowMs, !unsecured);
  }

  private verifySignature(alg: string, header: Record<string, unknown>, parts: string[]): void {
    const spec = Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
    if (!spec) throw new TokenInvalid(`the token's algorithm ${alg} is not accepted (${Object.keys(ALGORITHMS).join(', ')})`);
    if (this.files.length === 0 && !this.remote) throw new TokenInvalid('the token is signed and no keys are configured (only unsecured tokens are accepted)');
    this.refreshKeys();
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    const all = [...this.files.flatMap((f) => f.keys), ...(this.remote?.keys ?? [])];
    if (kid !== undefined && this.remote && !all.some((k) => k.kid === kid)) this.remote.missingKid(kid);
    const candidates = all.filter((k) => (kid === undefined || k.kid === undefined || k.kid === kid) && (k.alg === undefined || k.alg === alg) && fits(k.key, spec));
    if (candidates.length === 0) throw new TokenInvalid(`no configured key fits the token (alg ${alg}${kid !== undefined ? `, kid "${kid}"` : ''})`);
    if (!/^[A-Za-z0-9_-]+$/.test(parts[2])) throw new TokenInvalid('the token\'s signature is not base64url');
    const data = Buffer.from(`${parts[0]}.${parts[1]}`);
    const signature = Buffer.from(parts[2], 'base64url');
    for (const { key } of candidates) {
      const options = spec.pss
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
        : spec.curve ? { key, dsaEncoding: 'ieee-p1363' as const } : { key };
      try {
        if (verify(spec.hash, data, options, signature)) return;
      } catch {
        // a signature of the wrong length for this key: try the next one
      }
    }
    throw new TokenInvalid('the token\'s signature does not verify with the configured keys');
  }

  private refreshKeys(): void {
    const now = Date.now();
    if (now - this.lastRefresh < 1000) return;
    this.lastRefresh = now;
    for (const f of this.files) f.refresh(this.logger);
  }

  private checkClaims(claims: Record<string, unknown>, nowMs: number, requireIat: boolean): ValidToken {
    const skew = this.config.saslOauthbearerClockSkewSeconds;
    const now = nowMs / 1000;
    const numeric = (name: string): number | undefined => {
      const v = claims[name];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TokenInvalid(`the token's ${name} claim is not a number`);
      return v;
    };
    const exp = numeric('exp');
    if (exp === undefined) throw new TokenInvalid('the token has no exp claim');
    if (now - skew >= exp) throw new TokenInvalid(`the token expired at ${new Date(exp * 1000).toISOString()}`);
    const iat = numeric('iat');
    if (iat === undefined && requireIat) throw new TokenInvalid('the token has no iat claim');
    if (iat !== undefined && iat > now + skew) throw new TokenInvalid(`the token is issued in the future (${new Date(iat * 1000).toISOString()})`);
    if (iat !== undefined && iat > exp) throw new TokenInvalid('the token expires before it was issued');
    const nbf = numeric('nbf');
    if (nbf !== undefined && nbf > now + skew) throw new TokenInvalid(`the token is not valid before ${new Date(nbf * 1000).toISOString()}`);
    const issuer = this.config.saslOauthbearerExpectedIssuer;
    if (issuer !== undefined && claims.iss !== issuer) throw new TokenInvalid(`the token's issuer ${JSON.stringify(claims.iss ?? null)} is not the expected ${JSON.stringify(issuer)}`);
    const audiences = this.config.saslOauthbearerExpectedAudience;
    if (audiences.length > 0) {
      const aud = claims.aud;
      const tokenAud = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
      if (!tokenAud.some((a) => audiences.includes(a))) throw new TokenInvalid(`the token's audience ${JSON.stringify(aud ?? null)} holds none of the expected ${audiences.join(', ')}`);
    }
    const claimName = this.config.saslOauthbearerSubClaimName;
    const name = claims[claimName];
    if (typeof name !== 'string' || name.trim() === '') throw new TokenInvalid(`the token's principal claim ${claimName} is missing or not a non-empty string`);
    return { name, expiresAtMs: exp * 1000 };
  }
}

/** CA certificates of the broker's truststore, also trusted for an https JWKS URL (besides the system's). */
function trustedCa(config: OAuthSettings): string | undefined {
  if (config.sslTruststoreCertificates !== undefined) return config.sslTruststoreCertificates;
  if (config.sslTruststoreLocation === undefined) return undefined;
  try {
    return readFileSync(config.sslTruststoreLocation, 'utf8');
  } catch {
    return undefined; // the TLS setup reports an unreadable truststore itself
  }
}

function fits(key: KeyObject, spec: Algorithm): boolean {
  if (key.type !== 'public' || !spec.keyTypes.includes(key.asymmetricKeyType ?? '')) return false;
  return spec.curve === undefined || key.asymmetricKeyDetails?.namedCurve === spec.curve;
}

const KEY = /^[A-Za-z]+$/;
const VALUE = /^[\x21-\x7E \t\r\n]+$/;

/** The parts of the client's message (Kafka's OAuthBearerClientInitialResponse); AuthenticationFailure when malformed. */
export function parseClientMessage(message: Buffer): { authzid: string; token: string; extensions: Map<string, string> } {
  const text = message.toString('utf8');
  const m = /^n,(?:a=([^,]*))?,\x01(.*)\x01$/s.exec(text);
  if (!m) throw new AuthenticationFailure('Invalid OAUTHBEARER client first message: not n,[a=authzid],^Akey=value^A...^A^A');
  const authzid = m[1] ?? '';
  const pairs = m[2].split('\x01');
  if (pairs.pop() !== '') throw new AuthenticationFailure('Invalid OAUTHBEARER client first message: the key/value pairs do not end with ^A');
  const extensions = new Map<string, string>();
  let auth: string | undefined;
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (eq < 0 || !KEY.test(key) || !VALUE.test(value)) throw new AuthenticationFailure('Invalid OAUTHBEARER client first message: a key/value pair is malformed');
    if (key === 'auth') {
      if (auth !== undefined) throw new AuthenticationFailure('Invalid OAUTHBEARER client first message: auth is given twice');
      auth = value;
    } else if (extensions.has(key)) throw new AuthenticationFailure(`Invalid OAUTHBEARER client first message: extension ${key} is given twice`);
    else extensions.set(key, value);
  }
  const bearer = auth === undefined ? null : /^Bearer +([-_.A-Za-z0-9]+) *$/i.exec(auth);
  if (!bearer) throw new AuthenticationFailure('Invalid OAUTHBEARER client first message: no auth=Bearer <token>');
  return { authzid, token: bearer[1], extensions };
}

/** The server side of one OAUTHBEARER exchange (what SaslAuthenticator.exchange returns). */
export function oauthBearerExchange(validator: OAuthBearerValidator) {
  let complete = false;
  let username = '';
  let expiresAtMs: number | undefined;
  /** Why the token was refused: the client was sent the error JSON and must answer ^A. */
  let refused: string | null = null;
  let steps = 0;
  return {
    get complete() { return complete; },
    get username() { return username; },
    get expiresAtMs() { return expiresAtMs; },
    get refused() { return refused !== null; },
    step: async (message: Buffer): Promise<Buffer> => {
      steps++;
      if (refused !== null) {
        // RFC 7628 3.2.2: the client acknowledges the error with a single ^A; then the exchange fails.
        const acked = message.length === 1 && message[0] === 1;
        throw new AuthenticationFailure(acked ? refused : `${refused} (and the client did not answer the error with ^A)`);
      }
      if (steps > 1 || complete) throw new AuthenticationFailure('OAUTHBEARER exchange already complete');
      const { authzid, token } = parseClientMessage(message);
      let valid: ValidToken;
      try {
        valid = validator.validate(token);
      } catch (err) {
        if (!(err instanceof TokenInvalid)) throw err;
        refused = `invalid token: ${err.message}`;
        return Buffer.from(INVALID_TOKEN_RESPONSE);
      }
      if (authzid !== '' && authzid !== valid.name) {
        throw new AuthenticationFailure('Authentication failed: Client requested an authorization id that is different from the token\'s principal name');
      }
      username = valid.name;
      expiresAtMs = valid.expiresAtMs;
      complete = true;
      return Buffer.alloc(0);
    },
  };
}
