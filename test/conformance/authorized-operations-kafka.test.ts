// The authorizedOperations scenario of test/broker/authorized-operations-scenario.ts against Apache
// Kafka 4.1 (KRaft single node, StandardAuthorizer, SASL PLAIN users) and against Fjord set up the
// same way: alice's and bob's answers (error codes and bit fields of Metadata v8/v10/v12,
// DescribeCluster, DescribeGroups) must be equal. Needs Java; slow, so not part of npm test:
//   node --import tsx --test test/conformance/authorized-operations-kafka.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error plain JavaScript module without types
import { freePort, startKafka } from '../../scripts/kafka-dist.mjs';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { observe, setUp } from '../broker/authorized-operations-scenario.js';
import { uniqueTopic, withBroker } from '../helpers.js';

test('alice and bob see the same authorizedOperations from Fjord as from Kafka 4.1 with StandardAuthorizer', { timeout: 300000 }, async () => {
  const port = await freePort() as number;
  const controllerPort = await freePort() as number;
  const saslPort = await freePort() as number;
  const kafka = await startKafka({
    heap: '512M', quiet: true, port, controllerPort,
    props: {
      listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},SASL_PLAINTEXT://127.0.0.1:${saslPort}`,
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config':
        'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" user_bob="bob-secret";',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      // The PLAINTEXT listeners (broker to controller, the set-up connection) are User:ANONYMOUS.
      'super.users': 'User:ANONYMOUS',
    },
  }) as { stop(): Promise<void> };
  const fjord = await withBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: ['PLAIN'], connectionFailedAuthenticationDelayMs: 0,
    addScram: parseAddScram(['alice', 'bob'].map((u) => `SCRAM-SHA-256=[name=${u},password=${u}-secret]`).join(';'), '--add-scram'),
    authorizerClassName: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', superUsers: ['User:ANONYMOUS'],
  });
  try {
    const prefix = uniqueTopic('ops');
    const fport = (p: string) => fjord.listeners.find((l) => l.securityProtocol === p)!.port;
    await setUp(port, prefix);
    await setUp(fport('PLAINTEXT'), prefix);
    for (const user of ['alice', 'bob']) {
      const fromKafka = await observe(saslPort, user, prefix);
      const fromFjord = await observe(fport('SASL_PLAINTEXT'), user, prefix);
      assert.deepEqual(fromFjord, fromKafka, `${user}: Fjord's answers differ from Kafka's`);
    }
  } finally {
    await fjord.stop();
    await kafka.stop();
  }
});
