// AddOffsetsToTxn v0–4: the group's offsets (sent next with TxnOffsetCommit) become part of the
// producer's transaction, which starts if none is open. Errors as AddPartitionsToTxn
// (PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before); an empty group id → INVALID_GROUP_ID.
// v4 only adds TRANSACTION_ABORTABLE, never returned here.
import { ApiKey } from '../../protocol/apis.js';
import type { AddOffsetsToTxnResponse } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';
import { fencedFor } from '../transactions/coordinator.js';

export const addOffsetsToTxnHandler = defineHandler({
  apiKey: ApiKey.AddOffsetsToTxn,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req): Promise<AddOffsetsToTxnResponse> {
    const code = await ctx.services.transactions.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId);
    return { throttleTimeMs: 0, errorCode: fencedFor(code, ctx.version, 2) };
  },
});
