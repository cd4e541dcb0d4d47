// Authorization: Kafka's ACL model and its durable store (see docs/security.md, "## Authorization").
//
// An ACL binds a resource pattern (type TOPIC | GROUP | CLUSTER | TRANSACTIONAL_ID, a name, LITERAL
// or PREFIXED; the literal name "*" matches every name) to an entry (principal "User:<name>" or
// "User:*", host "*" or one IP address, an operation, ALLOW or DENY). A request is allowed when
// authorization is off (no authorizer.class.name), the principal is a super user, no ACL at all
// names the resource and allow.everyone.if.no.acl.found is on, or an ALLOW entry matches and no
// DENY entry does (DENY wins). ALLOW of READ, WRITE, DELETE or ALTER implies DESCRIBE, and ALLOW of
// ALTER_CONFIGS implies DESCRIBE_CONFIGS, as in Kafka; a DENY denies only its own operation (or all).
// DELEGATION_TOKEN and USER resources are refused at creation (Fjord has no delegation tokens).
//
// The ACLs live in memory and in the internal log `__fjord_acls` (Storage.internalLog), replayed at
// start and, in cluster mode, followed while running (`catchUp` at each poll).
// Record format (format version 1), key and value UTF-8 JSON:
//
//   key   ["acl", resourceType, resourceName, patternType, principal, host, operation, permission]
//         (the numbers of Kafka's protocol)
//   value {"v":1} — the ACL exists; a null value (tombstone) deletes it.
//
// Each change is one uncompressed batch appended with {sync: true} before the answer. Records of an
// unknown shape are skipped with a warning.
import type { Storage } from '../../storage/types.js';
import { FollowedLog, parseJsonRecord } from '../internal-log.js';
import type { Logger } from '../logger.js';

export const ACL_LOG = '__fjord_acls';
const FORMAT_VERSION = 1;

/** Kafka's ResourceType codes. */
export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
/** Kafka's PatternType codes. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
/** Kafka's AclOperation codes. */
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
/** Kafka's AclPermissionType codes. */
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

export type Operation = Exclude<keyof typeof AclOperation, 'UNKNOWN' | 'ANY'>;
export type AuthorizedResource = 'TOPIC' | 'GROUP' | 'CLUSTER' | 'TRANSACTIONAL_ID';

/** The cluster resource's one name. */
export const CLUSTER_NAME = 'kafka-cluster';
/** Kafka's authorizer class names (KRaft's and the older ZooKeeper one) and Fjord's short name turn authorization on. */
export const AUTHORIZER_NAMES = ['fjord', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'kafka.security.authorizer.AclAuthorizer'] as const;

export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

/** A filter of DescribeAcls / DeleteAcls: null strings and ANY codes match everything. */
export interface AclFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

export interface AuthorizerSettings {
  /** authorizer.class.name; unset or '' = authorization off. */
  readonly authorizerClassName?: string;
  /** super.users: principals allowed everything. */
  readonly superUsers: readonly string[];
  readonly allowEveryoneIfNoAclFound: boolean;
}

const keyOf = (b: AclBinding) => JSON.stringify(['acl', b.resourceType, b.resourceName, b.patternType, b.principal, b.host, b.operation, b.permission]);

/** Kafka's principal syntax: Type:name, both non-empty. */
export const validPrincipal = (p: string) => /^[^:]+:.+$/.test(p);

function codeIn(table: Record<string, number>, n: number, exclude: readonly string[]): boolean {
  return Object.entries(table).some(([k, v]) => v === n && !exclude.includes(k));
}

/**
 * Why an ACL cannot be created (Kafka's checks: concrete type, pattern, operation and permission;
 * a Type:name principal; "*" or an IP host), or null.
 */
export function bindingProblem(b: AclBinding): string | null {
  if (b.resourceType === ResourceType.DELEGATION_TOKEN || b.resourceType === ResourceType.USER) {
    return 'Fjord does not support delegation tokens: ACLs on DELEGATION_TOKEN and USER resources are refused';
  }
  if (!codeIn(ResourceType, b.resourceType, ['UNKNOWN', 'ANY'])) return `Invalid resource type ${b.resourceType}`;
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) return `Invalid pattern type ${b.patternType}: ACLs are LITERAL or PREFIXED`;
  if (!codeIn(AclOperation, b.operation, ['UNKNOWN', 'ANY'])) return `Invalid operation ${b.operation}`;
  if (b.permission !== AclPermission.ALLOW && b.permission !== AclPermission.DENY) return `Invalid permission type ${b.permission}`;
  if (b.resourceName === '') return 'Resource name must not be empty';
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_NAME) return `The cluster resource is named ${CLUSTER_NAME}, not "${b.resourceName}"`;
  if (!validPrincipal(b.principal)) return `Invalid principal "${b.principal}": expected Type:name, e.g. User:alice`;
  if (b.host === '') return 'Host must be * or an IP address';
  return null;
}

