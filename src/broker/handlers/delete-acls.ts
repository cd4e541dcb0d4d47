// DeleteAcls v0-3: deletes the ACLs each filter matches (the same matching as DescribeAcls), all
// filters' deletions in one durable write; each filter's result lists the ACLs it matched. Needs
// ALTER on the cluster (each filter CLUSTER_AUTHORIZATION_FAILED); no authorizer: SECURITY_DISABLED;
// a filter with UNKNOWN codes: INVALID_REQUEST for that filter. v0: LITERAL only.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DeleteAclsResponse } from '../../protocol/generated/types.js';
import { PatternType, authorize, filterProblem, type AclFilter } from '../auth/acls.js';
import { securityWriteProblem } from '../cluster/view.js';
import { defineHandler } from '../handler.js';

export const deleteAclsHandler = defineHandler({
  apiKey: 31,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req): Promise<DeleteAclsResponse> {
    const acls = ctx.services.acls;
    const all = (errorCode: number, errorMessage: string): DeleteAclsResponse =>
      ({ throttleTimeMs: 0, filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })) });
    if (!acls.enabled) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured (authorizer.class.name)');
    if (!authorize(ctx, 'ALTER', 'CLUSTER')) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed');
    const elsewhere = securityWriteProblem(ctx.services.cluster);
    if (elsewhere) return all(ErrorCode.NOT_CONTROLLER, elsewhere);
    const filters: AclFilter[] = req.filters.map((f) => ({
      resourceType: f.resourceTypeFilter, resourceName: f.resourceNameFilter, patternType: f.patternTypeFilter ?? PatternType.LITERAL,
      principal: f.principalFilter, host: f.hostFilter, operation: f.operation, permission: f.permissionType,
    }));
    const problems = filters.map(filterProblem);
    const matched = await acls.delete(filters.filter((_, i) => problems[i] === null));
    let next = 0;
    return {
      throttleTimeMs: 0,
      filterResults: problems.map((problem) => {
        if (problem !== null) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem, matchingAcls: [] };
        return {
          errorCode: ErrorCode.NONE, errorMessage: null,
          matchingAcls: matched[next++].map((b) => ({
            errorCode: ErrorCode.NONE, errorMessage: null, resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType,
            principal: b.principal, host: b.host, operation: b.operation, permissionType: b.permission,
          })),
        };
      }),
    };
  },
});
