// The `fjord` command line: argument parsing and the commands. The process entry is main.ts.
// `fjord server` starts a broker (what `npm start` runs).
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Broker } from '../broker/broker.js';
import type { BrokerConfig } from '../broker/config.js';
import { configFromProperties, parseProperties } from '../broker/config-file.js';
import { ConfigError } from '../broker/listeners.js';
import { createLogger, resolveLogFormat } from '../broker/logger.js';
import { HttpBindError } from '../broker/http/server.js';
import { BROKER_SETTINGS, BROKER_SETTING_KEYS, DEFAULT_CONFIG, SERVER_DEFAULTS, brokerDefaultText, envVar, parseBrokerSetting } from '../broker/settings.js';
import { DataDirError, parseStorageSpec } from '../storage/engines.js';
import { StorageError } from '../storage/types.js';
import { unknownOptionMessage, unknownOptionOf } from './usage-error.js';

const SERVER_EXAMPLES = `Examples:
  fjord server
  fjord server --port 19092 --data-dir /var/lib/fjord --partitions 3
  FJORD_FLUSH=1000 fjord server
  fjord server --config server.properties
  fjord server --listeners PLAINTEXT://127.0.0.1:9092,SSL://0.0.0.0:9093 --ssl-client-auth required --ssl-keystore-location broker.pem --ssl-truststore-location ca.pem
`;

/** `fjord server --help`, written from the settings table. */
export function serverHelp(): string {
  const lines = [
    'Usage: fjord server [options]',
    '',
    'Starts a Kafka-compatible broker. Every option can also be set with the environment variable',
    'shown, or in a Java properties file given with --config, under its Kafka name (or',
    'fjord.<flag with dots>, e.g. fjord.data.dir). Flags win over the environment, which wins over',
    'the file. A switch (on|off) given alone means on. Topic settings and their defaults:',
    'docs/settings.md; listeners, TLS and the config file: docs/security.md.',
    '',
    '  --config <file>  (FJORD_CONFIG)',
    "      a Kafka server.properties: supported lines set their setting, the others are listed in one warning at start",
  ];
  for (const key of BROKER_SETTING_KEYS) {
    const s = BROKER_SETTINGS[key];
    const facts = [envVar(s.flag), `default ${brokerDefaultText(key) || 'none'}`];
    // Kafka's name only where the flag is not already that name with dashes.
    if (s.kafka && s.kafka.replaceAll('.', '-') !== s.flag) facts.push(`Kafka: ${s.kafka}`);
    lines.push(`  --${s.flag} <${s.type.placeholder}>  (${facts.join(', ')})`, `      ${s.description}`);
  }
  lines.push('  -h, --help', '      show this help', '', SERVER_EXAMPLES);
  return lines.join('\n');
}

/** What `fjord server` was given: the settings, the config file read (if any) and its unsupported lines. */
export interface ServerSettings {
  config: Partial<BrokerConfig>;
  configFile?: string;
  unsupported: string[];
}

/** A switch given alone (`--allow-unauthenticated-network`, then another flag or nothing) means on. */
function bareSwitches(argv: string[]): string[] {
  const switches = new Set(BROKER_SETTING_KEYS.filter((k) => BROKER_SETTINGS[k].type.flagText !== undefined).map((k) => `--${BROKER_SETTINGS[k].flag}`));
  const out: string[] = [];
  argv.forEach((arg, i) => {
    out.push(arg);
    const next = argv[i + 1];
    if (switches.has(arg) && (next === undefined || next.startsWith('--'))) out.push('on');
  });
  return out;
}

/**
 * The settings given on the command line, in the environment and in the --config file (flags win
 * over the environment, which wins over the file), checked by the table. An empty environment
 * variable counts as unset. `readFile` is how the config file is read (tests pass their own).
 */
