// Listeners (plain TCP, or TLS for SSL / SASL_SSL ones: listeners.ts, tls.ts) and Kafka framing.
// Every connection knows the listener it came through and its principal (ConnectionInfo). Each connection parses length-prefixed frames (many per chunk,
// or one split across chunks), hands them in arrival order to the dispatch function it was given
// (dispatch.ts in a broker) and writes the responses in the same order, even when an earlier
// request (a long-polling Fetch) finishes later. It knows nothing of APIs or handlers.
//
// Memory a client can make the broker hold is bounded three ways: a frame larger than
// socket.request.max.bytes closes its connection; every frame is counted in full against the
// broker-wide RequestBudget (queued.max.request.bytes) as soon as its size is read, until its
// response is built, and a connection whose next frame does not fit stops being read until it does;
// a connection that sits on an unfinished frame, or does nothing, for connections.max.idle.ms is
// closed (which gives back what its frame held).
import net from 'node:net';
import tls from 'node:tls';
import { ByteQueue } from '../protocol/byte-queue.js';
import type { ListenerInfo } from './listeners.js';
import type { Logger } from './logger.js';
import { ANONYMOUS_PRINCIPAL, type ListenerTls } from './tls.js';

/** Closes the connection without a response; a non-empty message is logged as the reason. */
export class CloseConnection extends Error {
  override name = 'CloseConnection';
}

/**
 * What the server knows of a connection, for the dispatcher and handlers (logs, DescribeGroups'
 * client host, the advertised address of its listener, who the client is).
 */
export interface ConnectionInfo {
  readonly id: number;
  /** Remote address as Kafka reports it ("/127.0.0.1"). */
  readonly clientHost: string;
  /** True once the connection is closed: a late response need not be encoded. */
  readonly isClosed: boolean;
  /** The listener the connection came in through: its name, securityProtocol and advertised address. */
  readonly listener: ListenerInfo;
  /**
   * Who the client is, as Kafka writes a principal: "User:ANONYMOUS" until authenticated; on an SSL
   * listener with a client certificate, "User:<name>" from ssl.principal.mapping.rules. SASL
   * authentication sets it (it is the one writable field).
   */
  principal: string;
  /** Writes the responses of the requests already taken, then closes; nothing more is read (a failed authentication). */
  closeAfterResponses(reason: string): void;
  /** Reads no further request for `ms` (a client over its quota: quotas/enforcer.ts). */
  mute(ms: number): void;
}

/** One listener to bind: its identity, hosts and port, and TLS for SSL / SASL_SSL listeners. */
export interface ListenerBinding {
  readonly info: ListenerInfo;
  /** '' = every interface. */
  readonly hosts: readonly string[];
  readonly port: number;
  readonly tls?: ListenerTls;
}

/** How long a client has to finish its TLS handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** A response frame as chunks (its size prefix included), or null for no response (acks=0). */
export type ResponseFrame = Buffer[] | null;

/**
 * Turns one request frame (without its size prefix) into its response frame, now or later.
 * `releaseFrame` gives the frame's bytes back to the RequestBudget early: the dispatcher calls it
 * once the decoded request no longer refers to the frame (otherwise that happens when the
 * response is built), so a request that waits (long-polling Fetch) does not hold the budget.
 * Throwing or rejecting with CloseConnection closes the connection (its message, when not empty,
 * is logged as the reason); the dispatcher logs anything else itself.
 */
export type Dispatch = (frame: Buffer, conn: ConnectionInfo, releaseFrame: () => void) => ResponseFrame | Promise<ResponseFrame>;

export interface ServerOptions {
  /** socket.request.max.bytes: a larger frame closes the connection. */
  readonly maxRequestBytes: number;
  /** queued.max.request.bytes: the broker-wide RequestBudget; -1 = no bound. */
  readonly queuedMaxRequestBytes: number;
  /** connections.max.idle.ms: idle or stuck connections are closed after this; -1 = never. */
  readonly connectionsMaxIdleMs: number;
  /** How often TLS listeners re-read their key/certificate/CA files; 0 = never. */
  readonly sslReloadIntervalMs?: number;
  readonly logger: Logger;
  readonly dispatch: Dispatch;
  /** Told of each accepted connection (metrics). */
  readonly onAccept?: (listener: ListenerInfo) => void;
}

