// `fjord acls list|add|remove`: ACLs over the Kafka protocol (DescribeAcls / CreateAcls /
// DeleteAcls through the client's admin), with kafka-acls' flag names.
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclBinding, type AclFilter } from '../client/index.js';
import { COMMON_HELP, Exit, UsageError, kafkaFor, list, out, parse, runCommand, str, table, type Values } from './common.js';
import { saslOf } from './users.js';

export const ACLS_HELP = `Usage: fjord acls <list|add|remove> [options]

Manage ACLs (the broker needs authorizer.class.name; you need ALTER / DESCRIBE on the cluster).

  fjord acls list [resource] [--principal P] [--json]
  fjord acls add (--allow-principal P | --deny-principal P)... --operation OP[,OP] resource [--host H]
  fjord acls remove [resource] [--allow-principal P | --deny-principal P] [--operation OP]

Resource (one of; kafka-acls' flags):
  --topic <name>             --group <id>             --transactional-id <id>       --cluster
  --resource-pattern-type <t>   literal (default), prefixed; list/remove also any, match
Options:
  --allow-principal <P>      User:alice (repeatable); add: an ALLOW rule per principal
  --deny-principal <P>       User:mallory (repeatable); add: a DENY rule per principal
  --principal <P>            list: only this principal's ACLs
  --operation <op>           Read, Write, Create, Delete, Alter, Describe, ClusterAction,
                             DescribeConfigs, AlterConfigs, IdempotentWrite, All (comma list)
  --host <h>                 client address the rule applies to (default *)
  --json                     list: print JSON
Authenticating: --command-config <file> (Kafka's client properties), or
  --sasl-mechanism <m> --sasl-username <u> --sasl-password <p>
${COMMON_HELP}
Examples:
  fjord acls add --allow-principal User:alice --operation Read,Describe --topic orders
  fjord acls add --allow-principal User:alice --operation Read --group orders- --resource-pattern-type prefixed
  fjord acls list --topic orders
  fjord acls remove --topic orders --allow-principal User:alice

Exit codes: 0 done, 1 refused (not authorized, no authorizer), 2 bad usage, 3 no broker.
`;

const OPTIONS = {
  topic: { type: 'string' }, group: { type: 'string' }, 'transactional-id': { type: 'string' }, cluster: { type: 'boolean' },
  'resource-pattern-type': { type: 'string' }, 'allow-principal': { type: 'string', multiple: true }, 'deny-principal': { type: 'string', multiple: true },
  principal: { type: 'string' }, operation: { type: 'string' }, host: { type: 'string' }, json: { type: 'boolean' },
  'sasl-mechanism': { type: 'string' }, 'sasl-username': { type: 'string' }, 'sasl-password': { type: 'string' },
} as const;

const OPERATIONS: Record<string, number> = {
  all: AclOperationTypes.ALL, read: AclOperationTypes.READ, write: AclOperationTypes.WRITE, create: AclOperationTypes.CREATE,
  delete: AclOperationTypes.DELETE, alter: AclOperationTypes.ALTER, describe: AclOperationTypes.DESCRIBE,
  clusteraction: AclOperationTypes.CLUSTER_ACTION, describeconfigs: AclOperationTypes.DESCRIBE_CONFIGS,
  alterconfigs: AclOperationTypes.ALTER_CONFIGS, idempotentwrite: AclOperationTypes.IDEMPOTENT_WRITE,
};
const nameOf = (table: Record<string, number>, n: number) => Object.entries(table).find(([, v]) => v === n)?.[0] ?? String(n);

/** The resource named by the flags; null when none is (list / remove over everything). */
function resourceOf(values: Values, patternDefault: number): { resourceType: number; resourceName: string | null; resourcePatternType: number } | null {
  const given = [
    ['topic', AclResourceTypes.TOPIC], ['group', AclResourceTypes.GROUP], ['transactional-id', AclResourceTypes.TRANSACTIONAL_ID],
  ].flatMap(([flag, type]) => (str(values[flag as string]) !== undefined ? [{ resourceType: type as number, resourceName: str(values[flag as string])! }] : []));
  if (values.cluster) given.push({ resourceType: AclResourceTypes.CLUSTER, resourceName: 'kafka-cluster' });
  if (given.length > 1) throw new UsageError('name one resource: --topic, --group, --transactional-id or --cluster');
  const patternText = str(values['resource-pattern-type'])?.toUpperCase();
  const pattern = patternText === undefined ? patternDefault : (ResourcePatternTypes as Record<string, number>)[patternText];
  if (pattern === undefined || pattern === ResourcePatternTypes.UNKNOWN) throw new UsageError(`--resource-pattern-type takes literal, prefixed, any or match, not "${patternText}"`);
  if (given.length === 0) return null;
  return { ...given[0], resourcePatternType: pattern };
}

