// Fjord's client beside kafkajs and @platformatic/kafka, all three against the same Fjord broker (a
// `fjord server` child process with a data dir in /tmp) in the same run. Not part of npm test.
//
//   node --import tsx scripts/bench/client-compare.ts [--records 100000] [--size 1024] [--batch 100]
//        [--inflight 8] [--latency-sends 2000] [--rounds 3]
//
// Scenarios (each client gets its own fresh topic of 3 partitions; clients take turns each round):
//   produce     `records` records of `size` bytes in sends of `batch` records, `inflight` sends
//               outstanding at a time, acks=all
//   consume     a group consumer reading `records` records of `size` bytes from the beginning of one
//               topic every client reads (written once, by Fjord's client): from the call that
//               starts consuming to the last record handed to the handler
//   latency     `latency-sends` single-record sends of `size` bytes, each awaited before the next,
//               with acks=1 and with acks=all: p50 and p99 of the time each send took
// Throughput: the best round; latency: percentiles over all rounds' sends.
// @platformatic/kafka wants Node 22 (Promise.withResolvers); on Node 20 this script polyfills it.
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka as KafkaJS, logLevel as kjsLogLevel } from 'kafkajs';
import { Consumer as PlatConsumer, Producer as PlatProducer, stringSerializers } from '@platformatic/kafka';
import { Kafka as FjordKafka, logLevel } from '../../src/client/index.js';
import { startServerProcess } from '../../test/server-process.js';

const withResolvers = Promise as unknown as { withResolvers?: () => unknown };
withResolvers.withResolvers ??= () => {
  let resolve: unknown, reject: unknown;
  const promise = new Promise((a, b) => { resolve = a; reject = b; });
  return { promise, resolve, reject };
};

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    size: { type: 'string', default: '1024' },
    batch: { type: 'string', default: '100' },
    inflight: { type: 'string', default: '8' },
    'latency-sends': { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
  },
});
const RECORDS = Number(values.records);
const SIZE = Number(values.size);
const BATCH = Number(values.batch);
const INFLIGHT = Number(values.inflight);
const LATENCY_SENDS = Number(values['latency-sends']);
const ROUNDS = Number(values.rounds);
const payload = 'x'.repeat(SIZE);

interface Adapter {
  /** ms to write RECORDS records. */
  produce(topic: string): Promise<number>;
  /** ms to read RECORDS records of `topic` from the beginning. */
  consume(topic: string): Promise<number>;
  /** ms of each of LATENCY_SENDS awaited single-record sends. */
  latency(topic: string, acks: 1 | -1): Promise<number[]>;
}

const dataDir = mkdtempSync(join(tmpdir(), 'fjord-client-bench-'));
const server = await startServerProcess(['--data-dir', dataDir, '--group-initial-rebalance-delay-ms', '0']);
const bootstrap = server.address;
let seq = 0;

async function timed(body: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await body();
  return performance.now() - t0;
}

/** Runs `INFLIGHT` workers that each send batches until `RECORDS` records went out. */
async function batches(send: (count: number) => Promise<unknown>): Promise<void> {
  let left = RECORDS;
  const worker = async () => {
    while (left > 0) {
      const n = Math.min(BATCH, left);
      left -= n;
      await send(n);
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
}

// kafkajs and Fjord share the kafkajs API.
interface KafkajsLike {
  producer(): {
    connect(): Promise<void>; disconnect(): Promise<void>;
    send(r: { topic: string; acks?: number; messages: { value: string }[] }): Promise<unknown>;
  };
  consumer(c: { groupId: string }): {
    connect(): Promise<void>; disconnect(): Promise<void>;
    subscribe(s: { topic: string; fromBeginning: boolean }): Promise<void>;
    run(c: { eachMessage: (p: { message: { value: Buffer | null } }) => Promise<void> }): Promise<void>;
  };
}

function kafkajsStyle(kafka: KafkajsLike): Adapter {
  return {
    async produce(topic) {
      const producer = kafka.producer();
      await producer.connect();
      const ms = await timed(() => batches((n) => producer.send({ topic, acks: -1, messages: Array.from({ length: n }, () => ({ value: payload })) })));
      await producer.disconnect();
      return ms;
    },
    async consume(topic) {
      const consumer = kafka.consumer({ groupId: `bench-group-${process.pid}-${seq++}` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let n = 0;
      let done!: () => void;
      const finished = new Promise<void>((r) => { done = r; });
      const ms = await timed(async () => {
        await consumer.run({ eachMessage: async () => { if (++n === RECORDS) done(); } });
        await finished;
      });
      await consumer.disconnect();
      return ms;
    },
    async latency(topic, acks) {
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, acks, messages: [{ value: payload }] }); // metadata and connections first
      const out: number[] = [];
      for (let i = 0; i < LATENCY_SENDS; i++) {
        const t0 = performance.now();
        await producer.send({ topic, acks, messages: [{ value: payload }] });
        out.push(performance.now() - t0);
      }
      await producer.disconnect();
      return out;
    },
  };
}

function platformatic(): Adapter {
  const base = { clientId: 'bench', bootstrapBrokers: [bootstrap] };
  // acks goes with every send: a send without it uses acks=1 whatever the producer was built with.
  const producer = () => new PlatProducer({ ...base, serializers: stringSerializers, idempotent: false, autocreateTopics: false });
  return {
    async produce(topic) {
      const p = producer();
      const ms = await timed(() => batches((n) => p.send({ acks: -1, messages: Array.from({ length: n }, () => ({ topic, value: payload })) })));
      await p.close();
      return ms;
    },
    async consume(topic) {
      const consumer = new PlatConsumer({ ...base, groupId: `bench-group-${process.pid}-${seq++}` });
      let n = 0;
      const ms = await timed(async () => {
        const stream = await consumer.consume({ autocommit: true, topics: [topic], mode: 'earliest' });
        await new Promise<void>((resolve) => { stream.on('data', () => { if (++n === RECORDS) resolve(); }); });
        await stream.close();
      });
      await consumer.close(true);
      return ms;
    },
    async latency(topic, acks) {
      const p = producer();
      await p.send({ acks, messages: [{ topic, value: payload }] });
      const out: number[] = [];
      for (let i = 0; i < LATENCY_SENDS; i++) {
        const t0 = performance.now();
        await p.send({ acks, messages: [{ topic, value: payload }] });
        out.push(performance.now() - t0);
      }
      await p.close();
      return out;
    },
  };
}

const clients: Record<string, Adapter> = {
  kafkajs: kafkajsStyle(new KafkaJS({ brokers: [bootstrap], logLevel: kjsLogLevel.NOTHING }) as unknown as KafkajsLike),
  platformatic: platformatic(),
  fjord: kafkajsStyle(new FjordKafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }) as unknown as KafkajsLike),
};