/** Why a filter cannot be used (UNKNOWN codes), or null. */
export function filterProblem(f: AclFilter): string | null {
  if (f.resourceType === ResourceType.UNKNOWN || !codeIn(ResourceType, f.resourceType, [])) return 'Invalid resource type in the filter';
  if (f.patternType === PatternType.UNKNOWN || !codeIn(PatternType, f.patternType, [])) return 'Invalid pattern type in the filter';
  if (f.operation === AclOperation.UNKNOWN || !codeIn(AclOperation, f.operation, [])) return 'Invalid operation in the filter';
  if (f.permission === AclPermission.UNKNOWN || !codeIn(AclPermission, f.permission, [])) return 'Invalid permission type in the filter';
  return null;
}

/** Does the ACL's resource pattern cover resource `name` (LITERAL equal or "*", PREFIXED prefix)? */
function patternCovers(b: AclBinding, name: string): boolean {
  if (b.patternType === PatternType.LITERAL) return b.resourceName === name || b.resourceName === '*';
  return b.patternType === PatternType.PREFIXED && name.startsWith(b.resourceName);
}

/** Kafka's AclBindingFilter.matches. */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== b.resourceType) return false;
  if (f.patternType === PatternType.MATCH) {
    if (f.resourceName !== null && !patternCovers(b, f.resourceName)) return false;
  } else {
    if (f.patternType !== PatternType.ANY && f.patternType !== b.patternType) return false;
    if (f.resourceName !== null && f.resourceName !== b.resourceName) return false;
  }
  if (f.principal !== null && f.principal !== b.principal) return false;
  if (f.host !== null && f.host !== b.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== b.operation) return false;
  return f.permission === AclPermission.ANY || f.permission === b.permission;
}

/** The operations an ALLOW of `op` grants (Kafka's implied operations). */
function allowCovers(aclOp: number, op: number): boolean {
  if (aclOp === AclOperation.ALL || aclOp === op) return true;
  if (op === AclOperation.DESCRIBE) return aclOp === AclOperation.READ || aclOp === AclOperation.WRITE || aclOp === AclOperation.DELETE || aclOp === AclOperation.ALTER;
  if (op === AclOperation.DESCRIBE_CONFIGS) return aclOp === AclOperation.ALTER_CONFIGS;
  return false;
}

/** "/127.0.0.1" or "::ffff:127.0.0.1" → "127.0.0.1" (the host ACLs name). */
export function aclHost(clientHost: string): string {
  const h = clientHost.startsWith('/') ? clientHost.slice(1) : clientHost;
  return h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h;
}

function decode(key: Buffer | null, value: Buffer | null): { binding: AclBinding; present: boolean } | string {
  const parsed = parseJsonRecord(key, value);
  if (typeof parsed === 'string') return parsed;
  const { key: k, value: v } = parsed;
  if (!Array.isArray(k) || k.length !== 8 || k[0] !== 'acl') return 'record with an unknown key';
  const [, resourceType, resourceName, patternType, principal, host, operation, permission] = k as unknown[];
  if (typeof resourceType !== 'number' || typeof resourceName !== 'string' || typeof patternType !== 'number' || typeof principal !== 'string'
    || typeof host !== 'string' || typeof operation !== 'number' || typeof permission !== 'number') return 'record with an unknown key';
  if (v !== null && (typeof v !== 'object' || (v as Record<string, unknown>).v !== FORMAT_VERSION)) return 'record of an unknown format version';
  return { binding: { resourceType, resourceName, patternType, principal, host, operation, permission }, present: v !== null };
}

/** The ACLs, their log, and the one authorization decision. */
export class Authorizer {
  private readonly acls = new Map<string, AclBinding>();
  private readonly log: FollowedLog;
  readonly enabled: boolean;
  private readonly superUsers: ReadonlySet<string>;

  constructor(private readonly storage: Storage, logger: Logger, private readonly settings: AuthorizerSettings) {
    this.enabled = (settings.authorizerClassName ?? '') !== '';
    this.superUsers = new Set(settings.superUsers);
    this.log = new FollowedLog(ACL_LOG, 'ACL store', (key, value, offset, skipped) => {
      const d = decode(key, value);
      if (typeof d === 'string') skipped(d, offset);
      else if (d.present) this.acls.set(keyOf(d.binding), d.binding);
      else this.acls.delete(keyOf(d.binding));
    }, logger);
  }

  /** Opens the log and replays it (after storage opened). */
  start(): Promise<void> {
    return this.log.open(this.storage);
  }

  /** Applies what was appended to the log since (by the broker leading it, in cluster mode). */
  catchUp(): Promise<void> {
    return this.log.catchUp();
  }

