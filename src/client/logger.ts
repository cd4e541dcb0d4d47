// Client logging, shaped like kafkajs': numeric levels and a `logCreator(level)` returning a
// function that receives { namespace, level, label, log }. The default writes one line to stderr.

export const logLevel = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } as const;
/** One of logLevel's values; named like the value so kafkajs' `(level: logLevel) => ...` compiles. */
export type logLevel = (typeof logLevel)[keyof typeof logLevel];
export type LogLevelValue = logLevel;

/** What a log line says: kafkajs' LoggerEntryContent plus `logger: 'fjord'` and the line's extras. */
export interface LoggerEntryContent {
  readonly timestamp: string;
  readonly message: string;
  [key: string]: unknown;
}

export interface LogEntry {
  namespace: string;
  level: logLevel;
  label: string;
  log: LoggerEntryContent;
}
export type LogCreator = (level: logLevel) => (entry: LogEntry) => void;
/** kafkajs' name for LogCreator. */
export type logCreator = LogCreator;

const LABELS: Record<logLevel, string> = { 0: 'NOTHING', 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' };

export const defaultLogCreator: LogCreator = () => ({ namespace, label, log }) => {
  const { timestamp, logger: _logger, message, ...extra } = log;
  const rest = Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : '';
  process.stderr.write(`${timestamp} ${label} [${namespace}] ${message}${rest}\n`);
};

export interface ClientLogger {
  error(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  debug(message: string, extra?: Record<string, unknown>): void;
  namespace(name: string): ClientLogger;
  setLogLevel(level: number): void;
}

export function createClientLogger(level: logLevel, creator: LogCreator = defaultLogCreator): ClientLogger {
  const state: { level: number } = { level };
  const sink = creator(level);
  const make = (ns: string): ClientLogger => {
    const at = (lvl: logLevel) => (message: string, extra: Record<string, unknown> = {}) => {
      if (lvl > state.level || state.level === logLevel.NOTHING) return;
      sink({ namespace: ns, level: lvl, label: LABELS[lvl], log: { timestamp: new Date().toISOString(), logger: 'fjord', message, ...extra } });
    };
    return {
      error: at(logLevel.ERROR),
      warn: at(logLevel.WARN),
      info: at(logLevel.INFO),
      debug: at(logLevel.DEBUG),
      namespace: (name: string) => make(ns ? `${ns}.${name}` : name),
      setLogLevel: (l: number) => { state.level = l; },
    };
  };
  return make('');
}
