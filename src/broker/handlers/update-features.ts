// UpdateFeatures v0–2 (API 57; Admin.updateFeatures, kafka-features upgrade/downgrade). Fjord's
// features (FEATURES in api-versions.ts) are what this build does, so no level can move: an update
// to the level already in effect succeeds (validateOnly or not: nothing changes either way), any
// other is refused. The checks and their words are Kafka 4.1's, in Kafka's order, per update:
// an unknown upgrade type (v1+; v0 always upgrades, whatever allowDowngrade says), a level below 0,
// a feature not served ("does not support this feature"; at level 0 "not found"), a level outside
// the supported range, a lower level without a downgrade type, a higher level with one; then
// Fjord's own refusal of a change its code cannot make. Like Kafka, one failed update fails the
// whole request: top-level INVALID_UPDATE_VERSION naming the first failing feature (by name), no
// per-feature results; success lists each update (v0–1) with the message "NONE", as Kafka does.
// Needs ALTER on the cluster (with an authorizer): else CLUSTER_AUTHORIZATION_FAILED at the top.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { UpdateFeaturesRequestFeatureUpdateKey, UpdateFeaturesResponse } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';
import { FEATURES } from './api-versions.js';

const UPGRADE = 1, SAFE_DOWNGRADE = 2, UNSAFE_DOWNGRADE = 3;

/** Why an update cannot be made, in Kafka's words (Fjord's for the last check), or null. */
function problem(update: UpdateFeaturesRequestFeatureUpdateKey, version: number, nodeId: number): string | null {
  const { feature, maxVersionLevel: level } = update;
  const type = version === 0 ? UPGRADE : (update.upgradeType ?? UPGRADE);
  const invalid = (why: string) => `Invalid update version ${level} for feature ${feature}. ${why}`;
  if (type !== UPGRADE && type !== SAFE_DOWNGRADE && type !== UNSAFE_DOWNGRADE) return invalid('The controller does not support the given upgrade type.');
  if (level < 0) return invalid('A feature version cannot be less than 0.');
  const f = FEATURES.find((x) => x.name === feature);
  if (!f) return invalid(level === 0 ? `Feature ${feature} not found.` : `Local controller ${nodeId} does not support this feature.`);
  if (level < f.minVersion || level > f.maxVersion) return invalid(`Local controller ${nodeId} only supports versions ${f.minVersion}-${f.maxVersion}`);
  if (level < f.level && type === UPGRADE) return invalid('Can\'t downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.');
  if (level > f.level && type !== UPGRADE) return invalid('Can\'t downgrade to a newer version.');
  if (level !== f.level) return invalid(`Fjord runs ${feature} at level ${f.level} only: what this build does, not a level it can change.`);
  return null;
}

export const updateFeaturesHandler = defineHandler({
  apiKey: 57,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req): UpdateFeaturesResponse {
    if (!authorize(ctx, 'ALTER', 'CLUSTER')) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed.', results: [] };
    }
    const failures = req.featureUpdates
      .map((u) => ({ feature: u.feature, message: problem(u, ctx.version, ctx.services.node.nodeId) }))
      .filter((x): x is { feature: string; message: string } => x.message !== null)
      .sort((a, b) => (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0));
    if (failures.length > 0) {
      return {
        throttleTimeMs: 0, errorCode: ErrorCode.INVALID_UPDATE_VERSION,
        errorMessage: `The update failed for all features since the following feature had an error: ${failures[0].message}`, results: [],
      };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: req.featureUpdates.map((u) => ({ feature: u.feature, errorCode: ErrorCode.NONE, errorMessage: 'NONE' })) };
  },
});
