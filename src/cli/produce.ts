// `fjord produce <topic>`: one message per input line (stdin or --file), like
// kafka-console-producer.sh, sent in large pipelined batches.
import { createReadStream } from 'node:fs';
import { CompressionTypes, type Message, type Producer, type ProducerConfig } from '../client/index.js';
import {
  COMMON_HELP, Exit, InputError, UsageError, boolProperty, clientProperties, dim, int, intProperty, kafkaFor, list, pairs, parse,
  runCommand, str, type PropertyRules,
} from './common.js';

export const PRODUCE_HELP = `Usage: fjord produce <topic> [options] [< lines]

Sends one message per line of standard input (or of --file) to a topic. Lines are values,
or key<separator>value with --key-separator. Ends at end of input.

Options:
  --file <path>              read lines from a file instead of stdin
  --key-separator <sep>      split each line at the first <sep> into key and value
  --header <k=v>             add a header to every message (repeatable)
  --partition <n>            send everything to this partition (default: by key, else spread)
  --compression <codec>      none (default), gzip, snappy, lz4 or zstd
  --acks <all|1|0>           all (-1, default): written and synced; 1: written; 0: no answer
  --format <text|json>       text (default): the line is the value; json: each line is an
                             object {"key","value","headers","partition","timestamp"}
  --quiet                    no progress or summary on stderr
  --property <k=v>           kafka-console-producer's line reader properties (text format):
                             parse.key (true|false), key.separator (default TAB), parse.headers,
                             headers.delimiter (TAB), headers.separator (,),
                             headers.key.separator (:), ignore.error (a line without a separator
                             becomes a value without key), null.marker (this text means null)
  --producer-property <k=v>  a Kafka producer property (repeatable): acks, compression.type,
                             enable.idempotence, linger.ms, batch.size, buffer.memory,
                             max.in.flight.requests.per.connection, retries, retry.backoff.ms,
                             metadata.max.age.ms, and the connection properties of
                             --command-config; any other is refused
  --producer.config <file>   the same properties from a file (--producer-property wins)
${COMMON_HELP}
Kafka's flags work too: --topic <t>, --broker-list, --request-required-acks <n>,
--compression-codec <codec>. With --property parse.headers=true a line is
h1:v1,h2:v2<TAB>key<TAB>value (with parse.key=true), as kafka-console-producer reads it.

Examples:
  echo "hello" | fjord produce greetings
  printf 'user-1:clicked\\nuser-2:scrolled\\n' | fjord produce events --key-separator :
  fjord produce events --file events.txt --compression zstd --header source=import
  seq 100000 | fjord produce numbers --acks 1
  kafka-console-producer.sh-style: fjord produce --topic t --bootstrap-server localhost:9092

Exit codes: 0 everything acknowledged, 1 a send failed (nothing after it is sent),
2 bad usage, 3 no broker, 130 interrupted.
`;

const OPTIONS = {
  topic: { type: 'string' }, file: { type: 'string' }, 'key-separator': { type: 'string' },
  header: { type: 'string', multiple: true }, partition: { type: 'string' }, compression: { type: 'string' },
  'compression-codec': { type: 'string' }, acks: { type: 'string' }, 'request-required-acks': { type: 'string' },
  property: { type: 'string', multiple: true }, 'producer-property': { type: 'string', multiple: true }, 'producer.config': { type: 'string' },
  format: { type: 'string' }, quiet: { type: 'boolean', short: 'q' }, sync: { type: 'boolean' },
} as const;

const CODECS: Record<string, number> = {
  none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD,
};

function acksOf(v: string | undefined): number {
  if (v === undefined || v === 'all' || v === '-1') return -1;
  if (v === '1' || v === '0') return Number(v);
  throw new UsageError(`--acks takes all, -1, 1 or 0, not "${v}"`);
}

/** Lines of a stream, without their line endings, in arrays (one per chunk) to keep overhead low. */
async function* lines(stream: NodeJS.ReadableStream): AsyncGenerator<string[]> {
  let rest = '';
  stream.setEncoding?.('utf8');
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (let i = 0; i < parts.length; i++) if (parts[i].endsWith('\r')) parts[i] = parts[i].slice(0, -1);
    if (parts.length) yield parts;
  }
  if (rest.length) yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
}

