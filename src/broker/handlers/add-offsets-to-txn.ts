// AddOffsetsToTxn v0–4: the group's offsets (sent next with TxnOffsetCommit) become part of the
// producer's transaction, which starts if none is open. Errors as AddPartitionsToTxn
// (PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before); an empty group id → INVALID_GROUP_ID.
// v4 only adds TRANSACTION_ABORTABLE, never returned here.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { AddOffsetsToTxnResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { fencedFor } from '../transactions/coordinator.js';

export const addOffsetsToTxnHandler = defineHandler({
  apiKey: ApiKey.AddOffsetsToTxn,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req): Promise<AddOffsetsToTxnResponse> {
    if (!authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    if (!authorize(ctx, 'READ', 'GROUP', req.groupId)) return { throttleTimeMs: 0, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED };
    const code = await ctx.services.transactions.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId);
    return { throttleTimeMs: 0, errorCode: fencedFor(code, ctx.version, 2) };
  },
});
