// The `fjord` command line: argument parsing and the commands. The process entry is main.ts.
// `fjord server` starts a broker (what `npm start` runs).
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { Broker } from '../broker/broker.js';
import { DEFAULT_CONFIG, parseFlush, type BrokerConfig } from '../broker/config.js';
import { createLogger, type LogLevel } from '../broker/logger.js';

const SERVER_HELP = `Usage: fjord server [options]

Starts a Kafka-compatible broker. Every option can also be set with the environment variable
shown; flags win over the environment.

  --port <n>                 port to listen on (FJORD_PORT, default 9092; 0 = any free port)
  --host <h[,h...]>          hosts to listen on (FJORD_HOST, default 127.0.0.1,::1)
  --advertised-host <h>      host clients are told to connect to (FJORD_ADVERTISED_HOST)
  --advertised-port <n>      port clients are told to connect to (FJORD_ADVERTISED_PORT)
  --data-dir <path|memory>   where the log lives (FJORD_DATA_DIR, default ./data)
  --partitions <n>           partitions of auto-created topics (FJORD_PARTITIONS, default 1)
  --auto-create <on|off>     create unknown topics on first use (FJORD_AUTO_CREATE, default on)
  --flush <always|os|ms>     always = fsync before acks=all answers (default); os = leave it to
                             the OS; <ms> = fsync on an interval (FJORD_FLUSH)
  --group-initial-rebalance-delay-ms <n>   (FJORD_GROUP_INITIAL_REBALANCE_DELAY_MS, default 3000)
  --offsets-retention-minutes <n>          committed offsets of a group that has been empty this
                             long are deleted (FJORD_OFFSETS_RETENTION_MINUTES, default 10080 = 7 days)
  --group-consumer-session-timeout-ms <n>  session of KIP-848 consumer-group members
                             (FJORD_GROUP_CONSUMER_SESSION_TIMEOUT_MS, default 45000)
  --group-consumer-heartbeat-interval-ms <n>  heartbeat interval told to KIP-848 members
                             (FJORD_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS, default 5000)
  --log-level <debug|info|warn|error>      (FJORD_LOG_LEVEL, default info)
  -h, --help                 show this help

Examples:
  fjord server
  fjord server --port 19092 --data-dir /var/lib/fjord --partitions 3
  FJORD_FLUSH=1000 fjord server
`;