export function runProduce(argv: string[]): Promise<number> {
  return runCommand('produce', PRODUCE_HELP, argv, async () => {
    const { values, positionals } = parse(argv, OPTIONS);
    const topic = str(values.topic) ?? positionals[0];
    if (!topic) throw new UsageError('produce needs a topic: fjord produce <topic>');
    if (positionals.length > (str(values.topic) ? 0 : 1)) throw new UsageError(`unexpected argument "${positionals[str(values.topic) ? 0 : 1]}"`);
    const reader = readerOf(new Map(pairs('--property', list(values.property), false)), str(values['key-separator']));
    const pp: ProducerProps = { config: {} };
    const connection = clientProperties(values, 'producer-property', 'producer.config', 'produce', producerRules(pp));
    const headers = Object.fromEntries(pairs('--header', list(values.header), false));
    const partition = int('--partition', str(values.partition), 0);
    const codecName = (str(values.compression) ?? str(values['compression-codec']) ?? pp.compression ?? 'none').toLowerCase();
    const compression = CODECS[codecName];
    if (compression === undefined) throw new UsageError(`--compression takes none, gzip, snappy, lz4 or zstd, not "${codecName}"`);
    const acks = acksOf(str(values.acks) ?? str(values['request-required-acks']) ?? pp.acks);
    const format = str(values.format) ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`--format takes text or json, not "${format}"`);
    if (format === 'json' && reader.given) throw new UsageError('--property and --key-separator read text lines; --format json lines carry their own key and headers');
    const file = str(values.file);
    const progress = !values.quiet && !!process.stderr.isTTY;

    const input = file ? createReadStream(file) : process.stdin;
    const opened = new Promise<void>((resolve, reject) => {
      if (!file) return resolve();
      input.once('open', () => resolve());
      input.once('error', (e: NodeJS.ErrnoException) => reject(new InputError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)));
    });
    await opened;

    const producer = kafkaFor(values, undefined, connection).producer({ maxInFlightRequests: 8, ...pp.config });
    await producer.connect();
    let interrupted = false;
    const onSigint = () => { interrupted = true; };
    process.on('SIGINT', onSigint);
    const started = Date.now();
    let sent = 0;
    let acked = 0;
    let lineNo = 0;
    let failure: unknown = null;
    const inFlight = new Set<Promise<unknown>>();
    let timer: NodeJS.Timeout | null = null;
    if (progress) {
      timer = setInterval(() => {
        const secs = (Date.now() - started) / 1000;
        process.stderr.write(`\r${dim(process.stderr, `produced ${acked} messages (${Math.round(acked / Math.max(secs, 0.001))}/s)`)}`);
      }, 500);
    }
    const send = (messages: Message[]) => {
      const p = producer.send({ topic, messages, acks, compression }).then(
        () => { acked += messages.length; },
        (err) => { failure ??= err; },
      );
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
      sent += messages.length;
    };
    try {
      let batch: Message[] = [];
      let bytes = 0;
      for await (const chunk of lines(input)) {
        for (const line of chunk) {
          lineNo++;
          const m = toMessage(line, lineNo, format, reader, headers, partition);
          batch.push(m);
          bytes += line.length;
          if (batch.length >= 2000 || bytes >= 512 * 1024) {
            send(batch);
            batch = [];
            bytes = 0;
            while (inFlight.size >= 8) await Promise.race(inFlight);
          }
        }
        // What one read brought is sent now, so lines typed at a terminal go out as they come.
        if (batch.length && !failure && !interrupted) {
          send(batch);
          batch = [];
          bytes = 0;
          while (inFlight.size >= 8) await Promise.race(inFlight);
        }
        if (failure || interrupted) break;
      }
      if (batch.length && !failure && !interrupted) send(batch);
      await Promise.all(inFlight);
    } finally {
      process.off('SIGINT', onSigint);
      if (timer) {
        clearInterval(timer);
        process.stderr.write('\r\u001b[K');
      }
      await disconnectQuietly(producer);
      if (file) (input as NodeJS.ReadableStream & { destroy(): void }).destroy();
    }
    if (failure) throw failure;
    if (progress) {
      const secs = (Date.now() - started) / 1000;
      process.stderr.write(`produced ${acked} messages to ${topic} in ${secs.toFixed(1)} s\n`);
    }
    if (interrupted) return Exit.INTERRUPTED;
    return sent === acked ? Exit.OK : Exit.FAILED;
  });
}

