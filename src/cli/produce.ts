// `fjord produce <topic>`: one message per input line (stdin or --file), like
// kafka-console-producer.sh, sent in large pipelined batches.
import { createReadStream } from 'node:fs';
import { CompressionTypes, type Message, type Producer } from '../client/index.js';
import { COMMON_HELP, Exit, InputError, UsageError, dim, int, kafkaFor, list, pairs, parse, runCommand, str } from './common.js';

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
${COMMON_HELP}
Kafka's flags work too: --topic <t>, --property parse.key=true, --property key.separator=<s>,
--request-required-acks <n>, --compression-codec <codec>.

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
  property: { type: 'string', multiple: true }, 'producer-property': { type: 'string', multiple: true },
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
    const props = new Map(pairs('--property', list(values.property), false));
    let separator = str(values['key-separator']);
    if (props.get('parse.key') === 'true') separator ??= props.get('key.separator') ?? '\t';
    if (separator === '') throw new UsageError('--key-separator cannot be empty');
    const headers = Object.fromEntries(pairs('--header', list(values.header), false));
    const partition = int('--partition', str(values.partition), 0);
    const codecName = (str(values.compression) ?? str(values['compression-codec']) ?? 'none').toLowerCase();
    const compression = CODECS[codecName];
    if (compression === undefined) throw new UsageError(`--compression takes none, gzip, snappy, lz4 or zstd, not "${codecName}"`);
    const acks = acksOf(str(values.acks) ?? str(values['request-required-acks']));
    const format = str(values.format) ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`--format takes text or json, not "${format}"`);
    const file = str(values.file);
    const progress = !values.quiet && !!process.stderr.isTTY;

    const input = file ? createReadStream(file) : process.stdin;
    const opened = new Promise<void>((resolve, reject) => {
      if (!file) return resolve();
      input.once('open', () => resolve());
      input.once('error', (e: NodeJS.ErrnoException) => reject(new InputError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)));
    });
    await opened;

    const producer = kafkaFor(values).producer({ maxInFlightRequests: 8 });
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
          const m = toMessage(line, lineNo, format, separator, headers, partition);
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

function toMessage(line: string, lineNo: number, format: string, separator: string | undefined, headers: Record<string, string>, partition: number | undefined): Message {
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
  const hdrs = Object.keys(headers).length ? headers : undefined;
  if (separator === undefined) return { value: line, headers: hdrs, partition };
  const at = line.indexOf(separator);
  if (at < 0) throw new InputError(`line ${lineNo} has no key separator "${separator}": ${line.slice(0, 80)}`);
  return { key: line.slice(0, at), value: line.slice(at + separator.length), headers: hdrs, partition };
}

async function disconnectQuietly(producer: Producer): Promise<void> {
  try {
    await producer.disconnect();
  } catch {
    // the error that matters was already reported
  }
}
