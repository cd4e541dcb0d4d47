// What the client commands of `fjord` share: flag parsing with Kafka's flag names as aliases,
// the broker address, exit codes, error messages that say what to do, tables and colours.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  FjordAggregateError, FjordConnectionError, FjordError, FjordNumberOfRetriesExceeded, FjordProtocolError,
  FjordTopicMetadataError, Kafka, logLevel, type SaslOptions,
} from '../client/index.js';
import { commandConfigFrom, isConnectionProperty, readPropertiesFile } from './command-config.js';
import { UsageError, unknownOptionMessage, unknownOptionOf } from './usage-error.js';

/** Exit codes. Scripts can rely on them. */
export const Exit = {
  OK: 0,
  /** The broker refused or the operation failed (unknown topic, existing topic, ...). */
  FAILED: 1,
  /** Bad command line: unknown flag, missing argument, bad value. */
  USAGE: 2,
  /** No broker answered at the bootstrap address. */
  UNREACHABLE: 3,
  /** Interrupted (SIGINT) before finishing what was asked. */
  INTERRUPTED: 130,
} as const;

export { UsageError } from './usage-error.js';

/** Bad input data (a malformed line, an unreadable file): exit 1 with the message. */
export class InputError extends Error {
  override name = 'InputError';
}

/** Flags every client command takes. */
export const COMMON_OPTIONS = {
  'bootstrap-server': { type: 'string', short: 'b' },
  brokers: { type: 'string' },
  'broker-list': { type: 'string' },
  'client-id': { type: 'string' },
  'request-timeout': { type: 'string' },
  'command-config': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `Connection:
  -b, --bootstrap-server <host:port[,host:port]>   broker(s) to contact (FJORD_BROKERS,
                             default localhost:9092); --brokers and Kafka's
                             --broker-list are the same
  --client-id <id>           client id sent to the broker (default fjord-cli)
  --request-timeout <ms>     how long to wait for a broker answer (default 30000)
  --command-config <file>    Kafka's client properties file: security.protocol, sasl.mechanism,
                             sasl.jaas.config, ssl.* (PEM), client.id, request.timeout.ms
                             (FJORD_COMMAND_CONFIG)
  -v, --verbose              log what the client does, on stderr
  -h, --help                 show this help
`;

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** parseArgs with strict checking; errors become UsageError with a readable message. */
export function parse(argv: string[], options: ParseArgsConfig['options'], allowPositionals = true): { values: Values; positionals: string[] } {
  const all = { ...COMMON_OPTIONS, ...options };
  // parseArgs reads "--shift-by -10" as two flags: join a negative number (or "-") to its option.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    const next = argv[i + 1];
    if (name && (all as Record<string, { type: string }>)[name]?.type === 'string' && next !== undefined && /^-(\d|$)/.test(next)) {
      args.push(`${argv[i]}=${next}`);
      i++;
    } else {
      args.push(argv[i]);
    }
  }
  try {
    const { values, positionals } = parseArgs({ args, options: all, strict: true, allowPositionals });
    return { values: values as Values, positionals };
  } catch (err) {
    const e = err as Error & { code?: string };
    const unknown = e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? unknownOptionOf(e.message) : undefined;
    if (unknown !== undefined) throw new UsageError(unknownOptionMessage(unknown, Object.keys(all)));
    throw new UsageError(e.message);
  }
}

export const str = (v: Values[string]): string | undefined => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[v.length - 1]) : undefined);
export const list = (v: Values[string]): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

