// Produce and consume throughput of Fjord's client against kafkajs, both talking to the same
// in-process Fjord broker (memory storage). Not part of npm test.
//
//   node --import tsx scripts/bench/client-vs-kafkajs.ts [--messages 200000] [--size 100] [--rounds 2]
//
// Scenarios (each client gets a fresh topic of 3 partitions):
//   produce-batch     sends of 1000 messages, awaited one after the other, acks=-1
//   produce-inflight  single-message sends, 1000 in flight at a time, acks=-1
//   consume           a group consumer with eachMessage reading every message from the beginning
// The broker runs in the same process, so its work counts against both clients alike.
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

interface AnyProducer { connect(): Promise<void>; disconnect(): Promise<void>; send(r: { topic: string; acks?: number; messages: { key?: string | null; value: string }[] }): Promise<unknown> }
interface AnyConsumer {
  connect(): Promise<void>; disconnect(): Promise<void>;
  subscribe(s: { topic: string; fromBeginning: boolean }): Promise<void>;
  run(c: { eachMessage: (p: { message: { value: Buffer | null } }) => Promise<void> }): Promise<void>;
}
interface AnyAdmin { connect(): Promise<void>; disconnect(): Promise<void>; createTopics(o: { topics: { topic: string; numPartitions: number }[] }): Promise<boolean> }
interface Client { producer(): AnyProducer; consumer(c: { groupId: string }): AnyConsumer; admin(): AnyAdmin }

const broker = await startBroker({ logLevel: 'error', groupInitialRebalanceDelayMs: 0 });
let seq = 0;

function clients(): Record<string, () => Client> {
  return {
    kafkajs: () => new KafkaJS({ brokers: [broker.address], logLevel: kjsLogLevel.NOTHING }) as unknown as Client,
    fjord: () => new FjordKafka({ brokers: [broker.address], logLevel: logLevel.NOTHING }) as unknown as Client,
  };
}

async function newTopic(kafka: Client): Promise<string> {
  const topic = `bench-${process.pid}-${seq++}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
  await admin.disconnect();
  return topic;
}

async function produceBatch(kafka: Client, topic: string): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  const t0 = performance.now();
  for (let sent = 0; sent < N; sent += 1000) {
    const messages = [];
    for (let i = 0; i < 1000; i++) messages.push({ key: null, value: payload });
    await producer.send({ topic, acks: -1, messages });
  }
  const ms = performance.now() - t0;
  await producer.disconnect();
  return ms;
}

async function produceInflight(kafka: Client, topic: string): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  const t0 = performance.now();
  const window = 1000;
  let next = 0;
  const worker = async () => {
    while (next < N) {
      next++;
      await producer.send({ topic, acks: -1, messages: [{ value: payload }] });
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  const ms = performance.now() - t0;
  await producer.disconnect();
  return ms;
}

async function consume(kafka: Client, topic: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-group-${seq++}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const t0 = performance.now();
  await consumer.run({ eachMessage: async () => { if (++n === N) done(); } });
  await finished;
  const ms = performance.now() - t0;
  await consumer.disconnect();
  return ms;
}

const results: Record<string, Record<string, number[]>> = {};
const record = (scenario: string, client: string, ms: number) => {
  ((results[scenario] ??= {})[client] ??= []).push(N / (ms / 1000));
};

for (let round = 0; round < ROUNDS; round++) {
  for (const [name, make] of Object.entries(clients())) {
    const kafka = make();
    const t1 = await newTopic(kafka);
    record('produce-batch', name, await produceBatch(kafka, t1));
    record('consume', name, await consume(kafka, t1));
    const t2 = await newTopic(kafka);
    record('produce-inflight', name, await produceInflight(kafka, t2));
    process.stderr.write(`round ${round + 1}/${ROUNDS} ${name} done\n`);
  }
}

const best = (xs: number[]) => Math.max(...xs);
console.log(`\n${N} messages of ${SIZE} bytes, best of ${ROUNDS} rounds (messages/s)\n`);
console.log(`${'scenario'.padEnd(18)}${'kafkajs'.padStart(12)}${'fjord'.padStart(12)}${'fjord/kafkajs'.padStart(16)}`);
for (const [scenario, byClient] of Object.entries(results)) {
  const k = best(byClient.kafkajs);
  const f = best(byClient.fjord);
  console.log(`${scenario.padEnd(18)}${Math.round(k).toString().padStart(12)}${Math.round(f).toString().padStart(12)}${(f / k).toFixed(2).padStart(15)}x`);
}
await broker.stop();
