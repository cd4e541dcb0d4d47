// InitProducerId v0–5. Without a transactional id (idempotent producers): always a fresh producer id
// with epoch 0, as Kafka answers, even when the client presents its current id and epoch (v3+):
// bumping the epoch of whatever id a client names would let any client fence another's idempotent
// producer. With a transactional id the transaction
// coordinator answers (transactions/coordinator.ts): a new id gets a producer id and epoch 0, a
// known one its epoch bumped (fencing the older producer; an open transaction is aborted first),
// a new producer id once the epoch is exhausted; transactionTimeoutMs past
// transaction.max.timeout.ms → INVALID_TRANSACTION_TIMEOUT; a completion in progress →
// CONCURRENT_TRANSACTIONS; v3+ current id/epoch that do not match (KIP-360) → PRODUCER_FENCED,
// which v0–3 get as INVALID_PRODUCER_EPOCH (PRODUCER_FENCED came with v4). v5 only adds
// TRANSACTION_ABORTABLE, which this broker never returns.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { InitProducerIdResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { fencedFor } from '../transactions/coordinator.js';

export const initProducerIdHandler = defineHandler({
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, req): Promise<InitProducerIdResponse> {
    const current = { producerId: req.producerId ?? -1, producerEpoch: req.producerEpoch ?? -1 }; // v3+
    if (req.transactionalId !== null && req.transactionalId !== '') {
      if (!authorize(ctx, 'WRITE', 'TRANSACTIONAL_ID', req.transactionalId)) return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
      const r = await ctx.services.transactions.initProducerId(req.transactionalId, req.transactionTimeoutMs, current);
      return { throttleTimeMs: 0, errorCode: fencedFor(r.errorCode, ctx.version, 4), producerId: r.producerId, producerEpoch: r.producerEpoch };
    }
    // Idempotence: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic (KIP-679).
    if (!authorize(ctx, 'IDEMPOTENT_WRITE', 'CLUSTER') && !ctx.services.acls.authorizeAny(ctx.principal, ctx.clientHost, 'WRITE', 'TOPIC')) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
    }
    const producerId = await ctx.services.producerIds.allocate();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
});
