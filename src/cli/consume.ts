// `fjord consume <topic>`: prints messages, like kafka-console-consumer.sh. Without --group it
// reads partitions directly (nothing is committed); with --group it joins the group and commits.
import type { Consumer, EachBatchPayload, KafkaMessage } from '../client/index.js';
import { COMMON_HELP, Exit, UsageError, dim, int, kafkaFor, list, pairs, parse, parseTime, runCommand, str } from './common.js';

export const CONSUME_HELP = `Usage: fjord consume <topic> [options]

Prints the messages of a topic, one per line. Runs until interrupted (Ctrl-C), unless
--max-messages, --exit-at-end or --timeout-ms says when to stop.

Where to start (without --group; default: only new messages):
  --from-beginning           start at the earliest offset
  --offset <n|earliest|latest>   start at this offset (of every partition read)
  --timestamp <ms|ISO date>  start at the first message at or after this time
  --partition <n>            read only this partition (repeatable; default: all)

Group:
  --group <id>               consume as a member of this consumer group and commit offsets;
                             it starts at the group's committed offsets, or with
                             --from-beginning at the earliest offset where nothing is committed
  --group-protocol <classic|consumer>   classic (default) or KIP-848's consumer protocol

When to stop:
  --max-messages <n>         stop after n messages
  --exit-at-end              stop when every partition is read up to its end (as of the start)
  --timeout-ms <ms>          stop when no message arrives for this long

Output:
  --format <value|text|json> value (default): the value alone; text: partition, offset,
                             timestamp, key, headers and value on one line; json: one JSON
                             object per line with all of those
  --print-key                value format: print key<TAB>value (--key-separator to change)
  --key-separator <sep>      separator after the key for --print-key (default TAB)
  --quiet                    no summary on stderr
${COMMON_HELP}
Kafka's flags work too: --topic <t>, --property print.key=true, --property key.separator=<s>.

Examples:
  fjord consume orders --from-beginning
  fjord consume orders --from-beginning --exit-at-end --format json > orders.jsonl
  fjord consume orders --group billing --max-messages 10
  fjord consume orders --partition 0 --offset 42 --format text
  fjord consume orders --timestamp 2024-05-01T00:00:00Z --exit-at-end
  fjord consume --topic orders --from-beginning --bootstrap-server localhost:9092

Exit codes: 0 done (also after Ctrl-C), 1 the topic does not exist or reading failed,
2 bad usage, 3 no broker.
`;

const OPTIONS = {
  topic: { type: 'string' }, group: { type: 'string', short: 'g' }, 'group-protocol': { type: 'string' }, 'from-beginning': { type: 'boolean' },
  offset: { type: 'string' }, timestamp: { type: 'string' }, partition: { type: 'string', multiple: true },
  'max-messages': { type: 'string' }, 'exit-at-end': { type: 'boolean', short: 'e' }, 'timeout-ms': { type: 'string' },
  format: { type: 'string' }, 'print-key': { type: 'boolean' }, 'key-separator': { type: 'string' },
  property: { type: 'string', multiple: true }, 'consumer-property': { type: 'string', multiple: true },
  quiet: { type: 'boolean', short: 'q' },
} as const;

type Format = 'value' | 'text' | 'json';

const text = (b: Buffer | null) => (b === null ? 'null' : b.toString('utf8'));

function headerText(h: KafkaMessage['headers']): string {
  const parts: string[] = [];
  for (const k of Object.keys(h)) {
    const v = h[k];
    for (const one of Array.isArray(v) ? v : [v]) parts.push(`${k}=${one === null || one === undefined ? 'null' : one.toString('utf8')}`);
  }
  return parts.join(',');
}

function formatter(format: Format, topic: string, printKey: boolean, keySeparator: string): (partition: number, m: KafkaMessage) => string {
  if (format === 'json') {
    return (partition, m) => {
      const headers: Record<string, string | string[] | null> = {};
      for (const k of Object.keys(m.headers)) {
        const v = m.headers[k];
        headers[k] = Array.isArray(v) ? v.map((x) => (x === null ? null : x.toString('utf8'))) as string[] : v === null || v === undefined ? null : v.toString('utf8');
      }
      return `${JSON.stringify({
        topic, partition, offset: Number(m.offset), timestamp: Number(m.timestamp),
        key: m.key === null ? null : m.key.toString('utf8'), value: m.value === null ? null : m.value.toString('utf8'), headers,
      })}\n`;
    };
  }
  if (format === 'text') {
    return (partition, m) =>
      `partition=${partition} offset=${m.offset} timestamp=${new Date(Number(m.timestamp)).toISOString()} key=${text(m.key)} headers=${headerText(m.headers) || '-'} value=${text(m.value)}\n`;
  }
  if (printKey) return (_p, m) => `${text(m.key)}${keySeparator}${text(m.value)}\n`;
  return (_p, m) => `${text(m.value)}\n`;
}

/** Buffered stdout that waits for 'drain' when the pipe is full (backpressure to the consumer). */
class Output {
  private parts: string[] = [];
  private size = 0;
  closed = false;
  constructor() {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') this.closed = true;
    });
  }
  push(s: string): void {
    this.parts.push(s);
    this.size += s.length;
  }
  async flush(force = false): Promise<void> {
    if (this.size === 0 || (!force && this.size < 65536)) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (this.closed) return;
    if (!process.stdout.write(chunk)) await new Promise<void>((r) => process.stdout.once('drain', r));
  }
}

