// Options of `new Kafka({...})` that change behaviour on a real broker: authenticationTimeout bounds
// each SASL request (kafkajs' option; before, SASL requests waited requestTimeout).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { Kafka, logLevel } from '../../src/client/index.js';
import { withBroker } from '../helpers.js';

test('authenticationTimeout: a SASL answer slower than it fails the connection with a request timeout', async () => {
  // The broker holds a failed authentication's answer for 3 s.
  const broker = await withBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: ['PLAIN'],
    addScram: parseAddScram('SCRAM-SHA-256=[name=alice,password=alice-secret]', '--add-scram'),
    connectionFailedAuthenticationDelayMs: 3000,
  });
  try {
    const admin = new Kafka({
      brokers: [broker.address], logLevel: logLevel.NOTHING, retry: { retries: 0 },
      sasl: { mechanism: 'plain', username: 'alice', password: 'wrong' }, authenticationTimeout: 300,
    }).admin();
    const err = await admin.connect().then(() => null, (e: unknown) => e);
    assert.ok(err instanceof Error);
    // Not the broker's (late) SASL_AUTHENTICATION_FAILED: the client gave up first.
    assert.match(err.message, /SaslAuthenticate\(key: 36, version: \d\) timed out after 300 ms/);
    await admin.disconnect();
  } finally {
    await broker.stop();
  }
});
