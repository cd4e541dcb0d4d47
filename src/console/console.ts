// The web console's HTTP side: the page, its bundled script and style, and the JSON API under
// /api/ over a ClusterLink per session. One handler serves both ways the console runs: mounted on
// the broker's HTTP listener (src/console/mount.ts) and alone (`fjord console`, standalone.ts).
//
// Rules every request meets:
// - authentication: when the cluster needs SASL, the login form's username and password open the
//   session's own client connection (SASL PLAIN or SCRAM, as the broker checks them); the session
//   is a random id in an HttpOnly, SameSite=Strict cookie; sessions idle for SESSION_IDLE_MS end.
// - mutations are POST or DELETE with a JSON body and the x-fjord-console header (a page of another
//   site cannot send it without a CORS preflight, which is never granted), and a foreign Origin is
//   refused; in read-only mode every mutation answers 403.
// - bounds: a body of at most MAX_BODY_BYTES, at most maxRecords records returned, at most scanLimit
//   records read by a search, each call cut at the request timeout (504), every input checked
//   (400 with the reason).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FjordConnectionError, FjordProtocolError, FjordRequestTimeoutError, KafkaJSSASLAuthenticationError,
  type SaslOptions,
} from '../client/index.js';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { ConsoleAssets } from './assets.js';
import { ClusterLink, ConsoleError, reasonOf, rootOf, type BrowseFrom } from './cluster-link.js';

export type LoginMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface ConsoleOptions {
  /** Where the cluster is (asked at each new connection: an embedded broker's port is known only once bound). */
  readonly brokers: () => string[];
  readonly ssl?: boolean | TlsOptions;
  /** The SASL mechanism logins use; null: the cluster needs no login and one connection serves everyone. */
  readonly login: LoginMechanism | null;
  readonly readOnly: boolean;
  /** Records one message-browser call returns at most. */
  readonly maxRecords: number;
  /** Records a search reads at most. */
  readonly scanLimit: number;
  /** ms one call to the cluster may take before the browser gets 504. */
  readonly requestTimeoutMs: number;
  readonly version: string;
  readonly warn: (message: string) => void;
}

/** Bytes of a request body at most (a produced message's value fits). */
export const MAX_BODY_BYTES = 1024 * 1024;
const SESSION_IDLE_MS = 30 * 60_000;
const MAX_SESSIONS = 100;
const COOKIE = 'fjord_console';
const CSRF_HEADER = 'x-fjord-console';
const MAX_SEARCH_CHARS = 200;
const MAX_HEADERS = 64;
const MAX_CONFIG_ENTRIES = 200;
const MAX_PARTITIONS = 10_000;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

interface Session {
  readonly id: string;
  readonly user: string;
  readonly link: ClusterLink;
  lastUsed: number;
}

type Json = Record<string, unknown>;

interface Call {
  readonly method: string;
  readonly params: string[];
  readonly query: URLSearchParams;
  readonly body: Json;
  readonly link: ClusterLink;
}

interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly pattern: RegExp;
  readonly mutates: boolean;
  readonly run: (call: Call) => Promise<unknown>;
}

export class ConsoleServer {
  private readonly assets = new ConsoleAssets();
  private readonly sessions = new Map<string, Session>();
  private shared: Promise<ClusterLink> | null = null;
  private readonly sweep: NodeJS.Timeout;
  private readonly routes: Route[];
  private closed = false;

  constructor(private readonly options: ConsoleOptions) {
    this.sweep = setInterval(() => this.expireSessions(), 60_000);
    this.sweep.unref();
    this.routes = this.buildRoutes();
  }

