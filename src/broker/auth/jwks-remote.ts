// The keys of a JWKS an identity provider serves over http(s) (sasl.oauthbearer.jwks.endpoint.url),
// kept the way Kafka's broker keeps them: fetched once before the broker serves (retried with a
// doubling backoff from sasl.oauthbearer.jwks.endpoint.retry.backoff.ms up to .retry.backoff.max.ms;
// a broker that cannot get them does not start), fetched again every .refresh.ms, and early when a
// token names a key id the set does not hold (a provider rotating its keys), at most once per
// MISSING_KID_REFETCH_MS. A fetch that fails or gives no usable key keeps the keys held before,
// with a WARN. The document is bounded in size and time, so a provider cannot hold the broker.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../listeners.js';
import type { Logger } from '../logger.js';

/** A JWKS larger than this is refused (real ones are a few KiB). */
const MAX_JWKS_BYTES = 1024 * 1024;
/** One fetch may take this long. */
const FETCH_TIMEOUT_MS = 10_000;
/** Tokens naming an unknown kid refetch the set no more often than this. */
const MISSING_KID_REFETCH_MS = 10_000;

export interface RemoteJwksOptions {
  refreshMs: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  /** Extra CA certificates (PEM) trusted for an https URL, besides the system's. */
  extraCa?: string;
}

/** `Key` is whatever the parser makes of one JWK (oauth.ts's VerificationKey). */
export class RemoteJwks<Key> {
  keys: Key[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private lastMissingKidFetch = 0;
  private stopped = false;

  constructor(
    private readonly url: URL,
    private readonly options: RemoteJwksOptions,
    private readonly parse: (text: string) => Key[],
    private readonly logger: Logger,
  ) {}

  /** Fetches the keys, retrying with backoff; throws ConfigError when none came within the retry budget. */
  async start(): Promise<void> {
    const { retryBackoffMs, retryBackoffMaxMs } = this.options;
    const deadline = Date.now() + retryBackoffMaxMs;
    let delay = Math.max(1, retryBackoffMs);
    for (let attempt = 1; ; attempt++) {
      try {
        this.keys = await this.fetchKeys();
        break;
      } catch (err) {
        if (this.stopped) return;
        if (Date.now() + delay > deadline) {
          throw new ConfigError(`sasl.oauthbearer.jwks.endpoint.url ${this.shown()}: no keys after ${attempt} attempt(s) (${(err as Error).message})`);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, retryBackoffMaxMs);
      }
    }
    this.logger.info(`OAUTHBEARER: ${this.keys.length} key(s) from ${this.shown()}; refreshed every ${this.options.refreshMs} ms`);
    this.timer = setInterval(() => void this.refetch('scheduled'), this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A token named a kid no key has: fetch the set again in the background (rate-limited). */
  missingKid(kid: string): void {
    const now = Date.now();
    if (this.inFlight || now - this.lastMissingKidFetch < MISSING_KID_REFETCH_MS) return;
    this.lastMissingKidFetch = now;
    void this.refetch(`a token names key id "${kid}"`);
  }

  /** Settles when the fetch in progress (if any) is done; for tests and shutdown. */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  private refetch(why: string): Promise<void> {
    if (this.inFlight || this.stopped) return this.inFlight ?? Promise.resolve();
    this.inFlight = this.fetchKeys()
      .then((keys) => {
        this.keys = keys;
      })
      .catch((err: Error) => {
        this.logger.warn(`OAUTHBEARER: fetching ${this.shown()} (${why}) failed: ${err.message}; the ${this.keys.length} key(s) held before are kept`);
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  private async fetchKeys(): Promise<Key[]> {
    const keys = this.parse(await this.fetchText());
    if (keys.length === 0) throw new Error('it holds no public key usable for signatures');
    return keys;
  }

  /** The URL without credentials or query (a provider URL may carry a secret). */
  private shown(): string {
    return `${this.url.protocol}//${this.url.host}${this.url.pathname}`;
  }

  private fetchText(): Promise<string> {
    return new Promise((resolve, reject) => {
      const https = this.url.protocol === 'https:';
      const onResponse = (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`HTTP ${res.statusCode ?? '?'}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_JWKS_BYTES) {
            req.destroy(new Error(`the document is larger than ${MAX_JWKS_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      };
      const headers = { accept: 'application/json' };
      const req = https
        ? httpsRequest(this.url, { method: 'GET', headers, ...(this.options.extraCa ? { ca: [...rootCertificates, this.options.extraCa] } : {}) }, onResponse)
        : httpRequest(this.url, { method: 'GET', headers }, onResponse);
      req.setTimeout(FETCH_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${FETCH_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}
