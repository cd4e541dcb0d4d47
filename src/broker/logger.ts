// The broker's one logger: leveled, one event per line on stderr. Two formats: readable text
// lines ("2025-01-01T00:00:00.000Z INFO  message key=value"), or JSON lines written by pino
// ({"level":"info","time":"...","msg":"...",...fields}) for log collectors. `--log-format auto`
// (the default) picks JSON when stderr is not a terminal. Quiet by default in tests.
import { pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'text' | 'json';
/** The --log-format setting: a format, or auto (json unless stderr is a terminal). */
export type LogFormatSetting = LogFormat | 'auto';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Structured fields of one event: JSON properties, or key=value pairs after a text line. */
export type LogFields = Readonly<Record<string, string | number | boolean | null>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Whether events of `level` are written (callers skip building costly debug events otherwise). */
  isLevelEnabled?(level: Exclude<LogLevel, 'silent'>): boolean;
}

/** The format `auto` means for a stream: text on a terminal, JSON otherwise. */
export function resolveLogFormat(setting: LogFormatSetting, stream: { isTTY?: boolean } = process.stderr): LogFormat {
  if (setting !== 'auto') return setting;
  return stream.isTTY === true ? 'text' : 'json';
}

/** A text value as key=value writes it: quoted when it holds spaces, quotes or is empty. */
function textValue(v: string | number | boolean | null): string {
  const s = String(v);
  return s === '' || /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/**
 * A logger at `level` writing each event as one line through `write` (stderr by default, without
 * the newline). `format` 'json' writes pino's JSON lines: level as a word, ISO time, msg, fields.
 */
export function createLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n'), format: LogFormat = 'text'): Logger {
  const min = ORDER[level];
  const isLevelEnabled = (lvl: Exclude<LogLevel, 'silent'>) => ORDER[lvl] >= min;
  if (format === 'json') {
    const out = pino(
      {
        level,
        base: { pid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
      },
      // pino ends each line with a newline; `write` takes lines without one.
      { write: (line: string) => write(line.endsWith('\n') ? line.slice(0, -1) : line) },
    );
    const at = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: LogFields) => {
      if (!isLevelEnabled(lvl)) return;
      if (fields === undefined) out[lvl](msg);
      else out[lvl](fields, msg);
    };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), isLevelEnabled };
  }
  const at = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: LogFields) => {
    if (!isLevelEnabled(lvl)) return;
    let line = `${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}`;
    if (fields !== undefined) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${textValue(v)}`;
    write(line);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), isLevelEnabled };
}
