// Client quota configuration: values per quota entity (user, client-id, both; each name or the
// default), as DescribeClientQuotas / AlterClientQuotas see them, and which value applies to a
// (user, client id) pair in Kafka's precedence order. Kept in memory and written to the internal
// log `__fjord_client_quotas` (Storage.internalLog), replayed on start and, in cluster mode,
// followed while running (`catchUp` at each poll); the last record of an entity and key wins.
//
// Record format (format version 1). Key and value are UTF-8 JSON:
//
//   key   ["quota", {"user": <name | null>, "client-id": <name | null>}, <quota key>]
//         (only the entity's types; null is the type's default)
//   value {"v":1, "value":<number>}; a null value (tombstone) removes that key from the entity.
//
// The changes of one entity in one AlterClientQuotas are one uncompressed batch, appended with
// {sync: true} before the answer. Not compacted (changes are rare); unknown records are skipped
// with a warning.
import type { Storage } from '../../storage/types.js';
import { FollowedLog, parseJsonRecord } from '../internal-log.js';
import type { Logger } from '../logger.js';

export const QUOTA_LOG = '__fjord_client_quotas';
const FORMAT_VERSION = 1;

/** The entity types Fjord serves (Kafka's `ip` type, connection_creation_rate, is not). */
export const ENTITY_TYPES = ['user', 'client-id'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];
/** The quota keys Fjord enforces; `long` ones must be whole numbers (Kafka's LONG configs). */
export const QUOTA_KEYS = { producer_byte_rate: 'long', consumer_byte_rate: 'long', request_percentage: 'double' } as const;
export type QuotaKey = keyof typeof QUOTA_KEYS;
export const isQuotaKey = (k: string): k is QuotaKey => Object.hasOwn(QUOTA_KEYS, k);
export const isEntityType = (t: string): t is EntityType => (ENTITY_TYPES as readonly string[]).includes(t);

/** A quota entity: for each type it has, a name or null (the type's default). */
export type QuotaEntity = Partial<Record<EntityType, string | null>>;

function entityId(e: QuotaEntity): string {
  return JSON.stringify(ENTITY_TYPES.filter((t) => t in e).map((t) => [t, e[t]]));
}

/** One change: set `key` to `value`, or remove it (null). */
export interface QuotaChange {
  key: QuotaKey;
  value: number | null;
}

/** Which value applies, and the entity it came from. */
export interface ResolvedQuota {
  value: number;
  entity: QuotaEntity;
}

export class QuotaStore {
  private readonly entities = new Map<string, { entity: QuotaEntity; values: Map<QuotaKey, number> }>();
  private readonly log: FollowedLog;
  /** Bumped on every change, so the enforcer can cache resolutions. */
  generation = 0;

  constructor(private readonly storage: Storage, logger: Logger) {
    this.log = new FollowedLog(QUOTA_LOG, 'quota store', (key, value, offset, skipped) => {
      const d = decodeRecord(key, value);
      if (typeof d === 'string') skipped(d, offset);
      else this.apply(d.entity, [d.change]);
    }, logger);
  }

  start(): Promise<void> {
    return this.log.open(this.storage);
  }

  /** Applies what was appended to the log since (by the broker leading it, in cluster mode). */
  catchUp(): Promise<void> {
    return this.log.catchUp();
  }

  private apply(entity: QuotaEntity, changes: readonly QuotaChange[]): void {
    const id = entityId(entity);
    let e = this.entities.get(id);
    for (const c of changes) {
      if (c.value === null) {
        e?.values.delete(c.key);
        continue;
      }
      if (!e) this.entities.set(id, (e = { entity: { ...entity }, values: new Map() }));
      e.values.set(c.key, c.value);
    }
    if (e && e.values.size === 0) this.entities.delete(id);
    this.generation++;
  }

  /** Writes one entity's changes durably (one batch), then applies them. */
  alter(entity: QuotaEntity, changes: readonly QuotaChange[]): Promise<void> {
    return this.log.write(changes.map((c) => encodeRecord(entity, c)), () => this.apply(entity, changes));
  }

  /** True while no quota is set (enforcement then costs nothing). */
  get isEmpty(): boolean {
    return this.entities.size === 0;
  }

  /** Every entity with at least one value. */
  list(): { entity: QuotaEntity; values: Map<QuotaKey, number> }[] {
    return [...this.entities.values()];
  }

  get(entity: QuotaEntity, key: QuotaKey): number | undefined {
    return this.entities.get(entityId(entity))?.values.get(key);
  }

  /**
   * The quota of `key` for this user and client id, in Kafka's order: user+client, user+default
   * client, user, default user+client, default user+default client, default user, client, default
   * client. Undefined: no quota.
   */
  resolve(key: QuotaKey, user: string, clientId: string): ResolvedQuota | undefined {
    if (this.entities.size === 0) return undefined;
    const order: QuotaEntity[] = [
      { user, 'client-id': clientId }, { user, 'client-id': null }, { user },
      { user: null, 'client-id': clientId }, { user: null, 'client-id': null }, { user: null },
      { 'client-id': clientId }, { 'client-id': null },
    ];
    for (const entity of order) {
      const value = this.get(entity, key);
      if (value !== undefined) return { value, entity };
    }
    return undefined;
  }
}

function encodeRecord(entity: QuotaEntity, c: QuotaChange): { key: Buffer; value: Buffer | null } {
  const e: Record<string, string | null> = {};
  for (const t of ENTITY_TYPES) if (t in entity) e[t] = entity[t] ?? null;
  return {
    key: Buffer.from(JSON.stringify(['quota', e, c.key])),
    value: c.value === null ? null : Buffer.from(JSON.stringify({ v: FORMAT_VERSION, value: c.value })),
  };
}

function decodeRecord(key: Buffer | null, value: Buffer | null): { entity: QuotaEntity; change: QuotaChange } | string {
  const parsed = parseJsonRecord(key, value);
  if (typeof parsed === 'string') return parsed;
  const { key: k, value: v } = parsed;
  if (!Array.isArray(k) || k.length !== 3 || k[0] !== 'quota' || typeof k[1] !== 'object' || k[1] === null || typeof k[2] !== 'string' || !isQuotaKey(k[2])) {
    return 'record with an unknown key';
  }
  const entity: QuotaEntity = {};
  for (const [t, name] of Object.entries(k[1] as Record<string, unknown>)) {
    if (!isEntityType(t) || (name !== null && typeof name !== 'string')) return 'record with an unknown entity';
    entity[t] = name;
  }
  if (Object.keys(entity).length === 0) return 'record with an unknown entity';
  if (v === null) return { entity, change: { key: k[2], value: null } };
  if (typeof v !== 'object') return 'malformed quota record';
  const x = v as Record<string, unknown>;
  if (x.v !== FORMAT_VERSION) return `record of format version ${String(x.v)}`;
  if (typeof x.value !== 'number' || !Number.isFinite(x.value)) return 'malformed quota record';
  return { entity, change: { key: k[2], value: x.value } };
}
