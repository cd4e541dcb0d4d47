// TCP listener and Kafka framing. Each connection parses length-prefixed frames (many per chunk,
// or one split across chunks), dispatches them in arrival order and writes the responses in the
// same order, even when an earlier request (a long-polling Fetch) finishes later.
import net from 'node:net';
import { apiName } from '../protocol/apis.js';
import { compile, type DecodedMessage } from '../protocol/codec.js';
import { readRequestHeader, writeResponseHeader, type RequestHeader } from '../protocol/header.js';
import { ByteQueue } from '../protocol/byte-queue.js';
import { DecodeError, Reader, Writer } from '../protocol/primitives.js';
import type { Broker } from './broker.js';
import { CloseConnection, type HandlerResult, type RequestContext } from './handler.js';
import { findHandler, unsupportedVersionResponse } from './registry.js';
import { ApiKey } from '../protocol/apis.js';

/** Requests a connection may have in flight before we stop reading from its socket. */
const MAX_IN_FLIGHT = 128;
/** Unsent response bytes a connection may queue before we stop reading its requests. */
const MAX_UNSENT_BYTES = 64 * 1024 * 1024;

interface Pending {
  done: boolean;
  frame: Buffer[] | null; // response chunks; null = no response
}

let nextConnectionId = 1;

export class Connection {
  readonly id = nextConnectionId++;
  private readonly received = new ByteQueue();
  private queue: Pending[] = [];
  private closed = false;
  readonly clientHost: string;

  constructor(private readonly socket: net.Socket, private readonly broker: Broker, private readonly onClose: (c: Connection) => void) {
    this.clientHost = `/${socket.remoteAddress ?? 'unknown'}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (err) => broker.logger.debug(`connection ${this.id} ${this.clientHost}: ${err.message}`));
    socket.on('drain', () => this.maybeResume());
    socket.on('close', () => {
      this.closed = true;
      this.onClose(this);
    });
  }

  close(reason?: string): void {
    if (this.closed) return;
    if (reason) this.broker.logger.warn(`closing connection ${this.id} from ${this.clientHost}: ${reason}`);
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.received.push(chunk);
    for (;;) {
      if (this.received.length < 4) return;
      const size = this.received.peekInt32();
      if (size < 0 || size > this.broker.config.maxRequestBytes) {
        this.close(`request size ${size} is outside 0..${this.broker.config.maxRequestBytes} (socket.request.max.bytes)`);
        return;
      }
      if (this.received.length < 4 + size) return;
      const frame = this.received.take(4 + size).subarray(4);
      this.dispatch(frame);
      if (this.closed) return;
    }
  }

  private dispatch(frame: Buffer): void {
    const reader = new Reader(frame);
    let header: RequestHeader;
    try {
      header = readRequestHeader(reader);
    } catch (err) {
      this.close(`malformed request header (${(err as Error).message})`);
      return;
    }
    const handler = findHandler(header.apiKey);
    if (!handler) {
      this.close(`unknown API key ${header.apiKey}`);
      return;
    }
    const slot: Pending = { done: false, frame: null };
    this.queue.push(slot);
    if (header.apiVersion < handler.minVersion || header.apiVersion > handler.maxVersion) {
      if (header.apiKey === ApiKey.ApiVersions) {
        // Clients send their newest ApiVersions first; answer in v0 with the ranges we support.
        this.complete(slot, header, 0, unsupportedVersionResponse());
        return;
      }
      this.queue.pop();
      this.close(`unsupported version ${header.apiVersion} of ${apiName(header.apiKey)} (supported ${handler.minVersion}-${handler.maxVersion})`);
      return;
    }
    let request: DecodedMessage;
    try {
      request = compile(handler.schema.request, header.apiVersion).decode(reader);
    } catch (err) {
      this.queue.pop();
      this.close(`malformed ${apiName(header.apiKey)} v${header.apiVersion} request (${(err as Error).message})`);
      return;
    }
    const ctx: RequestContext = { broker: this.broker, header, version: header.apiVersion, clientHost: this.clientHost, connectionId: this.id };
    let result: HandlerResult<object>;
    try {
      result = handler.handle(ctx, request);
    } catch (err) {
      this.failed(header, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (body) => this.complete(slot, header, header.apiVersion, body),
        (err) => this.failed(header, err),
      );
      if (this.queue.length >= MAX_IN_FLIGHT) this.socket.pause();
    } else {
      this.complete(slot, header, header.apiVersion, result);
    }
  }

  private failed(header: RequestHeader, err: unknown): void {
    if (err instanceof CloseConnection) {
      this.close(`${apiName(header.apiKey)} v${header.apiVersion}: ${err.message}`);
      return;
    }
    this.broker.logger.error(`${apiName(header.apiKey)} v${header.apiVersion} from ${this.clientHost} failed: ${(err as Error)?.stack ?? err}`);
    this.close();
  }

  private complete(slot: Pending, header: RequestHeader, bodyVersion: number, body: object | null): void {
    if (this.closed) return;
    if (body !== null) {
      const handler = findHandler(header.apiKey)!;
      const w = new Writer(256);
      w.int32(0); // size, patched below
      writeResponseHeader(w, header.apiKey, header.apiVersion, header.correlationId);
      try {
        compile(handler.schema.response, bodyVersion).encode(w, body);
      } catch (err) {
        this.failed(header, err);
        return;
      }
      const total = w.length;
      const chunks = w.finishChunks();
      chunks[0].writeInt32BE(total - 4, 0);
      slot.frame = chunks;
    }
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

  constructor(private readonly broker: Broker) {}

  /** Listens on every configured host at the same port; hosts that do not exist here (no IPv6) are skipped. */
  async listen(hosts: string[], port: number): Promise<{ boundHosts: string[]; port: number }> {
    const boundHosts: string[] = [];
    let chosenPort = port;
    for (const host of hosts) {
      const server = net.createServer((socket) => {
        const conn = new Connection(socket, this.broker, (c) => this.connections.delete(c));
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
          this.broker.logger.warn(`not listening on ${host}: ${code}`);
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
