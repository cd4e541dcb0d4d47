// One TCP (or TLS) connection to one broker: size-prefixed framing, correlation ids, any number of
// requests in flight at once (pipelining), per-request timeouts, and ApiVersions negotiation so
// each request goes out at min(our max, the broker's max) of its API.
import net from 'node:net';
import type tls from 'node:tls';
import { createRequire } from 'node:module';
import { ApiKey, apiName, apiSchema } from '../protocol/apis.js';
import { ByteQueue } from '../protocol/byte-queue.js';
import { compile, type DecodedMessage } from '../protocol/codec.js';
import type { ApiKeyNumber, RequestOf, ResponseOf } from '../protocol/generated/types.js';
import { readResponseHeader, writeRequestHeader } from '../protocol/header.js';
import { Reader, Writer } from '../protocol/primitives.js';
import { FjordConnectionError, FjordProtocolError, FjordRequestTimeoutError, FjordUnsupportedError } from './errors.js';
import type { NetworkEmitter } from './instrumentation.js';
import type { ClientLogger } from './logger.js';
import { authenticate, type SaslOptions } from './sasl.js';
import { API_VERSIONS_MAX, CLIENT_VERSIONS } from './versions.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  ssl?: boolean | tls.ConnectionOptions;
  sasl?: SaslOptions;
  /** ms each SASL request may take (kafkajs' authenticationTimeout). Default 10000. */
  authenticationTimeout?: number;
  /** ms to open the socket (and finish TLS). */
  connectionTimeout: number;
  /** ms a request may wait for its answer. */
  requestTimeout: number;
  /** When false, requests never time out (kafkajs' enforceRequestTimeout). */
  enforceRequestTimeout?: boolean;
  logger: ClientLogger;
  emit?: NetworkEmitter;
  /** Broker node id, for messages and events. */
  nodeId?: number;
}

export interface RequestOptions {
  /** Exact version to send; default: the negotiated one. */
  version?: number;
  /** Timeout for this request in ms (default requestTimeout). */
  timeout?: number;
  /** false for acks=0 Produce: resolves once written, the broker sends nothing back. */
  expectResponse?: boolean;
}

interface Pending {
  apiKey: number;
  version: number;
  resolve: (m: DecodedMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | null;
  sentAt: number;
  size: number;
}

const SOFTWARE_NAME = 'fjord-js';
const SOFTWARE_VERSION = '0.1.0';

export class Connection {
  readonly broker: string;
  private socket: net.Socket | null = null;
  private pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private readonly received = new ByteQueue();
  private frameSize = -1;
  private versions = new Map<number, readonly [number, number]>();
  private closing = false;
  private connecting: Promise<void> | null = null;
  private closeListeners: ((err?: Error) => void)[] = [];
  /** True once the socket is open, versions are negotiated and SASL (if any) is done. */
  connected = false;

  constructor(readonly options: ConnectionOptions) {
    this.broker = `${options.host}:${options.port}`;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  onClose(listener: (err?: Error) => void): void {
    this.closeListeners.push(listener);
  }

  /** Opens the socket, negotiates versions and authenticates. Safe to call twice. */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return (this.connecting ??= this.doConnect().finally(() => { this.connecting = null; }));
  }

  private async doConnect(): Promise<void> {
    this.closing = false;
    await this.openSocket();
    try {
      await this.negotiateVersions();
      if (this.options.sasl) await authenticate(this, this.options.sasl, this.options.authenticationTimeout);
      this.connected = true;
    } catch (err) {
      this.destroy(err as Error);
      throw err;
    }
  }

