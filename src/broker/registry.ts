// The one list of implemented APIs. It drives request dispatch and the ApiVersions response, so
// the broker never advertises an API or version it cannot serve.
import { ApiKey, apiSchema } from '../protocol/apis.js';
import type { DecodedMessage } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/generated/errors.js';
import type { ApiKeyNumber, ApiVersionsResponse, RequestOf } from '../protocol/generated/types.js';
import type { ApiSchema } from '../protocol/schema.js';
import type { AnyApiHandler, ApiHandler, HandlerResult, RequestContext, ServedApi } from './handler.js';
import { apiVersionsHandler } from './handlers/api-versions.js';
import { metadataHandler } from './handlers/metadata.js';
import { produceHandler } from './handlers/produce.js';
import { fetchHandler } from './handlers/fetch.js';
import { listOffsetsHandler } from './handlers/list-offsets.js';
import { createTopicsHandler } from './handlers/create-topics.js';
import { deleteTopicsHandler } from './handlers/delete-topics.js';
import { createPartitionsHandler } from './handlers/create-partitions.js';
import { findCoordinatorHandler } from './handlers/find-coordinator.js';
import { initProducerIdHandler } from './handlers/init-producer-id.js';
import { describeConfigsHandler } from './handlers/describe-configs.js';
import { describeClusterHandler } from './handlers/describe-cluster.js';
import { offsetForLeaderEpochHandler } from './handlers/offset-for-leader-epoch.js';
import { deleteRecordsHandler } from './handlers/delete-records.js';
import { writeTxnMarkersHandler } from './handlers/write-txn-markers.js';
import { alterConfigsHandler, incrementalAlterConfigsHandler } from './handlers/alter-configs.js';
import { GROUP_HANDLERS } from './handlers/groups.js';
import { addPartitionsToTxnHandler } from './handlers/add-partitions-to-txn.js';
import { addOffsetsToTxnHandler } from './handlers/add-offsets-to-txn.js';
import { txnOffsetCommitHandler } from './handlers/txn-offset-commit.js';
import { endTxnHandler } from './handlers/end-txn.js';
import { describeTransactionsHandler } from './handlers/describe-transactions.js';
import { listTransactionsHandler } from './handlers/list-transactions.js';
import { describeProducersHandler } from './handlers/describe-producers.js';
import { saslHandshakeHandler } from './handlers/sasl-handshake.js';
import { saslAuthenticateHandler } from './handlers/sasl-authenticate.js';
import { describeUserScramCredentialsHandler } from './handlers/describe-user-scram-credentials.js';
import { alterUserScramCredentialsHandler } from './handlers/alter-user-scram-credentials.js';
import { createAclsHandler } from './handlers/create-acls.js';
import { describeAclsHandler } from './handlers/describe-acls.js';
import { deleteAclsHandler } from './handlers/delete-acls.js';
import { describeClientQuotasHandler } from './handlers/describe-client-quotas.js';
import { alterClientQuotasHandler } from './handlers/alter-client-quotas.js';
import { describeTopicPartitionsHandler } from './handlers/describe-topic-partitions.js';
import { describeLogDirsHandler } from './handlers/describe-log-dirs.js';
import { alterReplicaLogDirsHandler } from './handlers/alter-replica-log-dirs.js';
import { electLeadersHandler } from './handlers/elect-leaders.js';
import { alterPartitionReassignmentsHandler, listPartitionReassignmentsHandler } from './handlers/partition-reassignments.js';
import { describeQuorumHandler } from './handlers/describe-quorum.js';
import { updateFeaturesHandler } from './handlers/update-features.js';
import { shareGroupHeartbeatHandler } from './handlers/share-group-heartbeat.js';
import { shareGroupDescribeHandler } from './handlers/share-group-describe.js';
import { shareFetchHandler } from './handlers/share-fetch.js';
import { shareAcknowledgeHandler } from './handlers/share-acknowledge.js';
import { describeShareGroupOffsetsHandler } from './handlers/describe-share-group-offsets.js';
import { alterShareGroupOffsetsHandler } from './handlers/alter-share-group-offsets.js';
import { deleteShareGroupOffsetsHandler } from './handlers/delete-share-group-offsets.js';
import { getTelemetrySubscriptionsHandler, listClientMetricsResourcesHandler, pushTelemetryHandler } from './handlers/telemetry.js';

/** A handler as dispatch sees it: decoded request in, response body (of its API) out. */
export interface RegisteredHandler {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly schema: ApiSchema;
  handle(ctx: RequestContext, request: DecodedMessage): HandlerResult<object>;
}