function toMessage(line: string, lineNo: number, format: string, reader: LineReader, headers: Record<string, string>, partition: number | undefined): Message {
  if (format === 'json') {
    let o: { key?: unknown; value?: unknown; headers?: Record<string, unknown>; partition?: unknown; timestamp?: unknown };
    try {
      o = JSON.parse(line);
    } catch {
      throw new InputError(`line ${lineNo} is not JSON: ${line.slice(0, 80)}`);
    }
    if (o === null || typeof o !== 'object') throw new InputError(`line ${lineNo} is not a JSON object`);
    const text = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
    const h: Record<string, string> = { ...headers };
    if (o.headers && typeof o.headers === 'object') for (const [k, v] of Object.entries(o.headers)) h[k] = text(v) ?? '';
    return {
      key: text(o.key),
      value: text(o.value),
      headers: Object.keys(h).length ? h : undefined,
      partition: typeof o.partition === 'number' ? o.partition : partition,
      timestamp: typeof o.timestamp === 'number' || typeof o.timestamp === 'string' ? String(o.timestamp) : undefined,
    };
  }
  return readLine(reader, line, lineNo, headers, partition);
}

/** kafka-console-producer's LineMessageReader settings (its --property names). */
interface LineReader {
  parseKey: boolean; keySeparator: string; parseHeaders: boolean; headersDelimiter: string; headersSeparator: string;
  headersKeySeparator: string; ignoreError: boolean; nullMarker: string | undefined;
  /** Whether anything was set (json input refuses them). */
  given: boolean;
}

function readerOf(props: Map<string, string>, keySeparatorFlag: string | undefined): LineReader {
  const r: LineReader = {
    parseKey: keySeparatorFlag !== undefined, keySeparator: keySeparatorFlag ?? '\t', parseHeaders: false, headersDelimiter: '\t',
    headersSeparator: ',', headersKeySeparator: ':', ignoreError: false, nullMarker: undefined, given: props.size > 0 || keySeparatorFlag !== undefined,
  };
  for (const [k, v] of props) {
    if (k === 'parse.key') r.parseKey = boolProperty(k, v) || keySeparatorFlag !== undefined;
    else if (k === 'key.separator') r.keySeparator = keySeparatorFlag ?? v;
    else if (k === 'parse.headers') r.parseHeaders = boolProperty(k, v);
    else if (k === 'headers.delimiter') r.headersDelimiter = v;
    else if (k === 'headers.separator') r.headersSeparator = v;
    else if (k === 'headers.key.separator') r.headersKeySeparator = v;
    else if (k === 'ignore.error') r.ignoreError = boolProperty(k, v);
    else if (k === 'null.marker') r.nullMarker = v;
    else throw new UsageError(`--property ${k} is not a line reader property; known: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, ignore.error, null.marker`);
  }
  const named: [string, string][] = [['key.separator', r.keySeparator], ['headers.delimiter', r.headersDelimiter], ['headers.separator', r.headersSeparator], ['headers.key.separator', r.headersKeySeparator]];
  for (const [name, v] of named) if (v === '') throw new UsageError(name === 'key.separator' ? '--key-separator cannot be empty' : `${name} cannot be empty`);
  // Kafka's own checks: separators that would make a line ambiguous.
  const distinct: [string, string][] = [['headers.delimiter', 'headers.separator'], ['headers.delimiter', 'headers.key.separator'], ['headers.separator', 'headers.key.separator']];
  const value = (name: string) => named.find(([n]) => n === name)![1];
  if (r.parseHeaders) for (const [a, b] of distinct) if (value(a) === value(b)) throw new UsageError(`${a} and ${b} may not be equal`);
  if (r.nullMarker !== undefined) {
    for (const [name, v] of named) if (v === r.nullMarker) throw new UsageError(`null.marker and ${name} may not be equal`);
  }
  return r;
}

