// TxnOffsetCommit v0–4: offsets committed inside a transaction. They are kept (durably, in the
// transaction's record) and become the group's committed offsets only when the transaction
// commits; an abort drops them. Unknown id or producer id → INVALID_PRODUCER_ID_MAPPING, another
// epoch → INVALID_PRODUCER_EPOCH, no open transaction or the group not added with AddOffsetsToTxn →
// INVALID_TXN_STATE. v3+ member id / generation are checked as OffsetCommit's when given
// (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID); v0–2 carry none. A partition that
// does not exist → UNKNOWN_TOPIC_OR_PARTITION; metadata past 4096 → OFFSET_METADATA_TOO_LARGE.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { TxnOffsetCommitResponse, TxnOffsetCommitResponseTopic } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const txnOffsetCommitHandler = defineHandler({
  apiKey: ApiKey.TxnOffsetCommit,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req): Promise<TxnOffsetCommitResponse> {
    // Kafka: WRITE on the transactional id and READ on the group for the whole request, READ per
    // topic; partitions of permitted topics go ahead when only some topics are refused.
    const refuseAll = !authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId) ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : !authorize(ctx, 'READ', 'GROUP', req.groupId) ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.NONE;
    const refusedCode = (name: string): number => (refuseAll !== ErrorCode.NONE ? refuseAll : authorize(ctx, 'READ', 'TOPIC', name) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const allowed = req.topics.filter((t) => refusedCode(t.name) === ErrorCode.NONE);
    const results = allowed.length === 0 ? [] : await ctx.services.transactions.txnOffsetCommit({
      transactionalId: req.transactionalId,
      groupId: req.groupId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      generationId: req.generationId ?? -1,
      memberId: req.memberId ?? '',
      groupInstanceId: req.groupInstanceId ?? null,
      topics: allowed.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex, committedOffset: p.committedOffset, committedLeaderEpoch: p.committedLeaderEpoch ?? -1, committedMetadata: p.committedMetadata,
        })),
      })),
    });
    const done = results.map((t): TxnOffsetCommitResponseTopic => ({ name: t.name, partitions: t.results.map((r) => ({ partitionIndex: r.partition, errorCode: r.errorCode })) }));
    const refused = req.topics.filter((t) => refusedCode(t.name) !== ErrorCode.NONE)
      .map((t): TxnOffsetCommitResponseTopic => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: refusedCode(t.name) })) }));
    return { throttleTimeMs: 0, topics: [...done, ...refused] };
  },
});
