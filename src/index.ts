/// <reference types="node" preserve="true" />
// Public entry point of the `fjord` package.
import { Broker } from './broker/broker.js';
import type { BrokerConfig } from './broker/config.js';
import { createLogger, type Logger } from './broker/logger.js';

export { Broker } from './broker/broker.js';
export type { BrokerConfig } from './broker/config.js';
export { DEFAULT_CONFIG } from './broker/settings.js';
// The broker's logger is BrokerLogger here: `Logger` is kafkajs' client logger (src/client), so a
// kafkajs program that imports it keeps compiling.
export { createLogger, type Logger as BrokerLogger, type LogLevel } from './broker/logger.js';

export interface StartBrokerOptions extends Partial<Omit<BrokerConfig, 'listenHosts'>> {
  /** Host to listen on (default 127.0.0.1 for an embedded broker), or several. */
  host?: string | string[];
  /** 'memory' for in-memory storage, or a folder for file storage. Default: 'memory'. */
  dataDir?: string;
  logger?: Logger;
}

export interface RunningBroker {
  readonly host: string;
  readonly port: number;
  /** "host:port", ready to pass to a client's brokers list. */
  readonly address: string;
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
  const { host, logger, ...rest } = options;
  const listenHosts = host === undefined ? ['127.0.0.1'] : Array.isArray(host) ? host : [host];
  const config: Partial<BrokerConfig> = { port: 0, dataDir: 'memory', logLevel: 'warn', ...rest, listenHosts };
  const broker = new Broker(config, logger ?? createLogger(config.logLevel));
  await broker.start();
  let stopped: Promise<void> | null = null;
  return {
    host: broker.advertisedHost,
    port: broker.advertisedPort,
    address: `${broker.advertisedHost}:${broker.advertisedPort}`,
    broker,
    stop: () => (stopped ??= broker.stop()),
  };
}

// Fjord's Kafka client (kafkajs-compatible): `import { Kafka } from 'fjord'`.
export * from './client/index.js';
