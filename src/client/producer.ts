// The producer: kafkajs' API (connect, send, sendBatch, disconnect, on) over an accumulator that
// batches concurrent sends. Messages wait in one queue per partition; whenever a broker has a free
// request slot (maxInFlightRequests), everything queued for its partitions goes out in one Produce
// request, one RecordBatch per partition. So while a request is in flight, later sends pile up and
// leave together: no fixed linger needed (lingerMs adds one if wanted).
//
// Idempotence: InitProducerId once; each partition's batches carry consecutive sequence numbers and
// at most one batch per partition is in flight, so a retry (same bytes, same sequence) can never
// be overtaken. The broker answers a duplicate with the original offset.
//
// Transactions (transaction.ts): producer.transaction() runs on a second, transactional Producer
// made from the same config, which adds partitions to the transaction before it sends to them.
import { ApiKey } from '../protocol/apis.js';
import type { ProduceResponse, ProduceResponsePartitionProduceResponse } from '../protocol/generated/types.js';
import { ErrorCode } from '../protocol/generated/errors.js';
import { Cluster, STALE_METADATA_CODES } from './cluster.js';
import {
  FjordError, FjordNonRetriableError, FjordNotConnectedError, FjordNumberOfRetriesExceeded, FjordProtocolError,
  isRetriable,
} from './errors.js';
import { Instrumentation, ProducerEvents, type InstrumentationEvent } from './instrumentation.js';
import type { ClientLogger } from './logger.js';
import { DefaultPartitioner, type Partitioner, type PartitionerFactory } from './partitioners.js';
import { encodeBatch, type IHeaders, type Message } from './record-codec.js';
import type { RetryOptions } from './retry.js';
import type { ProducerEventMap } from './events.js';
import { TransactionCoordinatorLink, type TransactionOffsets } from './transaction.js';

export const CompressionTypes = { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 } as const;

export interface ProducerConfig {
  createPartitioner?: PartitionerFactory;
  retry?: RetryOptions;
  metadataMaxAge?: number;
  /** Create topics on first use (when the broker allows it). Default true. */
  allowAutoTopicCreation?: boolean;
  idempotent?: boolean;
  transactionalId?: string;
  transactionTimeout?: number;
  /** Produce requests in flight per broker. Default 5 (1 when idempotent is not needed either way). */
  maxInFlightRequests?: number | null;
  /** Wait this long (ms) before sending a first batch, to gather more messages. Default 0. */
  lingerMs?: number;
  /** Largest uncompressed batch (bytes) per partition per request. Default 900000. */
  maxBatchBytes?: number;
  /**
   * Backpressure: when messages of this many bytes wait to be acknowledged, send() waits until
   * some are before queueing more. Default 64 MiB.
   */
  maxQueuedBytes?: number;
}

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  acks?: number;
  timeout?: number;
  compression?: number;
}

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

export interface ProducerBatch {
  acks?: number;
  timeout?: number;
  compression?: number;
  topicMessages?: TopicMessages[];
}

/** What producer.transaction() resolves with (kafkajs' Transaction). */
export interface Transaction {
  send(record: ProducerRecord): Promise<RecordMetadata[]>;
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>;
  sendOffsets(offsets: TransactionOffsets): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  isActive(): boolean;
}

export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  offset?: string;
  timestamp?: string;
  baseOffset?: string;
  logAppendTime?: string;
  logStartOffset?: string;
}

// --- accumulator state -------------------------------------------------------------------------

class SendCall {
  remaining = 0;
  failed = false;
  readonly results = new Map<string, RecordMetadata>();
  readonly promise: Promise<RecordMetadata[]>;
  resolve!: (r: RecordMetadata[]) => void;
  reject!: (e: Error) => void;
  constructor() {
    this.promise = new Promise((res, rej) => { this.resolve = res; this.reject = rej; });
  }
  partDone(topic: string, partition: number, meta: RecordMetadata | null): void {
    if (this.failed) return;
    const key = `${topic}\u0000${partition}`;
    if (meta && !this.results.has(key)) this.results.set(key, meta);
    if (--this.remaining === 0) this.resolve([...this.results.values()]);
  }
  fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.reject(err);
  }
}

