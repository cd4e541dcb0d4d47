// SASL authentication of connections: which connections must authenticate (requiresSasl, the one
// place that decides), each connection's state (SaslSession), and the broker-wide part
// (SaslAuthenticator: enabled mechanisms, the credential store, the failure rate limit).
//
// A connection that requires SASL goes: ApiVersions (any number) → SaslHandshake → either
// SaslAuthenticate requests carrying the mechanism's messages (handshake v1, what current clients
// use) or, after a v0 handshake, the mechanism's messages as bare size-prefixed frames with no
// Kafka header (the pre-KIP-152 form; dispatch.ts passes such frames to rawToken()). Any other
// request before authentication, a second handshake, or a request while a step is still being
// checked closes the connection, as Kafka does. Once authenticated, conn.principal is
// "User:<name>".
//
// Re-authentication (KIP-368): with connections.max.reauth.ms > 0, or a credential that expires
// (an OAUTHBEARER token's exp: the session ends at the earlier of the two), SaslAuthenticate v1+
// answers sessionLifetimeMs; once the session is past it, the next request other than a SaslHandshake
// (which starts a re-authentication) closes the connection. A re-authentication must use the same
// mechanism and end with the same principal; otherwise it fails and the connection is closed.
//
// A failed authentication is answered with SASL_AUTHENTICATION_FAILED (a message that does not
// say whether the user exists) after connection.failed.authentication.delay.ms, and the
// connection is closed once that answer is written. Per client address, past
// sasl.failed.authentication.limit failures in the last minute every SaslAuthenticate from that
// address is answered only after sasl.failed.authentication.penalty.ms more.
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { SaslAuthenticateResponse, SaslHandshakeResponse } from '../../protocol/generated/types.js';
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { CredentialStore } from './credentials.js';
import { ConfigError, saslMechanismsFor } from '../listeners.js';
import { OAuthBearerValidator, oauthBearerExchange, oauthSettingsGiven, type OAuthSettings } from './oauth.js';
import {
  AuthenticationFailure, DEFAULT_ITERATIONS, ScramServerExchange, credentialFromPassword, isScramMechanism, passwordMatches,
  type ScramCredential,
} from './scram.js';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
export const ANONYMOUS = 'User:ANONYMOUS';

/** What SASL needs of a connection (server.ts' ConnectionInfo has it). */
export interface SaslConnection {
  readonly id: number;
  /** The listener the connection came in through (server.ts ListenerInfo). */
  readonly listener: { readonly securityProtocol: string; readonly name: string };
  readonly clientHost: string;
  principal: string;
  /** Writes the responses already taken, then closes; reads nothing more. */
  closeAfterResponses(reason: string): void;
}

type SaslSettings = OAuthSettings & Pick<BrokerConfig,
  'saslEnabledMechanisms' | 'listenerSsl' | 'connectionsMaxReauthMs' | 'connectionFailedAuthenticationDelayMs' | 'saslFailedAuthenticationLimit' | 'saslFailedAuthenticationPenaltyMs'>;

/**
 * Whether a connection must authenticate with SASL before anything but ApiVersions: THE one
 * place this is decided. It must when its listener's security protocol is SASL_PLAINTEXT or
 * SASL_SSL (the broker refuses to start such a listener without sasl.enabled.mechanisms).
 */
export function requiresSasl(conn: SaslConnection): boolean {
  return conn.listener.securityProtocol === 'SASL_PLAINTEXT' || conn.listener.securityProtocol === 'SASL_SSL';
}

/** Kafka's API keys this file refers to. */
const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;
/** The window failed authentications are counted in, per client address. */
export const FAILURE_WINDOW_MS = 60_000;
/** Client addresses whose failures are remembered at once (the oldest is forgotten past it). */
export const MAX_TRACKED_ADDRESSES = 10_000;

