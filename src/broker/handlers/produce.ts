// Produce v0–11. v3+ carry RecordBatch v2, stored as sent; v0–2 carry legacy message sets
// (magic 0/1), converted into one v2 batch first (see protocol/legacy.ts). acks 0/1/-1: -1 answers
// after the bytes are fsynced (grouped), 1 after they reach the OS, 0 gets no response at all.
// Batches are checked as Kafka's LogValidator checks them (protocol/records.ts validateBatches:
// CRC32C, sizes, record count = lastOffsetDelta + 1, and the records themselves walked, offset
// deltas 0..n-1); a compressed batch is decompressed and walked too (checkCompressedBatches), off
// the event loop; it is stored as sent unless the topic's compression.type names a codec, then
// batches of any other codec are recompressed (as Kafka's LogValidator does). Topic settings
// also checked here: min.insync.replicas (acks=-1 with more than 1: NOT_ENOUGH_REPLICAS, the one
// node being the whole in-sync set) and message.timestamp.before/after.max.ms (INVALID_TIMESTAMP
// from the batch's first and newest timestamps). Decompression is capped: per partition at
// DECOMPRESSION_FACTOR × max.message.bytes, per request at REQUEST_DECOMPRESSION_LIMIT
// (MESSAGE_TOO_LARGE past either). Kafka's internal topics cannot be written (INVALID_TOPIC_EXCEPTION,
// as Kafka's ReplicaManager answers "Cannot append to internal topic"). LogAppendTime topics get
// the broker's time stamped in. Idempotent batches are checked against the partition's producer
// state: a retry of one of the last five batches is answered with its original offset, gaps and
// stale epochs are refused.
//
// Transactions: a transactional batch needs a producer id, epoch and sequence (INVALID_RECORD
// otherwise: it could never be ended, nor fenced); control batches are the broker's own
// (INVALID_RECORD, as Kafka's LogValidator); a non-transactional batch from a producer with a
// transaction open on the partition is refused with INVALID_TXN_STATE, as Kafka does.
//
// Order (DESIGN.md invariant 4): a partition whose batches are all uncompressed, with nothing of
// an earlier request still being checked, appends synchronously, as before. Otherwise the append
// waits in that partition's queue (`appendQueues`): it starts only after the previous produce to
// the partition started its append (or failed), so appends start in request order even while
// decompression runs. Within one request the compressed checks run one partition after another,
// sharing the request's budget.
import { ApiKey } from '../../protocol/apis.js';
import { CODEC_NAMES, DEFAULT_MAX_DECOMPRESSED_BYTES, Codec, compress } from '../../protocol/compression.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ProduceRequest, ProduceResponse, ProduceResponsePartitionProduceResponse, ProduceResponseTopicProduceResponse } from '../../protocol/generated/types.js';
import { messageSetToBatches } from '../../protocol/legacy.js';
import {
  Attr, BATCH_HEADER_SIZE, InvalidRecordError, RecordCursor, batchCodec, batchRecordsSection, checkCompressedBatches, readBatchHeader, validateBatches, writeBatchHeader, type BatchHeader,
} from '../../protocol/records.js';
import { NotLeaderError, StorageError, type PartitionLog } from '../../storage/types.js';
import { leadsHere } from '../cluster/view.js';
import { clusterCatchUp, partitionNeedsCatchUp } from '../cluster/catch-up.js';
import { isInternalTopic } from '../topics.js';
import { authorize } from '../auth/acls.js';
import { defineHandler, type RequestContext } from '../handler.js';

type PartitionOutcome = ProduceResponsePartitionProduceResponse;

/** A partition's compressed batches may decompress to this many times its max.message.bytes. */
export const DECOMPRESSION_FACTOR = 32;
/** All compressed batches (and legacy wrappers) of one request may decompress to this much. */
export const REQUEST_DECOMPRESSION_LIMIT = DEFAULT_MAX_DECOMPRESSED_BYTES;

/**
 * Per partition log: settles once the latest produce queued behind a check has started its
 * append (or failed). Absent when no produce to that partition is waiting.
 */
const appendQueues = new WeakMap<PartitionLog, Promise<void>>();

