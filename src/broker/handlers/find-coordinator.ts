// FindCoordinator v0–6. This broker coordinates every group (key type 0) and transactional id
// (key type 1). v0–3 ask for one key; v4+ for a batch of keys.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ApiHandler } from '../handler.js';

export const findCoordinatorHandler: ApiHandler = {
  apiKey: ApiKey.FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  handle(ctx, req) {
    const { nodeId, advertisedHost: host, advertisedPort: port } = ctx.broker;
    const answer = (key: string) => {
      if (req.keyType !== 0 && req.keyType !== 1) {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `unknown key type ${req.keyType}` };
      }
      if (req.keyType === 0 && key === '') {
        return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'group id is empty' };
      }
      return { key, nodeId, host, port, errorCode: ErrorCode.NONE, errorMessage: null };
    };
    if (ctx.version >= 4) {
      return { throttleTimeMs: 0, coordinators: req.coordinatorKeys.map(answer) };
    }
    const one = answer(req.key);
    return { throttleTimeMs: 0, ...one, errorMessage: one.errorMessage };
  },
};
