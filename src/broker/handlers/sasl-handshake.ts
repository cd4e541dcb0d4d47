// SaslHandshake v0–1: picks the SASL mechanism of the connection (auth/sasl.ts holds the state).
// v1 (current clients): the exchange follows in SaslAuthenticate requests. v0 (clients before
// Kafka 1.0): the mechanism's messages follow as bare size-prefixed frames (dispatch.ts hands them
// to the session). A mechanism that is not enabled (OAUTHBEARER and GSSAPI are not implemented)
// gets UNSUPPORTED_SASL_MECHANISM with the enabled list, and the connection is closed once that is
// written; on a connection that needs no SASL the answer is ILLEGAL_SASL_STATE (as Kafka's
// PLAINTEXT listeners answer). On an authenticated connection it starts a re-authentication
// (KIP-368: v1 only, same mechanism).
import { ApiKey } from '../../protocol/apis.js';
import type { SaslHandshakeResponse } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';

export const saslHandshakeHandler = defineHandler({
  apiKey: ApiKey.SaslHandshake,
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, req): SaslHandshakeResponse {
    return ctx.sasl.handshake(req.mechanism, ctx.version);
  },
});
