// WriteTxnMarkers v0–1 (API 27): a COMMIT or ABORT marker for a producer into the partitions named.
// In Kafka the transaction coordinator sends it to partition leaders; Fjord's coordinator writes its
// markers straight into storage, so here it comes from an administrator: `kafka-transactions abort`
// (Admin.abortTransaction) ends a hanging transaction with it, using the producer id, epoch and
// coordinator epoch that DescribeProducers reported.
//
// Per partition: no such topic or partition → UNKNOWN_TOPIC_OR_PARTITION. A partition in the
// producer's open transaction at the coordinator: the coordinator aborts that whole transaction
// (TransactionCoordinator.adminMarker says why and what it refuses). Any other partition (a
// producer the coordinator does not know, or a transaction it no longer has open): the marker is
// written through PartitionLog.writeTxnMarker with sync; an epoch older than the producer's on the
// partition → INVALID_PRODUCER_EPOCH and nothing written; a storage failure → KAFKA_STORAGE_ERROR.
// Markers for partitions with no open transaction of the producer are harmless (appended, end nothing).
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  WriteTxnMarkersRequestWritableTxnMarker, WriteTxnMarkersResponse, WriteTxnMarkersResponseWritableTxnMarkerResult,
} from '../../protocol/generated/types.js';
import { StorageError, TxnMarkerEpochError } from '../../storage/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler, type RequestContext } from '../handler.js';

async function writeOne(ctx: RequestContext, m: WriteTxnMarkersRequestWritableTxnMarker): Promise<WriteTxnMarkersResponseWritableTxnMarkerResult> {
  const { storage, transactions, logger } = ctx.services;
  const exists = (topic: string, partition: number) => storage.topic(topic) !== undefined && storage.partition(topic, partition) !== undefined;
  const known: [string, number][] = [];
  for (const t of m.topics) for (const p of t.partitionIndexes) if (exists(t.name, p)) known.push([t.name, p]);
  const byCoordinator = await transactions.adminMarker(m.producerId, m.producerEpoch, m.transactionResult, known);
  const marker = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.transactionResult, coordinatorEpoch: m.coordinatorEpoch };
  const topics = await Promise.all(m.topics.map(async (t) => ({
    name: t.name,
    partitions: await Promise.all(t.partitionIndexes.map(async (partitionIndex) => {
      const log = storage.topic(t.name) ? storage.partition(t.name, partitionIndex) : undefined;
      if (!log) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      const handled = byCoordinator.get(`${t.name}\0${partitionIndex}`);
      if (handled !== undefined) return { partitionIndex, errorCode: handled };
      try {
        await log.writeTxnMarker(marker, { sync: true });
        logger.info(`WriteTxnMarkers: ${m.transactionResult ? 'COMMIT' : 'ABORT'} marker for producer ${m.producerId} epoch ${m.producerEpoch} written to ${t.name}-${partitionIndex}`);
        return { partitionIndex, errorCode: ErrorCode.NONE };
      } catch (err) {
        if (err instanceof TxnMarkerEpochError) return { partitionIndex, errorCode: ErrorCode.INVALID_PRODUCER_EPOCH };
        if (err instanceof StorageError) return { partitionIndex, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
        throw err;
      }
    })),
  })));
  return { producerId: m.producerId, topics };
}

export const writeTxnMarkersHandler = defineHandler({
  apiKey: ApiKey.WriteTxnMarkers,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, req): Promise<WriteTxnMarkersResponse> {
    const markers: WriteTxnMarkersResponseWritableTxnMarkerResult[] = [];
    // Brokers' API: CLUSTER_ACTION on the cluster, as Kafka asks (kafka-transactions abort is run as a super user).
    if (!authorize(ctx, 'CLUSTER_ACTION', 'CLUSTER')) {
      return {
        markers: req.markers.map((m) => ({
          producerId: m.producerId,
          topics: m.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED })) })),
        })),
      };
    }
    for (const m of req.markers) markers.push(await writeOne(ctx, m));
    return { markers };
  },
});
