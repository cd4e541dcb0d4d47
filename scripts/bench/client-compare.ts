// Produce and consume throughput of Fjord's client against kafkajs (and @platformatic/kafka when
// installed, see platformatic() below), all talking to the same in-process Fjord broker (memory
// storage). Not part of npm test.
//
//   node --import tsx scripts/bench/client-vs-kafkajs.ts [--messages 200000] [--size 100] [--rounds 2]
//
// Scenarios (each client gets a fresh topic of 3 partitions):
//   produce-batch     sends of 1000 messages, awaited one after the other, acks=-1
//   produce-inflight  single-message sends, 1000 in flight at a time, acks=-1
//   consume           a group consumer with eachMessage reading every message from the beginning
// The broker runs in the same process, so its work counts against both clients alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka as KafkaJS, logLevel as kjsLogLevel } from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { Kafka as FjordKafka, logLevel } from '../../src/client/index.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '200000' },
    size: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
  },
});
const N = Number(values.messages);
const SIZE = Number(values.size);
const ROUNDS = Number(values.rounds);
const payload = 'x'.repeat(SIZE);

interface Adapter {
  produceBatch(topic: string): Promise<number>;
  produceInflight(topic: string): Promise<number>;
  consume(topic: string): Promise<number>;
}

const broker = await startBroker({ logLevel: 'error', groupInitialRebalanceDelayMs: 0 });
let seq = 0;

/** Runs `body` and returns how long it took in ms. */
async function timed(body: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await body();
  return performance.now() - t0;
}

// kafkajs and Fjord share the kafkajs API.
interface KafkajsLike {
  producer(): { connect(): Promise<void>; disconnect(): Promise<void>; send(r: { topic: string; acks?: number; messages: { key?: string | null; value: string }[] }): Promise<unknown> };
  consumer(c: { groupId: string }): {
    connect(): Promise<void>; disconnect(): Promise<void>;
    subscribe(s: { topic: string; fromBeginning: boolean }): Promise<void>;
    run(c: { eachMessage: (p: { message: { value: Buffer | null } }) => Promise<void> }): Promise<void>;
  };
}

