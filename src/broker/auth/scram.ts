// SCRAM (RFC 5802, with SHA-256 / SHA-512 as RFC 7677 and Kafka use them), written on node:crypto:
// the stored form of a credential (salt, iterations, StoredKey, ServerKey — never the password),
// how one is made from a password or from a client's salted password (AlterUserScramCredentials),
// and the server side of one exchange (client-first → server-first → client-final → server-final).
//
// What the exchange checks: the gs2 header is "n,," or "y,," (no channel binding: 'p=' is refused),
// an authzid ("a=") must name the user itself (as Kafka requires), the username's "=2C"/"=3D"
// escapes, a client nonce of printable characters without ',', the reserved "m=" attribute
// refused, Kafka's "tokenauth" extension (delegation tokens) refused, the channel binding echo
// c= equal to the gs2 header, the combined nonce echoed (at the end, as Kafka checks: librdkafka repeats its own nonce before it), and the proof (constant time).
// An unknown user gets a server-first message like a known one (salt derived from the name and a
// per-broker secret, the default iteration count) and fails at the proof, so the answers do not
// tell whether the user exists.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** Kafka's ScramMechanism numbers (DescribeUserScramCredentials / AlterUserScramCredentials). */
export const SCRAM_MECHANISM_TYPE: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };

export function scramMechanismOfType(type: number): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((m) => SCRAM_MECHANISM_TYPE[m] === type);
}

export function isScramMechanism(name: string): name is ScramMechanism {
  return (SCRAM_MECHANISMS as readonly string[]).includes(name);
}

/** Kafka's bounds on a SCRAM credential's iteration count (AlterUserScramCredentials). */
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 16384;
export const DEFAULT_ITERATIONS = 4096;

interface Digest {
  readonly hash: 'sha256' | 'sha512';
  readonly length: number;
}

export function digestOf(mechanism: ScramMechanism): Digest {
  return mechanism === 'SCRAM-SHA-256' ? { hash: 'sha256', length: 32 } : { hash: 'sha512', length: 64 };
}

/** A SCRAM credential as stored. */
export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

const hmac = (d: Digest, key: Buffer, text: string | Buffer) => createHmac(d.hash, key).update(text).digest();
const hash = (d: Digest, data: Buffer) => createHash(d.hash).update(data).digest();

/** The stored keys of a salted password (Hi(password, salt, i), computed by the client or by us). */
export function credentialFromSaltedPassword(mechanism: ScramMechanism, salt: Buffer, iterations: number, saltedPassword: Buffer): ScramCredential {
  const d = digestOf(mechanism);
  return {
    salt: Buffer.from(salt),
    iterations,
    storedKey: hash(d, hmac(d, saltedPassword, 'Client Key')),
    serverKey: hmac(d, saltedPassword, 'Server Key'),
  };
}

