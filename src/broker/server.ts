// TCP listener and Kafka framing. Each connection parses length-prefixed frames (many per chunk,
// or one split across chunks), hands them in arrival order to the dispatch function it was given
// (dispatch.ts in a broker) and writes the responses in the same order, even when an earlier
// request (a long-polling Fetch) finishes later. It knows nothing of APIs or handlers.
import net from 'node:net';
import { ByteQueue } from '../protocol/byte-queue.js';
import type { Logger } from './logger.js';

/** Closes the connection without a response; a non-empty message is logged as the reason. */
export class CloseConnection extends Error {
  override name = 'CloseConnection';
}

/** What the server knows of a connection, for the dispatcher (logs, DescribeGroups' client host). */
export interface ConnectionInfo {
  readonly id: number;
  /** Remote address as Kafka reports it ("/127.0.0.1"). */
  readonly clientHost: string;
  /** True once the connection is closed: a late response need not be encoded. */
  readonly isClosed: boolean;
}

/** A response frame as chunks (its size prefix included), or null for no response (acks=0). */
export type ResponseFrame = Buffer[] | null;

/**
 * Turns one request frame (without its size prefix) into its response frame, now or later.
 * Throwing or rejecting with CloseConnection closes the connection (its message, when not empty,
 * is logged as the reason); the dispatcher logs anything else itself.
 */
export type Dispatch = (frame: Buffer, conn: ConnectionInfo) => ResponseFrame | Promise<ResponseFrame>;

export interface ServerOptions {
  /** socket.request.max.bytes: a larger frame closes the connection. */
  readonly maxRequestBytes: number;
  readonly logger: Logger;
  readonly dispatch: Dispatch;
}

/** Requests a connection may have in flight before we stop reading from its socket. */
const MAX_IN_FLIGHT = 128;
/** Unsent response bytes a connection may queue before we stop reading its requests. */
const MAX_UNSENT_BYTES = 64 * 1024 * 1024;

interface Pending {
  done: boolean;
  frame: Buffer[] | null; // response chunks; null = no response
}

let nextConnectionId = 1;

export class Connection implements ConnectionInfo {
  readonly id = nextConnectionId++;
  private readonly received = new ByteQueue();
  private queue: Pending[] = [];
  private closed = false;
  readonly clientHost: string;

  constructor(private readonly socket: net.Socket, private readonly options: ServerOptions, private readonly onClose: (c: Connection) => void) {
    this.clientHost = `/${socket.remoteAddress ?? 'unknown'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => options.logger.debug(`connection ${this.id} ${this.clientHost}: ${err.message}`));
    socket.on('drain', () => this.maybeResume());
    socket.on('close', () => {
      this.closed = true;
      this.onClose(this);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(reason?: string): void {
    if (this.closed) return;
    if (reason) this.options.logger.warn(`closing connection ${this.id} from ${this.clientHost}: ${reason}`);
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.received.push(chunk);
    const max = this.options.maxRequestBytes;
    for (;;) {
      if (this.received.length < 4) return;
      const size = this.received.peekInt32();
      if (size < 0 || size > max) {
        this.close(`request size ${size} is outside 0..${max} (socket.request.max.bytes)`);
        return;
      }
      if (this.received.length < 4 + size) return;
      const frame = this.received.take(4 + size).subarray(4);
      this.dispatch(frame);
      if (this.closed) return;
    }
  }

  private dispatch(frame: Buffer): void {
    const slot: Pending = { done: false, frame: null };
    this.queue.push(slot);
    let result: ResponseFrame | Promise<ResponseFrame>;
    try {
      result = this.options.dispatch(frame, this);
    } catch (err) {
      this.queue.pop();
      this.failed(err);
      return;
    }
    if (result instanceof Promise) {
      result.then((response) => this.complete(slot, response), (err) => this.failed(err));
      if (this.queue.length >= MAX_IN_FLIGHT) this.socket.pause();
    } else {
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
    if (wrote) this.socket.uncork();
    // A client that does not read its responses stops being read from, so memory stays bounded.
    if (this.socket.writableLength > MAX_UNSENT_BYTES) this.socket.pause();
    else this.maybeResume();
  }

  private maybeResume(): void {
    if (this.closed || !this.socket.isPaused()) return;
    if (this.queue.length < MAX_IN_FLIGHT && this.socket.writableLength <= MAX_UNSENT_BYTES) this.socket.resume();
  }
}

export class KafkaServer {
  private servers: net.Server[] = [];
  private connections = new Set<Connection>();
  port = 0;

  constructor(private readonly options: ServerOptions) {}

  /** Listens on every configured host at the same port; hosts that do not exist here (no IPv6) are skipped. */
  async listen(hosts: string[], port: number): Promise<{ boundHosts: string[]; port: number }> {
    const boundHosts: string[] = [];
    let chosenPort = port;
    for (const host of hosts) {
      const server = net.createServer((socket) => {
        const conn = new Connection(socket, this.options, (c) => this.connections.delete(c));
        this.connections.add(conn);
      });
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ host, port: chosenPort, exclusive: true }, () => {
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
    }
    this.port = chosenPort;
    return { boundHosts, port: chosenPort };
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers = [];
  }
}
