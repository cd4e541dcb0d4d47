// The shape of one Kafka API handler. Each API lives in its own file under handlers/ and is
// listed once in registry.ts, which drives both dispatch and the ApiVersions response.
// A handler is typed by its API: it reads RequestOf<K> and returns ResponseOf<K> (generated from
// the same spec files as the codec's tables), so a misspelled field does not compile.
import type { ApiKeyNumber, RequestOf, ResponseOf } from '../protocol/generated/types.js';
import type { RequestHeader } from '../protocol/header.js';
import type { Storage } from '../storage/types.js';
import type { Authorizer } from './auth/acls.js';
import type { CredentialStore } from './auth/credentials.js';
import type { SaslAuthenticator, SaslSession } from './auth/sasl.js';
import type { ClusterView } from './cluster/view.js';
import type { BrokerConfig } from './config.js';
import type { GroupCoordinator } from './groups/coordinator.js';
import type { Logger } from './logger.js';
import type { QuotaEnforcer } from './quotas/enforcer.js';
import type { QuotaStore } from './quotas/store.js';
import type { DynamicBrokerConfigs } from './dynamic-configs.js';
import type { ShareCoordinator } from './share/coordinator.js';
import type { ConnectionInfo } from './server.js';
import type { ProducerIdManager } from './producer-ids.js';
import type { Topics } from './topics.js';
import type { TransactionCoordinator } from './transactions/coordinator.js';

/** authorizedOperations when the client did not ask for them (Kafka's INT32_MIN). */
export const AUTHORIZED_OPERATIONS_NOT_REQUESTED = -2147483648;

/** Who this broker is, as Metadata, FindCoordinator and DescribeCluster report it. */
export interface NodeIdentity {
  readonly nodeId: number;
  readonly clusterId: string;
  /**
   * The first listener's advertised host and port. Handlers answer with the address of the
   * listener the client came through instead: ctx.connection.listener.
   */
  readonly advertisedHost: string;
  readonly advertisedPort: number;
}

/**
 * What handlers may use. Handlers get it through the request context and never import the
 * Broker class, so the broker (which imports the registry, which imports every handler) is not
 * part of an import loop.
 */
export interface BrokerServices {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly topics: Topics;
  readonly groups: GroupCoordinator;
  /** Share groups (KIP-932): membership, share sessions, share-partition state (share/coordinator.ts). */
  readonly shares: ShareCoordinator;
  readonly producerIds: ProducerIdManager;
  readonly transactions: TransactionCoordinator;
  readonly node: NodeIdentity;
  /** Live brokers, the controller, partition leaders and the coordinators' broker (cluster/view.ts). */
  readonly cluster: ClusterView;
  /** SCRAM credentials (DescribeUserScramCredentials / AlterUserScramCredentials, SASL). */
  readonly credentials: CredentialStore;
  /** SASL authentication: each connection's session (auth/sasl.ts). */
  readonly sasl: SaslAuthenticator;
  /** ACLs and the authorization decision (auth/acls.ts; handlers call its `authorize(ctx, ...)`). */
  readonly acls: Authorizer;
  /** Client quota configuration (DescribeClientQuotas / AlterClientQuotas) and its enforcement. */
  readonly quotaStore: QuotaStore;
  readonly quotas: QuotaEnforcer;
  /** Dynamic broker configs (Incremental/AlterConfigs on the broker resource), applied to `config`. */
  readonly brokerConfigs: DynamicBrokerConfigs;
}

/** One API this broker serves and its version range, as ApiVersions lists it. */
export interface ServedApi {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

export interface RequestContext {
  readonly services: BrokerServices;
  /** Every API the registry serves, in key order (handed in so ApiVersions need not import the registry). */
  readonly servedApis: readonly ServedApi[];
  readonly header: RequestHeader;
  /** apiVersion of this request (same as header.apiVersion). */
  readonly version: number;
  /** Remote address of the client, as Kafka reports it in DescribeGroups ("/127.0.0.1"). */
  readonly clientHost: string;
  readonly connectionId: number;
  /** The connection: its listener (advertised address, securityProtocol) and principal. */
  readonly connection: ConnectionInfo;
  /** The connection's SASL state (SaslHandshake, SaslAuthenticate). */
  readonly sasl: SaslSession;
  /** Who the client is ("User:ANONYMOUS" before/without SASL, or without mutual TLS): what ACLs name. */
  readonly principal: string;
}

/** A response body, or null for no response at all (Produce with acks=0), now or later. */
export type HandlerResult<Response> = Promise<Response | null> | Response | null;

export interface ApiHandler<K extends ApiKeyNumber> {
  readonly apiKey: K;
  /** Inclusive range of versions this handler implements (and ApiVersions advertises). */
  readonly minVersion: number;
  readonly maxVersion: number;
  /**
   * Fields absent at the request's version hold their defaults. Annotate the return type
   * (`: Promise<XResponse>`): TypeScript checks returned object literals for unknown fields only
   * against a declared return type, not against the contextual one.
   */
  handle(ctx: RequestContext, request: RequestOf<K>): HandlerResult<ResponseOf<K>>;
}

/** Any API's handler: what the registry's one list holds. */
export type AnyApiHandler = { [K in ApiKeyNumber]: ApiHandler<K> }[ApiKeyNumber];

/** Declares the handler of API `K` (taken from `apiKey`) so its request and response are typed. */
export function defineHandler<K extends ApiKeyNumber>(handler: ApiHandler<K>): ApiHandler<K> {
  return handler;
}

/** A handler throws it to close the connection without a response (Kafka's answer to some malformed requests). */
export { CloseConnection } from './server.js';