export function int(name: string, v: string | undefined, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` ≥ ${min}` : ''}, not "${v}"`);
  return n;
}

/** k=v pairs from repeated flags, each of which may hold several comma-separated pairs. */
export function pairs(name: string, values: string[], splitCommas = true): [string, string][] {
  const out: [string, string][] = [];
  for (const v of values) {
    for (const part of splitCommas ? v.split(',') : [v]) {
      if (part === '') continue;
      const at = part.indexOf('=');
      if (at <= 0) throw new UsageError(`${name} takes key=value, not "${part}"`);
      out.push([part.slice(0, at), part.slice(at + 1)]);
    }
  }
  return out;
}

/** The broker list given on the command line (--bootstrap-server, --brokers or --broker-list), if any. */
const flaggedBrokers = (values: Values): string | undefined => str(values['bootstrap-server']) ?? str(values.brokers) ?? str(values['broker-list']);

export function brokersOf(values: Values): string[] {
  const raw = flaggedBrokers(values) ?? process.env.FJORD_BROKERS ?? 'localhost:9092';
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new UsageError('--bootstrap-server needs at least one host:port');
  for (const b of list) if (!/^(\[[^\]]+\]|[^:\s]+):\d+$/.test(b)) throw new UsageError(`--bootstrap-server takes host:port, not "${b}"`);
  return list;
}

/**
 * The client for a command. `extra` holds connection properties given with --consumer-property /
 * --producer-property (or their config files): they win over the --command-config file.
 */
export function kafkaFor(values: Values, sasl?: SaslOptions, extra?: { props: Map<string, string>; source: string }): Kafka {
  // Flags win over the properties file, as with Kafka's tools.
  const configFile = str(values['command-config']) ?? process.env.FJORD_COMMAND_CONFIG;
  const props = configFile ? readPropertiesFile(configFile, '--command-config') : new Map<string, string>();
  for (const [k, v] of extra?.props ?? []) props.set(k, v);
  const source = extra?.props.size ? (configFile ? `${configFile} with ${extra.source}` : extra.source) : configFile ?? '';
  const file = configFile || extra?.props.size ? commandConfigFrom(props, source) : {};
  const flagged = flaggedBrokers(values) ?? process.env.FJORD_BROKERS;
  return new Kafka({
    sasl: sasl ?? file.sasl,
    ssl: file.ssl,
    clientId: str(values['client-id']) ?? file.clientId ?? 'fjord-cli',
    brokers: flagged === undefined && file.brokers ? file.brokers : brokersOf(values),
    logLevel: values.verbose ? logLevel.INFO : logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: int('--request-timeout', str(values['request-timeout']), 1) ?? file.requestTimeout ?? 30000,
    // Fail fast: a command line is interactive, not a long-running service.
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

// --- output -----------------------------------------------------------------------------------

const useColour = (stream: NodeJS.WriteStream) => !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
const paint = (code: string) => (stream: NodeJS.WriteStream, s: string) => (useColour(stream) ? `\u001b[${code}m${s}\u001b[0m` : s);
export const bold = paint('1');
export const dim = paint('2');
export const red = paint('31');
export const green = paint('32');
export const yellow = paint('33');

/** Aligned columns; the header row is bold on a terminal. */
export function table(headers: string[], rows: (string | number)[][], stream: NodeJS.WriteStream = process.stdout): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  const head = bold(stream, line(headers));
  return [head, ...cells.map(line)].join('\n') + '\n';
}

export function out(text: string): void {
  process.stdout.write(text);
}

// --- errors -----------------------------------------------------------------------------------

function rootCause(err: unknown): unknown {
  let e = err;
  while (e instanceof FjordNumberOfRetriesExceeded && e.cause) e = e.cause;
  return e;
}

/** Prints a friendly message for `err` on stderr and returns the exit code to use. */
export function report(command: string, err: unknown, brokers: string[] = []): number {
  const e = rootCause(err);
  const say = (msg: string) => process.stderr.write(`${red(process.stderr, 'error:')} ${msg}\n`);
  if (e instanceof UsageError) {
    say(e.message);
    process.stderr.write(`Run "fjord ${command} --help" for usage.\n`);
    return Exit.USAGE;
  }
  if (e instanceof FjordConnectionError) {
    const where = brokers.length ? brokers.join(', ') : e.broker ?? 'the broker';
    const refused = e.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(e.message);
    const unknownHost = e.code === 'ENOTFOUND' || /ENOTFOUND|EAI_AGAIN/.test(e.message);
    if (unknownHost) say(`cannot resolve ${where} — check the host name in --bootstrap-server`);
    else say(`cannot reach ${where}${refused ? '' : ` (${e.message})`} — is the broker running? start one with \`fjord server\``);
    return Exit.UNREACHABLE;
  }
  if (e instanceof InputError) {
    say(e.message);
    return Exit.FAILED;
  }
  if (e instanceof FjordTopicMetadataError) {
    say(`${e.message}${/does not exist/.test(e.message) ? ' — create it with `fjord topics create ' + e.topic + '`' : ''}`);
    return Exit.FAILED;
  }
  if (e instanceof FjordAggregateError) {
    say(e.errors.length === 1 ? e.errors[0].message : e.message);
    return Exit.FAILED;
  }
  if (e instanceof FjordProtocolError) {
    say(`${e.message} (${e.type})`);
    return Exit.FAILED;
  }
  if (e instanceof FjordError) {
    say(e.message);
    return Exit.FAILED;
  }
  say(e instanceof Error ? e.stack ?? e.message : String(e));
  return Exit.FAILED;
}