/** A run of messages of one send call for one partition: messages[from..to). */
interface Part {
  call: SendCall;
  messages: Message[];
  from: number;
  to: number;
  bytes: number;
  /** Whether this part is the first slice of its call for the partition (reports the offset). */
  first: boolean;
}

interface PartitionQueue {
  topic: string;
  partition: number;
  acks: number;
  codec: number;
  timeout: number;
  parts: Part[];
  /** A batch that failed and waits for its retry (sent before anything else of this queue). */
  retry: Batch | null;
  /** Idempotence / ordering state shared by all queues of this partition. */
  state: PartitionState;
}

interface PartitionState {
  nextSequence: number;
  inFlight: number;
}

interface Batch {
  queue: PartitionQueue;
  parts: Part[];
  /** Offset of each part's first message inside the batch. */
  starts: number[];
  count: number;
  bytes: Buffer | null;
  baseSequence: number;
  attempts: number;
  notBefore: number;
  lastError: Error | null;
}

const estimate = (v: Buffer | string | null | undefined) => (v === null || v === undefined ? 0 : v.length);

function messageBytes(m: Message): number {
  let n = 16 + estimate(m.key) + estimate(m.value);
  if (m.headers) for (const k in m.headers) {
    const v = m.headers[k];
    if (Array.isArray(v)) for (const one of v) n += k.length + estimate(one) + 4;
    else n += k.length + estimate(v) + 4;
  }
  return n;
}

export class Producer {
  readonly events = ProducerEvents;
  private readonly instrumentation = new Instrumentation('producer', ProducerEvents);
  private readonly cluster: Cluster;
  private readonly partitioner: Partitioner;
  private readonly usesDefaultPartitioner: boolean;
  private readonly idempotent: boolean;
  private readonly maxInFlight: number;
  private readonly maxBatchBytes: number;
  private readonly lingerMs: number;
  private readonly allowAutoTopicCreation: boolean;
  private connected = false;
  private producerId = -1;
  private producerEpoch = -1;
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly partitionStates = new Map<string, PartitionState>();
  private readonly inFlightByNode = new Map<number, number>();
  /** Per broker, the promise the next request waits on before it is written (request order). */
  private readonly writeTurns = new Map<number, Promise<void>>();
  private drainScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private queuedCalls = new Set<SendCall>();
  private queuedBytes = 0;
  /** Settles when the latest send call has queued its messages (calls queue in call order). */
  private queueTurn: Promise<void> = Promise.resolve();
  private readonly maxQueuedBytes: number;
  private spaceWaiters: (() => void)[] = [];
  private stickyCounter = Math.floor(Math.random() * 1000);
  /** Set on the transactional producer only: its transaction coordinator and transaction state. */
  private readonly link: TransactionCoordinatorLink | null = null;
  /** On the user's producer: the transactional producer behind transaction(), made on first use. */
  private transactionalProducer: Producer | null = null;
  private transactionActive = false;
  /** Send calls of the current transaction; commit waits for them. */
  private transactionCalls = new Set<Promise<unknown>>();
  /** The first failure inside the current transaction: commit() reports it, abort() clears it. */
  private transactionFailure: Error | null = null;

  constructor(
    private readonly makeCluster: (emit: Instrumentation['network']) => Cluster,
    private readonly log: ClientLogger,
    private readonly config: ProducerConfig = {},
    transactional = false,
  ) {
    this.cluster = makeCluster(this.instrumentation.network);
    if (transactional) {
      if (!config.transactionalId) throw new Error('assertion: a transactional producer needs a transactionalId');
      this.link = new TransactionCoordinatorLink(this.cluster, config.transactionalId, log);
    }
    this.usesDefaultPartitioner = !config.createPartitioner;
    this.partitioner = (config.createPartitioner ?? DefaultPartitioner)();
    this.idempotent = !!config.idempotent || !!config.transactionalId;
    const mif = config.maxInFlightRequests ?? 5;
    this.maxInFlight = mif === null || mif <= 0 ? Infinity : mif;
    this.maxBatchBytes = config.maxBatchBytes ?? 900_000;
    this.lingerMs = config.lingerMs ?? 0;
    this.allowAutoTopicCreation = config.allowAutoTopicCreation ?? true;
    this.maxQueuedBytes = config.maxQueuedBytes ?? 64 * 1024 * 1024;
    if (this.idempotent && config.retry?.retries === 0) {
      this.log.warn('idempotent producer with retries: 0 — a failed request will not be retried');
    }
  }

