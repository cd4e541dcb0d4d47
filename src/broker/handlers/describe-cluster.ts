// DescribeCluster v0–1: the live brokers (one node: itself) and the controller (the lowest live id).
// Everyone may ask (as in Kafka); includeClusterAuthorizedOperations gets the cluster operations the
// principal is allowed, 0 without DESCRIBE on the cluster.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeClusterResponse } from '../../protocol/generated/types.js';
import { authorize, authorizedOperations } from '../auth/acls.js';
import { memberAddress } from '../cluster/view.js';
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED, defineHandler } from '../handler.js';

export const describeClusterHandler = defineHandler({
  apiKey: ApiKey.DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req): DescribeClusterResponse {
    const { services } = ctx;
    if (ctx.version >= 1 && req.endpointType !== 1) {
      return {
        throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: 'only broker endpoints are served',
        endpointType: req.endpointType, clusterId: services.node.clusterId, controllerId: -1, brokers: [],
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
      };
    }
    const clusterAuthorizedOperations = !req.includeClusterAuthorizedOperations ? AUTHORIZED_OPERATIONS_NOT_REQUESTED
      : authorize(ctx, 'DESCRIBE', 'CLUSTER') ? authorizedOperations(ctx, 'CLUSTER') : 0;
    return {
      throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, endpointType: 1,
      clusterId: services.node.clusterId, controllerId: services.cluster.controllerId(),
      brokers: services.cluster.members().flatMap((m) => {
        const a = memberAddress(services.cluster, ctx.connection.listener, m);
        return a ? [{ brokerId: m.nodeId, host: a.host, port: a.port, rack: m.rack }] : [];
      }),
      clusterAuthorizedOperations,
    };
  },
});
