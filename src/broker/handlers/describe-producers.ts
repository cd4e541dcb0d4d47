// DescribeProducers v0 (KIP-664, used by `kafka-transactions describe-producers`): per partition,
// the producers its producer state knows: epoch, last sequence and timestamp, the coordinator
// epoch of its last transaction marker (-1 before any) and the first offset of its open
// transaction here (-1 when none). A missing topic or partition answers UNKNOWN_TOPIC_OR_PARTITION.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  DescribeProducersResponse, DescribeProducersResponsePartitionResponse, DescribeProducersResponseProducerState,
  DescribeProducersResponseTopicResponse,
} from '../../protocol/generated/types.js';
import type { PartitionLog } from '../../storage/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { internalTopicNames } from '../topics.js';

function producersOf(log: PartitionLog): DescribeProducersResponseProducerState[] {
  return log.producers.toJSON().map(([producerId, e]) => ({
    producerId,
    producerEpoch: e.epoch,
    lastSequence: e.batches.at(-1)?.lastSeq ?? -1,
    lastTimestamp: e.lastTimestamp,
    coordinatorEpoch: e.coordinatorEpoch ?? -1,
    currentTxnStartOffset: log.txnFirstOffset(producerId),
  }));
}

export const describeProducersHandler = defineHandler({
  apiKey: ApiKey.DescribeProducers,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req): Promise<DescribeProducersResponse> {
    const { storage } = ctx.services;
    // Kafka's internal topics Metadata lists: written by the broker alone, no producers to show
    // (kafka-transactions find-hanging asks about every partition of a broker, these included).
    const internal = await internalTopicNames(storage);
    const topics = req.topics.map((t): DescribeProducersResponseTopicResponse => ({
      name: t.name,
      partitions: t.partitionIndexes.map((partitionIndex): DescribeProducersResponsePartitionResponse => {
        if (!authorize(ctx, 'READ', 'TOPIC', t.name)) {
          return { partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Topic authorization failed', activeProducers: [] };
        }
        const log = storage.topic(t.name) ? storage.partition(t.name, partitionIndex) : undefined;
        if (!log && internal.includes(t.name) && partitionIndex === 0) return { partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers: [] };
        if (!log) {
          return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `no partition ${t.name}-${partitionIndex}`, activeProducers: [] };
        }
        return { partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers: producersOf(log) };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
});
