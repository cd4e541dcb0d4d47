// `fjord consume <topic>`: prints messages, like kafka-console-consumer.sh. Without --group it
// reads partitions directly (nothing is committed); with --group it joins the group and commits.
import { ConfigResourceTypes, type Consumer, type ConsumerConfig, type EachBatchPayload, type KafkaMessage } from '../client/index.js';
import {
  COMMON_HELP, Exit, UsageError, boolProperty, clientProperties, dim, int, intProperty, kafkaFor, list, pairs, parse, parseTime,
  runCommand, str, type PropertyRules,
} from './common.js';

export const CONSUME_HELP = `Usage: fjord consume <topic> [options]

Prints the messages of a topic, one per line. Runs until interrupted (Ctrl-C), unless
--max-messages, --exit-at-end or --timeout-ms says when to stop.

Where to start (without --group; default: only new messages):
  --from-beginning           start at the earliest offset
  --offset <n|earliest|latest>   start at this offset (of every partition read; with
                             --partition <n>, of that partition, as kafka-console-consumer)
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
  --property <k=v>           kafka-console-consumer's formatter properties (value format):
                             print.timestamp, print.partition, print.offset, print.headers,
                             print.key, print.value, print.delivery (true|false); key.separator
                             (default TAB), headers.separator (,), line.separator (newline),
                             null.literal (null); key/value/headers.deserializer (StringDeserializer)
  --consumer-property <k=v>  a Kafka consumer property (repeatable): group.id, group.instance.id,
                             group.protocol, group.remote.assignor, auto.offset.reset
                             (earliest|latest), enable.auto.commit, auto.commit.interval.ms,
                             isolation.level, session.timeout.ms, heartbeat.interval.ms,
                             max.poll.interval.ms, fetch.min.bytes, fetch.max.bytes,
                             fetch.max.wait.ms, max.partition.fetch.bytes, metadata.max.age.ms,
                             client.rack, and the connection properties of --command-config;
                             any other is refused
  --consumer.config <file>   the same properties from a file (--consumer-property wins)
  --isolation-level <read_committed|read_uncommitted>   default read_uncommitted
${COMMON_HELP}
Kafka's flags work too: --topic <t>, --broker-list, --property print.key=true,
--property key.separator=<s>.

Ctrl-C (SIGINT) or SIGTERM stops cleanly: what was printed is committed (with --group), the
member leaves its group at once (LeaveGroup), and the exit code is 0. A second Ctrl-C exits
at once (130).

Examples:
  fjord consume orders --from-beginning
  fjord consume orders --from-beginning --exit-at-end --format json > orders.jsonl
  fjord consume orders --group billing --max-messages 10
  fjord consume orders --partition 0 --offset 42 --format text
  fjord consume orders --timestamp 2024-05-01T00:00:00Z --exit-at-end
  fjord consume --topic orders --from-beginning --bootstrap-server localhost:9092
  fjord consume orders --from-beginning --property print.timestamp=true --property print.key=true

Exit codes: 0 done (also after Ctrl-C), 1 the topic does not exist or reading failed,
2 bad usage, 3 no broker.
`;

