// InitProducerId v0–5 for idempotent producers: a fresh producer id with epoch 0. A client that
// presents its current id and epoch (v3+, after UNKNOWN_PRODUCER_ID or a timeout) gets the same id
// with the epoch bumped. Transactional ids are answered once transactions exist (a later issue);
// until then they are refused with a clear error rather than half-supported.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { InitProducerIdResponse } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';

export const initProducerIdHandler = defineHandler({
  apiKey: ApiKey.InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, req): Promise<InitProducerIdResponse> {
    if (req.transactionalId !== null && req.transactionalId !== '') {
      return { throttleTimeMs: 0, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1, producerEpoch: -1 };
    }
    const current = { producerId: req.producerId ?? -1, producerEpoch: req.producerEpoch ?? -1 }; // v3+
    if (current.producerId >= 0 && current.producerEpoch >= 0 && current.producerEpoch < 32766) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId: current.producerId, producerEpoch: current.producerEpoch + 1 };
    }
    const producerId = await ctx.services.producerIds.allocate();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
});