function failure(index: number, errorCode: number, errorMessage: string | null): PartitionOutcome {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage };
}

/** The decoder gives a request's records as one buffer; only encoders are handed lists of them. */
function receivedRecords(records: Buffer | Buffer[] | null): Buffer | null {
  return Array.isArray(records) ? Buffer.concat(records) : records;
}

/** Batches that passed every check, ready for the idempotence check and append. */
interface Checked {
  records: Buffer;
  headers: BatchHeader[];
}

/** What one request's partitions share: the decompression budget left, and the last check started. */
interface RequestChecks {
  budgetLeft: number;
  /** Absent until a partition of the request needs an async check. */
  previous: Promise<unknown> | undefined;
}

/** The header checks every batch gets (after validateBatches or a legacy conversion); an outcome when one fails. */
function headerProblem(ctx: RequestContext, topicName: string, index: number, headers: readonly BatchHeader[], limits: TopicLimits, largestLegacy: number): PartitionOutcome | null {
  const legacy = ctx.version < 3;
  const { maxMessageBytes } = limits;
  const now = Date.now();
  for (const h of headers) {
    // message.timestamp.before/after.max.ms (CreateTime topics): the batch's first and newest timestamps.
    if (limits.timestamps && (h.baseTimestamp < now - limits.beforeMaxMs || h.maxTimestamp > now + limits.afterMaxMs)) {
      return failure(index, ErrorCode.INVALID_TIMESTAMP, `timestamp ${h.baseTimestamp < now - limits.beforeMaxMs ? h.baseTimestamp : h.maxTimestamp} is out of the range message.timestamp.before.max.ms ${limits.beforeMaxMs} / after.max.ms ${limits.afterMaxMs} of ${topicName} allows around the broker's time ${now}`);
    }
    const size = legacy ? largestLegacy : h.size;
    if (size > maxMessageBytes) return failure(index, ErrorCode.MESSAGE_TOO_LARGE, `${legacy ? 'message' : 'batch'} of ${size} bytes exceeds max.message.bytes ${maxMessageBytes}`);
    // zstd needs Produce v7+ (KIP-110), as in Kafka.
    if (batchCodec(h) === Codec.zstd && ctx.version < 7) {
      return failure(index, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'zstd compression needs Produce v7 or later');
    }
    if (h.attributes & Attr.CONTROL) return failure(index, ErrorCode.INVALID_RECORD, 'clients may not write control batches');
    if (h.attributes & Attr.TRANSACTIONAL && (h.producerId < 0 || h.producerEpoch < 0 || h.baseSequence < 0)) {
      return failure(index, ErrorCode.INVALID_RECORD, `transactional batch without a producer id, epoch and sequence (${h.producerId}/${h.producerEpoch}/${h.baseSequence})`);
    }
  }
  return null;
}

/** What a topic's settings demand of each batch. */
interface TopicLimits {
  maxMessageBytes: number;
  /** Whether timestamps are checked (CreateTime topics; LogAppendTime ones get the broker's). */
  timestamps: boolean;
  beforeMaxMs: number;
  afterMaxMs: number;
}

/** compression.type's codec, or null for `producer` (batches are stored as sent). */
function targetCodec(type: string | undefined): number | null {
  switch (type) {
    case 'uncompressed': return Codec.none;
    case 'gzip': return Codec.gzip;
    case 'snappy': return Codec.snappy;
    case 'lz4': return Codec.lz4;
    case 'zstd': return Codec.zstd;
    default: return null;
  }
}

/**
 * The batches with their records compressed with `codec` (compression.type set on the topic, as
 * Kafka's LogValidator recompresses); batches already in it are kept as sent. Producer ids,
 * sequences, timestamps and attributes other than the codec stay.
 */