export function runConsume(argv: string[]): Promise<number> {
  return runCommand('consume', CONSUME_HELP, argv, async () => {
    const { values, positionals } = parse(argv, OPTIONS);
    const topic = str(values.topic) ?? positionals[0];
    if (!topic) throw new UsageError('consume needs a topic: fjord consume <topic>');
    if (positionals.length > (str(values.topic) ? 0 : 1)) throw new UsageError(`unexpected argument "${positionals[str(values.topic) ? 0 : 1]}"`);
    const group = str(values.group);
    const props = new Map(pairs('--property', list(values.property), false));
    const format = (str(values.format) ?? 'value') as Format;
    if (!['value', 'text', 'json'].includes(format)) throw new UsageError(`--format takes value, text or json, not "${format}"`);
    const printKey = !!values['print-key'] || props.get('print.key') === 'true';
    const keySeparator = str(values['key-separator']) ?? props.get('key.separator') ?? '\t';
    const maxMessages = int('--max-messages', str(values['max-messages']), 1);
    const timeoutMs = int('--timeout-ms', str(values['timeout-ms']), 1);
    const partitions = list(values.partition).map((p) => int('--partition', p, 0)!);
    const offsetArg = str(values.offset);
    const timestampArg = str(values.timestamp);
    const fromBeginning = !!values['from-beginning'];
    const starts = [offsetArg !== undefined, timestampArg !== undefined, fromBeginning].filter(Boolean).length;
    if (starts > 1) throw new UsageError('use only one of --from-beginning, --offset and --timestamp');
    if (offsetArg !== undefined && !/^(\d+|earliest|latest)$/.test(offsetArg)) throw new UsageError(`--offset takes a number, earliest or latest, not "${offsetArg}"`);
    const timestamp = timestampArg !== undefined ? parseTime('--timestamp', timestampArg) : undefined;
    if (group && (offsetArg !== undefined || timestamp !== undefined || partitions.length)) {
      throw new UsageError('--offset, --timestamp and --partition cannot be used with --group (move a group with `fjord groups reset-offsets`)');
    }
    const groupProtocol = str(values['group-protocol']) ?? 'classic';
    if (groupProtocol !== 'classic' && groupProtocol !== 'consumer') throw new UsageError(`--group-protocol takes classic or consumer, not "${groupProtocol}"`);
    if (values['group-protocol'] !== undefined && !group) throw new UsageError('--group-protocol needs --group');
    const quiet = !!values.quiet || !process.stderr.isTTY;

    const kafka = kafkaFor(values);
    const admin = kafka.admin();
    await admin.connect();
    let consumer: Consumer | null = null;
    let count = 0;
    try {
      // Where the topic ends now (for --exit-at-end), and where reading starts (without a group).
      const offsets = await admin.fetchTopicOffsets(topic);
      const chosen = partitions.length ? partitions : offsets.map((o) => o.partition);
      for (const p of chosen) {
        if (!offsets.some((o) => o.partition === p)) throw new UsageError(`topic "${topic}" has no partition ${p} (it has ${offsets.length})`);
      }
      const ends = new Map(offsets.map((o) => [o.partition, Number(o.high)]));

      consumer = group
        ? kafka.consumer({ groupId: group, groupProtocol, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 })
        : kafka.consumer({ allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
      await consumer.connect();
      if (group) {
        await consumer.subscribe({ topic, fromBeginning });
      } else {
        const at = timestamp !== undefined ? await admin.fetchTopicOffsetsByTimestamp(topic, timestamp) : null;
        await consumer.assign(chosen.map((partition) => ({
          topic, partition,
          offset: at ? at.find((o) => o.partition === partition)!.offset : fromBeginning ? 'earliest' : offsetArg ?? 'latest',
        })));
      }

      const out = new Output();
      const format1 = formatter(format, topic, printKey, keySeparator);
      let done!: () => void;
      const finished = new Promise<void>((r) => { done = r; });
      let lastMessageAt = Date.now();
      const c = consumer;
      await c.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }: EachBatchPayload) => {
          for (const m of batch.messages) {
            if (maxMessages !== undefined && count >= maxMessages) break;
            out.push(format1(batch.partition, m));
            resolveOffset(m.offset);
            count++;
          }
          lastMessageAt = Date.now();
          await out.flush();
          if (out.closed || (maxMessages !== undefined && count >= maxMessages)) done();
        },
      });
      const atEnd = () => {
        const pos = c.positions();
        return pos.length > 0 && pos.every((p) => p.offset >= (ends.get(p.partition) ?? 0));
      };
      const onSigint = () => done();
      process.once('SIGINT', onSigint);
      process.once('SIGTERM', onSigint);
      const poll = setInterval(() => {
        if (values['exit-at-end'] && atEnd()) done();
        if (timeoutMs !== undefined && Date.now() - lastMessageAt >= timeoutMs) done();
      }, 50);
      if (!quiet) process.stderr.write(dim(process.stderr, `reading ${topic}${group ? ` as group ${group}` : ''}; Ctrl-C to stop\n`));
      // A progress line when the messages go to a file or pipe and stderr is a terminal.
      const started = Date.now();
      const progress = !values.quiet && !!process.stderr.isTTY && !process.stdout.isTTY
        ? setInterval(() => {
          const secs = Math.max((Date.now() - started) / 1000, 0.001);
          process.stderr.write(`\r${dim(process.stderr, `consumed ${count} messages (${Math.round(count / secs)}/s)`)}`);
        }, 500)
        : null;
      await finished;
      clearInterval(poll);
      if (progress) {
        clearInterval(progress);
        process.stderr.write('\r\u001b[K');
      }
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
      await c.stop();
      await out.flush(true);
    } finally {
      if (consumer) await consumer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
    if (!quiet) process.stderr.write(`Processed a total of ${count} messages\n`);
    return Exit.OK;
  });
}