  /** Listens to an instrumentation event (`this.events`); returns the function that removes it. */
  on<E extends keyof ProducerEventMap>(event: E, listener: (e: ProducerEventMap[E]) => void): () => void;
  /** An event name not known to the types (throws unless it is one of `this.events`). */
  on(event: string, listener: (e: InstrumentationEvent<unknown>) => void): () => void;
  on(event: string, listener: (e: never) => void): () => void {
    return this.instrumentation.on(event, listener);
  }

  isIdempotent(): boolean {
    return this.idempotent;
  }

  logger(): ClientLogger {
    return this.log;
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
    if (this.idempotent && this.producerId < 0) await this.initProducerId();
    this.connected = true;
    this.instrumentation.emit(ProducerEvents.CONNECT);
  }

  private async initProducerId(): Promise<void> {
    const timeoutMs = this.config.transactionTimeout ?? 60000;
    const res = this.link ? await this.link.initProducerId(timeoutMs, this.identity()) : await this.cluster.retrier.run(async () => {
      const conn = await this.cluster.anyConnection();
      const r = await conn.request(ApiKey.InitProducerId, {
        transactionalId: null, transactionTimeoutMs: timeoutMs,
        producerId: this.producerId, producerEpoch: this.producerEpoch,
      });
      if (r.errorCode !== 0) throw new FjordProtocolError(r.errorCode, 'InitProducerId');
      return r;
    });
    this.producerId = res.producerId;
    this.producerEpoch = res.producerEpoch;
    for (const s of this.partitionStates.values()) s.nextSequence = 0;
    this.log.debug('initialised producer id', { producerId: this.producerId, producerEpoch: this.producerEpoch });
  }