const HANDLERS: readonly AnyApiHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  apiVersionsHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  createPartitionsHandler,
  findCoordinatorHandler,
  initProducerIdHandler,
  describeConfigsHandler,
  describeClusterHandler,
  offsetForLeaderEpochHandler,
  deleteRecordsHandler,
  writeTxnMarkersHandler,
  alterConfigsHandler,
  incrementalAlterConfigsHandler,
  addPartitionsToTxnHandler,
  addOffsetsToTxnHandler,
  txnOffsetCommitHandler,
  endTxnHandler,
  describeTransactionsHandler,
  listTransactionsHandler,
  describeProducersHandler,
  // Advertised on every connection, as Kafka does: clients use them only when configured for SASL,
  // and a connection that needs none answers them with ILLEGAL_SASL_STATE.
  saslHandshakeHandler,
  saslAuthenticateHandler,
  describeUserScramCredentialsHandler,
  alterUserScramCredentialsHandler,
  describeAclsHandler,
  createAclsHandler,
  deleteAclsHandler,
  describeClientQuotasHandler,
  alterClientQuotasHandler,
  describeTopicPartitionsHandler,
  describeLogDirsHandler,
  alterReplicaLogDirsHandler,
  electLeadersHandler,
  alterPartitionReassignmentsHandler,
  listPartitionReassignmentsHandler,
  describeQuorumHandler,
  updateFeaturesHandler,
  getTelemetrySubscriptionsHandler,
  pushTelemetryHandler,
  listClientMetricsResourcesHandler,
  // Share groups (KIP-932). Kafka's broker-to-share-coordinator APIs (83–87) are not served: the
  // share-partition state lives in this broker's own log.
  shareGroupHeartbeatHandler,
  shareGroupDescribeHandler,
  shareFetchHandler,
  shareAcknowledgeHandler,
  describeShareGroupOffsetsHandler,
  alterShareGroupOffsetsHandler,
  deleteShareGroupOffsetsHandler,
  ...GROUP_HANDLERS,
];

function register<K extends ApiKeyNumber>(handler: ApiHandler<K>, schema: ApiSchema): RegisteredHandler {
  return {
    apiKey: handler.apiKey,
    minVersion: handler.minVersion,
    maxVersion: handler.maxVersion,
    schema,
    // The one place where a decoded request becomes typed. The decoder built it from this API's
    // request table at ctx.version; generated/types.ts comes from the same spec files, and fields
    // absent at that version hold their defaults, so it has RequestOf<K>'s shape.
    handle: (ctx, request) => handler.handle(ctx, request as RequestOf<K>),
  };
}

const registry = new Map<number, RegisteredHandler>();
for (const handler of HANDLERS) {
  const schema = apiSchema(handler.apiKey);
  if (!schema || !schema.request.validVersions) throw new Error(`assertion: no schema for API ${handler.apiKey}`);
  const [min, max] = schema.request.validVersions;
  if (handler.minVersion < min || handler.maxVersion > max || handler.minVersion > handler.maxVersion) {
    throw new Error(`assertion: ${schema.name} handler versions ${handler.minVersion}-${handler.maxVersion} outside the spec's ${min}-${max}`);
  }
  if (registry.has(handler.apiKey)) throw new Error(`assertion: two handlers for ${schema.name}`);
  registry.set(handler.apiKey, register(handler, schema));
}

export function findHandler(apiKey: number): RegisteredHandler | undefined {
  return registry.get(apiKey);
}

/** The share-group APIs (KIP-932): served by a single node only; a cluster has no share coordinator yet. */
const SHARE_GROUP_APIS: ReadonlySet<number> = new Set([
  ApiKey.ShareGroupHeartbeat, ApiKey.ShareGroupDescribe, ApiKey.ShareFetch, ApiKey.ShareAcknowledge,
  ApiKey.DescribeShareGroupOffsets, ApiKey.AlterShareGroupOffsets, ApiKey.DeleteShareGroupOffsets,
]);

/**
 * The advertised API ranges, in key order. `shareGroups: false` (cluster mode) leaves the share-group
 * APIs out, so clients see a broker without share groups (as Kafka 4.1 with share.version 0) rather
 * than APIs that answer COORDINATOR_NOT_AVAILABLE forever; dispatch refuses what is not listed.
 */
export function supportedApis(options: { shareGroups: boolean } = { shareGroups: true }): ServedApi[] {
  return [...registry.values()]
    .filter((h) => options.shareGroups || !SHARE_GROUP_APIS.has(h.apiKey))
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
}

/** ApiVersions error body, always encoded as v0, for a client that asked for a version we lack. */
export function unsupportedVersionResponse(servedApis: readonly ServedApi[]): ApiVersionsResponse {
  return { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: servedApis.map((api) => ({ ...api })), throttleTimeMs: 0 };
}