/** Requests a connection may have in flight before we stop reading from its socket. */
export const MAX_IN_FLIGHT = 128;
/** Unsent response bytes a connection may queue before we stop reading its requests. */
export const MAX_UNSENT_BYTES = 64 * 1024 * 1024;
/**
 * At shutdown, how long requests already being handled get to finish and have their responses
 * sent before connections are closed (long-polling Fetches are what usually takes it all).
 */
export const SHUTDOWN_GRACE_MS = 2000;

interface Pending {
  done: boolean;
  frame: Buffer[] | null; // response chunks; null = no response
}

let nextConnectionId = 1;

/**
 * The broker-wide budget of request bytes: a frame is counted from the moment its size prefix is
 * read until its response is built (or its connection closes). A reservation that does not fit
 * waits, first come first served; one always fits when nothing else is reserved, so a frame
 * larger than the budget (but within socket.request.max.bytes) is read alone rather than never.
 */
export class RequestBudget {
  private used = 0;
  private peak = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  /** `limit` < 0: no bound. */
  constructor(readonly limit: number) {}

  /** Bytes reserved now, and the most ever reserved at once (for tests and operators). */
  stats(): { inUse: number; peak: number; waiting: number } {
    return { inUse: this.used, peak: this.peak, waiting: this.waiting.length };
  }

  private fits(bytes: number): boolean {
    return this.limit < 0 || this.used === 0 || this.used + bytes <= this.limit;
  }

  private take(bytes: number): void {
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
  }

  /** Reserves at once when the bytes fit and nobody waits; otherwise queues `grant` and returns a cancel function. */
  reserve(bytes: number, grant: () => void): (() => void) | null {
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return null;
    }
    const w = { bytes, grant };
    this.waiting.push(w);
    return () => {
      const i = this.waiting.indexOf(w);
      if (i >= 0) this.waiting.splice(i, 1);
      this.wake();
    };
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.used < 0) throw new Error(`assertion: request budget released below zero (${this.used})`);
    this.wake();
  }

  private wake(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const w = this.waiting.shift()!;
      this.take(w.bytes);
      w.grant();
    }
  }
}

