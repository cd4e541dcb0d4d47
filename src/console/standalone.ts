// `fjord console`: the console on its own HTTP listener, in front of any Kafka-compatible cluster.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ConsoleServer } from './console.js';

export interface StandaloneConsole {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `console` on host:port (0: a free port); /health answers too, for a load balancer. */
export async function serveConsole(console: ConsoleServer, host: string, port: number): Promise<StandaloneConsole> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      if ((req.url ?? '').split('?')[0] === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"up"}\n');
        return;
      }
      if (!(await console.handle(req, res))) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}\n');
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal error"}\n');
      else res.destroy();
    });
  });
  // A slow or idle client must not hold a socket forever (a message search may take its time).
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await console.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