function kafkajsStyle(kafka: KafkajsLike): Adapter {
  return {
    async produceBatch(topic) {
      const producer = kafka.producer();
      await producer.connect();
      const ms = await timed(async () => {
        for (let sent = 0; sent < N; sent += 1000) {
          const messages = [];
          for (let i = 0; i < 1000; i++) messages.push({ key: null, value: payload });
          await producer.send({ topic, acks: -1, messages });
        }
      });
      await producer.disconnect();
      return ms;
    },
    async produceInflight(topic) {
      const producer = kafka.producer();
      await producer.connect();
      let next = 0;
      const worker = async () => {
        while (next < N) {
          next++;
          await producer.send({ topic, acks: -1, messages: [{ value: payload }] });
        }
      };
      const ms = await timed(async () => { await Promise.all(Array.from({ length: 1000 }, worker)); });
      await producer.disconnect();
      return ms;
    },
    async consume(topic) {
      const consumer = kafka.consumer({ groupId: `bench-group-${seq++}` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let n = 0;
      let done!: () => void;
      const finished = new Promise<void>((r) => { done = r; });
      const ms = await timed(async () => {
        await consumer.run({ eachMessage: async () => { if (++n === N) done(); } });
        await finished;
      });
      await consumer.disconnect();
      return ms;
    },
  };
}

/**
 * @platformatic/kafka, when installed outside the project (it needs Node 22's
 * Promise.withResolvers, polyfilled here):
 *   npm install --prefix .cache/bench-clients @platformatic/kafka
 */
async function platformatic(): Promise<Adapter | null> {
  const here = dirname(fileURLToPath(import.meta.url));
  const entry = join(here, '..', '..', '.cache', 'bench-clients', 'node_modules', '@platformatic', 'kafka', 'dist', 'index.js');
  if (!existsSync(entry)) return null;
  const P = Promise as unknown as { withResolvers?: () => unknown };
  P.withResolvers ??= () => {
    let resolve: unknown, reject: unknown;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return { promise, resolve, reject };
  };
  const lib = await import(pathToFileURL(entry).href);
  const options = { clientId: 'bench', bootstrapBrokers: [broker.address] };
  return {
    async produceBatch(topic) {
      const producer = new lib.Producer({ ...options, serializers: lib.stringSerializers, acks: -1, idempotent: false, autocreateTopics: false });
      const ms = await timed(async () => {
        for (let sent = 0; sent < N; sent += 1000) {
          const messages = [];
          for (let i = 0; i < 1000; i++) messages.push({ topic, value: payload });
          await producer.send({ messages });
        }
      });
      await producer.close();
      return ms;
    },
    async produceInflight(topic) {
      const producer = new lib.Producer({ ...options, serializers: lib.stringSerializers, acks: -1, idempotent: false, autocreateTopics: false });
      let next = 0;
      const worker = async () => {
        while (next < N) {
          next++;
          await producer.send({ messages: [{ topic, value: payload }] });
        }
      };
      const ms = await timed(async () => { await Promise.all(Array.from({ length: 1000 }, worker)); });
      await producer.close();
      return ms;
    },
    async consume(topic) {
      const consumer = new lib.Consumer({ ...options, groupId: `bench-group-${seq++}` });
      let n = 0;
      const ms = await timed(async () => {
        const stream = await consumer.consume({ autocommit: true, topics: [topic], mode: 'earliest' });
        await new Promise<void>((resolve) => {
          stream.on('data', () => { if (++n === N) resolve(); });
        });
        await stream.close();
      });
      await consumer.close(true);
      return ms;
    },
  };
}

async function clients(): Promise<Record<string, Adapter>> {
  const out: Record<string, Adapter> = {
    kafkajs: kafkajsStyle(new KafkaJS({ brokers: [broker.address], logLevel: kjsLogLevel.NOTHING }) as unknown as KafkajsLike),
    fjord: kafkajsStyle(new FjordKafka({ brokers: [broker.address], logLevel: logLevel.NOTHING }) as unknown as KafkajsLike),
  };
  const plat = await platformatic();
  if (plat) out.platformatic = plat;
  else process.stderr.write('(@platformatic/kafka not installed in .cache/bench-clients: skipped)\n');
  return out;
}

async function newTopic(): Promise<string> {
  const topic = `bench-${process.pid}-${seq++}`;
  const admin = new FjordKafka({ brokers: [broker.address], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  await admin.disconnect();
  return topic;
}

const results: Record<string, Record<string, number[]>> = {};
const record = (scenario: string, client: string, ms: number) => {
  ((results[scenario] ??= {})[client] ??= []).push(N / (ms / 1000));
};

const adapters = await clients();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, client] of Object.entries(adapters)) {
    const t1 = await newTopic();
    record('produce-batch', name, await client.produceBatch(t1));
    record('consume', name, await client.consume(t1));
    const t2 = await newTopic();
    record('produce-inflight', name, await client.produceInflight(t2));
    process.stderr.write(`round ${round + 1}/${ROUNDS} ${name} done\n`);
  }
}

const best = (xs: number[]) => Math.max(...xs);
const names = Object.keys(adapters);
console.log(`\n${N} messages of ${SIZE} bytes, best of ${ROUNDS} rounds (messages/s)\n`);
console.log(`${'scenario'.padEnd(18)}${names.map((n) => n.padStart(14)).join('')}${names.filter((n) => n !== 'fjord').map((n) => `fjord/${n}`.padStart(22)).join('')}`);
for (const [scenario, byClient] of Object.entries(results)) {
  const f = best(byClient.fjord);
  const cells = names.map((n) => Math.round(best(byClient[n])).toString().padStart(14)).join('');
  const ratios = names.filter((n) => n !== 'fjord').map((n) => `${(f / best(byClient[n])).toFixed(2)}x`.padStart(22)).join('');
  console.log(`${scenario.padEnd(18)}${cells}${ratios}`);
}
await broker.stop();