/** Hi(password, salt, iterations): PBKDF2 with HMAC of the mechanism's hash, off the event loop. */
export function saltPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const d = digestOf(mechanism);
  return new Promise((resolve, reject) => pbkdf2(Buffer.from(password.normalize('NFKC'), 'utf8'), salt, iterations, d.length, d.hash, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function credentialFromPassword(mechanism: ScramMechanism, password: string, iterations = DEFAULT_ITERATIONS, salt: Buffer = randomBytes(32)): Promise<ScramCredential> {
  return credentialFromSaltedPassword(mechanism, salt, iterations, await saltPassword(mechanism, password, salt, iterations));
}

/** Whether `password` is the one behind `credential` (PLAIN checks against the SCRAM store). */
export async function passwordMatches(mechanism: ScramMechanism, credential: ScramCredential, password: string): Promise<boolean> {
  const again = credentialFromSaltedPassword(mechanism, credential.salt, credential.iterations, await saltPassword(mechanism, password, credential.salt, credential.iterations));
  return timingSafeEqual(again.storedKey, credential.storedKey);
}

/** A failed authentication; the message goes to the client, so it never says whether the user exists. */
export class AuthenticationFailure extends Error {
  override name = 'AuthenticationFailure';
}

/** Reads "k=v,k=v" SCRAM attributes, in order. */
function attributes(text: string): [string, string][] {
  return text.split(',').map((part) => {
    if (part.length < 2 || part[1] !== '=' || !/^[A-Za-z]$/.test(part[0])) throw new AuthenticationFailure('malformed SCRAM message');
    return [part[0], part.slice(2)];
  });
}

/** saslname → name: "=2C" is ',', "=3D" is '='; any other '=' is malformed (RFC 5802 §5.1). */
function decodeSaslName(s: string): string {
  if (/=(?!2C|3D)/.test(s) || s.length === 0) throw new AuthenticationFailure('malformed SCRAM username');
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** How the exchange looks up a user's credential. */
export type CredentialLookup = (user: string, mechanism: ScramMechanism) => ScramCredential | undefined;

/** The server side of one SCRAM exchange. */
export class ScramServerExchange {
  private state: 'first' | 'final' | 'done' = 'first';
  private user = '';
  private credential: ScramCredential | undefined;
  private fake: ScramCredential | undefined;
  private gs2Header = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: CredentialLookup,
    /** Per-broker secret that salts the made-up credential of unknown users. */
    private readonly secret: Buffer,
  ) {}

  /** The authenticated user once the exchange is complete. */
  get username(): string {
    return this.user;
  }

  get complete(): boolean {
    return this.state === 'done';
  }

  /** Takes the client's next message; returns the server's answer, or throws AuthenticationFailure. */
  step(message: Buffer): Buffer {
    if (this.state === 'first') return this.first(message.toString('utf8'));
    if (this.state === 'final') return this.final(message.toString('utf8'));
    throw new AuthenticationFailure('SCRAM exchange already complete');
  }

  private first(text: string): Buffer {
    // gs2-header = gs2-cbind-flag "," [authzid] ","
    const m = /^([ny]|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!m) throw new AuthenticationFailure('malformed SCRAM client-first message');
    if (m[1].startsWith('p=')) throw new AuthenticationFailure('SCRAM channel binding is not supported');
    this.gs2Header = `${m[1]},${m[2] ?? ''},`;
    this.clientFirstBare = m[3];
    const attrs = attributes(this.clientFirstBare);
    if (attrs.length < 2 || attrs[0][0] !== 'n' || attrs[1][0] !== 'r') throw new AuthenticationFailure('malformed SCRAM client-first message');
    if (attrs[0][1].length === 0) throw new AuthenticationFailure('malformed SCRAM username');
    this.user = decodeSaslName(attrs[0][1]);
    const clientNonce = attrs[1][1];
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) throw new AuthenticationFailure('malformed SCRAM nonce');
    if (attrs.slice(2).some(([k]) => k === 'm')) throw new AuthenticationFailure('SCRAM mandatory extensions are not supported');
    // Kafka's extensions look like "tokenauth=true" (a multi-letter key): attributes() refuses those,
    // so a delegation-token login (not supported) fails as a malformed message.
    if (m[2] !== undefined && decodeSaslName(m[2].slice(2)) !== this.user) throw new AuthenticationFailure('SCRAM authorization id must be the username');
    this.credential = this.lookup(this.user, this.mechanism);
    const shown = this.credential ?? this.madeUp();
    this.nonce = clientNonce + randomBytes(24).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${shown.salt.toString('base64')},i=${shown.iterations}`;
    this.state = 'final';
    return Buffer.from(this.serverFirst, 'utf8');
  }

  /** What an unknown user is shown: stable per name, so two attempts look like a real user's. */
  private madeUp(): ScramCredential {
    const d = digestOf(this.mechanism);
    const salt = hmac(d, this.secret, `salt:${this.user}`).subarray(0, 32);
    const junk = hmac(d, this.secret, `key:${this.user}`);
    this.fake = { salt, iterations: DEFAULT_ITERATIONS, storedKey: junk, serverKey: junk };
    return this.fake;
  }

  private final(text: string): Buffer {
    const attrs = attributes(text);
    const proofAt = attrs.length - 1;
    if (attrs.length < 3 || attrs[0][0] !== 'c' || attrs[1][0] !== 'r' || attrs[proofAt][0] !== 'p') throw new AuthenticationFailure('malformed SCRAM client-final message');
    if (attrs[0][1] !== Buffer.from(this.gs2Header, 'utf8').toString('base64')) throw new AuthenticationFailure('SCRAM channel binding does not match');
    // Kafka checks that the echoed nonce *ends with* the combined one, and librdkafka relies on it:
    // it sends its own nonce followed by the whole combined nonce. Freshness holds either way (our
    // random part is at the end); the proof covers the message exactly as sent.
    if (!attrs[1][1].endsWith(this.nonce)) throw new AuthenticationFailure('SCRAM nonce does not match');
    const withoutProof = text.slice(0, text.lastIndexOf(',p='));
    const proof = Buffer.from(attrs[proofAt][1], 'base64');
    const d = digestOf(this.mechanism);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const cred = this.credential ?? this.fake!;
    const signature = hmac(d, cred.storedKey, authMessage);
    // A proof of the wrong length is compared against something of the right length all the same.
    const clientKey = Buffer.alloc(d.length);
    for (let i = 0; i < d.length; i++) clientKey[i] = (proof[i] ?? 0) ^ signature[i];
    const ok = timingSafeEqual(hash(d, clientKey), cred.storedKey) && proof.length === d.length && this.credential !== undefined;
    this.state = 'done';
    if (!ok) throw new AuthenticationFailure(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`);
    return Buffer.from(`v=${hmac(d, cred.serverKey, authMessage).toString('base64')}`, 'utf8');
  }
}