function int(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, not "${value}"`);
  return n;
}

function onOff(name: string, value: string): boolean {
  if (['on', 'true', '1', 'yes'].includes(value)) return true;
  if (['off', 'false', '0', 'no'].includes(value)) return false;
  throw new Error(`${name} must be on or off, not "${value}"`);
}

export function serverConfig(argv: string[], env: NodeJS.ProcessEnv): Partial<BrokerConfig> | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' }, host: { type: 'string' }, 'advertised-host': { type: 'string' },
      'advertised-port': { type: 'string' }, 'data-dir': { type: 'string' }, partitions: { type: 'string' },
      'auto-create': { type: 'string' }, flush: { type: 'string' },
      'group-initial-rebalance-delay-ms': { type: 'string' }, 'log-level': { type: 'string' },
      'offsets-retention-minutes': { type: 'string' }, 'group-consumer-session-timeout-ms': { type: 'string' },
      'group-consumer-heartbeat-interval-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const pick = (flag: keyof typeof values, envName: string) => (values[flag] as string | undefined) ?? env[envName];
  const config: Partial<BrokerConfig> = {};
  const port = pick('port', 'FJORD_PORT'); if (port !== undefined) config.port = int('--port', port);
  const host = pick('host', 'FJORD_HOST'); if (host !== undefined) config.listenHosts = host.split(',').map((h) => h.trim()).filter(Boolean);
  const ah = pick('advertised-host', 'FJORD_ADVERTISED_HOST'); if (ah !== undefined) config.advertisedHost = ah;
  const ap = pick('advertised-port', 'FJORD_ADVERTISED_PORT'); if (ap !== undefined) config.advertisedPort = int('--advertised-port', ap);
  const dd = pick('data-dir', 'FJORD_DATA_DIR'); if (dd !== undefined) config.dataDir = dd === 'memory' ? 'memory' : dd;
  const parts = pick('partitions', 'FJORD_PARTITIONS');
  if (parts !== undefined) { config.defaultPartitions = int('--partitions', parts); if (config.defaultPartitions < 1) throw new Error('--partitions must be at least 1'); }
  const ac = pick('auto-create', 'FJORD_AUTO_CREATE'); if (ac !== undefined) config.autoCreateTopics = onOff('--auto-create', ac);
  const fl = pick('flush', 'FJORD_FLUSH'); if (fl !== undefined) config.flush = parseFlush(fl);
  const gd = pick('group-initial-rebalance-delay-ms', 'FJORD_GROUP_INITIAL_REBALANCE_DELAY_MS');
  if (gd !== undefined) config.groupInitialRebalanceDelayMs = int('--group-initial-rebalance-delay-ms', gd);
  const orm = pick('offsets-retention-minutes', 'FJORD_OFFSETS_RETENTION_MINUTES');
  if (orm !== undefined) { config.offsetsRetentionMinutes = int('--offsets-retention-minutes', orm); if (config.offsetsRetentionMinutes < 1) throw new Error('--offsets-retention-minutes must be at least 1'); }
  const cst = pick('group-consumer-session-timeout-ms', 'FJORD_GROUP_CONSUMER_SESSION_TIMEOUT_MS');
  if (cst !== undefined) config.groupConsumerSessionTimeoutMs = int('--group-consumer-session-timeout-ms', cst);
  const chi = pick('group-consumer-heartbeat-interval-ms', 'FJORD_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS');
  if (chi !== undefined) config.groupConsumerHeartbeatIntervalMs = int('--group-consumer-heartbeat-interval-ms', chi);
  const ll = pick('log-level', 'FJORD_LOG_LEVEL');
  if (ll !== undefined) {
    if (!['debug', 'info', 'warn', 'error'].includes(ll)) throw new Error(`--log-level must be debug, info, warn or error, not "${ll}"`);
    config.logLevel = ll as LogLevel;
  }
  return config;
}

async function runServer(argv: string[]): Promise<number> {
  let config;
  try {
    config = serverConfig(argv, process.env);
  } catch (err) {
    process.stderr.write(`fjord server: ${(err as Error).message}\nRun "fjord server --help" for the options.\n`);
    return 2;
  }
  if (config === 'help') {
    process.stdout.write(SERVER_HELP);
    return 0;
  }
  const started = performance.now();
  const full = { ...DEFAULT_CONFIG, ...config };
  const logger = createLogger(full.logLevel);
  const broker = new Broker(full, logger);
  try {
    await broker.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') logger.error(`port ${full.port} is already in use — is another broker running? pick another with --port`);
    else logger.error(`could not start: ${e.stack ?? e.message}`);
    await broker.stop().catch(() => undefined);
    return 1;
  }
  const where = full.dataDir === 'memory' ? 'in memory (nothing is kept)' : `in ${resolve(full.dataDir)}`;
  const hosts = full.listenHosts.map((h) => (h.includes(':') ? `[${h}]` : h)).join(', ');
  logger.info(`Fjord listening on ${hosts} port ${broker.advertisedPort} (advertised as ${broker.advertisedHost}:${broker.advertisedPort}); data ${where}; ready in ${Math.round(performance.now() - started)} ms`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received, shutting down`);
    try {
      await broker.stop();
      logger.info('stopped cleanly');
      process.exit(0);
    } catch (err) {
      logger.error(`error while stopping: ${(err as Error).message}`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  return -1; // keep running
}

const USAGE = `Usage: fjord <command> [options]

Commands:
  server      start a broker (fjord server --help for its options)
  topics      create, list, describe, alter and delete topics
  produce     send lines from stdin or a file as messages
  consume     print messages of a topic, with or without a consumer group
  groups      list, describe (lag), reset offsets of and delete consumer groups
  configs     describe and change topic and broker configs

Run "fjord <command> --help" for a command's options and examples.
Client commands reach the broker at --bootstrap-server (default localhost:9092, or FJORD_BROKERS).

Examples:
  fjord server
  fjord topics create orders --partitions 3
  seq 10 | fjord produce orders
  fjord consume orders --from-beginning --exit-at-end
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'server':
      return runServer(rest);
    // Client commands are loaded on demand so `fjord server` starts without them.
    case 'topics':
      return (await import('./topics.js')).runTopics(rest);
    case 'produce':
      return (await import('./produce.js')).runProduce(rest);
    case 'consume':
      return (await import('./consume.js')).runConsume(rest);
    case 'groups':
      return (await import('./groups.js')).runGroups(rest);
    case 'configs':
      return (await import('./configs.js')).runConfigs(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`fjord: unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}
