// DescribeAcls v0-3: the ACLs a filter matches (Kafka's AclBindingFilter: ANY codes and null strings
// match all; pattern type ANY matches both LITERAL and PREFIXED ACLs of exactly that name, MATCH the
// ACLs that would apply to that name: the literal name, the literal "*" and covering prefixes),
// grouped by resource pattern. Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED); no
// authorizer: SECURITY_DISABLED; a filter with UNKNOWN codes: INVALID_REQUEST. v0: LITERAL only.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeAclsResponse } from '../../protocol/generated/types.js';
import { PatternType, authorize, filterProblem, type AclFilter } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const describeAclsHandler = defineHandler({
  apiKey: 29,
  minVersion: 0,
  maxVersion: 3,
  handle(ctx, req): DescribeAclsResponse {
    const acls = ctx.services.acls;
    const fail = (errorCode: number, errorMessage: string): DescribeAclsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, resources: [] });
    if (!acls.enabled) return fail(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured (authorizer.class.name)');
    if (!authorize(ctx, 'DESCRIBE', 'CLUSTER')) return fail(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed');
    const filter: AclFilter = {
      resourceType: req.resourceTypeFilter, resourceName: req.resourceNameFilter, patternType: req.patternTypeFilter ?? PatternType.LITERAL,
      principal: req.principalFilter, host: req.hostFilter, operation: req.operation, permission: req.permissionType,
    };
    const problem = filterProblem(filter);
    if (problem !== null) return fail(ErrorCode.INVALID_REQUEST, problem);
    const byResource = new Map<string, DescribeAclsResponse['resources'][number]>();
    for (const b of acls.describe(filter)) {
      const key = JSON.stringify([b.resourceType, b.resourceName, b.patternType]);
      let r = byResource.get(key);
      if (!r) byResource.set(key, (r = { resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, acls: [] }));
      r.acls.push({ principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, resources: [...byResource.values()] };
  },
});
