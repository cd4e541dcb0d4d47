// FindCoordinator v0–6. This broker coordinates every group (key type 0) and transactional id
// (key type 1). v0–3 ask for one key; v4+ for a batch of keys.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { FindCoordinatorResponse, FindCoordinatorResponseCoordinator } from '../../protocol/generated/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const findCoordinatorHandler = defineHandler({
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  handle(ctx, req): FindCoordinatorResponse {
    const { nodeId } = ctx.services.node;
    // The address of the listener this client came in through (Kafka answers per listener).
    const { advertisedHost: host, advertisedPort: port } = ctx.connection.listener;
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
      return { key, nodeId, host, port, errorCode: ErrorCode.NONE, errorMessage: null };
    };
    if (ctx.version >= 4) {
      return { throttleTimeMs: 0, coordinators: (req.coordinatorKeys ?? []).map(answer) };
    }
    // v0-3: one coordinator, its fields at the top level (there is no `key` field there).
    const one = answer(req.key ?? '');
    return { throttleTimeMs: 0, errorCode: one.errorCode, errorMessage: one.errorMessage, nodeId: one.nodeId, host: one.host, port: one.port };
  },
});