/** One mechanism's exchange: each client message in, the answer out (async: PLAIN hashes). */
interface Exchange {
  step(message: Buffer): Promise<Buffer>;
  readonly complete: boolean;
  readonly username: string;
  /** When the credential expires (OAUTHBEARER: the token's exp, ms since the epoch); bounds the session. */
  readonly expiresAtMs?: number;
  /** The credential was refused and the client is told so before the exchange fails (OAUTHBEARER's error answer): counted as a failure then. */
  readonly refused?: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export class SaslAuthenticator {
  private readonly sessions = new WeakMap<SaslConnection, SaslSession>();
  private readonly failures = new Map<string, number[]>();
  /** Salts made-up credentials of unknown users (SCRAM) so their answers look like a real user's. */
  private readonly secret = randomBytes(32);
  /** What PLAIN checks an unknown user's password against, so it costs the same time. */
  private decoy: Promise<ScramCredential> | null = null;

  /** OAUTHBEARER's token checker, when the mechanism is enabled (its settings are checked at construction). */
  private readonly oauth: OAuthBearerValidator | null;

  /** Throws ConfigError when OAUTHBEARER's settings cannot work. */
  constructor(readonly config: SaslSettings, readonly credentials: CredentialStore, readonly logger: Logger) {
    const everyList = [config.saslEnabledMechanisms, ...Object.values(config.listenerSsl ?? {}).map((o) => o.saslEnabledMechanisms ?? [])];
    this.oauth = everyList.some((l) => l.includes('OAUTHBEARER')) ? new OAuthBearerValidator(config, logger) : null;
    if (!this.oauth) {
      const set = oauthSettingsGiven(config);
      if (set.length > 0) throw new ConfigError(`${set.join(', ')} set, but OAUTHBEARER is not in sasl.enabled.mechanisms (of the broker or of any listener)`);
    }
  }

  /** Fetches what mechanisms need from the network before the broker serves (an OAUTHBEARER JWKS over https). */
  async start(): Promise<void> {
    await this.oauth?.start();
  }

  stop(): void {
    this.oauth?.stop();
  }

  session(conn: SaslConnection): SaslSession {
    let s = this.sessions.get(conn);
    if (!s) this.sessions.set(conn, (s = new SaslSession(this, conn, requiresSasl(conn))));
    return s;
  }

  /** The mechanisms clients of `listener` may use (its listener.name.<name>.sasl.enabled.mechanisms, else the broker's). */
  mechanismsFor(listener: string): readonly string[] {
    return saslMechanismsFor(this.config, listener);
  }

  /** Recent failures from a client address (pruned to the window). */
  private recentFailures(host: string, now: number): number[] {
    const list = (this.failures.get(host) ?? []).filter((t) => now - t < FAILURE_WINDOW_MS);
    if (list.length === 0) this.failures.delete(host);
    else this.failures.set(host, list);
    return list;
  }

  /** The extra wait before answering a SaslAuthenticate from `host` (0 unless it failed too often). */
  penaltyFor(host: string): number {
    const limit = this.config.saslFailedAuthenticationLimit;
    return limit > 0 && this.recentFailures(host, Date.now()).length >= limit ? this.config.saslFailedAuthenticationPenaltyMs : 0;
  }

  recordFailure(host: string): void {
    const now = Date.now();
    const list = this.recentFailures(host, now);
    list.push(now);
    const limit = Math.max(this.config.saslFailedAuthenticationLimit, 1);
    if (list.length > limit) list.splice(0, list.length - limit);
    this.failures.delete(host); // re-inserted last: the map's order is least recently failed first
    this.failures.set(host, list);
    while (this.failures.size > MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }

  /** The exchange of a mechanism for one authentication. */
  exchange(mechanism: SaslMechanism): Exchange {
    if (mechanism === 'OAUTHBEARER') return oauthBearerExchange(this.oauth!);
    if (isScramMechanism(mechanism)) {
      const scram = new ScramServerExchange(mechanism, (user, mech) => this.credentials.get(user, mech), this.secret);
      return { step: async (m) => scram.step(m), get complete() { return scram.complete; }, get username() { return scram.username; } };
    }
    return this.plain();
  }

  /** PLAIN (RFC 4616): "[authzid] NUL authcid NUL passwd", checked against the SCRAM credentials. */
  private plain(): Exchange {
    let user = '';
    let complete = false;
    return {
      get complete() { return complete; },
      get username() { return user; },
      step: async (message) => {
        if (complete) throw new AuthenticationFailure('PLAIN exchange already complete');
        complete = true;
        const parts = message.toString('utf8').split('\u0000');
        if (parts.length !== 3 || parts[1] === '' || parts[2] === '') throw new AuthenticationFailure('Invalid SASL/PLAIN response: expected 3 tokens (authzid, username, password)');
        const [authzid, authcid, password] = parts;
        if (authzid !== '' && authzid !== authcid) throw new AuthenticationFailure('Authentication failed: Client requested an authorization id that is different from username');
        user = authcid;
        let ok = false;
        const found = (['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).find((m) => this.credentials.get(authcid, m));
        if (found) ok = await passwordMatches(found, this.credentials.get(authcid, found)!, password);
        else {
          this.decoy ??= credentialFromPassword('SCRAM-SHA-256', randomBytes(16).toString('hex'), DEFAULT_ITERATIONS);
          await passwordMatches('SCRAM-SHA-256', await this.decoy, password);
        }
        if (!ok) throw new AuthenticationFailure('Authentication failed: Invalid username or password');
        return Buffer.alloc(0);
      },
    };
  }
}

type Phase = 'handshake' | 'authenticate' | 'raw' | 'authenticated';

/** One connection's SASL state. */
export class SaslSession {
  private phase: Phase = 'handshake';
  private mechanism: SaslMechanism | null = null;
  private current: Exchange | null = null;
  /** A step is being checked (async): any request meanwhile closes the connection. */
  private busy = false;
  /** When the session must be renewed (ms since the epoch); null: never. */
  private expiresAt: number | null = null;
  /** The principal of the first authentication: a re-authentication must keep it. */
  private authenticatedAs: string | null = null;

  constructor(private readonly auth: SaslAuthenticator, private readonly conn: SaslConnection, readonly required: boolean) {}

  /** True while the connection sends bare SASL tokens (after a v0 handshake). */
  get rawTokens(): boolean {
    return this.phase === 'raw';
  }

  /** Why a request of this API may not be taken now (the connection is then closed), or null. */
  admit(apiKey: number): string | null {
    if (!this.required) return null;
    const name = apiKey === SASL_HANDSHAKE ? 'SaslHandshake' : apiKey === SASL_AUTHENTICATE ? 'SaslAuthenticate' : apiKey === API_VERSIONS ? 'ApiVersions' : `API key ${apiKey}`;
    if (this.busy) return `${name} while a SASL step is being checked`;
    switch (this.phase) {
      case 'handshake':
        return apiKey === API_VERSIONS || apiKey === SASL_HANDSHAKE ? null : `${name} before SASL authentication`;
      case 'authenticate':
        return apiKey === SASL_AUTHENTICATE || apiKey === API_VERSIONS ? null : `${name} during SASL authentication (after SaslHandshake only SaslAuthenticate is expected)`;
      case 'raw':
        return 'a Kafka request where a SASL token was expected (SaslHandshake v0)';
      case 'authenticated':
        if (apiKey === SASL_HANDSHAKE) return null; // starts a re-authentication
        if (this.expiresAt !== null && Date.now() > this.expiresAt) return `${name} after the SASL session expired (connections.max.reauth.ms) without re-authentication`;
        return null;
    }
  }

  handshake(mechanism: string, version: number): SaslHandshakeResponse {
    const enabled = [...this.auth.mechanismsFor(this.conn.listener.name)];
    if (!this.required) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
    const reauth = this.phase === 'authenticated';
    if (reauth && version === 0) {
      this.conn.closeAfterResponses('re-authentication needs SaslHandshake v1');
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled };
    }
    const chosen = SASL_MECHANISMS.find((m) => m === mechanism && enabled.includes(m));
    if (!chosen || (reauth && chosen !== this.mechanism)) {
      this.conn.closeAfterResponses(reauth ? `re-authentication with mechanism ${mechanism} instead of ${this.mechanism}` : `SASL mechanism ${mechanism} is not enabled (${enabled.join(', ')})`);
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: reauth ? [this.mechanism!] : enabled };
    }
    this.mechanism = chosen;
    this.current = this.auth.exchange(chosen);
    this.phase = version === 0 ? 'raw' : 'authenticate';
    return { errorCode: ErrorCode.NONE, mechanisms: enabled };
  }

  async authenticate(authBytes: Buffer, version: number): Promise<SaslAuthenticateResponse> {
    const failed = (message: string): SaslAuthenticateResponse => ({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: message, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 });
    if (!this.required) return failed('SASL authentication is not enabled on this listener');
    if (this.phase !== 'authenticate' || !this.current) return failed('SaslAuthenticate without SaslHandshake');
    const result = await this.step(authBytes);
    if (typeof result === 'string') {
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: result, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
    }
    const lifetime = this.sessionLifetimeMs();
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: result, sessionLifetimeMs: version >= 1 ? lifetime : 0 };
  }

  /** What is left of an authenticated session, for SaslAuthenticate v1+ (0: no expiry, or not authenticated yet). */
  private sessionLifetimeMs(): number {
    return this.phase === 'authenticated' && this.expiresAt !== null ? Math.max(this.expiresAt - Date.now(), 1) : 0;
  }

  /** A bare token after a v0 handshake: the answer's bytes, or null when it failed (the connection closes). */
  async rawToken(token: Buffer): Promise<Buffer | null> {
    const result = await this.step(token);
    return typeof result === 'string' ? null : result;
  }

  /** One message of the exchange: the answer, or the failure message (the connection is then closing). */
  private async step(message: Buffer): Promise<Buffer | string> {
    const exchange = this.current!;
    const host = this.conn.clientHost;
    this.busy = true;
    try {
      const penalty = this.auth.penaltyFor(host);
      if (penalty > 0) await sleep(penalty);
      let answer: Buffer;
      try {
        const refusedBefore = exchange.refused === true;
        answer = await exchange.step(message);
        // Counted at the error answer: a client that never sends the closing message still counts.
        if (!refusedBefore && exchange.refused) this.auth.recordFailure(host);
        if (exchange.complete) {
          const principal = `User:${exchange.username}`;
          if (this.authenticatedAs !== null && principal !== this.authenticatedAs) {
            throw new AuthenticationFailure(`Cannot change principals during re-authentication from ${this.authenticatedAs} to ${principal}`);
          }
          const reauthenticated = this.authenticatedAs !== null;
          this.authenticatedAs = principal;
          this.conn.principal = principal;
          this.auth.logger.debug(`${reauthenticated ? 're-authenticated' : 'authenticated'} ${principal} with SASL ${this.mechanism} from ${host} on connection ${this.conn.id}`);
          this.phase = 'authenticated';
          this.current = null;
          const reauthMs = this.auth.config.connectionsMaxReauthMs;
          const reauthAt = reauthMs > 0 ? Date.now() + reauthMs : null;
          // KIP-368: a credential that expires (an OAUTHBEARER token) ends the session at its expiry.
          const credentialAt = exchange.expiresAtMs ?? null;
          this.expiresAt = reauthAt === null ? credentialAt : credentialAt === null ? reauthAt : Math.min(reauthAt, credentialAt);
        }
        return answer;
      } catch (err) {
        if (!(err instanceof AuthenticationFailure)) throw err;
        if (!exchange.refused) this.auth.recordFailure(host);
        this.current = null;
        this.phase = 'handshake';
        this.auth.logger.info(`failed SASL ${this.mechanism} authentication from ${host} on connection ${this.conn.id}: ${err.message}`);
        this.conn.closeAfterResponses('');
        const delay = this.auth.config.connectionFailedAuthenticationDelayMs;
        if (delay > 0) await sleep(delay);
        // SCRAM's own messages say which check failed; the client is told no more than PLAIN's answer.
        return `Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`;
      }
    } finally {
      this.busy = false;
    }
  }
}
