// AlterClientQuotas v0-1: sets or removes quota values of entities (user, client-id, or both;
// a null name is the type's default). Keys: producer_byte_rate and consumer_byte_rate (whole
// numbers of bytes per second) and request_percentage, all > 0. One result per entry; an entry
// with an error changes nothing, the others apply (each entity's changes as one durable write).
// validateOnly checks without applying. Errors (Kafka's codes): an empty entity, a type twice, an
// empty name, an unknown key or a bad value INVALID_REQUEST; an unknown entity type (and `ip`,
// whose connection_creation_rate Fjord does not enforce) UNSUPPORTED_VERSION, as Kafka answers
// types it does not handle. Authorization (ALTER_CONFIGS on the cluster) comes with ACLs.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { AlterClientQuotasRequestEntryData, AlterClientQuotasResponse } from '../../protocol/generated/types.js';
import { QUOTA_KEYS, isEntityType, isQuotaKey, type QuotaChange, type QuotaEntity } from '../quotas/store.js';
import { authorize } from '../auth/acls.js';
import { securityWriteProblem } from '../cluster/view.js';
import { defineHandler } from '../handler.js';

type Checked = { entity: QuotaEntity; changes: QuotaChange[] } | { code: number; message: string };

function check(entry: AlterClientQuotasRequestEntryData): Checked {
  if (entry.entity.length === 0) return { code: ErrorCode.INVALID_REQUEST, message: 'Invalid empty client quota entity' };
  const entity: QuotaEntity = {};
  for (const { entityType, entityName } of entry.entity) {
    if (!isEntityType(entityType)) {
      return entityType === 'ip'
        ? { code: ErrorCode.UNSUPPORTED_VERSION, message: 'ip quotas (connection_creation_rate) are not supported by Fjord' }
        : { code: ErrorCode.UNSUPPORTED_VERSION, message: `Unhandled client quota entity type: ${entityType}` };
    }
    if (entityType in entity) return { code: ErrorCode.INVALID_REQUEST, message: `Duplicate ${entityType} entity type in the client quota entity` };
    if (entityName === '') return { code: ErrorCode.INVALID_REQUEST, message: `Empty ${entityType} name in the client quota entity` };
    entity[entityType] = entityName;
  }
  const changes: QuotaChange[] = [];
  for (const op of entry.ops) {
    if (!isQuotaKey(op.key)) return { code: ErrorCode.INVALID_REQUEST, message: `Invalid configuration key ${op.key}` };
    if (changes.some((c) => c.key === op.key)) return { code: ErrorCode.INVALID_REQUEST, message: `Duplicate quota key ${op.key}` };
    if (op.remove) {
      changes.push({ key: op.key, value: null });
      continue;
    }
    if (!Number.isFinite(op.value) || op.value <= 0) return { code: ErrorCode.INVALID_REQUEST, message: `Configuration ${op.key} must be a positive number, not ${op.value}` };
    if (QUOTA_KEYS[op.key] === 'long' && !Number.isSafeInteger(op.value)) return { code: ErrorCode.INVALID_REQUEST, message: `Configuration ${op.key} must be a Long value` };
    changes.push({ key: op.key, value: op.value });
  }
  return { entity, changes };
}

export const alterClientQuotasHandler = defineHandler({
  apiKey: 49,
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, req): Promise<AlterClientQuotasResponse> {
    const entries: AlterClientQuotasResponse['entries'] = [];
    // Kafka: ALTER_CONFIGS on the cluster, for every entry.
    const refuseAll = (errorCode: number, errorMessage: string): AlterClientQuotasResponse => ({
      throttleTimeMs: 0,
      entries: req.entries.map((e) => ({ errorCode, errorMessage, entity: e.entity.map((c) => ({ entityType: c.entityType, entityName: c.entityName })) })),
    });
    if (!authorize(ctx, 'ALTER_CONFIGS', 'CLUSTER')) return refuseAll(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed');
    const elsewhere = req.validateOnly ? null : securityWriteProblem(ctx.services.cluster);
    if (elsewhere) return refuseAll(ErrorCode.NOT_CONTROLLER, elsewhere);
    for (const entry of req.entries) {
      const c = check(entry);
      let errorCode: number = ErrorCode.NONE;
      let errorMessage: string | null = null;
      if ('code' in c) {
        errorCode = c.code;
        errorMessage = c.message;
      } else if (!req.validateOnly && c.changes.length > 0) {
        await ctx.services.quotaStore.alter(c.entity, c.changes);
      }
      entries.push({ errorCode, errorMessage, entity: entry.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName })) });
    }
    return { throttleTimeMs: 0, entries };
  },
});
