// Enforcement of client quotas as Kafka does it (ClientQuotaManager, KIP-13/124/219): per quota
// entity a rate over a sampled window (quota.window.num samples of quota.window.size.seconds);
// Produce counts its request bytes (producer_byte_rate), Fetch the record bytes of its response
// (consumer_byte_rate), every request but the exempt ones its handler time as a percentage of one
// thread (request_percentage). Over the quota, the response carries throttle_time_ms =
// (rate - quota) / quota × window, and the connection is muted for that long: the server reads no
// further request from it (Kafka ≥ 2.0 answers at once and delays the channel). A throttled Fetch
// answers with no data and its bytes are taken back, and a Fetch is capped at what the quota
// allows in one window (Kafka's getMaxValueInQuotaWindow), so a large fetch cannot starve.
//
// The one hook: dispatch.ts calls `run` around the handler.
import { ApiKey } from '../../protocol/apis.js';
import type { BrokerConfig } from '../config.js';
import type { RequestHeader } from '../../protocol/header.js';
import type { ConnectionInfo } from '../server.js';
import type { QuotaKey, QuotaStore } from './store.js';

/** What the enforcer needs of a request (handler.ts's RequestContext has it; not imported: no loop). */
export interface QuotaRequest {
  readonly header: Pick<RequestHeader, 'apiKey' | 'clientId'>;
  readonly connection: Pick<ConnectionInfo, 'principal' | 'mute'>;
}
type Result<R> = Promise<R | null> | R | null;

/** APIs whose handler time is not charged to request_percentage (Kafka exempts them too). */
const EXEMPT = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, 36 /* SaslAuthenticate */]);
/** Sensors not touched for this many windows are dropped (client ids are the client's to choose). */
const IDLE_WINDOWS = 4;

/** A rate over `num` samples of `sizeMs` each (Kafka's Rate over SampledStat). */
class Sensor {
  private readonly starts: number[] = [];
  private readonly values: number[] = [];
  lastUse = 0;

  constructor(private readonly num: number, private readonly sizeMs: number) {}

  private purge(now: number): void {
    while (this.starts.length > 0 && now - this.starts[0] >= this.num * this.sizeMs) {
      this.starts.shift();
      this.values.shift();
    }
  }

  record(value: number, now: number): void {
    this.purge(now);
    this.lastUse = now;
    const last = this.starts.length - 1;
    if (last >= 0 && now - this.starts[last] < this.sizeMs) this.values[last] += value;
    else {
      this.starts.push(now);
      this.values.push(value);
    }
  }

  /** The window the rate is measured over: at least num - 1 full samples (Kafka's Rate.windowSize). */
  windowMs(now: number): number {
    this.purge(now);
    let elapsed = this.starts.length > 0 ? now - this.starts[0] : 0;
    const full = Math.floor(elapsed / this.sizeMs);
    if (full < this.num - 1) elapsed += (this.num - 1 - full) * this.sizeMs;
    return elapsed;
  }

  /** Units per second. */
  rate(now: number): number {
    const w = this.windowMs(now);
    let total = 0;
    for (const v of this.values) total += v;
    return w > 0 ? (total * 1000) / w : 0;
  }
}

export class QuotaEnforcer {
  private readonly sensors = new Map<string, Sensor>();
  private readonly num: number;
  private readonly sizeMs: number;
  private recorded = 0;

  constructor(config: Pick<BrokerConfig, 'quotaWindowNum' | 'quotaWindowSizeSeconds'>, private readonly store: QuotaStore) {
    this.num = config.quotaWindowNum;
    this.sizeMs = config.quotaWindowSizeSeconds * 1000;
  }

  /** The longest throttle: one full window (no single request is held back longer). */
  get maxThrottleMs(): number {
    return this.num * this.sizeMs;
  }

  /** The quota of `key` that applies and its sensor, or null: none applies. */
  private quota(key: QuotaKey, user: string, clientId: string, now: number): { bound: number; sensor: Sensor } | null {
    const q = this.store.resolve(key, user, clientId);
    if (!q) return null;
    // The rate is shared by everyone the matching entity covers: its named parts are the
    // client's own user / client id, an absent part is shared (Kafka's quota metric tags).
    const id = `${key}\0${'user' in q.entity ? user : ''}\0${'client-id' in q.entity ? clientId : ''}`;
    let sensor = this.sensors.get(id);
    if (!sensor) this.sensors.set(id, (sensor = new Sensor(this.num, this.sizeMs)));
    if (++this.recorded % 1024 === 0) this.dropIdle(now);
    return { bound: q.value, sensor };
  }

