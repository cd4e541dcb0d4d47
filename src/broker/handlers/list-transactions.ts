// ListTransactions v0–1: every transactional id with its producer id and state, filtered by state
// names (Kafka's: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, Dead;
// names not among them come back in unknownStateFilters) and producer ids. v1's durationFilter
// (≥ 0) keeps transactions started at least that many ms ago (ids with no transaction open since
// their InitProducerId have no start time and are left out).
import { ApiKey } from '../../protocol/apis.js';
import type { ListTransactionsResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { coordinatesElsewhere } from '../cluster/view.js';
import { TXN_STATES } from '../transactions/coordinator.js';
import { defineHandler } from '../handler.js';

export const listTransactionsHandler = defineHandler({
  apiKey: ApiKey.ListTransactions,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req): ListTransactionsResponse {
    // Cluster mode: the coordinator runs on another broker, which lists them (admin clients ask every broker).
    if (coordinatesElsewhere(ctx.services.cluster)) return { throttleTimeMs: 0, errorCode: 0, unknownStateFilters: req.stateFilters.filter((s) => !(TXN_STATES as readonly string[]).includes(s)), transactionStates: [] };
    const r = ctx.services.transactions.list(req.stateFilters, req.producerIdFilters, req.durationFilter ?? -1);
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      unknownStateFilters: r.unknownStates,
      // Only the ids the principal may describe, as Kafka lists them.
      transactionStates: r.txns.filter((t) => authorize(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', t.transactionalId)).map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state })),
    };
  },
});
