// DescribeUserScramCredentials v0: users and the mechanisms and iteration counts of their SCRAM
// credentials (never a salt or key). No list (null or empty): every user that has one. A named
// user without credentials: RESOURCE_NOT_FOUND; a user named twice: DUPLICATE_RESOURCE (Kafka's
// answers). Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED).
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeUserScramCredentialsResponse, DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult } from '../../protocol/generated/types.js';
import { SCRAM_MECHANISM_TYPE } from '../auth/scram.js';
import { authorize } from '../auth/acls.js';
import { defineHandler } from '../handler.js';

export const describeUserScramCredentialsHandler = defineHandler({
  apiKey: 50,
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, req): DescribeUserScramCredentialsResponse {
    if (!authorize(ctx, 'DESCRIBE', 'CLUSTER')) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'Cluster authorization failed', results: [] };
    const all = ctx.services.credentials.list();
    const info = (credentials: (typeof all)[number]['credentials']) =>
      credentials.map((c) => ({ mechanism: SCRAM_MECHANISM_TYPE[c.mechanism], iterations: c.iterations }));
    let results: DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult[];
    if (req.users === null || req.users.length === 0) {
      results = all.map((u) => ({ user: u.user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: info(u.credentials) }));
    } else {
      const counts = new Map<string, number>();
      for (const { name } of req.users) counts.set(name, (counts.get(name) ?? 0) + 1);
      results = [...counts.entries()].map(([user, n]) => {
        if (n > 1) return { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] };
        const found = all.find((u) => u.user === user);
        if (!found) return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] };
        return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: info(found.credentials) };
      });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
  },
});
