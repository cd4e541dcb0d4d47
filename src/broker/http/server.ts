// The broker's HTTP listener (node:http): /metrics (Prometheus text), /health and /ready, for
// Prometheus, load balancers and orchestrators. Read-only and unauthenticated: it binds loopback
// by default, and the broker logs a WARN when told to bind anything else (docs/metrics.md).
// It knows nothing of the broker: it is given the two questions it answers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';

/** Whether the broker can serve: null when ready, else the reason it cannot (what /ready says). */
export type Readiness = () => string | null;

export interface HttpListenerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  readonly readiness: Readiness;
  /** The Prometheus text and its content type; absent: /metrics answers 404. */
  readonly metrics?: () => Promise<{ contentType: string; text: string }>;
}

/** An error binding the HTTP listener, so the command line can name the flag to change. */
export class HttpBindError extends Error {
  override name = 'HttpBindError';
  constructor(readonly code: string | undefined, readonly port: number, message: string) {
    super(message);
  }
}

/**
 * Something served beside /metrics, /health and /ready (the web console, src/console/mount.ts):
 * handle() answers the requests it knows and returns false for the others (404 then).
 */
export interface HttpMount {
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): Promise<void>;
}

export class HttpListener {
  private server: Server | null = null;
  private mounted: HttpMount | null = null;
  /** The port bound, once listen() resolved. */
  port = 0;

  constructor(private readonly options: HttpListenerOptions) {}

  async listen(): Promise<{ host: string; port: number }> {
    const server = createServer((req, res) => void this.handle(req, res));
    // A slow or idle client must not hold a socket forever.
    server.requestTimeout = 10_000;
    server.headersTimeout = 5_000;
    server.keepAliveTimeout = 5_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ ...(this.options.host === '' ? {} : { host: this.options.host }), port: this.options.port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new HttpBindError(e.code, this.options.port, `cannot listen for HTTP on ${this.options.host} port ${this.options.port}: ${e.code ?? e.message}`);
    }
    server.on('error', (err) => this.options.logger.warn(`HTTP listener: ${err.message}`));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return { host: this.options.host, port: this.port };
  }

  /** Serves `mount` beside the listener's own paths (one mount; closed with the listener). */
  mount(mount: HttpMount): void {
    this.mounted = mount;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const own = path === '/health' || path === '/ready' || path === '/metrics';
    if (!own && this.mounted) {
      try {
        if (await this.mounted.handle(req, res)) return;
      } catch (err) {
        this.options.logger.error(`HTTP ${req.method} ${path} failed: ${(err as Error)?.stack ?? String(err)}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
        return;
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'method not allowed' }));
      return;
    }
    const json = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body) + '\n');
    };
    switch (path) {
      case '/health':
        // The process is up and its event loop answers: that is all liveness means.
        json(200, { status: 'up' });
        return;
      case '/ready': {
        const reason = this.options.readiness();
        if (reason === null) json(200, { status: 'ready' });
        else json(503, { status: 'not ready', reason });
        return;
      }
      case '/metrics': {
        if (!this.options.metrics) break;
        try {
          const { contentType, text } = await this.options.metrics();
          res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        } catch (err) {
          this.options.logger.error(`/metrics failed: ${(err as Error)?.stack ?? String(err)}`);
          json(500, { error: 'collecting metrics failed' });
        }
        return;
      }
    }
    json(404, { error: 'not found', paths: ['/metrics', '/health', '/ready'] });
  }

  /** Stops listening and closes every connection (a scrape in progress is cut off). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    const mounted = this.mounted;
    this.mounted = null;
    await mounted?.close();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

/** Loopback addresses: the HTTP listener there needs no warning. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
