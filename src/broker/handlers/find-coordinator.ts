// FindCoordinator v0–6. One broker coordinates every group (key type 0) and transactional id
// (key type 1): this one on a single node; on PostgreSQL the broker leading the internal logs
// (services.cluster.coordinatorId(); COORDINATOR_NOT_AVAILABLE while they move). v0–3 ask for one
// key; v4+ for a batch of keys.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { FindCoordinatorResponse, FindCoordinatorResponseCoordinator } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { memberAddress } from '../cluster/view.js';
import { defineHandler } from '../handler.js';

export const findCoordinatorHandler = defineHandler({
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  handle(ctx, req): FindCoordinatorResponse {
    const { cluster } = ctx.services;
    const keyType = req.keyType ?? 0; // v0 has no key type: groups only
    const answer = (key: string): FindCoordinatorResponseCoordinator => {
      if (keyType !== 0 && keyType !== 1) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown key type ${keyType}` };
      }
      if (keyType === 0 && key === '') {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'group id is empty' };
      }
      // Kafka: DESCRIBE on the group, or on the transactional id.
      if (keyType === 0 && !authorize(ctx, 'DESCRIBE', 'GROUP', key)) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: 'Group authorization failed' };
      }
      if (keyType === 1 && !authorize(ctx, 'DESCRIBE', 'TRANSACTIONAL_ID', key)) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, errorMessage: 'Transactional Id authorization failed' };
      }
      // The address of the coordinator's listener of the name this client came in through.
      const nodeId = cluster.coordinatorId();
      const member = nodeId === null ? undefined : cluster.members().find((m) => m.nodeId === nodeId);
      const address = member && memberAddress(cluster, ctx.connection.listener, member);
      if (nodeId === null || !address) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: 'the coordinators are moving to another broker; retry' };
      }
      return { key, nodeId, host: address.host, port: address.port, errorCode: ErrorCode.NONE, errorMessage: null };
    };
    if (ctx.version >= 4) {
      return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys ?? []).map(answer) };
    }
    // v0-3: one coordinator, its fields at the top level (there is no `key` field there).
    const one = answer(req.key ?? '');
    return { throttleTimeMs: 0, errorCode: one.errorCode, errorMessage: one.errorMessage, nodeId: one.nodeId, host: one.host, port: one.port };
  },
});