function operationsOf(values: Values): number[] | undefined {
  const text = str(values.operation);
  if (text === undefined) return undefined;
  return text.split(',').map((o) => {
    const op = OPERATIONS[o.trim().toLowerCase().replace(/[-_]/g, '')];
    if (op === undefined) throw new UsageError(`unknown --operation "${o}" (${Object.keys(OPERATIONS).join(', ')})`);
    return op;
  });
}

export function runAcls(argv: string[]): Promise<number> {
  return runCommand('acls', ACLS_HELP, argv, async () => {
    const { values, positionals } = parse(argv, OPTIONS);
    const [action, ...extra] = positionals;
    if (!action) throw new UsageError('say what to do: list, add or remove');
    if (!['list', 'add', 'remove'].includes(action)) throw new UsageError(`unknown action "${action}" (list, add, remove)`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const principals = [
      ...list(values['allow-principal']).map((principal) => ({ principal, permissionType: AclPermissionTypes.ALLOW as number })),
      ...list(values['deny-principal']).map((principal) => ({ principal, permissionType: AclPermissionTypes.DENY as number })),
    ];
    for (const p of principals) if (!/^[^:]+:.+$/.test(p.principal)) throw new UsageError(`a principal is Type:name (User:alice), not "${p.principal}"`);
    const operations = operationsOf(values);
    const host = str(values.host) ?? (action === 'add' ? '*' : undefined);
    const admin = kafkaFor(values, saslOf(values)).admin();
    await admin.connect();
    try {
      if (action === 'add') {
        const resource = resourceOf(values, ResourcePatternTypes.LITERAL);
        if (!resource || resource.resourceName === null) throw new UsageError('acls add needs a resource: --topic, --group, --transactional-id or --cluster');
        if (resource.resourcePatternType !== ResourcePatternTypes.LITERAL && resource.resourcePatternType !== ResourcePatternTypes.PREFIXED) {
          throw new UsageError('acls add takes --resource-pattern-type literal or prefixed');
        }
        if (principals.length === 0) throw new UsageError('acls add needs --allow-principal or --deny-principal');
        if (!operations) throw new UsageError('acls add needs --operation');
        const acl: AclBinding[] = principals.flatMap((p) => operations.map((operation) => ({
          resourceType: resource.resourceType, resourceName: resource.resourceName!, resourcePatternType: resource.resourcePatternType,
          principal: p.principal, host: host ?? '*', operation, permissionType: p.permissionType,
        })));
        await admin.createAcls({ acl });
        out(`Added ${acl.length} ACL${acl.length === 1 ? '' : 's'}.\n`);
        return Exit.OK;
      }
      const resource = resourceOf(values, action === 'list' ? ResourcePatternTypes.ANY : ResourcePatternTypes.LITERAL);
      const base = {
        resourceType: resource?.resourceType ?? AclResourceTypes.ANY, resourceName: resource?.resourceName ?? null,
        resourcePatternType: resource?.resourcePatternType ?? ResourcePatternTypes.ANY, host: host ?? null,
      };
      if (action === 'list') {
        const filter: AclFilter = { ...base, principal: str(values.principal) ?? null, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY };
        const { resources } = await admin.describeAcls(filter);
        const rows = resources.flatMap((r) => r.acls.map((a) => [
          nameOf(AclResourceTypes, r.resourceType), r.resourceName, nameOf(ResourcePatternTypes, r.resourcePatternType),
          a.principal, a.host, nameOf(AclOperationTypes, a.operation), nameOf(AclPermissionTypes, a.permissionType),
        ]));
        if (values.json) out(`${JSON.stringify(resources, null, 2)}\n`);
        else out(table(['RESOURCE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'], rows));
        return Exit.OK;
      }
      if (!resource && principals.length === 0) throw new UsageError('acls remove needs a resource or a principal (it will not remove every ACL)');
      const who = principals.length > 0 ? principals : [{ principal: null, permissionType: AclPermissionTypes.ANY as number }];
      const filters: AclFilter[] = who.flatMap((p) => (operations ?? [AclOperationTypes.ANY]).map((operation) => ({ ...base, principal: p.principal, permissionType: p.permissionType, operation })));
      const { filterResponses } = await admin.deleteAcls({ filters });
      const removed = filterResponses.reduce((n, r) => n + r.matchingAcls.length, 0);
      out(`Removed ${removed} ACL${removed === 1 ? '' : 's'}.\n`);
      return Exit.OK;
    } finally {
      await admin.disconnect();
    }
  });
}