  private openSocket(): Promise<void> {
    const { host, port, ssl, connectionTimeout } = this.options;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const ready = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 60000);
        this.socket = socket;
        socket.removeAllListeners('error');
        socket.on('error', (err) => this.destroy(new FjordConnectionError(`Connection error to ${this.broker}: ${err.message}`, { broker: this.broker, cause: err, code: (err as NodeJS.ErrnoException).code })));
        socket.on('close', () => this.destroy(new FjordConnectionError(`Connection to ${this.broker} closed`, { broker: this.broker })));
        socket.on('data', (d: Buffer) => this.onData(d));
        resolve();
      };
      const socket: net.Socket = ssl
        ? (createRequire(import.meta.url)('node:tls') as typeof tls).connect({ host, port, servername: net.isIP(host) ? undefined : host, ...(typeof ssl === 'object' ? ssl : {}) }, ready)
        : net.connect({ host, port }, ready);
      const timer = setTimeout(() => fail(new FjordConnectionError(`Connection timeout: no answer from ${this.broker} within ${connectionTimeout} ms`, { broker: this.broker, code: 'ETIMEDOUT' })), connectionTimeout);
      socket.once('error', (err: NodeJS.ErrnoException) => fail(new FjordConnectionError(`Cannot connect to ${this.broker}: ${err.code ?? err.message}`, { broker: this.broker, cause: err, code: err.code })));
    });
  }

  private async negotiateVersions(): Promise<void> {
    let version = API_VERSIONS_MAX;
    for (let attempt = 0; attempt < 3; attempt++) {
      const res = await this.request(ApiKey.ApiVersions, { clientSoftwareName: SOFTWARE_NAME, clientSoftwareVersion: SOFTWARE_VERSION }, { version });
      if (res.errorCode === 35) {
        const listed = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
        const next = Math.min(API_VERSIONS_MAX, listed ? listed.maxVersion : 0);
        version = next < version ? next : version - 1;
        if (version < 0) break;
        continue;
      }
      if (res.errorCode !== 0) throw new FjordProtocolError(res.errorCode, `ApiVersions from ${this.broker}`);
      this.versions.clear();
      for (const k of res.apiKeys) this.versions.set(k.apiKey, [k.minVersion, k.maxVersion]);
      return;
    }
    throw new FjordUnsupportedError(`${this.broker} does not accept any ApiVersions version this client speaks`);
  }

  /** Whether the broker offers `apiKey` at a version this client speaks. */
  supports(apiKey: number): boolean {
    return this.negotiated(apiKey) >= 0;
  }

  private negotiated(apiKey: number): number {
    const ours = CLIENT_VERSIONS.get(apiKey);
    const theirs = this.versions.get(apiKey);
    if (!ours || !theirs) return -1;
    const v = Math.min(ours[1], theirs[1]);
    return v >= ours[0] && v >= theirs[0] ? v : -1;
  }

  /** The version a request of `apiKey` goes out at; throws FjordUnsupportedError when none fits. */
  versionOf(apiKey: number): number {
    const v = this.negotiated(apiKey);
    if (v < 0) {
      const theirs = this.versions.get(apiKey);
      throw new FjordUnsupportedError(theirs
        ? `${this.broker} offers ${apiName(apiKey)} versions ${theirs[0]}-${theirs[1]}, none of which this client speaks`
        : `${this.broker} does not support ${apiName(apiKey)}`);
    }
    return v;
  }

  /**
   * Sends one request of API `K` and resolves with its decoded response body; with
   * `expectResponse: false` (acks=0 Produce) it resolves with null once written.
   */
  request<K extends ApiKeyNumber>(apiKey: K, body: RequestOf<K>, options?: RequestOptions & { expectResponse?: true }): Promise<ResponseOf<K>>;
  request<K extends ApiKeyNumber>(apiKey: K, body: RequestOf<K>, options: RequestOptions): Promise<ResponseOf<K> | null>;
  request<K extends ApiKeyNumber>(apiKey: K, body: RequestOf<K>, options: RequestOptions = {}): Promise<ResponseOf<K> | null> {
    const socket = this.socket;
    if (!socket) {
      return Promise.reject(new FjordConnectionError(`Not connected to ${this.broker}`, { broker: this.broker }));
    }
    let version: number;
    try {
      version = options.version ?? this.versionOf(apiKey);
    } catch (err) {
      return Promise.reject(err);
    }
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = this.nextCorrelationId >= 0x7fffffff ? 1 : this.nextCorrelationId + 1;
    const w = new Writer(256);
    writeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: this.options.clientId });
    compile(apiSchema(apiKey)!.request, version).encode(w, body);
    const chunks = w.finishChunks();
    let size = 0;
    for (const c of chunks) size += c.length;
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeInt32BE(size, 0);
    socket.cork();
    socket.write(prefix);
    for (const c of chunks) socket.write(c);
    socket.uncork();

    if (options.expectResponse === false) return Promise.resolve(null);
    return new Promise<ResponseOf<K>>((resolve, reject) => {
      // The one place an untyped decoded body becomes its API's type: the decoder was compiled
      // from apiKey's response schema, the same spec files generated/types.ts comes from (the
      // mirror of the broker registry's cast of requests).
      const settle = (m: DecodedMessage) => resolve(m as unknown as ResponseOf<K>);
      const p: Pending = { apiKey, version, resolve: settle, reject, timer: null, sentAt: Date.now(), size };
      if (this.options.enforceRequestTimeout !== false) {
        const timeout = options.timeout ?? this.options.requestTimeout;
        p.timer = setTimeout(() => this.timeOut(correlationId, timeout), timeout);
      }
      this.pending.set(correlationId, p);
      if (this.options.emit) this.options.emit('request_queue_size', { broker: this.broker, clientId: this.options.clientId, queueSize: this.pending.size });
    });
  }

  private timeOut(correlationId: number, timeout: number): void {
    const p = this.pending.get(correlationId);
    if (!p) return;
    this.pending.delete(correlationId);
    this.options.emit?.('request_timeout', {
      broker: this.broker, clientId: this.options.clientId, correlationId, createdAt: p.sentAt, sentAt: p.sentAt,
      pendingDuration: 0, apiName: apiName(p.apiKey), apiKey: p.apiKey, apiVersion: p.version,
    });
    p.reject(new FjordRequestTimeoutError(`Request ${apiName(p.apiKey)}(key: ${p.apiKey}, version: ${p.version}) timed out after ${timeout} ms on ${this.broker}`, { broker: this.broker, correlationId }));
  }

  private onData(d: Buffer): void {
    this.received.push(d);
    for (;;) {
      if (this.frameSize < 0) {
        if (this.received.length < 4) return;
        this.frameSize = this.received.peekInt32();
        this.received.take(4);
      }
      if (this.received.length < this.frameSize) return;
      const frame = this.received.take(this.frameSize);
      this.frameSize = -1;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    if (frame.length < 4) return;
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (!p) {
      this.options.logger.debug('response for an unknown or timed out request', { broker: this.broker, correlationId });
      return;
    }
    this.pending.delete(correlationId);
    if (p.timer) clearTimeout(p.timer);
    let body: DecodedMessage;
    try {
      const r = new Reader(frame);
      readResponseHeader(r, p.apiKey, p.version);
      // A broker that does not know our ApiVersions version answers with a v0 body.
      let decodeVersion = p.version;
      if (p.apiKey === ApiKey.ApiVersions && r.remaining >= 2 && frame.readInt16BE(r.offset) === 35) decodeVersion = 0;
      body = compile(apiSchema(p.apiKey)!.response, decodeVersion).decode(r);
    } catch (err) {
      p.reject(new FjordConnectionError(`Could not decode the ${apiName(p.apiKey)} v${p.version} response from ${this.broker}: ${(err as Error).message}`, { broker: this.broker, retriable: false }));
      return;
    }
    const emit = this.options.emit;
    if (emit) {
      const now = Date.now();
      emit('request', {
        broker: this.broker, clientId: this.options.clientId, correlationId, size: p.size + frame.length,
        createdAt: p.sentAt, sentAt: p.sentAt, pendingDuration: 0, duration: now - p.sentAt,
        apiName: apiName(p.apiKey), apiKey: p.apiKey, apiVersion: p.version,
      });
    }
    p.resolve(body);
  }

  private destroy(err: Error): void {
    const wasConnected = this.connected || this.socket !== null;
    this.connected = false;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.removeAllListeners('data');
      socket.destroy();
    }
    this.received.clear();
    this.frameSize = -1;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    if (wasConnected) {
      if (!this.closing) this.options.logger.debug(err.message, { broker: this.broker });
      for (const l of this.closeListeners) l(this.closing ? undefined : err);
    }
  }

  /** Closes the socket; requests still waiting are rejected. */
  async close(): Promise<void> {
    this.closing = true;
    if (!this.socket) return;
    const socket = this.socket;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      this.destroy(new FjordConnectionError(`Connection to ${this.broker} was closed by the client`, { broker: this.broker, retriable: false }));
      if (socket.destroyed) setImmediate(resolve);
    });
  }
}