/** Runs a command body with the standard help and error handling. */
export async function runCommand(command: string, help: string, argv: string[], body: (argv: string[]) => Promise<number>): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    out(help);
    return Exit.OK;
  }
  let brokers: string[] = [];
  try {
    const b = argv.findIndex((a) => a === '--bootstrap-server' || a === '-b' || a === '--brokers' || a === '--broker-list');
    if (b >= 0 && argv[b + 1]) brokers = argv[b + 1].split(',');
    else {
      const eq = argv.find((a) => a.startsWith('--bootstrap-server=') || a.startsWith('--brokers=') || a.startsWith('--broker-list='));
      brokers = eq ? eq.slice(eq.indexOf('=') + 1).split(',') : (process.env.FJORD_BROKERS ?? 'localhost:9092').split(',');
    }
    return await body(argv);
  } catch (err) {
    return report(command, err, brokers);
  }
}

/** Parses a time given as epoch milliseconds or an ISO-8601 date. */
export function parseTime(name: string, v: string): number {
  if (/^-?\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`${name} takes epoch milliseconds or an ISO date like 2024-05-01T12:00:00Z, not "${v}"`);
  return t;
}

// --- Kafka client properties (--consumer-property, --producer-property) -------------------------

/** How one client property is applied: checks its value and sets what it stands for. */
export type PropertyRules = Record<string, (value: string) => void>;

export function intProperty(key: string, v: string, min = 0): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new UsageError(`${key} must be an integer ≥ ${min}, not "${v}"`);
  return n;
}

export function boolProperty(key: string, v: string): boolean {
  const t = v.trim().toLowerCase();
  if (t !== 'true' && t !== 'false') throw new UsageError(`${key} takes true or false, not "${v}"`);
  return t === 'true';
}

/**
 * Kafka client properties from `--<flag> k=v` (repeatable) over the file of `--<fileFlag>`, checked
 * against `rules`: each known one is applied, the connection ones (security.protocol, sasl.*, ssl.*,
 * client.id, ...) are returned for kafkaFor, and any other stops the command with its name — a
 * setting Fjord would not act on is never accepted.
 */
export function clientProperties(values: Values, flag: string, fileFlag: string, command: string, rules: PropertyRules): { props: Map<string, string>; source: string } {
  const file = str(values[fileFlag]);
  const props = file ? readPropertiesFile(file, `--${fileFlag}`) : new Map<string, string>();
  for (const [k, v] of pairs(`--${flag}`, list(values[flag]), false)) props.set(k, v);
  const connection = new Map<string, string>();
  for (const [key, value] of props) {
    const rule = rules[key];
    if (rule) rule(value);
    else if (isConnectionProperty(key)) connection.set(key, value);
    else {
      throw new UsageError(`--${flag} ${key} is not supported by fjord ${command}; supported: ${Object.keys(rules).sort().join(', ')}, and the connection properties of --command-config`);
    }
  }
  return { props: connection, source: file ? `--${fileFlag} ${file}` : `--${flag}` };
}
