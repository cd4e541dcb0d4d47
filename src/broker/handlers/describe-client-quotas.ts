// DescribeClientQuotas v0-1: the quota entities matching a filter and their values. Each
// component names an entity type (user, client-id) and a match: 0 exact name, 1 the default
// (match null), 2 any entity that has the type. Strict: only entities with exactly the filtered
// types. Kafka's answers: an empty entity type, a type twice or a match string where none belongs
// INVALID_REQUEST; an unknown match type or entity type UNSUPPORTED_VERSION (Fjord has no `ip`
// entities, so an `ip` filter matches nothing). Authorization (DESCRIBE_CONFIGS on the cluster)
// comes with ACLs.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeClientQuotasResponse } from '../../protocol/generated/types.js';
import { isEntityType, type EntityType } from '../quotas/store.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const describeClientQuotasHandler = defineHandler({
  apiKey: 48,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req): DescribeClientQuotasResponse {
    const fail = (errorCode: number, errorMessage: string): DescribeClientQuotasResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, entries: null });
    // Kafka: DESCRIBE_CONFIGS on the cluster.
    if (!authorize(ctx, 'DESCRIBE_CONFIGS', 'CLUSTER')) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed');
    const exact = new Map<string, string | null>();
    const present = new Set<string>();
    for (const c of req.components) {
      if (c.entityType === '') return fail(ErrorCode.INVALID_REQUEST, 'Invalid empty entity type.');
      if (exact.has(c.entityType) || present.has(c.entityType)) return fail(ErrorCode.INVALID_REQUEST, `Entity type ${c.entityType} cannot appear more than once in the filter.`);
      if (!isEntityType(c.entityType) && c.entityType !== 'ip') return fail(ErrorCode.UNSUPPORTED_VERSION, `Unsupported entity type ${c.entityType}`);
      if (c.matchType === 0) {
        if (c.match === null) return fail(ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_EXACT, but set match string to null.');
        exact.set(c.entityType, c.match);
      } else if (c.matchType === 1) {
        if (c.match !== null) return fail(ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.');
        exact.set(c.entityType, null);
      } else if (c.matchType === 2) {
        if (c.match !== null) return fail(ErrorCode.INVALID_REQUEST, 'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.');
        present.add(c.entityType);
      } else {
        return fail(ErrorCode.UNSUPPORTED_VERSION, `Unknown match type ${c.matchType}`);
      }
    }
    if ((exact.has('ip') || present.has('ip')) && exact.size + present.size > 1) {
      return fail(ErrorCode.INVALID_REQUEST, 'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.');
    }
    const entries: DescribeClientQuotasResponse['entries'] = [];
    for (const { entity, values } of ctx.services.quotaStore.list()) {
      const types = Object.keys(entity) as EntityType[];
      if (req.strict && types.length !== exact.size + present.size) continue;
      let match = true;
      for (const [t, name] of exact) if (!isEntityType(t) || !(t in entity) || entity[t] !== name) match = false;
      for (const t of present) if (!isEntityType(t) || !(t in entity)) match = false;
      if (!match) continue;
      entries.push({
        entity: types.map((t) => ({ entityType: t, entityName: entity[t] ?? null })),
        values: [...values.entries()].map(([key, value]) => ({ key, value })),
      });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
});