const OPTIONS = {
  topic: { type: 'string' }, group: { type: 'string', short: 'g' }, 'group-protocol': { type: 'string' }, 'from-beginning': { type: 'boolean' },
  offset: { type: 'string' }, timestamp: { type: 'string' }, partition: { type: 'string', multiple: true },
  'max-messages': { type: 'string' }, 'exit-at-end': { type: 'boolean', short: 'e' }, 'timeout-ms': { type: 'string' },
  format: { type: 'string' }, 'print-key': { type: 'boolean' }, 'key-separator': { type: 'string' },
  property: { type: 'string', multiple: true }, 'consumer-property': { type: 'string', multiple: true },
  'consumer.config': { type: 'string' }, 'isolation-level': { type: 'string' },
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

/** kafka-console-consumer's DefaultMessageFormatter settings (its --property names). */
interface KafkaFormat {
  timestamp: boolean; partition: boolean; offset: boolean; delivery: boolean; headers: boolean; key: boolean; value: boolean;
  keySeparator: string; lineSeparator: string; headersSeparator: string; nullLiteral: string;
  /** CreateTime or LogAppendTime: the topic's message.timestamp.type. */
  timestampType: string;
}

const FLAGS = ['print.timestamp', 'print.partition', 'print.offset', 'print.delivery', 'print.headers', 'print.key', 'print.value'] as const;
const STRING_DESERIALIZER = 'org.apache.kafka.common.serialization.StringDeserializer';

/** The formatter properties given with --property; anything else is refused by name. */
function formatProperties(props: Map<string, string>, printKey: boolean, keySeparator: string | undefined): { format: KafkaFormat; given: boolean } {
  const format: KafkaFormat = {
    timestamp: false, partition: false, offset: false, delivery: false, headers: false, key: printKey, value: true,
    keySeparator: keySeparator ?? '\t', lineSeparator: '\n', headersSeparator: ',', nullLiteral: 'null', timestampType: 'CreateTime',
  };
  for (const [k, v] of props) {
    if ((FLAGS as readonly string[]).includes(k)) {
      const on = boolProperty(k, v);
      const field = k.slice('print.'.length) as 'timestamp' | 'partition' | 'offset' | 'delivery' | 'headers' | 'key' | 'value';
      format[field] = on || (field === 'key' && printKey);
    } else if (k === 'key.separator') format.keySeparator = keySeparator ?? v;
    else if (k === 'line.separator') format.lineSeparator = v;
    else if (k === 'headers.separator') format.headersSeparator = v;
    else if (k === 'null.literal') format.nullLiteral = v;
    else if (k === 'key.deserializer' || k === 'value.deserializer' || k === 'headers.deserializer') {
      if (v !== STRING_DESERIALIZER) throw new UsageError(`--property ${k}: only ${STRING_DESERIALIZER} is supported (bytes are printed as UTF-8), not "${v}"`);
    } else if (k === 'print.epoch') {
      throw new UsageError('--property print.epoch is not supported: Fjord\'s client does not hand out record leader epochs');
    } else {
      throw new UsageError(`--property ${k} is not a formatter property; known: ${[...FLAGS, 'key.separator', 'headers.separator', 'line.separator', 'null.literal', 'key.deserializer', 'value.deserializer', 'headers.deserializer'].join(', ')}`);
    }
  }
  return { format, given: props.size > 0 };
}

/** One record as kafka-console-consumer prints it: the chosen fields, key.separator between them. */
function kafkaLine(f: KafkaFormat, partition: number, m: KafkaMessage): string {
  const or = (b: Buffer | null | undefined) => (b === null || b === undefined ? f.nullLiteral : b.toString('utf8'));
  const fields: string[] = [];
  if (f.timestamp) fields.push(`${f.timestampType}:${m.timestamp}`);
  if (f.partition) fields.push(`Partition:${partition}`);
  if (f.offset) fields.push(`Offset:${m.offset}`);
  if (f.delivery) fields.push('Delivery:NOT_PRESENT'); // a delivery count exists only for share groups
  if (f.headers) {
    const parts: string[] = [];
    for (const k of Object.keys(m.headers)) {
      const v = m.headers[k];
      for (const one of Array.isArray(v) ? v : [v]) parts.push(`${k}:${or(one)}`);
    }
    fields.push(parts.length ? parts.join(f.headersSeparator) : 'NO_HEADERS');
  }
  if (f.key) fields.push(or(m.key));
  if (f.value) fields.push(or(m.value));
  return fields.join(f.keySeparator) + f.lineSeparator;
}

function formatter(format: Format, topic: string, kafka: KafkaFormat): (partition: number, m: KafkaMessage) => string {
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
  return (partition, m) => kafkaLine(kafka, partition, m);
}

/** What --consumer-property (and --consumer.config) set. */
interface ConsumerProps {
  config: Partial<ConsumerConfig>;
  groupId?: string;
  reset?: 'earliest' | 'latest';
  autoCommit?: boolean;
  autoCommitInterval?: number;
}

function consumerRules(p: ConsumerProps): PropertyRules {
  const c = p.config;
  const oneOf = <T extends string>(key: string, v: string, allowed: readonly T[]): T => {
    if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`${key} takes ${allowed.join(' or ')}, not "${v}"`);
    return v as T;
  };
  return {
    'group.id': (v) => { p.groupId = v; },
    'group.instance.id': (v) => { c.groupInstanceId = v; },
    'group.protocol': (v) => { c.groupProtocol = oneOf('group.protocol', v.toLowerCase(), ['classic', 'consumer'] as const); },
    'group.remote.assignor': (v) => { c.groupRemoteAssignor = v; },
    'auto.offset.reset': (v) => { p.reset = oneOf('auto.offset.reset', v, ['earliest', 'latest'] as const); },
    'enable.auto.commit': (v) => { p.autoCommit = boolProperty('enable.auto.commit', v); },
    'auto.commit.interval.ms': (v) => { p.autoCommitInterval = intProperty('auto.commit.interval.ms', v, 1); },
    'isolation.level': (v) => { c.readUncommitted = oneOf('isolation.level', v, ['read_committed', 'read_uncommitted'] as const) === 'read_uncommitted'; },
    'session.timeout.ms': (v) => { c.sessionTimeout = intProperty('session.timeout.ms', v, 1); },
    'heartbeat.interval.ms': (v) => { c.heartbeatInterval = intProperty('heartbeat.interval.ms', v, 1); },
    // The Java consumer sends max.poll.interval.ms as its JoinGroup rebalance timeout.
    'max.poll.interval.ms': (v) => { c.rebalanceTimeout = intProperty('max.poll.interval.ms', v, 1); },
    'fetch.min.bytes': (v) => { c.minBytes = intProperty('fetch.min.bytes', v, 0); },
    'fetch.max.bytes': (v) => { c.maxBytes = intProperty('fetch.max.bytes', v, 1); },
    'fetch.max.wait.ms': (v) => { c.maxWaitTimeInMs = intProperty('fetch.max.wait.ms', v, 0); },
    'max.partition.fetch.bytes': (v) => { c.maxBytesPerPartition = intProperty('max.partition.fetch.bytes', v, 1); },
    'metadata.max.age.ms': (v) => { c.metadataMaxAge = intProperty('metadata.max.age.ms', v, 0); },
    'client.rack': (v) => { c.rackId = v; },
  };
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
    // Ctrl-C / SIGTERM from the very start: stop cleanly (leave the group, commit, exit 0). A second
    // one exits at once.
    let stopRequested = false;
    let done!: () => void;
    const finished = new Promise<void>((r) => { done = r; });
    const onSignal = () => {
      if (stopRequested) process.exit(Exit.INTERRUPTED);
      stopRequested = true;
      done();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      return await consume(argv, finished, done, () => stopRequested);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

async function consume(argv: string[], finished: Promise<void>, done: () => void, stopRequested: () => boolean): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS);
  const topic = str(values.topic) ?? positionals[0];
  if (!topic) throw new UsageError('consume needs a topic: fjord consume <topic>');
  if (positionals.length > (str(values.topic) ? 0 : 1)) throw new UsageError(`unexpected argument "${positionals[str(values.topic) ? 0 : 1]}"`);
  const cp: ConsumerProps = { config: {} };
  const connection = clientProperties(values, 'consumer-property', 'consumer.config', 'consume', consumerRules(cp));
  const flaggedGroup = str(values.group);
  if (flaggedGroup !== undefined && cp.groupId !== undefined && flaggedGroup !== cp.groupId) {
    throw new UsageError(`--group ${flaggedGroup} and group.id=${cp.groupId} disagree: give one`);
  }
  const group = flaggedGroup ?? cp.groupId;
  const format = (str(values.format) ?? 'value') as Format;
  if (!['value', 'text', 'json'].includes(format)) throw new UsageError(`--format takes value, text or json, not "${format}"`);
  const printed = formatProperties(new Map(pairs('--property', list(values.property), false)), !!values['print-key'], str(values['key-separator']));
  if (format !== 'value' && (printed.given || values['print-key'] !== undefined)) throw new UsageError(`--property and --print-key shape the value format; --format ${format} has its own layout`);
  const maxMessages = int('--max-messages', str(values['max-messages']), 1);
  const timeoutMs = int('--timeout-ms', str(values['timeout-ms']), 1);
  const partitions = list(values.partition).map((p) => int('--partition', p, 0)!);
  const offsetArg = str(values.offset);
  const timestampArg = str(values.timestamp);
  let fromBeginning = !!values['from-beginning'];
  if (cp.reset !== undefined) {
    if (fromBeginning && cp.reset !== 'earliest') throw new UsageError(`--from-beginning and auto.offset.reset=${cp.reset} disagree: give one`);
    fromBeginning ||= cp.reset === 'earliest' && offsetArg === undefined && timestampArg === undefined;
  }
  const starts = [offsetArg !== undefined, timestampArg !== undefined, !!values['from-beginning']].filter(Boolean).length;
  if (starts > 1) throw new UsageError('use only one of --from-beginning, --offset and --timestamp');
  if (offsetArg !== undefined && !/^(\d+|earliest|latest)$/.test(offsetArg)) throw new UsageError(`--offset takes a number, earliest or latest, not "${offsetArg}"`);
  const timestamp = timestampArg !== undefined ? parseTime('--timestamp', timestampArg) : undefined;
  if (group && (offsetArg !== undefined || timestamp !== undefined || partitions.length)) {
    throw new UsageError('--offset, --timestamp and --partition cannot be used with --group (move a group with `fjord groups reset-offsets`)');
  }
  const groupProtocol = str(values['group-protocol']) ?? cp.config.groupProtocol ?? 'classic';
  if (groupProtocol !== 'classic' && groupProtocol !== 'consumer') throw new UsageError(`--group-protocol takes classic or consumer, not "${groupProtocol}"`);
  if (values['group-protocol'] !== undefined && !group) throw new UsageError('--group-protocol needs --group');
  const isolation = str(values['isolation-level']);
  if (isolation !== undefined) {
    if (isolation !== 'read_committed' && isolation !== 'read_uncommitted') throw new UsageError(`--isolation-level takes read_committed or read_uncommitted, not "${isolation}"`);
    cp.config.readUncommitted = isolation === 'read_uncommitted';
  }
  const groupOnly = (['groupInstanceId', 'sessionTimeout', 'heartbeatInterval', 'rebalanceTimeout', 'groupRemoteAssignor'] as const).filter((k) => cp.config[k] !== undefined);
  if (!group && (groupOnly.length || cp.autoCommit !== undefined || cp.autoCommitInterval !== undefined || cp.config.groupProtocol !== undefined)) {
    throw new UsageError('group.* , session.timeout.ms, heartbeat.interval.ms, max.poll.interval.ms and the commit properties need --group');
  }
  const quiet = !!values.quiet || !process.stderr.isTTY;

  const kafka = kafkaFor(values, undefined, connection);
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
    if (printed.format.timestamp) {
      const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['message.timestamp.type'] }], includeSynonyms: false });
      const type = resources[0]?.configEntries.find((e) => e.configName === 'message.timestamp.type')?.configValue;
      if (type === 'LogAppendTime') printed.format.timestampType = 'LogAppendTime';
    }

    const base: ConsumerConfig = { allowAutoTopicCreation: false, maxWaitTimeInMs: 500, ...cp.config };
    consumer = group ? kafka.consumer({ ...base, groupId: group, groupProtocol }) : kafka.consumer(base);
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
    const format1 = formatter(format, topic, printed.format);
    let lastMessageAt = Date.now();
    const c = consumer;
    if (!stopRequested()) {
      await c.run({
        eachBatchAutoResolve: false,
        ...(cp.autoCommit !== undefined ? { autoCommit: cp.autoCommit } : {}),
        ...(cp.autoCommitInterval !== undefined ? { autoCommitInterval: cp.autoCommitInterval } : {}),
        eachBatch: async ({ batch, resolveOffset }: EachBatchPayload) => {
          for (const m of batch.messages) {
            if (stopRequested() || (maxMessages !== undefined && count >= maxMessages)) break;
            out.push(format1(batch.partition, m));
            resolveOffset(m.offset);
            count++;
          }
          lastMessageAt = Date.now();
          // Each batch reaches the pipe at once (one write per batch): a reader downstream (grep,
          // a person) sees messages as they come, not when 64 KiB have gathered.
          await out.flush(true);
          if (out.closed || (maxMessages !== undefined && count >= maxMessages)) done();
        },
      });
    }
    const atEnd = () => {
      const pos = c.positions();
      return pos.length > 0 && pos.every((p) => p.offset >= (ends.get(p.partition) ?? 0));
    };
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
    // As Kafka's consumer does on close, commit the position of every assigned partition, those
    // nothing was read from included (an empty partition gets its end offset, so the group shows
    // no lag and no missing partition). Best effort: a rebalance may have just taken them away.
    if (group && cp.autoCommit !== false) {
      const at = c.positions().filter((p) => p.offset >= 0);
      if (at.length) await c.commitOffsets(at.map((p) => ({ topic: p.topic, partition: p.partition, offset: String(p.offset) }))).catch(() => undefined);
    }
    // Stopping commits what was printed (past those positions, where a batch was still being
    // printed) and leaves the group (LeaveGroup, or epoch -1 for KIP-848).
    await c.stop();
    await out.flush(true);
  } finally {
    if (consumer) await consumer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  if (!quiet) process.stderr.write(`Processed a total of ${count} messages\n`);
  return Exit.OK;
}
