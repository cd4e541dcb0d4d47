// Produce v0–11. v3+ carry RecordBatch v2, stored as sent (no per-record work, bodies are not
// decompressed); v0–2 carry legacy message sets (magic 0/1), converted into one v2 batch first
// (see protocol/legacy.ts). acks 0/1/-1: -1 answers after the bytes are fsynced (grouped),
// 1 after they reach the OS, 0 gets no response at all. Batches are validated (CRC32C, sizes) and
// stored as sent with offsets assigned; LogAppendTime topics get the broker's time stamped in.
// Idempotent batches are checked against the partition's producer state: a retry of one of the
// last five batches is answered with its original offset, gaps and stale epochs are refused.
// All appends are started synchronously, in request order, so per-connection order holds even
// though responses complete later.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ProduceResponse, ProduceResponsePartitionProduceResponse, ProduceResponseTopicProduceResponse } from '../../protocol/generated/types.js';
import { Codec } from '../../protocol/compression.js';
import { messageSetToBatches } from '../../protocol/legacy.js';
import { Attr, InvalidRecordError, validateBatches, type BatchHeader } from '../../protocol/records.js';
import { StorageError, type PartitionLog } from '../../storage/types.js';
import { defineHandler, type RequestContext } from '../handler.js';

type PartitionOutcome = ProduceResponsePartitionProduceResponse;

function failure(index: number, errorCode: number, errorMessage: string | null): PartitionOutcome {
  return { index, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, errorMessage };
}

/** The decoder gives a request's records as one buffer; only encoders are handed lists of them. */
function receivedRecords(records: Buffer | Buffer[] | null): Buffer | null {
  return Array.isArray(records) ? Buffer.concat(records) : records;
}

function producePartition(ctx: RequestContext, topicName: string, index: number, records: Buffer | null, acks: number): PartitionOutcome | Promise<PartitionOutcome> {
  const legacy = ctx.version < 3;
  const { services } = ctx;
  const topic = services.storage.topic(topicName);
  const log: PartitionLog | undefined = topic && services.storage.partition(topicName, index);
  if (!topic || !log) return failure(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no partition ${topicName}-${index}`);
  if (!records || records.length === 0) return failure(index, ErrorCode.CORRUPT_MESSAGE, 'no records');
  const maxMessageBytes = Number(services.topics.configValue(topic, 'max.message.bytes'));
  let headers: BatchHeader[];
  let largest = 0; // for legacy sets: the largest message as sent, which is what Kafka limits
  try {
    if (legacy) {
      // Synchronous like the v2 path, so appends still start in request order.
      const converted = messageSetToBatches(records);
      records = converted.bytes;
      headers = converted.headers;
      largest = converted.largestMessage;
    } else {
      headers = validateBatches(records);
    }
  } catch (err) {
    if (err instanceof InvalidRecordError) return failure(index, err.errorCode, err.message);
    throw err;
  }
  for (const h of headers) {
    const size = legacy ? largest : h.size;
    if (size > maxMessageBytes) return failure(index, ErrorCode.MESSAGE_TOO_LARGE, `${legacy ? 'message' : 'batch'} of ${size} bytes exceeds max.message.bytes ${maxMessageBytes}`);
    // zstd needs Produce v7+ (KIP-110), as in Kafka.
    if ((h.attributes & Attr.COMPRESSION_MASK) === Codec.zstd && ctx.version < 7) {
      return failure(index, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'zstd compression needs Produce v7 or later');
    }
    if (h.attributes & Attr.TRANSACTIONAL) return failure(index, ErrorCode.INVALID_TXN_STATE, 'transactions are not supported yet');
    if (h.attributes & Attr.CONTROL) return failure(index, ErrorCode.INVALID_RECORD, 'clients may not write control batches');
  }
  // Idempotence: with several batches, either all are new or the request is refused.
  for (const h of headers) {
    const check = log.producers.check(h);
    if (check.kind === 'error') return failure(index, check.errorCode, check.message);
    if (check.kind === 'duplicate') {
      if (headers.length > 1) return failure(index, ErrorCode.DUPLICATE_SEQUENCE_NUMBER, 'duplicate batch inside a multi-batch request');
      return { index, errorCode: ErrorCode.NONE, baseOffset: check.baseOffset, logAppendTimeMs: -1, logStartOffset: log.logStartOffset(), errorMessage: null };
    }
  }
  const logAppend = services.topics.configValue(topic, 'message.timestamp.type') === 'LogAppendTime';
  const appended = log.append(records, headers, { sync: acks === -1, logAppendTime: logAppend ? Date.now() : undefined });
  return appended.then(
    (r): PartitionOutcome => ({ index, errorCode: ErrorCode.NONE, baseOffset: r.baseOffset, logAppendTimeMs: r.logAppendTime, logStartOffset: r.logStartOffset, errorMessage: null }),
    (err) => {
      if (err instanceof StorageError) {
        services.logger.error(`append to ${topicName}-${index} failed: ${err.message}`);
        return failure(index, ErrorCode.KAFKA_STORAGE_ERROR, err.message);
      }
      throw err;
    },
  );
}

export const produceHandler = defineHandler({
  apiKey: ApiKey.Produce,
  minVersion: 0,
  maxVersion: 11,
  handle(ctx, req): Promise<ProduceResponse> | null {
    const acks = req.acks;
    const pending: { name: string; outcomes: (PartitionOutcome | Promise<PartitionOutcome>)[] }[] = [];
    for (const t of req.topicData) {
      pending.push({
        name: t.name,
        outcomes: t.partitionData.map((p) =>
          acks !== 0 && acks !== 1 && acks !== -1
            ? failure(p.index, ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, not ${acks}`)
            : producePartition(ctx, t.name, p.index, receivedRecords(p.records), acks),
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
  },
});
