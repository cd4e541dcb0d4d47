// ApiVersions v0–4. Lists exactly the registry's APIs and versions. A request for a version we do
// not know is answered in dispatch.ts with UNSUPPORTED_VERSION and a v0 body (clients retry lower).
// v3+ requests carry the client's software name/version; we accept anything.
// v3+ responses carry the features (KIP-584; Admin.describeFeatures reads them from here), those of
// what Fjord actually does (FEATURES below); v0–3 leave out supported features whose minimum is 0,
// as Kafka does (KAFKA-17011: older clients refuse a 0 minimum), v4 lists them all.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ApiVersionsResponse } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';

interface Feature {
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The finalized level; features at level 0 are not listed as finalized (Kafka's image holds none). */
  readonly level: number;
}

/**
 * What Fjord does, in Kafka 4.1's feature words:
 * - metadata.version 27 (4.1-IV1): the request versions Fjord serves are Kafka 4.1's; 7 (3.3-IV3) is
 *   Kafka 4's lowest. Nothing in Fjord depends on a lower level, so the range is Kafka 4.1's.
 * - group.version 1: the KIP-848 consumer group protocol (ConsumerGroupHeartbeat) is served.
 * - kraft.version 0: a static quorum of one voter (DescribeQuorum), no KIP-853 voter changes.
 * - transaction.version 0: EndTxn v5 / KIP-890 part 2 is not served, so clients must keep to the
 *   older transaction protocol (the Java producer turns TV2 on only at a finalized level of 2).
 * - eligible.leader.replicas.version, share.version, streams.version 0: no ELR (one replica), no
 *   share groups, no KIP-1071 streams groups.
 */
export const FEATURES: readonly Feature[] = [
  { name: 'metadata.version', minVersion: 7, maxVersion: 27, level: 27 },
  { name: 'kraft.version', minVersion: 0, maxVersion: 0, level: 0 },
  { name: 'transaction.version', minVersion: 0, maxVersion: 0, level: 0 },
  { name: 'group.version', minVersion: 0, maxVersion: 1, level: 1 },
  { name: 'eligible.leader.replicas.version', minVersion: 0, maxVersion: 0, level: 0 },
  { name: 'share.version', minVersion: 0, maxVersion: 0, level: 0 },
  { name: 'streams.version', minVersion: 0, maxVersion: 0, level: 0 },
];

/** The finalized features never change while Fjord runs: one epoch. */
export const FINALIZED_FEATURES_EPOCH = 0;

export const apiVersionsHandler = defineHandler({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  handle(ctx): ApiVersionsResponse {
    const supported = FEATURES.filter((f) => ctx.version >= 4 || f.minVersion > 0);
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: ctx.servedApis.map((api) => ({ ...api })),
      throttleTimeMs: 0,
      supportedFeatures: supported.map((f) => ({ name: f.name, minVersion: f.minVersion, maxVersion: f.maxVersion })),
      finalizedFeaturesEpoch: FINALIZED_FEATURES_EPOCH,
      finalizedFeatures: FEATURES.filter((f) => f.level > 0).map((f) => ({ name: f.name, minVersionLevel: f.level, maxVersionLevel: f.level })),
      zkMigrationReady: false,
    };
  },
});
