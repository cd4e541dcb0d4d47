// SaslAuthenticate v0–2: one message of the SASL exchange chosen by SaslHandshake v1 (auth/sasl.ts).
// A failed authentication is SASL_AUTHENTICATION_FAILED with a message that does not say whether
// the user exists, and the connection is closed once it is written. v1+ carries sessionLifetimeMs
// (connections.max.reauth.ms, KIP-368; 0 = no expiry); v2 is flexible. Without a handshake, or on a
// connection that needs no SASL: ILLEGAL_SASL_STATE.
import type { SaslAuthenticateResponse } from '../../protocol/generated/types.js';
import { defineHandler } from '../handler.js';

export const saslAuthenticateHandler = defineHandler({
  apiKey: 36,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req): Promise<SaslAuthenticateResponse> {
    return ctx.sasl.authenticate(req.authBytes, ctx.version);
  },
});