/**
 * One text line as kafka-console-producer reads it: [headers<headers.delimiter>][key<key.separator>]value,
 * headers as k<headers.key.separator>v joined by headers.separator; null.marker stands for null.
 */
function readLine(r: LineReader, line: string, lineNo: number, extra: Record<string, string>, partition: number | undefined): Message {
  const cut = (enabled: boolean, from: number, sep: string, what: string): string | null => {
    if (!enabled) return null;
    const at = line.indexOf(sep, from);
    if (at >= 0) return line.slice(from, at);
    if (r.ignoreError) return null;
    throw new InputError(`line ${lineNo} has no ${what} "${sep}": ${line.slice(0, 80)}`);
  };
  const nullable = (v: string | null) => (v !== null && r.nullMarker !== undefined && v === r.nullMarker ? null : v);
  const headerText = cut(r.parseHeaders, 0, r.headersDelimiter, 'headers delimiter');
  const headerEnd = headerText === null ? 0 : headerText.length + r.headersDelimiter.length;
  const key = cut(r.parseKey, headerEnd, r.keySeparator, 'key separator');
  const keyEnd = key === null ? headerEnd : headerEnd + key.length + r.keySeparator.length;
  const headers: Record<string, string | null | (string | null)[]> = { ...extra };
  if (headerText !== null) {
    for (const pair of headerText.split(r.headersSeparator)) {
      const at = pair.indexOf(r.headersKeySeparator);
      if (at < 0 && !r.ignoreError) throw new InputError(`line ${lineNo}: no header key separator "${r.headersKeySeparator}" in "${pair}"`);
      const name = at < 0 ? pair : pair.slice(0, at);
      if (r.nullMarker !== undefined && name === r.nullMarker) throw new InputError(`line ${lineNo}: a header key may not be the null marker "${r.nullMarker}"`);
      const v = at < 0 ? null : nullable(pair.slice(at + r.headersKeySeparator.length));
      const prev = headers[name];
      headers[name] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
    }
  }
  return {
    key: nullable(key),
    value: nullable(line.slice(keyEnd)),
    // Null header values (Kafka allows them) are written as null by the record encoder, whose
    // header type admits them; kafkajs' Message type does not spell them.
    headers: Object.keys(headers).length ? headers as Message['headers'] : undefined,
    partition,
  };
}

/** What --producer-property (and --producer.config) set. */
interface ProducerProps {
  config: ProducerConfig;
  acks?: string;
  compression?: string;
}

function producerRules(p: ProducerProps): PropertyRules {
  const c = p.config;
  return {
    acks: (v) => { p.acks = v; },
    'compression.type': (v) => { p.compression = v; },
    'enable.idempotence': (v) => { c.idempotent = boolProperty('enable.idempotence', v); },
    'linger.ms': (v) => { c.lingerMs = intProperty('linger.ms', v, 0); },
    'batch.size': (v) => { c.maxBatchBytes = intProperty('batch.size', v, 1); },
    'buffer.memory': (v) => { c.maxQueuedBytes = intProperty('buffer.memory', v, 1); },
    'max.in.flight.requests.per.connection': (v) => { c.maxInFlightRequests = intProperty('max.in.flight.requests.per.connection', v, 1); },
    retries: (v) => { c.retry = { ...c.retry, retries: intProperty('retries', v, 0) }; },
    'retry.backoff.ms': (v) => { c.retry = { ...c.retry, initialRetryTime: intProperty('retry.backoff.ms', v, 1) }; },
    'metadata.max.age.ms': (v) => { c.metadataMaxAge = intProperty('metadata.max.age.ms', v, 0); },
  };
}

async function disconnectQuietly(producer: Producer): Promise<void> {
  try {
    await producer.disconnect();
  } catch {
    // the error that matters was already reported
  }
}
