// EndTxn v0–4: commit or abort the producer's open transaction. Answered after PrepareX is on disk,
// a marker is in every partition of the transaction, the group offsets are completed and CompleteX
// is on disk. Unknown id or producer id → INVALID_PRODUCER_ID_MAPPING; another epoch →
// PRODUCER_FENCED (v0–1: INVALID_PRODUCER_EPOCH); no open transaction (Empty), or the opposite of
// what just completed → INVALID_TXN_STATE; the same outcome again (a retry) → NONE; a completion
// still being written → CONCURRENT_TRANSACTIONS. v5 (KIP-890 part 2: an epoch bump per
// transaction, producer id/epoch in the response) is not served, and ApiVersions advertises no
// transaction.version feature, so clients use the pre-KIP-890 protocol.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { EndTxnResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { fencedFor } from '../transactions/coordinator.js';

export const endTxnHandler = defineHandler({
  apiKey: ApiKey.EndTxn,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req): Promise<EndTxnResponse> {
    if (!authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    const code = await ctx.services.transactions.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
    return { throttleTimeMs: 0, errorCode: fencedFor(code, ctx.version, 2) };
  },
});
