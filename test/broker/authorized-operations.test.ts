// authorizedOperations bit fields computed as Kafka computes them (bit `code` for each supported
// operation the principal is allowed, implied ones included; INT32_MIN when not asked for):
// Metadata (topics v8+, cluster v8-10), DescribeCluster, DescribeGroups, for two principals with
// different ACLs; and without an authorizer, every supported operation.
// test/conformance/authorized-operations-kafka.test.ts runs the same scenario against Kafka 4.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { SUPPORTED_OPERATIONS } from '../../src/broker/auth/acls.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { RawConnection } from '../raw-client.js';
import { withBroker, uniqueTopic } from '../helpers.js';
import { bits, observe, setUp } from './authorized-operations-scenario.js';

const NOT_REQUESTED = -2147483648;
const TOPIC_AUTHORIZATION_FAILED = 29, GROUP_AUTHORIZATION_FAILED = 30;

test('authorizedOperations for two principals: Metadata, DescribeCluster, DescribeGroups', async () => {
  const broker = await withBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: ['PLAIN'], connectionFailedAuthenticationDelayMs: 0,
    addScram: parseAddScram(['alice', 'bob'].map((u) => `SCRAM-SHA-256=[name=${u},password=${u}-secret]`).join(';'), '--add-scram'),
    authorizerClassName: 'fjord', superUsers: ['User:ANONYMOUS'],
  });
  try {
    const port = (p: string) => broker.listeners.find((l) => l.securityProtocol === p)!.port;
    const prefix = uniqueTopic('ops');
    await setUp(port('PLAINTEXT'), prefix);
    const alice = await observe(port('SASL_PLAINTEXT'), 'alice', prefix);
    const aliceTopics = {
      '-a': [0, bits('READ', 'WRITE', 'DESCRIBE')],
      '-b-1': [0, bits('READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS')], // ALL, but DENY ALTER_CONFIGS
      '-c': [0, bits('DESCRIBE', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS')], // ALTER_CONFIGS implies DESCRIBE_CONFIGS
      '-d': [TOPIC_AUTHORIZATION_FAILED, NOT_REQUESTED],
    };
    const aliceCluster = bits('ALTER', 'DESCRIBE', 'IDEMPOTENT_WRITE');
    assert.deepEqual(alice, {
      metadataV10Named: aliceTopics, metadataV10Cluster: aliceCluster,
      metadataV10All: { '-a': aliceTopics['-a'], '-b-1': aliceTopics['-b-1'], '-c': aliceTopics['-c'] }, metadataV10AllCluster: aliceCluster,
      metadataV12Named: aliceTopics,
      metadataV8NotRequested: { '-a': [0, NOT_REQUESTED], '-b-1': [0, NOT_REQUESTED], '-c': [0, NOT_REQUESTED], '-d': [TOPIC_AUTHORIZATION_FAILED, NOT_REQUESTED] },
      metadataV8NotRequestedCluster: NOT_REQUESTED,
      describeCluster: [0, aliceCluster], describeClusterNotRequested: NOT_REQUESTED,
      describeGroups: [['-g', 0, bits('READ', 'DESCRIBE')], ['-g-hidden', GROUP_AUTHORIZATION_FAILED, NOT_REQUESTED]],
      describeGroupsNotRequested: [['-g', 0, NOT_REQUESTED], ['-g-hidden', GROUP_AUTHORIZATION_FAILED, NOT_REQUESTED]],
    });
    const bob = await observe(port('SASL_PLAINTEXT'), 'bob', prefix);
    const bobTopics = {
      '-a': [0, bits('DESCRIBE')], '-b-1': [TOPIC_AUTHORIZATION_FAILED, NOT_REQUESTED],
      '-c': [0, bits('DELETE', 'DESCRIBE')], '-d': [TOPIC_AUTHORIZATION_FAILED, NOT_REQUESTED],
    };
    assert.deepEqual(bob, {
      // IDEMPOTENT_WRITE on the cluster but no DESCRIBE: the cluster field is 0, as in Kafka.
      metadataV10Named: bobTopics, metadataV10Cluster: 0,
      metadataV10All: { '-a': bobTopics['-a'], '-c': bobTopics['-c'] }, metadataV10AllCluster: 0,
      metadataV12Named: bobTopics,
      metadataV8NotRequested: { '-a': [0, NOT_REQUESTED], '-b-1': [TOPIC_AUTHORIZATION_FAILED, NOT_REQUESTED], '-c': [0, NOT_REQUESTED], '-d': [TOPIC_AUTHORIZATION_FAILED, NOT_REQUESTED] },
      metadataV8NotRequestedCluster: NOT_REQUESTED,
      describeCluster: [0, 0], describeClusterNotRequested: NOT_REQUESTED,
      describeGroups: [['-g', 0, bits('DELETE', 'DESCRIBE')], ['-g-hidden', 0, bits('READ', 'DESCRIBE')]],
      describeGroupsNotRequested: [['-g', 0, NOT_REQUESTED], ['-g-hidden', 0, NOT_REQUESTED]],
    });
  } finally {
    await broker.stop();
  }
});

test('authorizedOperations without an authorizer: every supported operation', async () => {
  const broker = await withBroker();
  const c = await RawConnection.connect(broker.port);
  try {
    const topic = uniqueTopic('ops-open');
    await c.request(ApiKey.CreateTopics, 7, { topics: [{ name: topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    const m = await c.request(ApiKey.Metadata, 9, { topics: [{ name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
    assert.equal(m.topics[0].topicAuthorizedOperations, bits(...SUPPORTED_OPERATIONS.TOPIC));
    assert.equal(m.clusterAuthorizedOperations, bits(...SUPPORTED_OPERATIONS.CLUSTER));
    const dc = await c.request(60, 0, { includeClusterAuthorizedOperations: true });
    assert.equal(dc.clusterAuthorizedOperations, bits(...SUPPORTED_OPERATIONS.CLUSTER));
    const dg = await c.request(ApiKey.DescribeGroups, 3, { groups: ['nobody'], includeAuthorizedOperations: true });
    assert.equal(dg.groups[0].authorizedOperations, bits('READ', 'DESCRIBE', 'DELETE'));
  } finally {
    c.socket.destroy();
    await broker.stop();
  }
});