export function serverSettings(argv: string[], env: NodeJS.ProcessEnv, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): ServerSettings | 'help' {
  const options: Record<string, { type: 'string' } | { type: 'boolean'; short: string }> = { help: { type: 'boolean', short: 'h' }, config: { type: 'string' } };
  for (const key of BROKER_SETTING_KEYS) options[BROKER_SETTINGS[key].flag] = { type: 'string' };
  let values: ReturnType<typeof parseArgs<{ args: string[]; strict: true; options: typeof options }>>['values'];
  try {
    ({ values } = parseArgs({ args: bareSwitches(argv), strict: true, options }));
  } catch (err) {
    const unknown = (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? unknownOptionOf((err as Error).message) : undefined;
    throw unknown === undefined ? err : new Error(unknownOptionMessage(unknown, Object.keys(options)));
  }
  if (values.help === true) return 'help';
  const fromConfig = values.config;
  const configFile = typeof fromConfig === 'string' ? fromConfig : env.FJORD_CONFIG || undefined;
  let config: Partial<BrokerConfig> = {};
  let unsupported: string[] = [];
  if (configFile !== undefined) {
    let text: string;
    try {
      text = readFile(configFile);
    } catch (err) {
      throw new Error(`cannot read the config file ${configFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    ({ config, unsupported } = configFromProperties(parseProperties(text), configFile));
  }
  const given = new Set<keyof BrokerConfig>(Object.keys(config) as (keyof BrokerConfig)[]);
  for (const key of BROKER_SETTING_KEYS) {
    const { flag } = BROKER_SETTINGS[key];
    const fromFlag = values[flag];
    const fromEnv = env[envVar(flag)];
    if (typeof fromFlag === 'string') parseBrokerSetting(config, key, fromFlag, `--${flag}`);
    else if (fromEnv !== undefined && fromEnv !== '') parseBrokerSetting(config, key, fromEnv, envVar(flag));
    else continue;
    given.add(key);
  }
  if (given.has('listeners') && (given.has('port') || given.has('listenHosts'))) {
    throw new Error('listeners replaces --host/--port: give the hosts and ports in listeners (NAME://host:port) instead');
  }
  return { config, configFile, unsupported };
}

/** The settings given on the command line or in the environment (see serverSettings). */
export function serverConfig(argv: string[], env: NodeJS.ProcessEnv): Partial<BrokerConfig> | 'help' {
  const settings = serverSettings(argv, env);
  return settings === 'help' ? 'help' : settings.config;
}

async function runServer(argv: string[]): Promise<number> {
  let settings;
  try {
    settings = serverSettings(argv, process.env);
  } catch (err) {
    process.stderr.write(`fjord server: ${(err as Error).message}\nRun "fjord server --help" for the options.\n`);
    return 2;
  }
  if (settings === 'help') {
    process.stdout.write(serverHelp());
    return 0;
  }
  const started = performance.now();
  const full = { ...DEFAULT_CONFIG, ...SERVER_DEFAULTS, ...settings.config };
  const logger = createLogger(full.logLevel, undefined, resolveLogFormat(full.logFormat));
  if (settings.unsupported.length > 0) {
    logger.warn(`${settings.configFile}: ${settings.unsupported.length} setting(s) Fjord does not support, not applied: ${settings.unsupported.join(', ')}`);
  }
  let broker: Broker;
  try {
    broker = new Broker(full, logger);
  } catch (err) {
    // A listener or TLS setting that cannot be served (or must not be): one line, like a bad flag.
    if (err instanceof ConfigError) {
      process.stderr.write(`fjord server: ${err.message}\n`);
      return 2;
    }
    logger.error(`could not start: ${(err as Error).message}`);
    return 1;
  }
  // Loaded only when served: a broker without the console starts without the client's modules.
  const webConsole = broker.http && full.console ? (await import('../console/mount.js')).mountConsole(broker) : null;
  try {
    await broker.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const port = (e as { port?: number }).port ?? full.port;
    const fix = full.listeners ? 'change it in listeners' : 'pick another with --port';
    if (err instanceof HttpBindError) logger.error(`could not start: ${err.message}${err.code === 'EADDRINUSE' ? ' (already in use)' : ''}; pick another port with --http-port, or turn the HTTP listener off with --http-port none`);
    else if (e.code === 'EADDRINUSE') logger.error(`port ${port} is already in use — is another broker running? ${fix}`);
    else if (e.code === 'EACCES' && e.syscall === 'listen') logger.error(`no permission to listen on port ${port} (ports below 1024 need privileges): ${fix}`);
    // The data dir's problems (and storage errors) are one line that says the fix; anything else is a bug: its stack helps.
    else if (err instanceof DataDirError || err instanceof StorageError) logger.error(`could not start: ${e.message}`);
    else logger.error(`could not start: ${e.stack ?? e.message}`);
    await broker.stop().catch(() => undefined);
    return 1;
  }
  // Signal handlers before the ready line: whoever waits for that line may stop us at once.
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
  const storage = parseStorageSpec(full.storage ?? full.dataDir);
  const where = storage.engine === 'memory' ? 'in memory (nothing is kept)' : storage.engine === 'postgres' ? `in ${storage.display}` : `in ${resolve(storage.path)}`;
  const hostText = (hosts: string[]) => hosts.map((h) => (h === '' ? '*' : h.includes(':') ? `[${h}]` : h)).join(', ');
  const listening = full.listeners === undefined
    ? `${hostText(broker.bound[0].boundHosts)} port ${broker.bound[0].port} (advertised as ${broker.advertisedHost}:${broker.advertisedPort})`
    : broker.listeners.map((l, i) => `${l.name} (${l.securityProtocol}) on ${hostText(broker.bound[i].boundHosts)} port ${broker.bound[i].port} (advertised as ${l.advertisedHost}:${l.advertisedPort})`).join(', ');
  const http = broker.httpAddress === null ? '' : `; metrics at http://${broker.httpAddress}/metrics${webConsole ? `, web console at http://${broker.httpAddress}/` : ''}`;
  logger.info(`Fjord listening on ${listening}; data ${where}; ready in ${Math.round(performance.now() - started)} ms${http}`);
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
  users       list, add and delete SCRAM users (SASL credentials)
  acls        list, add and remove ACLs (kafka-acls' flags)
  console     serve the web console for any Kafka-compatible cluster

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
    case 'users':
      return (await import('./users.js')).runUsers(rest);
    case 'acls':
      return (await import('./acls.js')).runAcls(rest);
    case 'console':
      return (await import('./console.js')).runConsole(rest);
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
