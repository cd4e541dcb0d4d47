// GetTelemetrySubscriptions v0 and PushTelemetry v0 (KIP-714: Java clients 3.7+ with
// enable.metrics.push=true, the default, send them when the broker advertises them).
//
// Subscriptions: Kafka configures them as client-metrics config resources; Fjord has none yet, so
// every client gets the one subscription that asks for nothing (requestedMetrics empty: KIP-714
// says such a client pushes nothing and asks again after pushIntervalMs). Pushes are still
// accepted from any client that names that subscription: the payload (OTLP bytes, compressed as
// the client said) is kept as sent, the latest per client instance, at most telemetry.max.bytes
// each (TELEMETRY_TOO_LARGE above it) and MAX_INSTANCES instances (the oldest pushed is dropped).
// A zero client instance id gets a fresh one (GetTelemetrySubscriptions), as Kafka assigns; a push
// with the zero id or another subscription id is INVALID_REQUEST / UNKNOWN_SUBSCRIPTION_ID, a
// compression type the subscription does not accept UNSUPPORTED_COMPRESSION_TYPE. A terminating
// push removes nothing: its payload is the client's last word and is kept.
// ListClientMetricsResources v0 (Admin.listClientMetricsResources) lists the client-metrics config
// resources: none (DESCRIBE on the cluster needed, else CLUSTER_AUTHORIZATION_FAILED).
import { randomUUID } from 'node:crypto';
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { GetTelemetrySubscriptionsResponse, ListClientMetricsResourcesResponse, PushTelemetryResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler, type BrokerServices } from '../handler.js';

/** Kafka's client-metrics interval.ms default: how often a subscribed client pushes. */
export const PUSH_INTERVAL_MS = 5 * 60 * 1000;
/** Client instances whose latest payload is kept (telemetry.max.bytes each). */
export const MAX_INSTANCES = 1024;
/** The one subscription's id (a hash of its content in Kafka; it never changes here). */
export const SUBSCRIPTION_ID = 1;
/** Kafka's compression type ids: none, gzip, snappy, lz4, zstd; a push may use any of them. */
const ACCEPTED_COMPRESSION = [4, 3, 2, 1];

export interface PushedTelemetry {
  readonly clientInstanceId: string;
  readonly subscriptionId: number;
  readonly compressionType: number;
  readonly terminating: boolean;
  /** The payload as pushed (a copy: the request's frame is not kept). */
  readonly metrics: Buffer;
  readonly receivedAt: number;
  readonly principal: string;
}

/** The latest push of each client instance, per broker. */
export class TelemetryStore {
  private readonly latest = new Map<string, PushedTelemetry>();
  keep(p: PushedTelemetry): void {
    this.latest.delete(p.clientInstanceId); // re-insert: Map order is push order
    this.latest.set(p.clientInstanceId, p);
    while (this.latest.size > MAX_INSTANCES) this.latest.delete(this.latest.keys().next().value!);
  }
  get(clientInstanceId: string): PushedTelemetry | undefined {
    return this.latest.get(clientInstanceId);
  }
  all(): PushedTelemetry[] {
    return [...this.latest.values()];
  }
}

const stores = new WeakMap<BrokerServices, TelemetryStore>();
/** The broker's telemetry store (made on first use). */
export function telemetryOf(services: BrokerServices): TelemetryStore {
  let s = stores.get(services);
  if (!s) stores.set(services, s = new TelemetryStore());
  return s;
}

export const getTelemetrySubscriptionsHandler = defineHandler({
  apiKey: ApiKey.GetTelemetrySubscriptions,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req): GetTelemetrySubscriptionsResponse {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      clientInstanceId: req.clientInstanceId === ZERO_UUID ? randomUUID() : req.clientInstanceId,
      subscriptionId: SUBSCRIPTION_ID,
      acceptedCompressionTypes: ACCEPTED_COMPRESSION,
      pushIntervalMs: PUSH_INTERVAL_MS,
      telemetryMaxBytes: ctx.services.config.telemetryMaxBytes,
      deltaTemporality: true,
      requestedMetrics: [],
    };
  },
});

export const pushTelemetryHandler = defineHandler({
  apiKey: ApiKey.PushTelemetry,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req): PushTelemetryResponse {
    const answer = (errorCode: number): PushTelemetryResponse => ({ throttleTimeMs: 0, errorCode });
    if (req.clientInstanceId === ZERO_UUID) return answer(ErrorCode.INVALID_REQUEST);
    if (req.subscriptionId !== SUBSCRIPTION_ID) return answer(ErrorCode.UNKNOWN_SUBSCRIPTION_ID);
    if (req.compressionType !== 0 && !ACCEPTED_COMPRESSION.includes(req.compressionType)) return answer(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    if (req.metrics.length > ctx.services.config.telemetryMaxBytes) return answer(ErrorCode.TELEMETRY_TOO_LARGE);
    telemetryOf(ctx.services).keep({
      clientInstanceId: req.clientInstanceId, subscriptionId: req.subscriptionId, compressionType: req.compressionType,
      terminating: req.terminating, metrics: Buffer.from(req.metrics), receivedAt: Date.now(), principal: ctx.principal,
    });
    return answer(ErrorCode.NONE);
  },
});

export const listClientMetricsResourcesHandler = defineHandler({
  apiKey: ApiKey.ListClientMetricsResources,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx): ListClientMetricsResourcesResponse {
    const errorCode = authorize(ctx, 'DESCRIBE', 'CLUSTER') ? ErrorCode.NONE : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    return { throttleTimeMs: 0, errorCode, clientMetricsResources: [] };
  },
});
