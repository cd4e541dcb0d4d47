// Cluster mode: a request for a partition this broker does not know, does not lead, or is named
// leader of but has not taken over yet may be one just created or moved through another broker
// (clients produce, list offsets and fetch right after CreateTopics, before this broker's next
// poll). Produce, ListOffsets and Fetch then poll the database first (PgCluster.catchUpLeaders,
// coalesced), waiting at most CLUSTER_CATCH_UP_WAIT_MS, and answer from what they know after it.
import { isInternalTopic } from '../topics.js';
import type { BrokerServices } from '../handler.js';
import { catchUpWithin, leadsHere } from './view.js';

/** How long a request (Produce, ListOffsets, Fetch; Metadata for the catalog) waits for the catch-up poll (a slow or absent database: it answers from what it knows). */
export const CLUSTER_CATCH_UP_WAIT_MS = 1000;

/** Whether this broker should read the database before answering for this partition (never on one node; internal topics are served by the coordinators' broker). */
export function partitionNeedsCatchUp(services: BrokerServices, topic: string, partition: number): boolean {
  if (!services.cluster.multiNode || isInternalTopic(topic)) return false;
  const log = services.storage.partition(topic, partition);
  return log === undefined || !leadsHere(services.cluster, topic, partition) || (log.appendRefusal?.() ?? null) !== null;
}

/** The bounded catch-up poll. */
export function clusterCatchUp(services: BrokerServices): Promise<void> {
  return catchUpWithin(services.cluster.catchUpLeaders(), CLUSTER_CATCH_UP_WAIT_MS);
}