async function recompress(c: Checked, codec: number, maxDecompressedBytes: number): Promise<Checked> {
  const out: Buffer[] = [];
  const headers: BatchHeader[] = [];
  let at = 0;
  for (const h of c.headers) {
    const batch = c.records.subarray(at, at + h.size);
    at += h.size;
    if (batchCodec(h) === codec) {
      out.push(batch);
      headers.push(h);
      continue;
    }
    const section = await batchRecordsSection(batch, h, { maxBytes: maxDecompressedBytes });
    const body = codec === Codec.none ? section : await compress(codec, section);
    const b = Buffer.allocUnsafe(BATCH_HEADER_SIZE + body.length);
    body.copy(b, BATCH_HEADER_SIZE);
    writeBatchHeader(b, { ...h, attributes: (h.attributes & ~Attr.COMPRESSION_MASK) | codec });
    out.push(b);
    headers.push(readBatchHeader(b));
  }
  return { records: out.length === 1 ? out[0] : Buffer.concat(out), headers };
}

/** Runs `check` after the request's previous one, with the budget left then; charges what it used. */
function queueCheck(shared: RequestChecks, check: (budget: number) => Promise<number>, partitionLimit: number): Promise<void> {
  const run = (shared.previous ?? Promise.resolve()).then(async () => {
    const used = await check(Math.min(partitionLimit, shared.budgetLeft));
    shared.budgetLeft -= used;
  });
  shared.previous = run.catch(() => undefined);
  return run;
}

/**
 * Whether `h` (a transactional batch) belongs to the producer's open transaction with this
 * partition added to it (AddPartitionsToTxn): INVALID_TXN_STATE when not, INVALID_PRODUCER_EPOCH
 * for another epoch of the producer.
 */
function transactionProblem(ctx: RequestContext, topicName: string, index: number, h: BatchHeader): PartitionOutcome | null {
  const problem = ctx.services.transactions.checkProduce(h.producerId, h.producerEpoch, topicName, index);
  return problem ? failure(index, problem.errorCode, problem.message) : null;
}

/** The idempotence check and the append, with no await between them (invariant 4). */
function appendChecked(ctx: RequestContext, topicName: string, index: number, log: PartitionLog, { records, headers }: Checked, acks: number, logAppend: boolean): PartitionOutcome | Promise<PartitionOutcome> {
  const { services } = ctx;
  // A log that takes no appends now (cluster mode: led elsewhere, or still loading its state to lead
  // it) may hold stale producer state: refuse before its sequences could answer OUT_OF_ORDER wrongly.
  const notTaking = log.appendRefusal?.();
  if (notTaking) return appendFailure(services, topicName, index, notTaking);
  // Idempotence: with several batches, either all are new or the request is refused.
  for (const h of headers) {
    const check = log.producers.check(h);
    if (check.kind === 'error') {
      const verdict = failure(index, check.errorCode, check.message);
      // Cluster mode: a sequence verdict holds only if this broker still leads (invariant 32).
      if (!log.confirmLeader || (check.errorCode !== ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && check.errorCode !== ErrorCode.UNKNOWN_PRODUCER_ID)) return verdict;
      return log.confirmLeader().then(
        (err) => (err ? appendFailure(services, topicName, index, err) : verdict),
        (err: unknown) => appendFailure(services, topicName, index, new StorageError(`${topicName}-${index}: confirming the leadership failed: ${err instanceof Error ? err.message : String(err)}`)),
      );
    }
    if (h.attributes & Attr.TRANSACTIONAL) {
      // A retry of a batch already written is answered as a duplicate even if its transaction has ended since.
      const refused = check.kind === 'append' ? transactionProblem(ctx, topicName, index, h) : null;
      if (refused) return refused;
    } else if (h.producerId >= 0 && log.txnFirstOffset(h.producerId) >= 0) {
      return failure(index, ErrorCode.INVALID_TXN_STATE, `producer ${h.producerId} has a transaction open on ${topicName}-${index}; its batches must be transactional`);
    }
    if (check.kind === 'duplicate') {
      if (headers.length > 1) return failure(index, ErrorCode.DUPLICATE_SEQUENCE_NUMBER, 'duplicate batch inside a multi-batch request');
      return { index, errorCode: ErrorCode.NONE, baseOffset: check.baseOffset, logAppendTimeMs: -1, logStartOffset: log.logStartOffset(), errorMessage: null };
    }
  }
  const appended = log.append(records, headers, { sync: acks === -1, logAppendTime: logAppend ? Date.now() : undefined });
  return appended.then(
    (r): PartitionOutcome => ({ index, errorCode: ErrorCode.NONE, baseOffset: r.baseOffset, logAppendTimeMs: r.logAppendTime, logStartOffset: r.logStartOffset, errorMessage: null }),
    (err) => {
      if (err instanceof StorageError) return appendFailure(services, topicName, index, err);
      throw err;
    },
  );
}