export class Connection implements ConnectionInfo {
  readonly id = nextConnectionId++;
  private readonly received = new ByteQueue();
  private queue: Pending[] = [];
  private closed = false;
  /** Size of the frame at the front of `received` once it is reserved in the budget; -1 before. */
  private reserved = -1;
  /** Cancels a reservation that is waiting for the budget; null when not waiting. */
  private cancelWait: (() => void) | null = null;
  /** Last time bytes came in or a response went out (Date.now()). */
  private lastActivity = Date.now();
  /** Since when an unfinished frame has been waiting for more bytes (while we were reading); null: none. */
  private partialSince: number | null = null;
  /** Set at shutdown: no further frame is taken; requests in flight still get their responses. */
  private draining = false;
  readonly clientHost: string;
  principal: string;
  /** Set by closeAfterResponses: why the connection ends once its queued responses are written. */
  private closeWhenFlushed: string | null = null;
  /** While set, the connection is muted (throttled by a quota): no frame is taken. */
  private muteTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: net.Socket,
    readonly listener: ListenerInfo,
    principal: string,
    private readonly options: ServerOptions,
    private readonly budget: RequestBudget,
    private readonly onClose: (c: Connection) => void,
    /** Told of every request whose response is not built yet (the server waits for them at shutdown). */
    private readonly track: (handled: Promise<unknown>) => void,
  ) {
    this.clientHost = `/${socket.remoteAddress ?? 'unknown'}`;
    this.principal = principal;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => options.logger.debug(`connection ${this.id} ${this.clientHost}: ${err.message}`));
    socket.on('drain', () => this.maybeResume());
    socket.on('close', () => {
      this.closed = true;
      if (this.muteTimer) clearTimeout(this.muteTimer);
      this.giveBack();
      this.onClose(this);
    });
  }

  /** Returns what an unfinished frame holds of the budget (the connection is closing). */
  private giveBack(): void {
    if (this.cancelWait) {
      this.cancelWait();
      this.cancelWait = null;
    }
    if (this.reserved >= 0) {
      this.budget.release(this.reserved);
      this.reserved = -1;
    }
    this.received.clear();
  }

  /**
   * Why this connection should be closed now under connections.max.idle.ms, or null. A connection
   * we stopped reading (budget, backpressure) is not to blame, nor one waiting for a response.
   */
  idleReason(now: number, idleMs: number): string | null {
    if (this.closed || this.socket.isPaused()) return null;
    if (this.partialSince !== null && now - this.partialSince >= idleMs) {
      return `request frame unfinished for ${now - this.partialSince} ms (${this.received.length} bytes received; connections.max.idle.ms)`;
    }
    if (this.partialSince === null && this.queue.length === 0 && this.socket.writableLength === 0 && now - this.lastActivity >= idleMs) {
      return `idle for ${now - this.lastActivity} ms (connections.max.idle.ms)`;
    }
    return null;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Shutdown: reads nothing more (a frame not yet whole is dropped and its budget given back);
   * requests already taken still get their responses.
   */
  stopReading(): void {
    if (this.draining) return;
    this.draining = true;
    this.socket.pause();
    this.giveBack();
  }

  /** True while a response of this connection is being built or not yet written out. */
  get busy(): boolean {
    return !this.closed && (this.queue.length > 0 || this.socket.writableLength > 0);
  }

  close(reason?: string): void {
    if (this.closed) return;
    if (reason) this.options.logger.warn(`closing connection ${this.id} from ${this.clientHost}: ${reason}`);
    this.closed = true;
    this.socket.destroy();
  }

  closeAfterResponses(reason: string): void {
    if (this.closed || this.closeWhenFlushed !== null) return;
    this.closeWhenFlushed = reason;
    this.stopReading();
    if (this.queue.length === 0) this.flush();
  }

  mute(ms: number): void {
    if (this.closed || ms <= 0) return;
    if (this.muteTimer) clearTimeout(this.muteTimer);
    this.socket.pause();
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.takeFrames();
      this.maybeResume();
    }, ms);
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.draining) return;
    this.lastActivity = Date.now();
    this.received.push(chunk);
    this.takeFrames();
  }

  /** Dispatches every whole frame received; stops at a partial one or one the budget cannot take yet. */
  private takeFrames(): void {
    const max = this.options.maxRequestBytes;
    while (!this.closed && !this.draining && this.cancelWait === null && this.muteTimer === null) {
      if (this.received.length < 4) break;
      if (this.reserved < 0) {
        const size = this.received.peekInt32();
        if (size < 0 || size > max) {
          this.close(`request size ${size} is outside 0..${max} (socket.request.max.bytes)`);
          return;
        }
        const cancel = this.budget.reserve(size, () => this.granted(size));
        if (cancel) {
          // Not now: stop reading (the bytes stay in the kernel and the client's buffers).
          this.cancelWait = cancel;
          this.socket.pause();
          break;
        }
        this.reserved = size;
      }
      const size = this.reserved;
      if (this.received.length < 4 + size) break;
      const frame = this.received.take(4 + size).subarray(4);
      this.reserved = -1;
      this.partialSince = null;
      this.dispatch(frame, size);
    }
    if (this.received.length === 0) this.partialSince = null;
    else if (this.partialSince === null) this.partialSince = Date.now();
  }

  private granted(size: number): void {
    this.cancelWait = null;
    if (this.closed || this.draining) {
      this.budget.release(size);
      return;
    }
    this.reserved = size;
    this.partialSince = null; // the client could not send while we were not reading
    this.takeFrames();
    this.maybeResume();
  }

  private dispatch(frame: Buffer, size: number): void {
    const slot: Pending = { done: false, frame: null };
    this.queue.push(slot);
    let held = true;
    const releaseFrame = () => {
      if (!held) return;
      held = false;
      this.budget.release(size);
    };
    let result: ResponseFrame | Promise<ResponseFrame>;
    try {
      result = this.options.dispatch(frame, this, releaseFrame);
    } catch (err) {
      releaseFrame();
      this.queue.pop();
      this.failed(err);
      return;
    }
    if (result instanceof Promise) {
      this.track(result);
      result.then(
        (response) => { releaseFrame(); this.complete(slot, response); },
        (err) => { releaseFrame(); this.failed(err); },
      );
      if (this.queue.length >= MAX_IN_FLIGHT) this.socket.pause();
    } else {
      releaseFrame();
      this.complete(slot, result);
    }
  }

  private failed(err: unknown): void {
    if (err instanceof CloseConnection) {
      this.close(err.message);
      return;
    }
    // The dispatcher turns handler failures into CloseConnection; anything else is a bug there.
    this.options.logger.error(`connection ${this.id} from ${this.clientHost}: ${(err as Error)?.stack ?? err}`);
    this.close();
  }

  private complete(slot: Pending, response: ResponseFrame): void {
    if (this.closed) return;
    slot.frame = response;
    slot.done = true;
    this.flush();
  }

  private flush(): void {
    if (this.closed) return;
    let wrote = false;
    while (this.queue.length > 0 && this.queue[0].done) {
      const slot = this.queue.shift()!;
      if (slot.frame) {
        if (!wrote) this.socket.cork();
        wrote = true;
        for (const c of slot.frame) this.socket.write(c);
      }
    }
    if (wrote) {
      this.socket.uncork();
      this.lastActivity = Date.now();
    }
    if (this.closeWhenFlushed !== null && this.queue.length === 0) {
      if (this.closeWhenFlushed) this.options.logger.warn(`closing connection ${this.id} from ${this.clientHost}: ${this.closeWhenFlushed}`);
      this.closed = true;
      this.socket.end(); // FIN once the responses are out
      this.socket.resume(); // whatever still comes is dropped (onData), so the client's FIN is seen
      this.socket.setTimeout(SHUTDOWN_GRACE_MS, () => this.socket.destroy());
      return;
    }
    // A client that does not read its responses stops being read from, so memory stays bounded.
    if (this.socket.writableLength > MAX_UNSENT_BYTES) this.socket.pause();
    else this.maybeResume();
  }

  private maybeResume(): void {
    if (this.closed || this.draining || !this.socket.isPaused() || this.cancelWait !== null || this.muteTimer !== null) return;
    if (this.partialSince !== null) this.partialSince = Date.now(); // the client could not send while paused
    if (this.queue.length < MAX_IN_FLIGHT && this.socket.writableLength <= MAX_UNSENT_BYTES) this.socket.resume();
  }
}

