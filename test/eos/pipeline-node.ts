// A consume-transform-produce pipeline with a kafkajs-shaped client: kafkajs itself or Fjord's own
// client (the same program; they share the API). Driven by eos.test.ts, which kills it with -9.
//   node --import tsx test/eos/pipeline-node.ts <kafkajs|fjord> <bootstrap> <input> <output> <group> <transactional id> [pause ms]
// Each consumed batch (read_committed) becomes one transaction: one output record per input record
// (value `out:<input value>`, same key), a pause (the "transform" taking time, so that kills land
// inside open transactions), the consumer's next offsets sent in the transaction, commit.
// Before joining the group it initialises the transactional id, which fences an older instance
// with the same id and finishes (aborts) its open transaction, so the offsets the consumer then
// fetches are final. A failed transaction is aborted and the batch is thrown back to the consumer,
// which restarts from the committed offsets; if even the abort fails, the process exits 3 (the
// driver restarts it). Stdout: `ready`, then `c <records>` per commit and `a` per abort.
import { Kafka as KafkaJS, logLevel } from 'kafkajs';
import { Kafka as FjordKafka } from '../../src/index.js';

interface Msg { key: Buffer | null; value: Buffer | null; offset: string }
interface BatchPayload {
  batch: { topic: string; partition: number; messages: Msg[]; lastOffset(): string };
  resolveOffset(offset: string): void;
}
interface Txn {
  send(r: { topic: string; messages: { key: Buffer | null; value: string }[] }): Promise<unknown>;
  sendOffsets(o: { consumerGroupId: string; topics: { topic: string; partitions: { partition: number; offset: string }[] }[] }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}
interface Producer { connect(): Promise<void>; transaction(): Promise<Txn> }
interface Consumer {
  connect(): Promise<void>;
  subscribe(s: { topics: string[]; fromBeginning: boolean }): Promise<void>;
  run(c: { autoCommit: boolean; eachBatchAutoResolve: boolean; eachBatch(p: BatchPayload): Promise<void> }): Promise<void>;
}
interface Client {
  producer(c: { transactionalId: string; idempotent: boolean; maxInFlightRequests: number; transactionTimeout: number }): Producer;
  consumer(c: { groupId: string; sessionTimeout: number; rebalanceTimeout: number; heartbeatInterval: number; maxBytesPerPartition: number; readUncommitted: boolean }): Consumer;
}

const [which, bootstrap, input, output, groupId, transactionalId, pause = '0'] = process.argv.slice(2);
const pauseMs = Number(pause);
if (!transactionalId || (which !== 'kafkajs' && which !== 'fjord')) {
  console.error('usage: pipeline-node.ts <kafkajs|fjord> <bootstrap> <input> <output> <group> <transactional id> [pause ms]');
  process.exit(2);
}
const options = { clientId: `eos-${which}`, brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, retries: 10 } };
const client: Client = which === 'kafkajs' ? new KafkaJS(options) : new FjordKafka(options);

const producer = client.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 10000 });
await producer.connect();
// Fence the previous instance and end its transaction before the consumer fetches offsets.
await (await producer.transaction()).abort();

const consumer = client.consumer({
  groupId, sessionTimeout: 3000, rebalanceTimeout: 6000, heartbeatInterval: 500,
  // Small fetches: many small transactions, so a kill lands in the middle of the stream.
  maxBytesPerPartition: 1024, readUncommitted: false,
});
await consumer.connect();
await consumer.subscribe({ topics: [input], fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  async eachBatch({ batch, resolveOffset }) {
    if (batch.messages.length === 0) return;
    const txn = await producer.transaction();
    try {
      await txn.send({ topic: output, messages: batch.messages.map((m) => ({ key: m.key, value: `out:${m.value!.toString()}` })) });
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      const next = String(Number(batch.messages[batch.messages.length - 1].offset) + 1);
      await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      await txn.commit();
    } catch (err) {
      console.error(`transaction failed: ${(err as Error).message}`);
      try {
        await txn.abort();
      } catch (e) {
        console.error(`abort failed: ${(e as Error).message}`);
        process.exit(3);
      }
      process.stdout.write('a\n');
      throw err;
    }
    resolveOffset(batch.messages[batch.messages.length - 1].offset);
    process.stdout.write(`c ${batch.messages.length}\n`);
  },
});
process.stdout.write('ready\n');