function appendFailure(services: RequestContext['services'], topicName: string, index: number, err: StorageError): PartitionOutcome {
  // Another broker leads the partition now (its epoch moved): the client asks Metadata again.
  if (err instanceof NotLeaderError) return failure(index, ErrorCode.NOT_LEADER_OR_FOLLOWER, err.message);
  services.logger.error(`append to ${topicName}-${index} failed: ${err.message}`);
  return failure(index, ErrorCode.KAFKA_STORAGE_ERROR, err.message);
}

/**
 * A compacted topic takes no record without a key (Kafka's LogValidator: INVALID_RECORD).
 * keylessPlain walks the uncompressed batches in place; keylessCompressed decompresses the others
 * again, once checkCompressedBatches has checked them (compacted topics only).
 */
const KEYLESS = 'compacted topic cannot accept a record without a key';

function keylessPlain(index: number, records: Buffer, headers: readonly BatchHeader[]): PartitionOutcome | null {
  let at = 0;
  for (const h of headers) {
    const from = at;
    at += h.size;
    if (batchCodec(h) !== 0) continue;
    const cursor = new RecordCursor(h, records.subarray(from + BATCH_HEADER_SIZE, at));
    while (cursor.next()) if (cursor.key === null) return failure(index, ErrorCode.INVALID_RECORD, KEYLESS);
  }
  return null;
}

async function keylessCompressed(index: number, records: Buffer, headers: readonly BatchHeader[]): Promise<PartitionOutcome | null> {
  let at = 0;
  for (const h of headers) {
    const bytes = records.subarray(at, at + h.size);
    at += h.size;
    if (batchCodec(h) === 0) continue;
    const cursor = new RecordCursor(h, await batchRecordsSection(bytes, h));
    while (cursor.next()) if (cursor.key === null) return failure(index, ErrorCode.INVALID_RECORD, KEYLESS);
  }
  return null;
}

