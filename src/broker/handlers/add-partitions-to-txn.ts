// AddPartitionsToTxn v0–5. v0–3 (clients): one transaction, its partitions join it (an Empty or
// completed id starts a new transaction). Partitions that do not exist → UNKNOWN_TOPIC_OR_PARTITION,
// the others of that request OPERATION_NOT_ATTEMPTED. Unknown id or producer id →
// INVALID_PRODUCER_ID_MAPPING; another epoch → PRODUCER_FENCED (v0–1: INVALID_PRODUCER_EPOCH);
// PrepareCommit/PrepareAbort → CONCURRENT_TRANSACTIONS (as Kafka: the client retries once the
// markers are written). v4+ (brokers, KIP-890): several transactions, each either added as above
// or, with verifyOnly, checked: NONE for a partition in the open transaction, INVALID_TXN_STATE
// for one that is not. v5 only adds TRANSACTION_ABORTABLE, never returned here.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  AddPartitionsToTxnResponse, AddPartitionsToTxnResponseAddPartitionsToTxnResult, AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
} from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { fencedFor, type PartitionResults } from '../transactions/coordinator.js';

export const addPartitionsToTxnHandler = defineHandler({
  apiKey: ApiKey.AddPartitionsToTxn,
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, req): Promise<AddPartitionsToTxnResponse> {
    const txns = ctx.services.transactions;
    const toWire = (results: PartitionResults[]): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[] =>
      results.map((t) => ({
        name: t.name,
        resultsByPartition: t.results.map((r) => ({ partitionIndex: r.partition, partitionErrorCode: fencedFor(r.errorCode, ctx.version, 2) })),
      }));
    if (ctx.version <= 3) {
      const transactionalId = req.v3AndBelowTransactionalId ?? '';
      const topics = req.v3AndBelowTopics ?? [];
      // Kafka: WRITE on the transactional id, then WRITE on each topic; one refusal fails the
      // request, the other partitions answer OPERATION_NOT_ATTEMPTED.
      const idAllowed = authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', transactionalId);
      const deniedTopics = new Set(idAllowed ? topics.filter((t) => !authorize(ctx, 'WRITE', 'TOPIC', t.name)).map((t) => t.name) : []);
      if (!idAllowed || deniedTopics.size > 0) {
        const codeOf = (name: string) => (!idAllowed ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : deniedTopics.has(name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED);
        return { throttleTimeMs: 0, resultsByTopicV3AndBelow: topics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: codeOf(t.name) })) })) };
      }
      const results = await txns.addPartitions(transactionalId, req.v3AndBelowProducerId ?? -1, req.v3AndBelowProducerEpoch ?? -1, topics);
      return { throttleTimeMs: 0, resultsByTopicV3AndBelow: toWire(results) };
    }
    // v4+ is the brokers' form (KIP-890): CLUSTER_ACTION on the cluster, as Kafka asks.
    if (!authorize(ctx, 'CLUSTER_ACTION', 'CLUSTER')) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
    const resultsByTransaction = await Promise.all((req.transactions ?? []).map(async (t): Promise<AddPartitionsToTxnResponseAddPartitionsToTxnResult> => {
      const results = t.verifyOnly
        ? txns.verifyPartitions(t.transactionalId, t.producerId, t.producerEpoch, t.topics)
        : await txns.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, t.topics);
      return { transactionalId: t.transactionalId, topicResults: toWire(results) };
    }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
  },
});
