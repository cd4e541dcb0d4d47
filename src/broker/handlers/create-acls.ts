// CreateAcls v0-3: adds ACLs (auth/acls.ts), durably, one result per creation in request order.
// Needs ALTER on the cluster (else every result CLUSTER_AUTHORIZATION_FAILED); with no authorizer
// configured every result is SECURITY_DISABLED, as Kafka answers. A creation Kafka would refuse
// (unknown or ANY/MATCH codes, a principal not Type:name, an empty host, a cluster resource not
// named kafka-cluster) gets INVALID_REQUEST with the reason; DELEGATION_TOKEN and USER resources are
// refused the same way (Fjord has no delegation tokens). v0 has no pattern type: LITERAL.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { CreateAclsResponse } from '../../protocol/generated/types.js';
import { PatternType, authorize, bindingProblem, type AclBinding } from '../auth/acls.js';
import { securityWriteProblem } from '../cluster/view.js';
import { defineHandler } from '../handler.js';

export const createAclsHandler = defineHandler({
  apiKey: 30,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req): Promise<CreateAclsResponse> {
    const acls = ctx.services.acls;
    const all = (errorCode: number, errorMessage: string): CreateAclsResponse =>
      ({ throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode, errorMessage })) });
    if (!acls.enabled) return all(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured (authorizer.class.name)');
    if (!authorize(ctx, 'ALTER', 'CLUSTER')) return all(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed');
    const elsewhere = securityWriteProblem(ctx.services.cluster);
    if (elsewhere) return all(ErrorCode.NOT_CONTROLLER, elsewhere);
    const results: CreateAclsResponse['results'] = [];
    const valid: AclBinding[] = [];
    for (const c of req.creations) {
      const b: AclBinding = {
        resourceType: c.resourceType, resourceName: c.resourceName, patternType: c.resourcePatternType ?? PatternType.LITERAL,
        principal: c.principal, host: c.host, operation: c.operation, permission: c.permissionType,
      };
      const problem = bindingProblem(b);
      results.push(problem === null ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem });
      if (problem === null) valid.push(b);
    }
    await acls.create(valid);
    return { throttleTimeMs: 0, results };
  },
});