function producePartition(ctx: RequestContext, shared: RequestChecks, topicName: string, index: number, records: Buffer | null, acks: number): PartitionOutcome | Promise<PartitionOutcome> {
  const legacy = ctx.version < 3;
  const { services } = ctx;
  // Kafka: "Cannot append to internal topic" (InvalidTopicException), whatever the topic holds.
  if (isInternalTopic(topicName)) return failure(index, ErrorCode.INVALID_TOPIC_EXCEPTION, `cannot append to internal topic ${topicName}`);
  const topic = services.storage.topic(topicName);
  const log: PartitionLog | undefined = topic && services.storage.partition(topicName, index);
  if (!topic || !log) return failure(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no partition ${topicName}-${index}`);
  if (!leadsHere(services.cluster, topicName, index)) return failure(index, ErrorCode.NOT_LEADER_OR_FOLLOWER, `this broker (node ${services.cluster.nodeId}) does not lead ${topicName}-${index}`);
  if (!records || records.length === 0) return failure(index, ErrorCode.CORRUPT_MESSAGE, 'no records');
  const setting = (key: string) => services.topics.configValue(topic, key);
  // min.insync.replicas: the in-sync set is this node alone; acks=all needs it to be enough (Kafka: NOT_ENOUGH_REPLICAS).
  const minIsr = Number(setting('min.insync.replicas'));
  if (acks === -1 && minIsr > 1) {
    return failure(index, ErrorCode.NOT_ENOUGH_REPLICAS, `the in-sync replicas of ${topicName}-${index} are 1, fewer than min.insync.replicas ${minIsr} (a single-node broker has one replica)`);
  }
  const maxMessageBytes = Number(setting('max.message.bytes'));
  const partitionLimit = Math.min(DEFAULT_MAX_DECOMPRESSED_BYTES, DECOMPRESSION_FACTOR * maxMessageBytes);
  const logAppend = setting('message.timestamp.type') === 'LogAppendTime';
  const limits: TopicLimits = {
    maxMessageBytes, timestamps: !logAppend, beforeMaxMs: Number(setting('message.timestamp.before.max.ms')), afterMaxMs: Number(setting('message.timestamp.after.max.ms')),
  };
  const codec = targetCodec(setting('compression.type'));

  const compacted = services.topics.configValue(topic, 'cleanup.policy')?.split(',').includes('compact') ?? false;

  // The checks: synchronous for uncompressed v2 batches, a promise when something must be decompressed.
  let checked: Checked | Promise<Checked | PartitionOutcome>;
  let txnHeader: BatchHeader | undefined;
  try {
    if (legacy) {
      const sent = records;
      let converted: Checked | undefined;
      let largest = 0;
      checked = queueCheck(shared, async (budget) => {
        const c = await messageSetToBatches(sent, { maxDecompressedBytes: budget });
        converted = { records: c.bytes, headers: c.headers };
        largest = c.largestMessage;
        return c.decompressedBytes;
      }, partitionLimit).then(async () => headerProblem(ctx, topicName, index, converted!.headers, limits, largest) ?? (compacted ? keylessPlain(index, converted!.records, converted!.headers) ?? (await keylessCompressed(index, converted!.records, converted!.headers)) : null) ?? converted!);
    } else {
      const headers = validateBatches(records);
      txnHeader = headers.find((h) => (h.attributes & Attr.TRANSACTIONAL) !== 0);
      const problem = headerProblem(ctx, topicName, index, headers, limits, 0);
      if (problem) return problem;
      const sent = records;
      const keyless = compacted ? keylessPlain(index, records, headers) : null;
      if (keyless) return keyless;
      checked = headers.some((h) => batchCodec(h) !== 0)
        ? queueCheck(shared, (budget) => checkCompressedBatches(sent, headers, budget), partitionLimit).then(async () => (compacted ? await keylessCompressed(index, sent, headers) : null) ?? { records: sent, headers })
        : { records, headers };
    }
  } catch (err) {
    if (err instanceof InvalidRecordError) return failure(index, err.errorCode, err.message);
    throw err;
  }
  if (codec !== null && (checked instanceof Promise || checked.headers.some((h) => batchCodec(h) !== codec))) {
    checked = Promise.resolve(checked).then(async (c) => {
      if (isOutcome(c) || c.headers.every((h) => batchCodec(h) === codec)) return c;
      let r: Checked;
      try {
        r = await recompress(c, codec, partitionLimit);
      } catch (err) {
        return failure(index, ErrorCode.CORRUPT_MESSAGE, `recompressing to ${CODEC_NAMES[codec]}: ${(err as Error).message}`);
      }
      const big = r.headers.find((h) => h.size > maxMessageBytes);
      return big ? failure(index, ErrorCode.MESSAGE_TOO_LARGE, `batch of ${big.size} bytes after recompression exceeds max.message.bytes ${maxMessageBytes}`) : r;
    });
  }

  // Cluster mode: a broker that does not coordinate transactions first reads the coordinator's newest state.
  const txnState = txnHeader && services.transactions.beforeProduceCheck(txnHeader.producerId, log.txnFirstOffset(txnHeader.producerId) >= 0);
  if (txnState) {
    const waited = txnState.then(() => null, (err: unknown) => failure(index, ErrorCode.KAFKA_STORAGE_ERROR, `reading the transaction state failed: ${err instanceof Error ? err.message : String(err)}`));
    checked = Promise.all([checked, waited]).then(([c, refused]) => refused ?? c);
  }

  const before = appendQueues.get(log);
  if (!(checked instanceof Promise) && before === undefined) return appendChecked(ctx, topicName, index, log, checked, acks, logAppend);

  // Wait for the check and for the previous produce to this partition to start its append.
  let started!: () => void;
  const mine = new Promise<void>((resolve) => { started = resolve; });
  appendQueues.set(log, mine);
  void mine.then(() => { if (appendQueues.get(log) === mine) appendQueues.delete(log); });
  const pending = Promise.resolve(checked).catch((err: unknown): PartitionOutcome => {
    if (err instanceof InvalidRecordError) return failure(index, err.errorCode, err.message);
    throw err;
  });
  return (async (): Promise<PartitionOutcome> => {
    try {
      const c = await pending.finally(() => before);
      if (isOutcome(c)) return c;
      // The topic may have gone (or been recreated) while the batch was checked.
      if (services.storage.partition(topicName, index) !== log) return failure(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no partition ${topicName}-${index}`);
      return appendChecked(ctx, topicName, index, log, c, acks, logAppend);
    } finally {
      started();
    }
  })();
}