  /** Answers the request when it is the console's (/, /assets/*, /api/*); false: not ours. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const path = url.pathname;
    if (path === '/' || path === '/index.html') {
      if (!this.onlyGet(req, res)) return true;
      this.send(res, 200, 'text/html; charset=utf-8', this.assets.html(this.options.version));
      return true;
    }
    if (path.startsWith('/assets/')) {
      if (!this.onlyGet(req, res)) return true;
      try {
        const asset = await this.assets.get(path.slice('/assets/'.length));
        if (!asset) this.json(res, 404, { error: 'no such asset' });
        else this.send(res, 200, asset.contentType, asset.body, 'public, max-age=0, must-revalidate');
      } catch (err) {
        this.options.warn(`web console: the page's script could not be loaded: ${(err as Error).message}`);
        this.json(res, 500, { error: `the console's script is not available: ${(err as Error).message}` });
      }
      return true;
    }
    if (path.startsWith('/api/')) {
      await this.api(req, res, path.slice('/api'.length), url.searchParams).catch((err: unknown) => {
        this.options.warn(`web console: ${req.method} ${path} failed: ${(err as Error)?.stack ?? String(err)}`);
        if (!res.headersSent) this.json(res, 500, { error: 'internal error' });
        else res.destroy();
      });
      return true;
    }
    return false;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
    const links = [...this.sessions.values()].map((s) => s.link);
    this.sessions.clear();
    const shared = this.shared;
    this.shared = null;
    if (shared) links.push(...(await shared.then((l) => [l], () => [])));
    await Promise.allSettled(links.map((l) => l.close()));
  }

  // --- plumbing ---------------------------------------------------------------------------------

  private onlyGet(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method === 'GET' || req.method === 'HEAD') return true;
    res.setHeader('allow', 'GET, HEAD');
    this.json(res, 405, { error: `${req.method} is not allowed here` });
    return false;
  }

  private send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, cache = 'no-store'): void {
    res.writeHead(status, {
      'content-type': contentType,
      'cache-control': cache,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  private json(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
    for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
    this.send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
  }

  private cookieOf(req: IncomingMessage): string | null {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, ...v] = part.trim().split('=');
      if (k === COOKIE) return v.join('=');
    }
    return null;
  }

  private sessionOf(req: IncomingMessage): Session | null {
    const id = this.cookieOf(req);
    const s = id === null ? undefined : this.sessions.get(id);
    if (!s) return null;
    if (Date.now() - s.lastUsed > SESSION_IDLE_MS) {
      this.endSession(s);
      return null;
    }
    s.lastUsed = Date.now();
    return s;
  }

  private endSession(s: Session): void {
    this.sessions.delete(s.id);
    void s.link.close();
  }

  private expireSessions(): void {
    const now = Date.now();
    for (const s of this.sessions.values()) if (now - s.lastUsed > SESSION_IDLE_MS) this.endSession(s);
  }

  private linkOptions(sasl?: SaslOptions) {
    return { brokers: this.options.brokers(), ...(sasl ? { sasl } : {}), ...(this.options.ssl !== undefined ? { ssl: this.options.ssl } : {}), requestTimeoutMs: this.options.requestTimeoutMs };
  }

  private sharedLink(): Promise<ClusterLink> {
    this.shared ??= ClusterLink.open(this.linkOptions());
    this.shared.catch(() => (this.shared = null));
    return this.shared;
  }

  /** Reads a JSON object body of at most MAX_BODY_BYTES; ConsoleError (4xx) otherwise. */
  private readBody(req: IncomingMessage): Promise<Json> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) return Promise.reject(new ConsoleError(413, `the request body is over ${MAX_BODY_BYTES} bytes`));
    return new Promise<Json>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          reject(new ConsoleError(413, `the request body is over ${MAX_BODY_BYTES} bytes`));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('error', reject);
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (text.trim() === '') return resolve({});
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return reject(new ConsoleError(400, 'the request body is not valid JSON'));
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return reject(new ConsoleError(400, 'the request body must be a JSON object'));
        resolve(parsed as Json);
      });
    });
  }

  private async api(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const mutating = method !== 'GET' && method !== 'HEAD';
    if (mutating) {
      // The CSRF guard: a custom header (no cross-site form or image sends one) and no foreign Origin.
      if (req.headers[CSRF_HEADER] !== '1') return this.json(res, 403, { error: `mutating requests need the ${CSRF_HEADER}: 1 header` });
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== 'null') {
        let host: string;
        try {
          host = new URL(origin).host;
        } catch {
          host = '';
        }
        if (host !== req.headers.host) return this.json(res, 403, { error: 'requests from another origin are refused' });
      }
      if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return this.json(res, 415, { error: 'send the body as application/json' });
    }
    let body: Json = {};
    try {
      if (mutating) body = await this.readBody(req);
    } catch (err) {
      const e = err as ConsoleError;
      return this.json(res, e.status ?? 400, { error: e.message });
    }

    if (path === '/info' && method === 'GET') {
      const s = this.options.login ? this.sessionOf(req) : null;
      return this.json(res, 200, { version: this.options.version, readOnly: this.options.readOnly, loginRequired: this.options.login !== null, user: s?.user ?? null, maxRecords: this.options.maxRecords, scanLimit: this.options.scanLimit });
    }
    if (path === '/login' && method === 'POST') return this.login(res, body);
    if (path === '/logout' && method === 'POST') {
      const s = this.sessionOf(req);
      if (s) this.endSession(s);
      return this.json(res, 200, { ok: true }, { 'set-cookie': `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
    }

    let matched: { route: Route; params: string[] } | null = null;
    let pathKnown = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        let params: string[];
        try {
          params = m.slice(1).map((p) => decodeURIComponent(p));
        } catch {
          return this.json(res, 400, { error: 'the path is not valid percent-encoding' });
        }
        matched = { route, params };
        break;
      }
    }
    if (!matched) return this.json(res, pathKnown ? 405 : 404, { error: pathKnown ? `${method} is not allowed on ${path}` : `no API at ${path}` });
    if (matched.route.mutates && this.options.readOnly) return this.json(res, 403, { error: 'the console is read-only (started with --console-read-only)' });

    let link: ClusterLink;
    if (this.options.login) {
      const s = this.sessionOf(req);
      if (!s) return this.json(res, 401, { error: 'log in first' });
      link = s.link;
    } else {
      try {
        link = await this.sharedLink();
      } catch (err) {
        return this.json(res, 502, { error: `cannot reach the cluster: ${reasonOf(err)}` });
      }
    }
    const timeout = this.options.requestTimeoutMs + 5000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        matched.route.run({ method, params: matched.params, query, body, link }),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new ConsoleError(504, `the cluster did not answer within ${timeout} ms`)), timeout); }),
      ]);
      this.json(res, 200, result ?? { ok: true });
    } catch (err) {
      const [status, message] = statusOf(err);
      if (status >= 500 && status !== 502 && status !== 504) this.options.warn(`web console: ${method} ${path}: ${(err as Error)?.stack ?? String(err)}`);
      this.json(res, status, { error: message });
    } finally {
      clearTimeout(timer);
    }
  }

  private async login(res: ServerResponse, body: Json): Promise<void> {
    const mechanism = this.options.login;
    if (!mechanism) return this.json(res, 400, { error: 'this console needs no login' });
    const username = body.username;
    const password = body.password;
    if (typeof username !== 'string' || username === '' || username.length > 256 || typeof password !== 'string' || password.length > 1024) {
      return this.json(res, 400, { error: 'give a username and a password' });
    }
    let link: ClusterLink;
    try {
      link = await ClusterLink.open(this.linkOptions({ mechanism, username, password }));
    } catch (err) {
      if (rootOf(err) instanceof KafkaJSSASLAuthenticationError) return this.json(res, 401, { error: 'wrong username or password' });
      return this.json(res, 502, { error: `cannot reach the cluster: ${reasonOf(err)}` });
    }
    if (this.closed) {
      await link.close();
      return this.json(res, 503, { error: 'the console is stopping' });
    }
    // Bounded: the least recently used session ends to make room.
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = [...this.sessions.values()].sort((a, b) => a.lastUsed - b.lastUsed)[0];
      this.endSession(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { id, user: username, link, lastUsed: Date.now() });
    this.json(res, 200, { user: username }, { 'set-cookie': `${COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/` });
  }

  // --- the API ----------------------------------------------------------------------------------

  private buildRoutes(): Route[] {
    const o = this.options;
    const topicPath = '([^/]+)';
    const r = (method: Route['method'], pattern: string, run: Route['run']): Route => ({ method, pattern: new RegExp(`^${pattern}$`), mutates: method !== 'GET', run });
    return [
      r('GET', '/overview', ({ link }) => link.overview()),
      r('GET', '/topics', ({ link }) => link.topics()),
      r('POST', '/topics', ({ link, body }) => {
        const name = topicName(body.name);
        const partitions = int('partitions', body.partitions ?? 1, 1, MAX_PARTITIONS);
        const replicationFactor = int('replicationFactor', body.replicationFactor ?? -1, -1, 100);
        if (replicationFactor === 0) throw new ConsoleError(400, 'replicationFactor must be -1 (the broker default) or at least 1');
        const configs = stringMap('configs', body.configs ?? {});
        return link.createTopic(name, partitions, replicationFactor, configs).then(() => ({ created: name }));
      }),
      r('GET', `/topics/${topicPath}`, ({ link, params }) => link.topic(topicName(params[0]))),
      r('DELETE', `/topics/${topicPath}`, ({ link, params }) => {
        const name = topicName(params[0]);
        return link.deleteTopic(name).then(() => ({ deleted: name }));
      }),
      r('POST', `/topics/${topicPath}/configs`, ({ link, params, body }) => {
        const set = stringMap('set', body.set ?? {});
        const remove = body.delete ?? [];
        if (!Array.isArray(remove) || remove.length > MAX_CONFIG_ENTRIES || !remove.every((x): x is string => typeof x === 'string' && x !== '')) throw new ConsoleError(400, 'delete must be a list of config names');
        if (Object.keys(set).length + remove.length === 0) throw new ConsoleError(400, 'nothing to change: give set and/or delete');
        return link.alterTopicConfigs(topicName(params[0]), set, remove).then(() => ({ ok: true }));
      }),
      r('GET', `/topics/${topicPath}/partitions/(\\d{1,6})/messages`, ({ link, params, query }) => {
        const kind = query.get('from') ?? 'newest';
        const limit = int('limit', query.get('limit') ?? Math.min(50, o.maxRecords), 1, o.maxRecords);
        let from: BrowseFrom;
        if (kind === 'offset') from = { kind, offset: int('offset', query.get('offset') ?? 0, 0, Number.MAX_SAFE_INTEGER) };
        else if (kind === 'timestamp') from = { kind, timestamp: time(query.get('timestamp')) };
        else if (kind === 'newest') from = { kind, count: limit };
        else throw new ConsoleError(400, `from must be offset, timestamp or newest, not "${kind}"`);
        const search = query.get('search') ?? '';
        if (search.length > MAX_SEARCH_CHARS) throw new ConsoleError(400, `search is at most ${MAX_SEARCH_CHARS} characters`);
        const scanLimit = int('scan', query.get('scan') ?? o.scanLimit, 1, o.scanLimit);
        return link.browse({ topic: topicName(params[0]), partition: int('partition', params[1], 0, MAX_PARTITIONS), from, limit, search, scanLimit, deadlineMs: o.requestTimeoutMs });
      }),
      r('POST', `/topics/${topicPath}/messages`, ({ link, params, body }) => {
        const partition = body.partition === undefined || body.partition === null || body.partition === '' ? undefined : int('partition', body.partition, 0, MAX_PARTITIONS);
        const key = nullableString('key', body.key);
        const value = nullableString('value', body.value);
        const headers = body.headers ?? [];
        if (!Array.isArray(headers) || headers.length > MAX_HEADERS) throw new ConsoleError(400, `headers must be a list of at most ${MAX_HEADERS} {key, value}`);
        const hs = headers.map((h: unknown) => {
          const x = h as Json;
          if (x === null || typeof x !== 'object' || typeof x.key !== 'string' || x.key === '' || typeof x.value !== 'string') throw new ConsoleError(400, 'each header needs a key and a value (strings)');
          return { key: x.key, value: x.value };
        });
        return link.produce(topicName(params[0]), { ...(partition !== undefined ? { partition } : {}), key, value, headers: hs });
      }),
      r('GET', '/groups', ({ link }) => link.groups()),
      r('GET', '/groups/([^/]+)', ({ link, params }) => link.group(groupId(params[0]))),
      r('POST', '/groups/([^/]+)/reset', ({ link, params, body }) => {
        const to = body.to;
        let target: Parameters<ClusterLink['resetOffsets']>[2];
        if (to === 'earliest' || to === 'latest') target = { kind: to };
        else if (to === 'offset') target = { kind: 'offset', offset: int('offset', body.offset, 0, Number.MAX_SAFE_INTEGER) };
        else if (to === 'timestamp') target = { kind: 'timestamp', timestamp: time(body.timestamp) };
        else throw new ConsoleError(400, 'to must be earliest, latest, offset or timestamp');
        let partitions: number[] | null = null;
        if (body.partitions !== undefined && body.partitions !== null) {
          if (!Array.isArray(body.partitions) || body.partitions.length > MAX_PARTITIONS) throw new ConsoleError(400, 'partitions must be a list of partition numbers');
          partitions = body.partitions.map((p: unknown) => int('partition', p, 0, MAX_PARTITIONS));
        }
        return link.resetOffsets(groupId(params[0]), topicName(body.topic), target, partitions).then((offsets) => ({ offsets }));
      }),
      r('GET', '/throughput', async ({ link }) => ({ time: Date.now(), endOffsets: await link.endOffsets() })),
    ];
  }
}

// --- input checks (each throws ConsoleError 400 with the reason) -------------------------------------

function topicName(v: unknown): string {
  if (typeof v !== 'string' || !TOPIC_NAME.test(v) || v === '.' || v === '..') throw new ConsoleError(400, `a topic name is 1-249 characters of a-z, A-Z, 0-9, ".", "_" and "-"${typeof v === 'string' ? `, not "${v.slice(0, 300)}"` : ''}`);
  return v;
}

function groupId(v: string): string {
  if (v === '' || v.length > 1000) throw new ConsoleError(400, 'a group id is 1-1000 characters');
  return v;
}

function int(name: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConsoleError(400, `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)?.slice(0, 100)}`);
  return n;
}

function time(v: unknown): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return int('timestamp', v, 0, Number.MAX_SAFE_INTEGER);
    const t = Date.parse(v);
    if (!Number.isNaN(t) && t >= 0) return t;
  }
  throw new ConsoleError(400, `timestamp must be epoch milliseconds or an ISO date like 2024-05-01T12:00:00Z, not ${JSON.stringify(v)?.slice(0, 100)}`);
}

function nullableString(name: string, v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new ConsoleError(400, `${name} must be a string or null`);
  return v;
}

function stringMap(name: string, v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConsoleError(400, `${name} must be an object of name: value strings`);
  const entries = Object.entries(v);
  if (entries.length > MAX_CONFIG_ENTRIES) throw new ConsoleError(400, `${name} has more than ${MAX_CONFIG_ENTRIES} entries`);
  const out: Record<string, string> = {};
  for (const [k, x] of entries) {
    if (k === '' || typeof x !== 'string') throw new ConsoleError(400, `${name}: each entry needs a name and a string value`);
    out[k] = x;
  }
  return out;
}

/** HTTP status and message for an error of a call: the client's errors by Kafka error name. */
function statusOf(err: unknown): [number, string] {
  if (err instanceof ConsoleError) return [err.status, err.message];
  const e = rootOf(err);
  const message = reasonOf(e);
  if (e instanceof FjordProtocolError) {
    const type = e.type;
    if (type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'GROUP_ID_NOT_FOUND') return [404, message];
    if (type === 'TOPIC_ALREADY_EXISTS') return [409, message];
    if (type.endsWith('_AUTHORIZATION_FAILED')) return [403, message];
    if (type.startsWith('INVALID_') || type === 'POLICY_VIOLATION' || type === 'UNSUPPORTED_VERSION' || type === 'RECORD_LIST_TOO_LARGE' || type === 'MESSAGE_TOO_LARGE') return [400, message];
    if (type === 'NON_EMPTY_GROUP' || type === 'UNKNOWN_MEMBER_ID') return [409, message];
    return [502, message];
  }
  if (e instanceof FjordRequestTimeoutError) return [504, message];
  if (e instanceof FjordConnectionError) return [502, `cannot reach the cluster: ${message}`];
  if (e instanceof Error && e.name === 'KafkaJSNonRetriableError') return [400, message];
  return [500, message];
}