  /** May `principal` from `clientHost` do `op` on the resource? */
  authorize(principal: string, clientHost: string, op: Operation, type: AuthorizedResource, name: string): boolean {
    if (!this.enabled || this.superUsers.has(principal)) return true;
    const opCode = AclOperation[op];
    const typeCode = ResourceType[type];
    const host = aclHost(clientHost);
    let any = false;
    let allowed = false;
    for (const b of this.acls.values()) {
      if (b.resourceType !== typeCode || !patternCovers(b, name)) continue;
      any = true;
      if (b.principal !== principal && b.principal !== 'User:*') continue;
      if (b.host !== '*' && b.host !== host) continue;
      if (b.permission === AclPermission.DENY) {
        if (b.operation === AclOperation.ALL || b.operation === opCode) return false;
      } else if (allowCovers(b.operation, opCode)) {
        allowed = true;
      }
    }
    return allowed || (!any && this.settings.allowEveryoneIfNoAclFound);
  }

  /**
   * May `principal` do `op` on some resource of `type` (Kafka's authorizeByResourceType: an ALLOW
   * naming it, on any name, and no DENY of it on every name)? InitProducerId without a
   * transactional id needs IDEMPOTENT_WRITE on the cluster or this for WRITE on topics.
   */
  authorizeAny(principal: string, clientHost: string, op: Operation, type: AuthorizedResource): boolean {
    if (!this.enabled || this.superUsers.has(principal)) return true;
    const opCode = AclOperation[op];
    const typeCode = ResourceType[type];
    const host = aclHost(clientHost);
    let allowed = false;
    for (const b of this.acls.values()) {
      if (b.resourceType !== typeCode || (b.principal !== principal && b.principal !== 'User:*') || (b.host !== '*' && b.host !== host)) continue;
      if (b.permission === AclPermission.DENY) {
        const everyName = (b.patternType === PatternType.LITERAL && b.resourceName === '*') || (b.patternType === PatternType.PREFIXED && b.resourceName === '');
        if (everyName && (b.operation === AclOperation.ALL || b.operation === opCode)) return false;
      } else if (allowCovers(b.operation, opCode)) {
        allowed = true;
      }
    }
    return allowed;
  }

  /** The ACLs a filter matches, in a stable order. */
  describe(filter: AclFilter): AclBinding[] {
    return [...this.acls.values()].filter((b) => filterMatches(filter, b));
  }

  /** Adds ACLs durably (one batch); ones that exist already are kept as they are. */
  create(bindings: readonly AclBinding[]): Promise<void> {
    return this.write(bindings, true);
  }

  /** Deletes the ACLs each filter matches, durably; returns them per filter. */
  async delete(filters: readonly AclFilter[]): Promise<AclBinding[][]> {
    const matched = filters.map((f) => this.describe(f));
    const all = new Map<string, AclBinding>();
    for (const m of matched) for (const b of m) all.set(keyOf(b), b);
    await this.write([...all.values()], false);
    return matched;
  }

  private write(bindings: readonly AclBinding[], present: boolean): Promise<void> {
    const records = bindings.map((b) => ({ key: Buffer.from(keyOf(b)), value: present ? Buffer.from(JSON.stringify({ v: FORMAT_VERSION })) : null }));
    return this.log.write(records, () => {
      for (const b of bindings) {
        if (present) this.acls.set(keyOf(b), b);
        else this.acls.delete(keyOf(b));
      }
    });
  }
}

/** What the authorize helper needs of a request context (handler.ts's RequestContext has it). */
export interface AuthorizeContext {
  readonly services: { readonly acls: Authorizer };
  readonly principal: string;
  readonly clientHost: string;
}

/** The one check handlers make: may this request's principal do `op` on the resource? */
export function authorize(ctx: AuthorizeContext, op: Operation, type: AuthorizedResource, name: string = CLUSTER_NAME): boolean {
  return ctx.services.acls.authorize(ctx.principal, ctx.clientHost, op, type, name);
}

/**
 * The operations Kafka reports in an authorizedOperations field per resource type (its
 * AclEntry.supportedOperations): ALL is never reported, only what it grants.
 */
export const SUPPORTED_OPERATIONS: Readonly<Record<AuthorizedResource, readonly Operation[]>> = {
  TOPIC: ['READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
  GROUP: ['READ', 'DESCRIBE', 'DELETE'],
  CLUSTER: ['CREATE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'ALTER', 'DESCRIBE'],
  TRANSACTIONAL_ID: ['DESCRIBE', 'WRITE'],
};

/**
 * An authorizedOperations bit field as Kafka computes it: bit `code` set for each supported
 * operation of the resource type the principal is allowed (implied ones included: READ allows
 * DESCRIBE). Without an authorizer, every supported operation.
 */
export function authorizedOperations(ctx: AuthorizeContext, type: AuthorizedResource, name: string = CLUSTER_NAME): number {
  let bits = 0;
  for (const op of SUPPORTED_OPERATIONS[type]) if (authorize(ctx, op, type, name)) bits |= 1 << AclOperation[op];
  return bits;
}