  private dropIdle(now: number): void {
    for (const [id, s] of this.sensors) if (now - s.lastUse > IDLE_WINDOWS * this.num * this.sizeMs) this.sensors.delete(id);
  }

  /** Records `value`; the throttle it earns (0: within the quota). */
  private charge(q: { bound: number; sensor: Sensor }, value: number, now: number): number {
    q.sensor.record(value, now);
    const rate = q.sensor.rate(now);
    if (rate <= q.bound) return 0;
    const ms = ((rate - q.bound) / q.bound) * q.sensor.windowMs(now);
    return Math.min(Math.ceil(ms), this.maxThrottleMs);
  }

  /**
   * Runs `handle` under the quotas of the request's user and client id: caps a Fetch at the
   * quota's window, charges the request, sets throttle_time_ms in the response and mutes the
   * connection when over a quota.
   */
  run<R extends object>(ctx: QuotaRequest, request: object, requestBytes: number, handle: () => Result<R>): Result<R> {
    if (this.store.isEmpty) return handle(); // no quota set: nothing to measure
    const apiKey = ctx.header.apiKey;
    const now = Date.now();
    const user = principalName(ctx.connection.principal);
    const clientId = ctx.header.clientId ?? '';
    const fetchQuota = apiKey === ApiKey.Fetch ? this.quota('consumer_byte_rate', user, clientId, now) : null;
    if (fetchQuota && 'maxBytes' in request && typeof request.maxBytes === 'number') {
      const cap = Math.max(1, Math.floor((fetchQuota.bound * fetchQuota.sensor.windowMs(now)) / 1000));
      (request as { maxBytes: number }).maxBytes = Math.min(request.maxBytes, cap);
    }
    const started = process.hrtime.bigint();
    const result = handle();
    const handlerNs = Number(process.hrtime.bigint() - started);
    const finish = (body: R | null): R | null => {
      const at = Date.now();
      let throttle = 0;
      if (!EXEMPT.has(apiKey)) {
        const rq = this.quota('request_percentage', user, clientId, at);
        // Handler time as a percentage of one thread for one second (Kafka's nanosToPercentage).
        if (rq) throttle = Math.max(throttle, this.charge(rq, handlerNs / 1e7, at));
      }
      if (apiKey === ApiKey.Produce) {
        const pq = this.quota('producer_byte_rate', user, clientId, at);
        if (pq) throttle = Math.max(throttle, this.charge(pq, requestBytes, at));
      }
      if (fetchQuota && body !== null) {
        const bytes = fetchRecordBytes(body);
        const t = this.charge(fetchQuota, bytes, at);
        if (t > 0) {
          // Kafka answers a throttled fetch with no data and takes its bytes back.
          fetchQuota.sensor.record(-bytes, at);
          emptyFetch(body);
          throttle = Math.max(throttle, t);
        }
      }
      if (throttle > 0) {
        if (body !== null && 'throttleTimeMs' in body) (body as { throttleTimeMs: number }).throttleTimeMs = throttle;
        ctx.connection.mute(throttle);
      }
      return body;
    };
    return result instanceof Promise ? result.then(finish) : finish(result);
  }
}

/** The user part of a principal ("User:alice" → "alice"), as Kafka's quota entities name it. */
export function principalName(principal: string): string {
  const i = principal.indexOf(':');
  return i >= 0 ? principal.slice(i + 1) : principal;
}

interface FetchBody {
  responses?: { partitions?: { records?: Buffer | Buffer[] | null }[] }[];
}

function fetchRecordBytes(body: object): number {
  let n = 0;
  for (const t of (body as FetchBody).responses ?? []) {
    for (const p of t.partitions ?? []) {
      const r = p.records;
      if (Array.isArray(r)) for (const b of r) n += b.length;
      else if (r) n += r.length;
    }
  }
  return n;
}

function emptyFetch(body: object): void {
  const b = body as FetchBody;
  if (Array.isArray(b.responses)) b.responses = [];
}