export class KafkaServer {
  private servers: net.Server[] = [];
  private connections = new Set<Connection>();
  private idleTimer: NodeJS.Timeout | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  /** Requests being handled, on any connection (open or not): stop() lets them finish before storage closes. */
  private readonly handling = new Set<Promise<unknown>>();
  private accepting = true;
  /** queued.max.request.bytes, shared by every connection of this server. */
  readonly requestBudget: RequestBudget;
  port = 0;

  constructor(private readonly options: ServerOptions) {
    this.requestBudget = new RequestBudget(options.queuedMaxRequestBytes);
  }

  /** Open connections (for tests and operators). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** What is known of every open connection: listener and principal (for tests and operators). */
  connectionInfos(): ConnectionInfo[] {
    return [...this.connections];
  }

  /** Checks every connection against connections.max.idle.ms, a tenth of it apart (at most 10 s). */
  private startIdleSweep(): void {
    const idleMs = this.options.connectionsMaxIdleMs;
    if (idleMs < 0 || this.idleTimer) return;
    this.idleTimer = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) {
        const reason = c.idleReason(now, idleMs);
        if (reason === null) continue;
        this.options.logger.debug(`closing connection ${c.id} from ${c.clientHost}: ${reason}`);
        c.close();
      }
    }, Math.min(Math.max(Math.floor(idleMs / 10), 10), 10_000));
    this.idleTimer.unref();
  }

  /**
   * Binds every listener: each on all its hosts at one port (port 0: the first host's pick is
   * used for the others); hosts after the first that do not exist here (no IPv6) are skipped.
   * TLS listeners serve their ListenerTls context and have it re-read every sslReloadIntervalMs.
   */
  async listen(bindings: readonly ListenerBinding[]): Promise<{ boundHosts: string[]; port: number }[]> {
    const results: { boundHosts: string[]; port: number }[] = [];
    const tlsServers: { binding: ListenerBinding; servers: tls.Server[] }[] = [];
    for (const binding of bindings) {
      const boundHosts: string[] = [];
      let chosenPort = binding.port;
      const mine: tls.Server[] = [];
      for (const host of binding.hosts) {
        const server = this.createListener(binding);
        try {
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen({ ...(host === '' ? {} : { host }), port: chosenPort, exclusive: true }, () => {
              server.off('error', reject);
              resolve();
            });
          });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (boundHosts.length > 0 && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
            this.options.logger.warn(`not listening on ${host}: ${code}`);
            continue;
          }
          await this.close();
          throw err;
        }
        const addr = server.address() as net.AddressInfo;
        chosenPort = addr.port;
        boundHosts.push(host);
        this.servers.push(server);
        if (server instanceof tls.Server) mine.push(server);
      }
      if (binding.tls && mine.length > 0) tlsServers.push({ binding, servers: mine });
      results.push({ boundHosts, port: chosenPort });
    }
    if (results.length > 0) this.port = results[0].port;
    this.startIdleSweep();
    this.startTlsReload(tlsServers);
    return results;
  }

  private createListener(binding: ListenerBinding): net.Server {
    const material = binding.tls;
    if (!material) return net.createServer((socket) => this.accept(socket, binding, ANONYMOUS_PRINCIPAL));
    const server = tls.createServer(
      {
        ...material.secureContextOptions,
        requestCert: material.clientAuth !== 'none',
        rejectUnauthorized: material.clientAuth === 'required',
        handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
      },
      (socket) => {
        let principal = ANONYMOUS_PRINCIPAL;
        const cert = material.clientAuth === 'none' ? undefined : socket.getPeerX509Certificate();
        if (cert) {
          // ssl.client.auth=requested: a client may come without a certificate, not with a bad one.
          if (!socket.authorized) {
            this.options.logger.warn(`closing TLS connection from /${socket.remoteAddress} on listener ${binding.info.name}: client certificate refused (${String(socket.authorizationError)})`);
            socket.destroy();
            return;
          }
          try {
            principal = material.principalOf(cert);
          } catch (err) {
            this.options.logger.warn(`closing TLS connection from /${socket.remoteAddress} on listener ${binding.info.name}: ${(err as Error).message}`);
            socket.destroy();
            return;
          }
        }
        this.accept(socket, binding, principal);
      },
    );
    server.on('tlsClientError', (err, socket) => this.options.logger.debug(`TLS handshake with /${socket.remoteAddress ?? 'unknown'} on listener ${binding.info.name} failed: ${err.message}`));
    return server;
  }

  private accept(socket: net.Socket, binding: ListenerBinding, principal: string): void {
    if (!this.accepting) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, binding.info, principal, this.options, this.requestBudget, (c) => this.connections.delete(c), (p) => this.track(p));
    this.connections.add(conn);
    this.options.onAccept?.(binding.info);
    this.options.logger.debug(`connection ${conn.id} from ${conn.clientHost} on listener ${binding.info.name} (${binding.info.securityProtocol}) as ${principal}`);
  }

  /** Re-reads TLS files on an interval; a change that works replaces the context of new connections. */
  private startTlsReload(servers: { binding: ListenerBinding; servers: tls.Server[] }[]): void {
    const interval = this.options.sslReloadIntervalMs ?? 0;
    const watched = servers.filter((s) => s.binding.tls?.watchesFiles);
    if (interval <= 0 || watched.length === 0 || this.reloadTimer) return;
    this.reloadTimer = setInterval(() => {
      for (const { binding, servers: list } of watched) {
        const result = binding.tls!.reload();
        if (result === null) continue;
        if (result instanceof Error) {
          this.options.logger.warn(`${result.message}; still serving the previous certificates`);
          continue;
        }
        for (const server of list) server.setSecureContext(result);
        this.options.logger.info(`listener ${binding.info.name}: reloaded TLS key and certificates`);
      }
    }, interval);
    this.reloadTimer.unref();
  }

  private track(handled: Promise<unknown>): void {
    const settled = handled.then(() => undefined, () => undefined).finally(() => this.handling.delete(settled));
    this.handling.add(settled);
  }

  /**
   * First step of a shutdown: no new connections, and no new request on any connection; the
   * requests already taken keep running and their responses still go out (see drain()).
   */
  stopAccepting(): void {
    this.accepting = false;
    this.stopTimers();
    for (const s of this.servers) s.close();
    for (const c of this.connections) c.stopReading();
  }

  /**
   * Waits until every request being handled has finished and every open connection has written
   * its responses out, or `graceMs` passed (whichever is first). Call after stopAccepting().
   */
  async drain(graceMs: number = SHUTDOWN_GRACE_MS): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      if (this.handling.size === 0 && ![...this.connections].some((c) => c.busy)) return;
      const wait = Math.min(10, deadline - Date.now());
      await Promise.race([Promise.all([...this.handling]), new Promise((r) => setTimeout(r, wait))]);
    }
    const left = this.handling.size;
    if (left > 0) this.options.logger.info(`closing connections with ${left} request(s) still being handled after ${graceMs} ms`);
  }

  /** Closes every connection at once (requests in flight get no response) and the listeners. */
  private stopTimers(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
    if (this.reloadTimer) clearInterval(this.reloadTimer);
    this.reloadTimer = null;
  }

  async close(): Promise<void> {
    this.accepting = false;
    this.stopTimers();
    for (const c of this.connections) c.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers = [];
  }
}
