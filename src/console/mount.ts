// The one place the console meets the broker: mounts it on the broker's HTTP listener. The console
// then reaches the broker like any client, through one of its own listeners (PLAINTEXT, or
// SASL_PLAINTEXT with each browser session's login), so embedded and standalone (`fjord console`)
// run the same code. Nothing else in src/console imports src/broker.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Broker } from '../broker/broker.js';
import { isLoopbackHost } from '../broker/http/server.js';
import { saslMechanismsFor } from '../broker/listeners.js';
import { ConsoleServer, type LoginMechanism } from './console.js';

/** Fjord's version, from the package.json above this module (src/ or dist/). */
export function fjordVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'fjord' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/**
 * The SASL mechanism a login uses among those a listener enables (passwords only: no OAUTHBEARER).
 * PLAIN first: the broker checks it against whichever SCRAM credential the user has, where a
 * SCRAM-SHA-512 login would fail for a user who has only a SCRAM-SHA-256 one.
 */
function loginMechanism(enabled: readonly string[]): LoginMechanism | null {
  if (enabled.includes('PLAIN')) return 'plain';
  if (enabled.includes('SCRAM-SHA-256')) return 'scram-sha-256';
  if (enabled.includes('SCRAM-SHA-512')) return 'scram-sha-512';
  return null;
}

/** Where to connect to a bound host: a wildcard bind is reached on loopback. */
const reachable = (host: string) => (host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host);

/**
 * Mounts the console on `broker`'s HTTP listener when it has one and `console` is on; returns the
 * console (closed with the listener) or null, with the reason logged when a wanted console cannot be served.
 */
export function mountConsole(broker: Broker): ConsoleServer | null {
  const config = broker.config;
  if (!broker.http || !config.console) return null;
  // A SASL listener first: a broker with SASL users gets a console that asks for one.
  const index = (() => {
    const sasl = broker.listeners.findIndex((l) => l.securityProtocol === 'SASL_PLAINTEXT' && loginMechanism(saslMechanismsFor(config, l.name)) !== null);
    return sasl >= 0 ? sasl : broker.listeners.findIndex((l) => l.securityProtocol === 'PLAINTEXT');
  })();
  if (index < 0) {
    broker.logger.warn('the web console is not served: it needs a PLAINTEXT listener, or a SASL_PLAINTEXT one with PLAIN or SCRAM, to reach the broker (or turn it off with --console off)');
    return null;
  }
  const listener = broker.listeners[index];
  const login = listener.securityProtocol === 'SASL_PLAINTEXT' ? loginMechanism(saslMechanismsFor(config, listener.name)) : null;
  const server = new ConsoleServer({
    brokers: () => {
      const bound = broker.bound[index];
      const host = reachable(bound?.boundHosts[0] ?? listener.advertisedHost);
      return [`${host.includes(':') ? `[${host}]` : host}:${bound?.port ?? listener.advertisedPort}`];
    },
    login,
    readOnly: config.consoleReadOnly,
    maxRecords: config.consoleMaxRecords,
    scanLimit: config.consoleScanLimit,
    requestTimeoutMs: config.consoleRequestTimeoutMs,
    version: fjordVersion(),
    warn: (m) => broker.logger.warn(m),
  });
  broker.http.mount(server);
  if (login === null && !config.consoleReadOnly && !isLoopbackHost(config.httpHost)) {
    broker.logger.warn(`the web console on ${config.httpHost} needs no login (no SASL listener) and may change data: anyone who reaches the HTTP port can create and delete topics, produce and reset offsets. Bind it to loopback, add --console-read-only, or turn it off with --console off`);
  }
  return server;
}
