// Admin ACL calls (createAcls, describeAcls, deleteAcls) and partition reassignment calls
// (alterPartitionReassignments, listPartitionReassignments) of Fjord's client against a real broker,
// each answer compared with what kafkajs returns for the same call on the same broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka as KafkaJS, logLevel as kjsLogLevel } from 'kafkajs';
import {
  AclOperationTypes, AclPermissionTypes, AclResourceTypes, FjordAggregateError, KafkaJSAlterPartitionReassignmentsError,
  ResourcePatternTypes,
} from '../../src/client/index.js';
import { withBroker, uniqueTopic } from '../helpers.js';
import { fjordFor } from './client-helpers.js';
import type { RunningBroker } from '../../src/index.js';

let broker: RunningBroker;
before(async () => {
  // Authorization on; the plaintext listener's principal may do everything.
  broker = await withBroker({ authorizerClassName: 'fjord', superUsers: ['User:ANONYMOUS'] });
});
after(async () => { await broker.stop(); });

const kafkajsAdmin = (b: { address: string }) => new KafkaJS({ brokers: [b.address], logLevel: kjsLogLevel.NOTHING, retry: { retries: 1 } }).admin();

test('createAcls, describeAcls, deleteAcls: kafkajs shapes, the same answers as kafkajs', async () => {
  const admin = fjordFor(broker).admin();
  const reference = kafkajsAdmin(broker);
  await admin.connect();
  await reference.connect();
  const topic = uniqueTopic('acl');
  const acl = [
    { resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:alice', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
    { resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:bob', host: '*', operation: AclOperationTypes.WRITE, permissionType: AclPermissionTypes.DENY },
    { resourceType: AclResourceTypes.GROUP, resourceName: `${topic}-`, resourcePatternType: ResourcePatternTypes.PREFIXED, principal: 'User:alice', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW },
  ];
  assert.equal(await admin.createAcls({ acl }), true);

  const filter = { resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY };
  const mine = await admin.describeAcls(filter);
  const theirs = await reference.describeAcls(filter);
  assert.equal(mine.errorCode, 0);
  assert.equal(mine.resources.length, 1);
  assert.deepEqual(mine.resources[0].acls.map((a) => a.principal).sort(), ['User:alice', 'User:bob']);
  const sortAcls = (r: { resources: { acls: { principal: string }[] }[] }) => r.resources.map((x) => ({ ...x, acls: [...x.acls].sort((a, b) => a.principal.localeCompare(b.principal)) }));
  assert.deepEqual(sortAcls(mine), sortAcls(theirs as never));

  const byPrincipal = { resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal: 'User:alice', operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY };
  assert.equal((await admin.describeAcls(byPrincipal)).resources.length, 2);

  const deleted = await admin.deleteAcls({ filters: [{ resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:bob', operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY }] });
  assert.equal(deleted.filterResponses.length, 1);
  assert.deepEqual(deleted.filterResponses[0].matchingAcls.map((m) => [m.principal, m.operation, m.permissionType, m.errorCode]), [['User:bob', AclOperationTypes.WRITE, AclPermissionTypes.DENY, 0]]);
  // kafkajs deletes the rest; both clients then see nothing left for the topic.
  const theirDelete = await reference.deleteAcls({ filters: [byPrincipal] as never });
  assert.equal(theirDelete.filterResponses[0].matchingAcls.length, 2);
  assert.deepEqual((await admin.describeAcls(filter)).resources, []);
  assert.deepEqual((await reference.describeAcls(filter)).resources, []);

  await assert.rejects(admin.createAcls({ acl: [] }), /Invalid ACL array/);
  await reference.disconnect();
  await admin.disconnect();
});

test('ACL calls on a broker without an authorizer fail with SECURITY_DISABLED, as with kafkajs', async () => {
  const open = await withBroker();
  try {
    const admin = fjordFor(open).admin();
    const reference = kafkajsAdmin(open);
    await admin.connect();
    await reference.connect();
    const acl = [{ resourceType: AclResourceTypes.TOPIC, resourceName: 't', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:alice', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW }];
    const type = (e: unknown) => (e as { type?: string; errors?: { type?: string }[] }).type ?? (e as { errors?: { type?: string }[] }).errors?.[0]?.type;
    const mine = await admin.createAcls({ acl }).catch((e: unknown) => e);
    const theirs = await reference.createAcls({ acl }).catch((e: unknown) => e);
    assert.equal(type(mine), 'SECURITY_DISABLED');
    assert.equal(type(theirs), 'SECURITY_DISABLED');
    await reference.disconnect();
    await admin.disconnect();
  } finally {
    await open.stop();
  }
});

test('alterPartitionReassignments / listPartitionReassignments: to this broker succeeds, elsewhere fails per partition, as with kafkajs', async () => {
  const admin = fjordFor(broker).admin();
  const reference = kafkajsAdmin(broker);
  await admin.connect();
  await reference.connect();
  const topic = uniqueTopic('reassign');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  const { brokers } = await admin.describeCluster();
  const self = brokers[0].nodeId;

  await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [self] }, { partition: 1, replicas: [self] }] }] });
  await reference.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [self] }] }] });

  // One broker: a reassignment completes at once, none is in progress.
  const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0, 1] }] });
  assert.deepEqual(listed, { topics: [] });
  assert.deepEqual((await reference.listPartitionReassignments({ topics: [{ topic, partitions: [0, 1] }] })).topics, []);
  assert.deepEqual(await admin.listPartitionReassignments({}), { topics: [] });

  // To a broker that does not exist: one KafkaJSAlterPartitionReassignmentsError per partition.
  const elsewhere = { topics: [{ topic, partitionAssignment: [{ partition: 1, replicas: [self + 100] }] }] };
  const mine = await admin.alterPartitionReassignments(elsewhere).then(() => null, (e: unknown) => e);
  const theirs = await reference.alterPartitionReassignments(elsewhere).then(() => null, (e: unknown) => e);
  assert.ok(mine instanceof FjordAggregateError, `got ${mine}`);
  const inner = mine.errors[0] as KafkaJSAlterPartitionReassignmentsError;
  assert.ok(inner instanceof KafkaJSAlterPartitionReassignmentsError);
  const shape = (e: { name: string; type?: string; topic?: string; partition?: number }) => ({ name: e.name, type: e.type, topic: e.topic, partition: e.partition });
  assert.deepEqual(shape(inner), { name: 'KafkaJSAlterPartitionReassignmentsError', type: 'INVALID_REPLICA_ASSIGNMENT', topic, partition: 1 });
  assert.deepEqual(shape(inner), shape((theirs as { errors: never[] }).errors[0]));
  assert.equal(mine.name, (theirs as Error).name);

  // kafkajs' argument checks, before anything is sent.
  await assert.rejects(admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: -1, replicas: [self] }] }] }), /Invalid partitions index: -1/);
  await assert.rejects(admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [-1] }] }] }), /Replicas must be a non negative number/);
  await assert.rejects(admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }, { topic, partitions: [1] }] }), /multiple entries for the same topic/);
  await reference.disconnect();
  await admin.disconnect();
});
