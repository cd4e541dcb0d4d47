// ApiVersions v0–3. Lists exactly the registry's APIs and versions. A request for a version we do
// not know is answered in dispatch.ts with UNSUPPORTED_VERSION and a v0 body (clients retry lower).
// v3+ requests carry the client's software name/version; we accept anything.
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { ApiVersionsResponse } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';

export const apiVersionsHandler = defineHandler({
  apiKey: ApiKey.ApiVersions,
  minVersion: 0,
  maxVersion: 3,
  handle(ctx): ApiVersionsResponse {
    return { errorCode: ErrorCode.NONE, apiKeys: ctx.servedApis.map((api) => ({ ...api })), throttleTimeMs: 0 };
  },
});
