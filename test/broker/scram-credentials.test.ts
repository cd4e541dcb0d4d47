// AlterUserScramCredentials takes what Kafka 4.1's controller takes: the iteration count is the only
// bound on an upsert's numbers (4096..16384); salt and salted password are taken at any length.
// kafka-go's TestAlterUserScramCredentials sends a 7-byte salt and an 18-byte "salted password" for
// SCRAM-SHA-512, which Kafka accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { RawConnection } from '../raw-client.js';
import { withBroker } from '../helpers.js';

const SHA_256 = 1, SHA_512 = 2;

test('AlterUserScramCredentials: any salt and salted password length is taken (as Kafka), iterations stay within 4096..16384', async () => {
  const broker = await withBroker();
  try {
    const c = await RawConnection.connect(broker.port);
    const salt = Buffer.from('my-salt');
    const saltedPassword = Buffer.from('my-salted-password');
    const res = await c.request(51, 0, {
      deletions: [],
      upsertions: [
        { name: 'kafka-go', mechanism: SHA_512, iterations: 15000, salt, saltedPassword },
        { name: 'empty-salt', mechanism: SHA_256, iterations: 4096, salt: Buffer.alloc(0), saltedPassword: Buffer.alloc(64, 1) },
        { name: 'max', mechanism: SHA_256, iterations: 16384, salt, saltedPassword },
        { name: 'too-many', mechanism: SHA_256, iterations: 16385, salt, saltedPassword },
        { name: 'too-few', mechanism: SHA_512, iterations: 4095, salt, saltedPassword },
      ],
    });
    assert.deepEqual(res.results.map((r: { user: string; errorCode: number }) => [r.user, r.errorCode]), [
      ['kafka-go', 0], ['empty-salt', 0], ['max', 0],
      ['too-many', ErrorCode.UNACCEPTABLE_CREDENTIAL], ['too-few', ErrorCode.UNACCEPTABLE_CREDENTIAL],
    ]);
    const described = await c.request(50, 0, { users: [{ name: 'kafka-go' }] }, 2);
    assert.deepEqual(described.results[0].credentialInfos, [{ mechanism: SHA_512, iterations: 15000 }]);
    // and it can be deleted again, as the peer test does next
    const del = await c.request(51, 0, { deletions: [{ name: 'kafka-go', mechanism: SHA_512 }], upsertions: [] }, 3);
    assert.deepEqual(del.results.map((r: { user: string; errorCode: number }) => [r.user, r.errorCode]), [['kafka-go', 0]]);
    c.socket.destroy();
  } finally {
    await broker.stop();
  }
});