const admin = new FjordKafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
await admin.connect();
async function newTopic(): Promise<string> {
  const topic = `bench-${process.pid}-${seq++}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  return topic;
}

// The topic every consumer reads, written once.
const shared = await newTopic();
await (clients.fjord as Adapter).produce(shared);

const throughput: Record<string, Record<string, number[]>> = { produce: {}, consume: {} };
const latencies: Record<string, Record<string, number[]>> = { 'acks=1': {}, 'acks=all': {} };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, client] of Object.entries(clients)) {
    (throughput.produce[name] ??= []).push(RECORDS / ((await client.produce(await newTopic())) / 1000));
    (throughput.consume[name] ??= []).push(RECORDS / ((await client.consume(shared)) / 1000));
    const lt = await newTopic();
    (latencies['acks=1'][name] ??= []).push(...await client.latency(lt, 1));
    (latencies['acks=all'][name] ??= []).push(...await client.latency(lt, -1));
    process.stderr.write(`round ${round + 1}/${ROUNDS}: ${name} done\n`);
  }
}
await admin.disconnect();
server.child.kill('SIGTERM');
await server.exited;
rmSync(dataDir, { recursive: true, force: true });

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const best = (xs: number[]) => Math.max(...xs);
const names = ['kafkajs', 'platformatic', 'fjord'];
const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }).replace(/,/g, ' ');
const mib = (recordsPerSecond: number) => (recordsPerSecond * SIZE) / (1 << 20);

console.log(`\n${RECORDS} records of ${SIZE} B; produce in sends of ${BATCH}, ${INFLIGHT} in flight; ${LATENCY_SENDS} latency sends per client and acks per round; ${ROUNDS} rounds`);
console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, Node ${process.version}\n`);
console.log('| scenario | kafkajs | @platformatic/kafka | Fjord | Fjord vs kafkajs | Fjord vs platformatic |');
console.log('|---|---|---|---|---|---|');
for (const scenario of ['produce', 'consume']) {
  const v = Object.fromEntries(names.map((n) => [n, best(throughput[scenario][n])]));
  const cells = names.map((n) => `${fmt(v[n])} rec/s (${fmt(mib(v[n]), 1)} MiB/s)`);
  console.log(`| ${scenario} throughput | ${cells.join(' | ')} | ${(v.fjord / v.kafkajs).toFixed(1)}× | ${(v.fjord / v.platformatic).toFixed(1)}× |`);
}
for (const acks of ['acks=1', 'acks=all']) {
  for (const p of [50, 99]) {
    const v = Object.fromEntries(names.map((n) => [n, pct(latencies[acks][n], p)]));
    console.log(`| produce latency ${acks} p${p} | ${names.map((n) => `${fmt(v[n], 2)} ms`).join(' | ')} | ${(v.kafkajs / v.fjord).toFixed(1)}× | ${(v.platformatic / v.fjord).toFixed(1)}× |`);
  }
}
console.log('\n(ratios: how many times Fjord\'s throughput, or how many times shorter Fjord\'s latency)');
