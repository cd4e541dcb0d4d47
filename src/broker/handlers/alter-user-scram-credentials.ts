// AlterUserScramCredentials v0: upserts carry the salt, the iteration count and the salted
// password (Hi(password, salt, i), computed by the client: the password never reaches the broker);
// the broker keeps salt, iterations, StoredKey and ServerKey (auth/credentials.ts). One result per
// user, in the order users first appear; a user's changes apply all or none. Kafka's errors:
// unknown mechanism UNSUPPORTED_SASL_MECHANISM; an empty name or iterations outside 4096..16384
// UNACCEPTABLE_CREDENTIAL; deleting a credential that does not exist RESOURCE_NOT_FOUND; the same
// user and mechanism twice DUPLICATE_RESOURCE. Like Kafka 4.1's controller, the salt and the salted
// password are taken at any length (HMAC takes a key of any length; a salted password that is not
// Hi(password) of the mechanism's length is a credential no password logs in with, not an error).
// Needs ALTER on the cluster (with an authorizer): else every user CLUSTER_AUTHORIZATION_FAILED.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { AlterUserScramCredentialsResponse } from '../../protocol/generated/types.js';
import {
  MAX_ITERATIONS, MIN_ITERATIONS, credentialFromSaltedPassword, scramMechanismOfType, type ScramCredential, type ScramMechanism,
} from '../auth/scram.js';
import { authorize } from '../auth/acls.js';
import { securityWriteProblem } from '../cluster/view.js';
import { defineHandler } from '../handler.js';

interface Change {
  mechanism: ScramMechanism;
  credential: ScramCredential | null;
}

export const alterUserScramCredentialsHandler = defineHandler({
  apiKey: 51,
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, req): Promise<AlterUserScramCredentialsResponse> {
    const store = ctx.services.credentials;
    const refuseAll = (errorCode: number, errorMessage: string): AlterUserScramCredentialsResponse => {
      const users = [...new Set([...req.deletions, ...req.upsertions].map((u) => u.name))];
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode, errorMessage })) };
    };
    if (!authorize(ctx, 'ALTER', 'CLUSTER')) return refuseAll(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'Cluster authorization failed');
    const elsewhere = securityWriteProblem(ctx.services.cluster);
    if (elsewhere) return refuseAll(ErrorCode.NOT_CONTROLLER, elsewhere);
    const byUser = new Map<string, { changes: Change[]; error: { code: number; message: string } | null }>();
    const entry = (user: string) => {
      let e = byUser.get(user);
      if (!e) byUser.set(user, (e = { changes: [], error: null }));
      return e;
    };
    const ops = [
      ...req.deletions.map((d) => ({ name: d.name, mechanism: d.mechanism, upsert: null })),
      ...req.upsertions.map((u) => ({ name: u.name, mechanism: u.mechanism, upsert: u })),
    ];
    for (const op of ops) {
      const e = entry(op.name);
      if (e.error) continue;
      const fail = (code: number, message: string) => { e.error = { code, message }; };
      const mechanism = scramMechanismOfType(op.mechanism);
      if (op.name === '') { fail(ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'); continue; }
      if (!mechanism) { fail(ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${op.mechanism}`); continue; }
      if (e.changes.some((c) => c.mechanism === mechanism)) { fail(ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request'); continue; }
      const u = op.upsert;
      if (u === null) {
        if (!store.get(op.name, mechanism)) { fail(ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'); continue; }
        e.changes.push({ mechanism, credential: null });
        continue;
      }
      if (u.iterations < MIN_ITERATIONS) { fail(ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations (at least ${MIN_ITERATIONS})`); continue; }
      if (u.iterations > MAX_ITERATIONS) { fail(ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations (at most ${MAX_ITERATIONS})`); continue; }
      e.changes.push({ mechanism, credential: credentialFromSaltedPassword(mechanism, u.salt, u.iterations, u.saltedPassword) });
    }
    const results: AlterUserScramCredentialsResponse['results'] = [];
    for (const [user, e] of byUser) {
      if (e.error) {
        results.push({ user, errorCode: e.error.code, errorMessage: e.error.message });
        continue;
      }
      for (const c of e.changes) await store.set(user, c.mechanism, c.credential);
      results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null });
    }
    return { throttleTimeMs: 0, results };
  },
});
