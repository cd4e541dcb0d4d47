/// <reference types="node" preserve="true" />
// Public entry point of the `fjord` package.
import { Broker } from './broker/broker.js';
import type { BrokerConfig } from './broker/config.js';
import { ConfigError, type SecurityProtocol } from './broker/listeners.js';
import type { Logger } from './broker/logger.js';

export { Broker } from './broker/broker.js';
export type { BrokerConfig } from './broker/config.js';
export { DEFAULT_CONFIG } from './broker/settings.js';
export { ConfigError, type SecurityProtocol, type ListenerInfo } from './broker/listeners.js';
// The broker's logger is BrokerLogger here: `Logger` is kafkajs' client logger (src/client), so a
// kafkajs program that imports it keeps compiling.
export { createLogger, type Logger as BrokerLogger, type LogLevel } from './broker/logger.js';

export interface StartBrokerOptions extends Partial<Omit<BrokerConfig, 'listenHosts' | 'listeners'>> {
  /** Host to listen on (default 127.0.0.1 for an embedded broker), or several. */
  host?: string | string[];
  /**
   * Named listeners instead of host/port, Kafka's syntax: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0'
   * or an array of items (port 0 picks a free one). SSL listeners need the ssl* options.
   */
  listeners?: string | string[];
  /** 'memory' for in-memory storage, or a folder for file storage. Default: 'memory'. */
  dataDir?: string;
  logger?: Logger;
}

/** One listener of a running broker, as clients of it are told to connect. */
export interface RunningListener {
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
  readonly host: string;
  readonly port: number;
  readonly address: string;
}

export interface RunningBroker {
  /** The first listener's advertised host and port. */
  readonly host: string;
  readonly port: number;
  /** "host:port", ready to pass to a client's brokers list. */
  readonly address: string;
  /** Every listener, in the order given. */
  readonly listeners: readonly RunningListener[];
  readonly broker: Broker;
  stop(): Promise<void>;
}

/**
 * Starts a broker in this process. Port 0 (the default) picks a free port; storage defaults to memory.
 *
 *   const kafka = await startBroker();
 *   new Kafka({ brokers: [kafka.address] });
 *   await kafka.stop();
 */
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const { host, logger, listeners, ...rest } = options;
  if (listeners !== undefined && (host !== undefined || rest.port !== undefined)) throw new ConfigError('give listeners or host/port, not both');
  const listenHosts = host === undefined ? ['127.0.0.1'] : Array.isArray(host) ? host : [host];
  const named = listeners === undefined ? undefined : (Array.isArray(listeners) ? listeners : listeners.split(',')).map((l) => l.trim()).filter(Boolean);
  const config: Partial<BrokerConfig> = { port: 0, dataDir: 'memory', logLevel: 'warn', ...rest, listenHosts, ...(named ? { listeners: named } : {}) };
  const broker = new Broker(config, logger);
  // The web console rides on the HTTP listener, which an embedded broker has only when asked (httpPort).
  if (broker.http && broker.config.console) (await import('./console/mount.js')).mountConsole(broker);
  await broker.start();
  let stopped: Promise<void> | null = null;
  return {
    host: broker.advertisedHost,
    port: broker.advertisedPort,
    address: `${broker.advertisedHost}:${broker.advertisedPort}`,
    listeners: broker.listeners.map((l) => ({ name: l.name, securityProtocol: l.securityProtocol, host: l.advertisedHost, port: l.advertisedPort, address: `${l.advertisedHost}:${l.advertisedPort}` })),
    broker,
    stop: () => (stopped ??= broker.stop()),
  };
}

// Fjord's Kafka client (kafkajs-compatible): `import { Kafka } from 'fjord'`.
export * from './client/index.js';
