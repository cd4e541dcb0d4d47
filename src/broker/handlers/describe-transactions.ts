// DescribeTransactions v0: state, timeout, start time (-1 when no transaction is open), producer id
// and epoch, and the partitions of the open transaction, per transactional id; an unknown id →
// TRANSACTIONAL_ID_NOT_FOUND.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeTransactionsResponse, DescribeTransactionsResponseTransactionState } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const describeTransactionsHandler = defineHandler({
  apiKey: ApiKey.DescribeTransactions,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req): DescribeTransactionsResponse {
    return {
      throttleTimeMs: 0,
      transactionStates: ctx.services.transactions.describe(req.transactionalIds).map((d): DescribeTransactionsResponseTransactionState => (!authorize(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', d.transactionalId) ? {
        errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, transactionalId: d.transactionalId, transactionState: '', transactionTimeoutMs: 0,
        transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [],
      } : {
        errorCode: d.errorCode,
        transactionalId: d.transactionalId,
        transactionState: d.state,
        transactionTimeoutMs: d.timeoutMs,
        transactionStartTimeMs: d.startTimeMs,
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        // Topics the principal may not describe are left out, as Kafka does.
        topics: d.topics.filter((t) => authorize(ctx, 'DESCRIBE', 'TOPIC', t.topic)),
      })),
    };
  },
});