function isOutcome(v: Checked | PartitionOutcome): v is PartitionOutcome {
  return 'errorCode' in v;
}

export const produceHandler = defineHandler({
  apiKey: ApiKey.Produce,
  minVersion: 0,
  maxVersion: 11,
  handle(ctx, req): Promise<ProduceResponse> | null {
    // Cluster mode: a partition this broker does not know or lead may be one just created or moved
    // through another broker (clients produce right after CreateTopics); poll first (bounded). The
    // connection's later produce requests wait their turn behind it, so their order holds.
    const id = ctx.connectionId;
    const prior = clusterCatchUps.get(id);
    if (ctx.services.cluster.multiNode && (prior !== undefined || needsCatchUp(ctx, req))) {
      const turn = (async () => {
        await prior;
        if (needsCatchUp(ctx, req)) await clusterCatchUp(ctx.services);
      })();
      clusterCatchUps.set(id, turn);
      void turn.finally(() => { if (clusterCatchUps.get(id) === turn) clusterCatchUps.delete(id); });
      const answer = turn.then(() => produceNow(ctx, req));
      if (req.acks !== 0) return answer.then((r) => r!);
      void answer.catch(() => undefined);
      return null;
    }
    return produceNow(ctx, req);
  },
});

/** A produce waiting for a cluster catch-up, per connection (the next ones queue behind it). */
const clusterCatchUps = new Map<number, Promise<void>>();

/** Whether a partition of the request needs the cluster catch-up first (cluster/catch-up.ts). */
function needsCatchUp(ctx: RequestContext, req: ProduceRequest): boolean {
  return req.topicData.some((t) => t.partitionData.some((p) => partitionNeedsCatchUp(ctx.services, t.name, p.index)));
}

function produceNow(ctx: RequestContext, req: ProduceRequest): Promise<ProduceResponse> | null {
  const acks = req.acks;
  const pending: { name: string; outcomes: (PartitionOutcome | Promise<PartitionOutcome>)[] }[] = [];
  const shared: RequestChecks = { budgetLeft: REQUEST_DECOMPRESSION_LIMIT, previous: undefined };
  // Kafka's checks: WRITE on the transactional id (else every partition fails), WRITE on each topic.
  const txnDenied = req.transactionalId != null && !authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId);
  for (const t of req.topicData) {
    const topicDenied = !txnDenied && !authorize(ctx, 'WRITE', 'TOPIC', t.name);
    pending.push({
      name: t.name,
      outcomes: t.partitionData.map((p) =>
        txnDenied ? failure(p.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'Transactional id authorization failed')
        : topicDenied ? failure(p.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED, `Not authorized to write to topic ${t.name}`)
        : acks !== 0 && acks !== 1 && acks !== -1
          ? failure(p.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, not ${acks}`)
          : producePartition(ctx, shared, t.name, p.index, receivedRecords(p.records), acks),
      ),
    });
  }
  if (acks === 0) {
    // No response; the appends still complete (and log their own failures).
    for (const t of pending) for (const o of t.outcomes) if (o instanceof Promise) o.catch(() => undefined);
    return null;
  }
  const build = async (): Promise<ProduceResponse> => ({
    responses: await Promise.all(pending.map(async (t): Promise<ProduceResponseTopicProduceResponse> => ({
      name: t.name,
      partitionResponses: (await Promise.all(t.outcomes)).map((o): PartitionOutcome => ({ ...o, recordErrors: [] })),
    }))),
    throttleTimeMs: 0,
  });
  return build();
}
