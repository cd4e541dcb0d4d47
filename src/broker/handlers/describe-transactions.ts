// DescribeTransactions v0: state, timeout, start time (-1 when no transaction is open), producer id
// and epoch, and the partitions of the open transaction, per transactional id; an unknown id →
// TRANSACTIONAL_ID_NOT_FOUND.
import { ApiKey } from '../../protocol/apis.js';
import type { DescribeTransactionsResponse, DescribeTransactionsResponseTransactionState } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';

export const describeTransactionsHandler = defineHandler({
  apiKey: ApiKey.DescribeTransactions,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req): DescribeTransactionsResponse {
    return {
      throttleTimeMs: 0,
      transactionStates: ctx.services.transactions.describe(req.transactionalIds).map((d): DescribeTransactionsResponseTransactionState => ({
        errorCode: d.errorCode,
        transactionalId: d.transactionalId,
        transactionState: d.state,
        transactionTimeoutMs: d.timeoutMs,
        transactionStartTimeMs: d.startTimeMs,
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        topics: d.topics,
      })),
    };
  },
});