  async disconnect(): Promise<void> {
    // Let what is queued or in flight finish first.
    const pending = [...this.queuedCalls].map((c) => c.promise.catch(() => undefined));
    await Promise.all(pending);
    this.connected = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.transactionalProducer) await this.transactionalProducer.disconnect();
    await this.cluster.disconnect();
    this.instrumentation.emit(ProducerEvents.DISCONNECT);
  }

  /**
   * Starts a transaction (kafkajs' producer.transaction()). Needs `transactionalId`; the first call
   * initialises the transactional producer id, fencing older producers of the same id.
   */
  async transaction(): Promise<Transaction> {
    if (!this.config.transactionalId) throw new FjordNonRetriableError('Must provide transactional id for transactional producer');
    if (this.link) throw new Error('assertion: transaction() called on the inner transactional producer');
    if (!this.connected) throw new FjordNotConnectedError('The producer is not connected: call producer.connect() first');
    if (!this.transactionalProducer) {
      const inner = new Producer(this.makeCluster, this.log, this.config, true);
      await inner.connect();
      this.transactionalProducer = inner;
    }
    return this.transactionalProducer.begin();
  }

  private identity(): { producerId: number; producerEpoch: number } {
    return { producerId: this.producerId, producerEpoch: this.producerEpoch };
  }

  /** The transactional producer's side of transaction(). */
  private begin(): Transaction {
    const link = this.link!;
    if (link.fatal) throw link.fatal;
    if (this.transactionActive) {
      throw new FjordNonRetriableError('There is already an ongoing transaction for this producer. Please end the transaction before beginning another.');
    }
    this.transactionActive = true;
    this.transactionCalls = new Set();
    this.transactionFailure = null;
    link.begin();
    let ended = false;
    const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A): Promise<R> => (ended
      ? Promise.reject(new FjordNonRetriableError('Cannot continue to use transaction once ended'))
      : fn(...args));
    const track = <R>(p: Promise<R>): Promise<R> => {
      this.transactionCalls.add(p);
      p.catch((err: Error) => { this.transactionFailure ??= err; });
      return p;
    };
    const settle = () => Promise.allSettled([...this.transactionCalls]);
    const finish = () => {
      ended = true;
      this.transactionActive = false;
    };
    return {
      send: guard((record: ProducerRecord) => track(this.send(record))),
      sendBatch: guard((batch: ProducerBatch) => track(this.sendBatch(batch))),
      sendOffsets: guard((offsets: TransactionOffsets) => track(link.sendOffsets(this.identity(), offsets))),
      commit: guard(async () => {
        await settle();
        // The transaction stays open: the caller is expected to abort it.
        if (this.transactionFailure) throw this.transactionFailure;
        await link.end(this.identity(), true);
        finish();
      }),
      abort: guard(async () => {
        await settle();
        await link.end(this.identity(), false);
        const failed = this.transactionFailure !== null;
        finish();
        // A failed batch left this producer's sequence numbers unknown to the broker: start a new
        // epoch (the coordinator bumps it) so the next transaction begins at sequence 0.
        if (failed && !link.fatal) await this.initProducerId();
      }),
      isActive: () => !ended,
    };
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.sendBatch({ acks: record.acks, timeout: record.timeout, compression: record.compression, topicMessages: [{ topic: record.topic, messages: record.messages }] });
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    if (!this.connected) throw new FjordNotConnectedError('The producer is not connected: call producer.connect() first');
    if (this.link?.fatal) throw this.link.fatal;
    const acks = batch.acks ?? -1;
    const codec = batch.compression ?? 0;
    const timeout = batch.timeout ?? 30000;
    const topicMessages = batch.topicMessages ?? [];
    if (![-1, 0, 1].includes(acks)) throw new FjordNonRetriableError(`acks must be -1, 0 or 1, not ${acks}`);
    if (this.idempotent && acks !== -1) throw new FjordNonRetriableError('an idempotent producer must use acks -1 (all replicas)');
    if (!Number.isInteger(codec) || codec < 0 || codec > 4) throw new FjordNonRetriableError(`unknown compression codec ${codec}`);
    for (const { topic, messages } of topicMessages) {
      if (typeof topic !== 'string' || topic === '') throw new FjordNonRetriableError(`Invalid topic "${topic}"`);
      if (!Array.isArray(messages)) throw new FjordNonRetriableError(`Invalid messages array [${messages}] for topic "${topic}"`);
      for (const m of messages) {
        if (!m || m.value === undefined) throw new FjordNonRetriableError(`Invalid message without value for topic "${topic}": ${JSON.stringify(m)}`);
      }
    }
    const topics = topicMessages.filter((t) => t.messages.length > 0).map((t) => t.topic);
    if (topics.length === 0) return [];
    // Calls are queued in the order they were made, as Kafka's producer keeps send() order per
    // partition: a call whose metadata lookup or backpressure wait takes longer must not let a
    // later call's messages in ahead of its own. Each call waits for the one before it to queue.
    const previousTurn = this.queueTurn;
    let turnDone!: () => void;
    this.queueTurn = new Promise<void>((resolve) => { turnDone = resolve; });
    let queued: { acknowledged: Promise<RecordMetadata[]> };
    try {
      await this.cluster.ensureTopics(topics, this.allowAutoTopicCreation);
      await previousTurn;
      queued = await this.queueCall(topicMessages, acks, codec, timeout);
    } finally {
      turnDone();
    }
    return queued.acknowledged;
  }

  /**
   * Splits one call's messages into its partitions' queues (after backpressure) and schedules
   * sending; resolves once they are queued, with the promise of their acknowledgement.
   */
  private async queueCall(topicMessages: NonNullable<ProducerBatch['topicMessages']>, acks: number, codec: number, timeout: number): Promise<{ acknowledged: Promise<RecordMetadata[]> }> {
    const call = new SendCall();
    const parts: [PartitionQueue, Part][] = [];
    for (const { topic, messages } of topicMessages) {
      if (messages.length === 0) continue;
      this.partitionMessages(call, topic, messages, acks, codec, timeout, parts);
    }
    call.remaining = parts.length;
    // Backpressure; no await between this check and the queueing below.
    while (this.queuedBytes >= this.maxQueuedBytes) await new Promise<void>((r) => this.spaceWaiters.push(r));
    let bytes = 0;
    for (const [queue, part] of parts) {
      queue.parts.push(part);
      bytes += part.bytes;
    }
    this.queuedBytes += bytes;
    this.queuedCalls.add(call);
    const forget = () => {
      this.queuedCalls.delete(call);
      this.queuedBytes -= bytes;
      if (this.queuedBytes < this.maxQueuedBytes && this.spaceWaiters.length) {
        const waiters = this.spaceWaiters;
        this.spaceWaiters = [];
        for (const w of waiters) w();
      }
    };
    call.promise.then(forget, forget);
    this.schedule();
    return { acknowledged: call.promise };
  }

  private queueFor(topic: string, partition: number, acks: number, codec: number, timeout: number): PartitionQueue {
    const key = `${topic}\u0000${partition}\u0000${acks}\u0000${codec}`;
    let q = this.queues.get(key);
    if (!q) {
      const sk = `${topic}\u0000${partition}`;
      let state = this.partitionStates.get(sk);
      if (!state) this.partitionStates.set(sk, (state = { nextSequence: 0, inFlight: 0 }));
      q = { topic, partition, acks, codec, timeout, parts: [], retry: null, state };
      this.queues.set(key, q);
    }
    q.timeout = timeout;
    return q;
  }

  private partitionMessages(call: SendCall, topic: string, messages: Message[], acks: number, codec: number, timeout: number, out: [PartitionQueue, Part][]): void {
    const meta = this.cluster.topic(topic)!;
    const partitionMetadata = meta.partitions;
    const n = partitionMetadata.length;
    let sticky = -1;
    const pick = (m: Message): number => {
      if (m.partition !== undefined && m.partition !== null) {
        if (!Number.isInteger(m.partition) || m.partition < 0 || m.partition >= n) {
          throw new FjordNonRetriableError(`partition ${m.partition} does not exist in topic "${topic}" (it has ${n})`);
        }
        return m.partition;
      }
      if (this.usesDefaultPartitioner && (m.key === null || m.key === undefined)) {
        if (sticky < 0) sticky = partitionMetadata[(this.stickyCounter++ & 0x7fffffff) % n].partitionId;
        return sticky;
      }
      return this.partitioner({ topic, partitionMetadata, message: m });
    };
    // Fast path: the whole array goes to one partition (single messages, keyless sends).
    const first = pick(messages[0]);
    let same = true;
    for (let i = 1; i < messages.length && same; i++) same = pick(messages[i]) === first;
    if (same) {
      let bytes = 0;
      for (const m of messages) bytes += messageBytes(m);
      out.push([this.queueFor(topic, first, acks, codec, timeout), { call, messages, from: 0, to: messages.length, bytes, first: true }]);
      return;
    }
    const groups = new Map<number, Message[]>();
    for (const m of messages) {
      const p = pick(m);
      let g = groups.get(p);
      if (!g) groups.set(p, (g = []));
      g.push(m);
    }
    for (const [p, list] of groups) {
      let bytes = 0;
      for (const m of list) bytes += messageBytes(m);
      out.push([this.queueFor(topic, p, acks, codec, timeout), { call, messages: list, from: 0, to: list.length, bytes, first: true }]);
    }
  }

  private schedule(delay = this.lingerMs): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    const run = () => {
      this.drainScheduled = false;
      this.drain();
    };
    if (delay > 0) setTimeout(run, delay);
    else setImmediate(run);
  }

  /** Sends what is ready, as one request per broker and acks level, while request slots are free. */
  private drain(): void {
    const now = Date.now();
    let earliestRetry = Infinity;
    // Group ready queues by (leader, acks).
    const lanes = new Map<string, { node: number; acks: number; queues: PartitionQueue[] }>();
    for (const q of this.queues.values()) {
      if (q.parts.length === 0 && !q.retry) continue;
      if (q.retry && q.retry.notBefore > now) { earliestRetry = Math.min(earliestRetry, q.retry.notBefore); continue; }
      if (this.idempotent && q.state.inFlight > 0) continue;
      const node = this.cluster.leaderOf(q.topic, q.partition);
      const key = `${node}\u0000${q.acks}`;
      let lane = lanes.get(key);
      if (!lane) lanes.set(key, (lane = { node, acks: q.acks, queues: [] }));
      lane.queues.push(q);
    }
    for (const lane of lanes.values()) {
      const inFlight = this.inFlightByNode.get(lane.node) ?? 0;
      if (inFlight >= this.maxInFlight) continue;
      const batches: Batch[] = [];
      for (const q of lane.queues) {
        if (this.idempotent && q.state.inFlight > 0) continue; // two queues of one partition
        const b = this.takeBatch(q);
        if (b) batches.push(b);
      }
      if (batches.length === 0) continue;
      this.inFlightByNode.set(lane.node, inFlight + 1);
      void this.sendRequest(lane.node, lane.acks, batches).finally(() => {
        this.inFlightByNode.set(lane.node, (this.inFlightByNode.get(lane.node) ?? 1) - 1);
        this.schedule(0);
      });
    }
    if (earliestRetry !== Infinity) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => { this.retryTimer = null; this.schedule(0); }, Math.max(1, earliestRetry - now));
    }
  }

  /** Takes the queue's retry batch, or up to maxBatchBytes of its queued parts as a new batch. */
  private takeBatch(q: PartitionQueue): Batch | null {
    if (q.retry) {
      const b = q.retry;
      q.retry = null;
      q.state.inFlight++;
      return b;
    }
    if (q.parts.length === 0) return null;
    const parts: Part[] = [];
    const starts: number[] = [];
    let bytes = 0;
    let count = 0;
    while (q.parts.length > 0) {
      const p = q.parts[0];
      if (bytes + p.bytes > this.maxBatchBytes) {
        if (count === 0 && p.to - p.from > 1) {
          // One part larger than a batch: split it.
          const fit = Math.max(1, Math.floor((p.to - p.from) * (this.maxBatchBytes / p.bytes)));
          const head: Part = { ...p, to: p.from + fit, bytes: Math.ceil(p.bytes * fit / (p.to - p.from)) };
          q.parts[0] = { ...p, from: p.from + fit, bytes: p.bytes - head.bytes, first: false };
          p.call.remaining++;
          parts.push(head);
          starts.push(count);
          count += head.to - head.from;
        } else if (count === 0) {
          q.parts.shift();
          parts.push(p);
          starts.push(count);
          count += p.to - p.from;
        }
        break;
      }
      q.parts.shift();
      parts.push(p);
      starts.push(count);
      count += p.to - p.from;
      bytes += p.bytes;
    }
    let baseSequence = -1;
    if (this.idempotent) {
      baseSequence = q.state.nextSequence;
      q.state.nextSequence = (q.state.nextSequence + count) % 0x80000000;
    }
    q.state.inFlight++;
    return { queue: q, parts, starts, count, bytes: null, baseSequence, attempts: 0, notBefore: 0, lastError: null };
  }

  private async encode(b: Batch): Promise<Buffer> {
    if (b.bytes) return b.bytes;
    const q = b.queue;
    const o = {
      producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: b.baseSequence, codec: q.codec, now: Date.now(),
      transactional: this.link !== null,
    };
    let messages: Message[];
    if (b.parts.length === 1) {
      const p = b.parts[0];
      b.bytes = await encodeBatch(p.messages, p.from, p.to, o);
      return b.bytes;
    }
    messages = [];
    for (const p of b.parts) for (let i = p.from; i < p.to; i++) messages.push(p.messages[i]);
    b.bytes = await encodeBatch(messages, 0, messages.length, o);
    return b.bytes;
  }

  private async sendRequest(node: number, acks: number, batches: Batch[]): Promise<void> {
    let response: ProduceResponse | null;
    const timeout = Math.max(...batches.map((b) => b.queue.timeout));
    // Batches are encoded (compressed) in parallel, but requests reach the socket in the order
    // they were made: compression finishing out of order must not reorder a partition's batches.
    const encoding = Promise.all(batches.map((b) => this.encode(b)));
    encoding.catch(() => undefined);
    const previous = this.writeTurns.get(node) ?? Promise.resolve();
    let written!: () => void;
    const turn = new Promise<void>((resolve) => { written = resolve; });
    this.writeTurns.set(node, turn);
    try {
      // A partition joins the transaction before its first batch is written.
      if (this.link) await this.link.addPartitions(this.identity(), batches.map((b) => b.queue));
      const encoded = await encoding;
      await previous;
      const byTopic = new Map<string, { index: number; records: Buffer }[]>();
      batches.forEach((b, i) => {
        let list = byTopic.get(b.queue.topic);
        if (!list) byTopic.set(b.queue.topic, (list = []));
        list.push({ index: b.queue.partition, records: encoded[i] });
      });
      const conn = await this.cluster.connection(node);
      const answer = conn.request(ApiKey.Produce, {
        transactionalId: this.link?.transactionalId ?? null,
        acks,
        timeoutMs: timeout,
        topicData: [...byTopic].map(([name, partitionData]) => ({ name, partitionData })),
      }, { expectResponse: acks !== 0, timeout: timeout + 5000 });
      written();
      response = await answer;
    } catch (err) {
      written();
      for (const b of batches) this.batchFailed(b, err as Error);
      return;
    } finally {
      if (this.writeTurns.get(node) === turn) this.writeTurns.delete(node);
    }
    if (response === null) { // acks=0: the broker answers nothing
      for (const b of batches) this.batchDone(b, { index: b.queue.partition, errorCode: 0, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 });
      return;
    }
    const results = new Map<string, ProduceResponsePartitionProduceResponse>();
    for (const t of response.responses) {
      for (const p of t.partitionResponses) results.set(`${t.name}\u0000${p.index}`, p);
    }
    for (const b of batches) {
      const r = results.get(`${b.queue.topic}\u0000${b.queue.partition}`);
      if (!r) {
        this.batchFailed(b, new FjordError(`no produce result for ${b.queue.topic}/${b.queue.partition}`));
      } else if (r.errorCode === 0 || r.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        this.batchDone(b, r);
      } else {
        this.batchFailed(b, new FjordProtocolError(r.errorCode, r.errorMessage ?? `${b.queue.topic}/${b.queue.partition}`));
      }
    }
  }

  private batchDone(b: Batch, r: ProduceResponsePartitionProduceResponse): void {
    b.queue.state.inFlight--;
    const q = b.queue;
    for (let i = 0; i < b.parts.length; i++) {
      const p = b.parts[i];
      const base = r.baseOffset >= 0 ? r.baseOffset + b.starts[i] : r.baseOffset;
      p.call.partDone(q.topic, q.partition, p.first ? {
        topicName: q.topic,
        partition: q.partition,
        errorCode: 0,
        baseOffset: String(base),
        logAppendTime: String(r.logAppendTimeMs ?? -1),
        logStartOffset: String(r.logStartOffset ?? -1),
      } : null);
    }
  }

  private batchFailed(b: Batch, err: Error): void {
    b.queue.state.inFlight--;
    b.lastError = err;
    const code = (err as FjordProtocolError).code;
    if (typeof code === 'number' && STALE_METADATA_CODES.has(code)) void this.cluster.refreshMetadata().catch(() => undefined);
    const retries = this.cluster.retrier.options.retries;
    if (isRetriable(err) && b.attempts < retries && this.connected) {
      b.notBefore = Date.now() + this.cluster.retrier.delay(b.attempts);
      b.attempts++;
      this.log.debug(`retrying produce to ${b.queue.topic}/${b.queue.partition}: ${err.message}`, { attempt: b.attempts });
      // Back to the front of its queue: nothing of this partition can overtake it.
      b.queue.retry = b;
      this.schedule(0);
      return;
    }
    const final = isRetriable(err) ? new FjordNumberOfRetriesExceeded(err, { retryCount: b.attempts, retryTime: 0 }) : err;
    for (const p of b.parts) p.call.fail(final);
    // Later sends to this partition would now be out of sequence; an idempotent producer
    // must start over with a new epoch (a transactional one does so when the transaction is aborted).
    if (this.idempotent) {
      for (const q of this.queues.values()) {
        if (q.state !== b.queue.state) continue;
        for (const p of q.parts) p.call.fail(final);
        q.parts = [];
      }
      b.queue.state.nextSequence = 0;
      if (!this.link) void this.initProducerId().catch((e) => this.log.error(`could not renew the producer id: ${(e as Error).message}`));
    }
  }
}

export type { IHeaders, Message };
