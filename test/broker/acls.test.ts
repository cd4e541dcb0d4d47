// Authorization (ACLs) over real TCP with SASL PLAIN users: alice and bob, admin a super user.
// The ACL matrix of the main APIs (with and without the permission), the attacks of issue 13
// refused (reading, deleting a topic, overwriting a group's offsets, retention.ms=1), DENY beats
// ALLOW, PREFIXED patterns, hosts, allow.everyone.if.no.acl.found, DescribeAcls/DeleteAcls filters,
// DELEGATION_TOKEN refused, SECURITY_DISABLED without an authorizer, ACLs surviving a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka as KafkaJS, logLevel as kjsLogLevel } from 'kafkajs';
import { Kafka, logLevel } from '../../src/client/index.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';
import { parseAddScram } from '../../src/broker/auth/add-scram.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../src/broker/auth/acls.js';
import { RawConnection, type Message } from '../raw-client.js';
import { withBroker, uniqueTopic, tempDir } from '../helpers.js';
import type { StartBrokerOptions } from '../../src/index.js';

const USERS = ['alice', 'bob', 'admin'].map((u) => `SCRAM-SHA-256=[name=${u},password=${u}-secret]`).join(';');
const SASL_HANDSHAKE = 17, SASL_AUTHENTICATE = 36, DESCRIBE_ACLS = 29, CREATE_ACLS = 30, DELETE_ACLS = 31;
const INCREMENTAL_ALTER_CONFIGS = 44;

function aclBroker(extra: StartBrokerOptions = {}) {
  return withBroker({
    listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
    saslEnabledMechanisms: ['PLAIN', 'SCRAM-SHA-256'],
    addScram: parseAddScram(USERS, '--add-scram'),
    connectionFailedAuthenticationDelayMs: 0,
    authorizerClassName: 'fjord',
    superUsers: ['User:admin'],
    ...extra,
  });
}

async function login(port: number, user: string): Promise<RawConnection> {
  const c = await RawConnection.connect(port);
  assert.equal((await c.request(SASL_HANDSHAKE, 1, { mechanism: 'PLAIN' })).errorCode, 0);
  assert.equal((await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${user}-secret`) })).errorCode, 0);
  return c;
}

type Acl = { type: keyof typeof ResourceType; name: string; pattern?: 'LITERAL' | 'PREFIXED'; principal: string; host?: string; op: keyof typeof AclOperation; perm?: 'ALLOW' | 'DENY' };

async function addAcls(c: RawConnection, ...acls: Acl[]): Promise<Message[]> {
  const res = await c.request(CREATE_ACLS, 3, {
    creations: acls.map((a) => ({
      resourceType: ResourceType[a.type], resourceName: a.name, resourcePatternType: PatternType[a.pattern ?? 'LITERAL'],
      principal: a.principal, host: a.host ?? '*', operation: AclOperation[a.op], permissionType: AclPermission[a.perm ?? 'ALLOW'],
    })),
  });
  return res.results;
}

const createTopic = (c: RawConnection, name: string) =>
  c.request(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false }).then((r) => r.topics[0].errorCode as number);
const metadataAll = (c: RawConnection) => c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false }).then((r) => (r.topics as Message[]).map((t) => t.name as string));
const metadataOf = (c: RawConnection, name: string, auto = false) => c.request(ApiKey.Metadata, 12, { topics: [{ name }], allowAutoTopicCreation: auto }).then((r) => r.topics[0].errorCode as number);
const produce = (c: RawConnection, topic: string) => c.request(ApiKey.Produce, 9, {
  transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeBatch({ records: [{ value: 'v' }] }) }] }],
}).then((r) => r.responses[0].partitionResponses[0].errorCode as number);
const fetch = (c: RawConnection, topic: string) => c.request(ApiKey.Fetch, 12, {
  replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }], forgottenTopicsData: [], rackId: '',
}).then((r) => r.responses[0].partitions[0].errorCode as number);
const listOffsets = (c: RawConnection, topic: string) => c.request(ApiKey.ListOffsets, 7, {
  replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
}).then((r) => r.topics[0].partitions[0].errorCode as number);
const commit = (c: RawConnection, group: string, topic: string) => c.request(ApiKey.OffsetCommit, 8, {
  groupId: group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
  topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: null }] }],
}).then((r) => r.topics[0].partitions[0].errorCode as number);
const offsetFetch = (c: RawConnection, group: string, topic: string) => c.request(ApiKey.OffsetFetch, 8, {
  groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: [0] }] }], requireStable: false,
}).then((r) => r.groups[0] as Message);
const deleteTopic = (c: RawConnection, name: string) => c.request(ApiKey.DeleteTopics, 6, { topics: [{ name, topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 5000 }).then((r) => r.responses[0].errorCode as number);
const setRetention = (c: RawConnection, topic: string) => c.request(INCREMENTAL_ALTER_CONFIGS, 1, {
  resources: [{ resourceType: 2, resourceName: topic, configs: [{ name: 'retention.ms', configOperation: 0, value: '1' }] }], validateOnly: false,
}).then((r) => r.responses[0].errorCode as number);
const describeConfigs = (c: RawConnection, topic: string) => c.request(ApiKey.DescribeConfigs, 4, {
  resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false,
}).then((r) => r.results[0].errorCode as number);
const listGroups = (c: RawConnection) => c.request(ApiKey.ListGroups, 4, { statesFilter: [] }).then((r) => (r.groups as Message[]).map((g) => g.groupId as string));
const describeGroup = (c: RawConnection, group: string) => c.request(ApiKey.DescribeGroups, 5, { groups: [group], includeAuthorizedOperations: false }).then((r) => r.groups[0].errorCode as number);
const deleteGroup = (c: RawConnection, group: string) => c.request(ApiKey.DeleteGroups, 2, { groupsNames: [group] }).then((r) => r.results[0].errorCode as number);
const describeAcls = (c: RawConnection, filter: Partial<Message> = {}) => c.request(DESCRIBE_ACLS, 3, {
  resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null,
  operation: AclOperation.ANY, permissionType: AclPermission.ANY, ...filter,
});

test('ACL matrix: each API with and without the permission Kafka checks', async () => {
  const broker = await aclBroker();
  const [admin, alice, bob] = await Promise.all(['admin', 'alice', 'bob'].map((u) => login(broker.port, u)));
  try {
    const topic = uniqueTopic('acl');
    const group = `g-${topic}`;
    // Without any ACL (allow.everyone.if.no.acl.found is false) nobody but the super user may do anything.
    assert.equal(await createTopic(alice, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await createTopic(admin, topic), ErrorCode.NONE);
    assert.equal(await produce(admin, topic), ErrorCode.NONE);
    // Alice: READ on the topic and the group. Bob: nothing.
    assert.deepEqual(await addAcls(admin,
      { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'READ' },
      { type: 'GROUP', name: group, principal: 'User:alice', op: 'READ' }), [{ errorCode: 0, errorMessage: null }, { errorCode: 0, errorMessage: null }]);

    // Metadata: hidden from a list-all request, TOPIC_AUTHORIZATION_FAILED by name (READ implies DESCRIBE).
    assert.ok((await metadataAll(alice)).includes(topic));
    assert.ok(!(await metadataAll(bob)).includes(topic));
    assert.equal(await metadataOf(alice, topic), ErrorCode.NONE);
    assert.equal(await metadataOf(bob, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await metadataOf(bob, `${topic}-new`, true), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'auto-creation needs CREATE');
    // Data APIs.
    assert.equal(await fetch(alice, topic), ErrorCode.NONE);
    assert.equal(await fetch(bob, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await listOffsets(alice, topic), ErrorCode.NONE);
    assert.equal(await listOffsets(bob, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await produce(alice, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'READ does not give WRITE');
    assert.equal(await produce(bob, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    // Groups.
    assert.equal(await commit(alice, group, topic), ErrorCode.NONE);
    assert.equal(await commit(bob, group, topic), ErrorCode.GROUP_AUTHORIZATION_FAILED);
    assert.equal((await offsetFetch(alice, group, topic)).errorCode, ErrorCode.NONE);
    assert.equal((await offsetFetch(bob, group, topic)).errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    assert.ok((await listGroups(alice)).includes(group));
    assert.ok(!(await listGroups(bob)).includes(group));
    assert.ok((await listGroups(admin)).includes(group));
    assert.equal(await describeGroup(alice, group), ErrorCode.NONE);
    assert.equal(await describeGroup(bob, group), ErrorCode.GROUP_AUTHORIZATION_FAILED);
    assert.equal(await deleteGroup(alice, group), ErrorCode.GROUP_AUTHORIZATION_FAILED, 'READ does not give DELETE');
    // Admin APIs: READ gives none of DELETE, ALTER_CONFIGS, DESCRIBE_CONFIGS.
    assert.equal(await deleteTopic(alice, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await setRetention(alice, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await describeConfigs(alice, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const delRecords = await alice.request(ApiKey.DeleteRecords, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 1 }] }], timeoutMs: 5000 });
    assert.equal(delRecords.topics[0].partitions[0].errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal((await addAcls(alice, { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'ALL' }))[0].errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    assert.equal((await describeAcls(alice)).errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    // Granting: WRITE, ALTER_CONFIGS (implies DESCRIBE_CONFIGS), DELETE.
    await addAcls(admin,
      { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'WRITE' },
      { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'ALTER_CONFIGS' },
      { type: 'GROUP', name: group, principal: 'User:alice', op: 'DELETE' });
    assert.equal(await produce(alice, topic), ErrorCode.NONE);
    assert.equal(await describeConfigs(alice, topic), ErrorCode.NONE);
    assert.equal(await setRetention(alice, topic), ErrorCode.NONE);
    assert.equal(await deleteGroup(alice, group), ErrorCode.NONE);
    await addAcls(admin, { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'DELETE' });
    assert.equal(await deleteTopic(alice, topic), ErrorCode.NONE);
  } finally {
    for (const c of [admin, alice, bob]) c.close();
    await broker.stop();
  }
});

test('DENY beats ALLOW; User:* and PREFIXED patterns; host-specific ACLs; the super user', async () => {
  const broker = await aclBroker();
  const [admin, alice, bob] = await Promise.all(['admin', 'alice', 'bob'].map((u) => login(broker.port, u)));
  try {
    const base = uniqueTopic('pfx');
    for (const t of [`${base}-a`, `${base}-b`, `other-${base}`]) assert.equal(await createTopic(admin, t), ErrorCode.NONE);
    // Everyone may read topics starting with base; alice is denied base-b.
    await addAcls(admin,
      { type: 'TOPIC', name: base, pattern: 'PREFIXED', principal: 'User:*', op: 'READ' },
      { type: 'TOPIC', name: `${base}-b`, principal: 'User:alice', op: 'READ', perm: 'DENY' });
    assert.equal(await fetch(bob, `${base}-a`), ErrorCode.NONE);
    assert.equal(await fetch(bob, `${base}-b`), ErrorCode.NONE);
    assert.equal(await fetch(alice, `${base}-a`), ErrorCode.NONE);
    assert.equal(await fetch(alice, `${base}-b`), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'DENY wins');
    assert.equal(await metadataOf(alice, `${base}-b`), ErrorCode.NONE, 'a DENY of READ does not deny the DESCRIBE READ implies elsewhere');
    assert.equal(await fetch(bob, `other-${base}`), ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'outside the prefix');
    // PREFIXED CREATE: bob may create topics under his prefix only.
    await addAcls(admin, { type: 'TOPIC', name: `bob-${base}`, pattern: 'PREFIXED', principal: 'User:bob', op: 'CREATE' });
    assert.equal(await createTopic(bob, `bob-${base}-1`), ErrorCode.NONE);
    assert.equal(await createTopic(bob, `eve-${base}-1`), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    // A host ACL for another address does not apply to 127.0.0.1; one for 127.0.0.1 does.
    await addAcls(admin, { type: 'TOPIC', name: `other-${base}`, principal: 'User:bob', host: '10.1.2.3', op: 'READ' });
    assert.equal(await fetch(bob, `other-${base}`), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    await addAcls(admin, { type: 'TOPIC', name: `other-${base}`, principal: 'User:bob', host: '127.0.0.1', op: 'READ' });
    assert.equal(await fetch(bob, `other-${base}`), ErrorCode.NONE);
    // A DENY ALL on the literal "*" stops everyone but the super user.
    await addAcls(admin, { type: 'TOPIC', name: '*', principal: 'User:*', op: 'ALL', perm: 'DENY' });
    assert.equal(await fetch(bob, `${base}-a`), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await fetch(admin, `${base}-a`), ErrorCode.NONE);
  } finally {
    for (const c of [admin, alice, bob]) c.close();
    await broker.stop();
  }
});

test('allow.everyone.if.no.acl.found: resources no ACL names are open, named ones follow their ACLs', async () => {
  const broker = await aclBroker({ allowEveryoneIfNoAclFound: true });
  const [admin, bob] = await Promise.all(['admin', 'bob'].map((u) => login(broker.port, u)));
  try {
    const topic = uniqueTopic('open');
    assert.equal(await createTopic(bob, topic), ErrorCode.NONE);
    assert.equal(await produce(bob, topic), ErrorCode.NONE);
    assert.equal(await fetch(bob, topic), ErrorCode.NONE);
    await addAcls(admin, { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'READ' });
    assert.equal(await fetch(bob, topic), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  } finally {
    for (const c of [admin, bob]) c.close();
    await broker.stop();
  }
});

test('DescribeAcls / DeleteAcls filters (LITERAL, PREFIXED, ANY, MATCH); refused creations; SECURITY_DISABLED without an authorizer', async () => {
  const broker = await aclBroker();
  const admin = await login(broker.port, 'admin');
  try {
    await addAcls(admin,
      { type: 'TOPIC', name: 'orders', principal: 'User:alice', op: 'READ' },
      { type: 'TOPIC', name: 'ord', pattern: 'PREFIXED', principal: 'User:bob', op: 'WRITE' },
      { type: 'TOPIC', name: '*', principal: 'User:carol', op: 'DESCRIBE' },
      { type: 'GROUP', name: 'orders', principal: 'User:alice', op: 'READ' },
      { type: 'CLUSTER', name: 'kafka-cluster', principal: 'User:ops', op: 'ALTER' });
    const names = (r: Message) => (r.resources as Message[]).map((x) => `${x.resourceType}:${x.resourceName}:${x.patternType}:${(x.acls as Message[]).map((a) => a.principal).join('+')}`).sort();
    assert.equal((await describeAcls(admin)).resources.length, 5);
    assert.deepEqual(names(await describeAcls(admin, { resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'orders', patternTypeFilter: PatternType.LITERAL })), ['2:orders:3:User:alice']);
    assert.deepEqual(names(await describeAcls(admin, { resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'ord', patternTypeFilter: PatternType.ANY })), ['2:ord:4:User:bob']);
    assert.deepEqual(names(await describeAcls(admin, { resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'orders', patternTypeFilter: PatternType.MATCH })),
      ['2:*:3:User:carol', '2:ord:4:User:bob', '2:orders:3:User:alice']);
    assert.deepEqual(names(await describeAcls(admin, { principalFilter: 'User:alice' })), ['2:orders:3:User:alice', '3:orders:3:User:alice']);
    // Refused creations, one by one.
    const bad = await addAcls(admin,
      { type: 'DELEGATION_TOKEN', name: 'x', principal: 'User:alice', op: 'DESCRIBE' },
      { type: 'TOPIC', name: 't', principal: 'alice', op: 'READ' },
      { type: 'CLUSTER', name: 'other', principal: 'User:alice', op: 'ALTER' },
      { type: 'TOPIC', name: 't', principal: 'User:alice', op: 'ANY' },
      { type: 'TOPIC', name: 'fine', principal: 'User:alice', op: 'READ' });
    assert.deepEqual(bad.map((r) => r.errorCode), [ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.NONE]);
    assert.match(bad[0].errorMessage, /delegation tokens/);
    // DeleteAcls: a MATCH filter removes every ACL that applies to the name; the results list them.
    const del = await admin.request(DELETE_ACLS, 3, { filters: [{
      resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'orders', patternTypeFilter: PatternType.MATCH, principalFilter: null, hostFilter: null,
      operation: AclOperation.ANY, permissionType: AclPermission.ANY,
    }] });
    assert.equal(del.filterResults[0].errorCode, ErrorCode.NONE);
    assert.equal(del.filterResults[0].matchingAcls.length, 3);
    assert.deepEqual(names(await describeAcls(admin)), ['2:fine:3:User:alice', '3:orders:3:User:alice', '4:kafka-cluster:3:User:ops']);
  } finally {
    admin.close();
    await broker.stop();
  }
  const open = await withBroker();
  try {
    const c = await RawConnection.connect(open.port);
    assert.equal((await describeAcls(c)).errorCode, ErrorCode.SECURITY_DISABLED);
    assert.equal((await addAcls(c, { type: 'TOPIC', name: 't', principal: 'User:a', op: 'READ' }))[0].errorCode, ErrorCode.SECURITY_DISABLED);
    c.close();
  } finally {
    await open.stop();
  }
});

test('the attacks of issue 13 with kafkajs as an unauthorised user: reading, deleting a topic, overwriting offsets, retention.ms=1 all refused', async () => {
  const broker = await aclBroker();
  const kafka = (user: string) => new KafkaJS({ clientId: 'acl', brokers: [broker.address], sasl: { mechanism: 'plain', username: user, password: `${user}-secret` }, logLevel: kjsLogLevel.NOTHING, retry: { retries: 0 } });
  const topic = uniqueTopic('victim');
  const group = `g-${topic}`;
  const adminClient = kafka('admin').admin();
  const mallory = kafka('bob').admin();
  try {
    await adminClient.connect();
    await adminClient.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const producer = kafka('admin').producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'secret' }] });
    await producer.disconnect();
    await adminClient.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '1' }] });

    await mallory.connect();
    await assert.rejects(mallory.fetchTopicOffsets(topic));
    await assert.rejects(mallory.deleteTopics({ topics: [topic], timeout: 2000 }));
    await assert.rejects(mallory.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '0' }] }));
    await assert.rejects(mallory.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topic, configEntries: [{ name: 'retention.ms', value: '1' }] }] }));
    const consumer = kafka('bob').consumer({ groupId: `bob-${topic}` });
    await consumer.connect();
    const crashed = new Promise<Error>((resolve) => consumer.on(consumer.events.CRASH, (e) => resolve(e.payload.error)));
    await consumer.subscribe({ topic, fromBeginning: true }).catch(() => undefined);
    void consumer.run({ eachMessage: async () => { assert.fail('bob read a message'); } }).catch(() => undefined);
    // bob may not describe his group either, so FindCoordinator already refuses it
    // (GROUP_AUTHORIZATION_FAILED, as Kafka answers); kafkajs reports that as no coordinator found.
    assert.match(String((await crashed).message), /[Aa]uthoriz|Failed to find group coordinator/);
    await consumer.disconnect();

    // Nothing changed: the topic, its retention and the group's offset are as the admin left them.
    assert.ok((await adminClient.listTopics()).includes(topic));
    const [cfg] = (await adminClient.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }] })).resources;
    assert.notEqual(cfg.configEntries[0].configValue, '1');
    const [offsets] = await adminClient.fetchOffsets({ groupId: group, topics: [topic] });
    assert.equal(offsets.partitions[0].offset, '1');
  } finally {
    await mallory.disconnect().catch(() => undefined);
    await adminClient.disconnect().catch(() => undefined);
    await broker.stop();
  }
});

test('ACLs are durable: they survive a restart of a file-backed broker', async () => {
  const dir = tempDir('fjord-acls-');
  try {
    const topic = uniqueTopic('durable');
    let broker = await aclBroker({ dataDir: dir.path });
    let admin = await login(broker.port, 'admin');
    assert.equal(await createTopic(admin, topic), ErrorCode.NONE);
    await addAcls(admin,
      { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'READ' },
      { type: 'TOPIC', name: 'gone', principal: 'User:alice', op: 'READ' });
    await admin.request(DELETE_ACLS, 3, { filters: [{ resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'gone', patternTypeFilter: PatternType.LITERAL, principalFilter: null, hostFilter: null, operation: AclOperation.ANY, permissionType: AclPermission.ANY }] });
    admin.close();
    await broker.stop();

    broker = await aclBroker({ dataDir: dir.path });
    admin = await login(broker.port, 'admin');
    const alice = await login(broker.port, 'alice');
    try {
      const described = await describeAcls(admin);
      assert.deepEqual((described.resources as Message[]).map((r) => r.resourceName), [topic]);
      assert.equal(await fetch(alice, topic), ErrorCode.NONE);
    } finally {
      admin.close();
      alice.close();
      await broker.stop();
    }
  } finally {
    dir.remove();
  }
});

test('an authenticated listener without an authorizer: one WARN at start; with one, none', async () => {
  for (const authorizerClassName of ['', 'org.apache.kafka.metadata.authorizer.StandardAuthorizer']) {
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (m: string) => { warnings.push(m); } };
    const broker = await aclBroker({ authorizerClassName, logger });
    await broker.stop();
    const found = warnings.filter((w) => /no authorizer\.class\.name/.test(w));
    assert.equal(found.length, authorizerClassName === '' ? 1 : 0, warnings.join('\n'));
  }
});

test('transaction APIs, FindCoordinator, DescribeProducers and OffsetForLeaderEpoch check what Kafka checks', async () => {
  const broker = await aclBroker();
  const [admin, alice, bob] = await Promise.all(['admin', 'alice', 'bob'].map((u) => login(broker.port, u)));
  try {
    const topic = uniqueTopic('acl-txn');
    const group = `g-${topic}`;
    const txnId = `t-${topic}`;
    assert.equal(await createTopic(admin, topic), ErrorCode.NONE);
    // Alice may run transactions on txnId writing to the topic and committing the group's offsets.
    await addAcls(admin,
      { type: 'TRANSACTIONAL_ID', name: txnId, principal: 'User:alice', op: 'WRITE' },
      { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'WRITE' },
      { type: 'TOPIC', name: topic, principal: 'User:alice', op: 'READ' },
      { type: 'GROUP', name: group, principal: 'User:alice', op: 'READ' });
    const coordinator = (c: RawConnection, keyType: number, key: string) => c.request(ApiKey.FindCoordinator, 4, { keyType, coordinatorKeys: [key] }).then((r) => r.coordinators[0].errorCode as number);
    assert.equal(await coordinator(alice, 1, txnId), ErrorCode.NONE, 'WRITE implies DESCRIBE');
    assert.equal(await coordinator(bob, 1, txnId), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert.equal(await coordinator(alice, 0, group), ErrorCode.NONE);
    assert.equal(await coordinator(bob, 0, group), ErrorCode.GROUP_AUTHORIZATION_FAILED);

    const init = await alice.request(ApiKey.InitProducerId, 4, { transactionalId: txnId, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
    assert.equal(init.errorCode, ErrorCode.NONE);
    const ids = { producerId: init.producerId as number, producerEpoch: init.producerEpoch as number };
    const addPartitions = (c: RawConnection) => c.request(ApiKey.AddPartitionsToTxn, 3, {
      v3AndBelowTransactionalId: txnId, v3AndBelowProducerId: ids.producerId, v3AndBelowProducerEpoch: ids.producerEpoch, v3AndBelowTopics: [{ name: topic, partitions: [0] }],
    }).then((r) => r.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode as number);
    assert.equal(await addPartitions(bob), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert.equal(await addPartitions(alice), ErrorCode.NONE);
    const addOffsets = (c: RawConnection, groupId: string) => c.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: txnId, ...ids, groupId }).then((r) => r.errorCode as number);
    assert.equal(await addOffsets(bob, group), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert.equal(await addOffsets(alice, `other-${group}`), ErrorCode.GROUP_AUTHORIZATION_FAILED);
    assert.equal(await addOffsets(alice, group), ErrorCode.NONE);
    const txnCommit = (c: RawConnection, topicName: string) => c.request(ApiKey.TxnOffsetCommit, 3, {
      transactionalId: txnId, groupId: group, ...ids, generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: topicName, partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    }).then((r) => r.topics[0].partitions[0].errorCode as number);
    assert.equal(await txnCommit(bob, topic), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert.equal(await txnCommit(alice, `unreadable-${topic}`), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await txnCommit(alice, topic), ErrorCode.NONE);
    const describeTxn = (c: RawConnection) => c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [txnId] }).then((r) => r.transactionStates[0].errorCode as number);
    assert.equal(await describeTxn(bob), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert.equal(await describeTxn(alice), ErrorCode.NONE);
    const listed = (c: RawConnection) => c.request(ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1 })
      .then((r) => (r.transactionStates as Message[]).map((t) => t.transactionalId as string));
    assert.ok((await listed(alice)).includes(txnId));
    assert.ok(!(await listed(bob)).includes(txnId), 'ListTransactions shows only ids the principal may describe');
    const endTxn = (c: RawConnection) => c.request(ApiKey.EndTxn, 3, { transactionalId: txnId, ...ids, committed: true }).then((r) => r.errorCode as number);
    assert.equal(await endTxn(bob), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    assert.equal(await endTxn(alice), ErrorCode.NONE);

    const producers = (c: RawConnection) => c.request(ApiKey.DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [0] }] }).then((r) => r.topics[0].partitions[0].errorCode as number);
    assert.equal(await producers(bob), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await producers(alice), ErrorCode.NONE);
    const leaderEpoch = (c: RawConnection) => c.request(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }],
    }).then((r) => r.topics[0].partitions[0].errorCode as number);
    assert.equal(await leaderEpoch(bob), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await leaderEpoch(alice), ErrorCode.NONE);
    const markers = (c: RawConnection) => c.request(ApiKey.WriteTxnMarkers, 1, {
      markers: [{ producerId: ids.producerId, producerEpoch: ids.producerEpoch, transactionResult: false, topics: [{ name: topic, partitionIndexes: [0] }], coordinatorEpoch: 0 }],
    }).then((r) => r.markers[0].topics[0].partitions[0].errorCode as number);
    assert.equal(await markers(alice), ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'WriteTxnMarkers needs CLUSTER_ACTION');
  } finally {
    for (const c of [admin, alice, bob]) c.close();
    await broker.stop();
  }
});

test('admin createAcls / describeAcls / deleteAcls in kafkajs\' shape: Fjord\'s client and kafkajs itself', async () => {
  const broker = await aclBroker();
  const sasl = { mechanism: 'plain' as const, username: 'admin', password: 'admin-secret' };
  const fjordAdmin = new Kafka({ brokers: [broker.address], sasl, logLevel: logLevel.NOTHING }).admin();
  const kafkajsAdmin = new KafkaJS({ brokers: [broker.address], sasl, logLevel: kjsLogLevel.NOTHING }).admin();
  await fjordAdmin.connect();
  await kafkajsAdmin.connect();
  try {
    const topic = uniqueTopic('acl-admin');
    const binding = { resourceType: ResourceType.TOPIC, resourceName: topic, resourcePatternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: AclOperation.READ, permissionType: AclPermission.ALLOW };
    const filter = { resourceType: ResourceType.TOPIC, resourceName: topic, resourcePatternType: PatternType.LITERAL, operation: AclOperation.ANY, permissionType: AclPermission.ANY };
    assert.equal(await fjordAdmin.createAcls({ acl: [binding] }), true);
    await kafkajsAdmin.createAcls({ acl: [{ ...binding, principal: 'User:bob', operation: AclOperation.WRITE }] });
    for (const admin of [fjordAdmin, kafkajsAdmin]) {
      const described = await admin.describeAcls(filter);
      assert.equal(described.resources.length, 1);
      assert.deepEqual(described.resources[0].acls.map((a) => `${a.principal}:${a.operation}`).sort(), [`User:alice:${AclOperation.READ}`, `User:bob:${AclOperation.WRITE}`]);
    }
    const deleted = await fjordAdmin.deleteAcls({ filters: [{ ...filter, principal: 'User:alice' }] });
    assert.deepEqual(deleted.filterResponses[0].matchingAcls.map((m) => m.principal), ['User:alice']);
    const left = await kafkajsAdmin.deleteAcls({ filters: [filter] });
    assert.deepEqual(left.filterResponses[0].matchingAcls.map((m) => m.principal), ['User:bob']);
    assert.equal((await fjordAdmin.describeAcls(filter)).resources.length, 0);
    // Not a super user: CLUSTER_AUTHORIZATION_FAILED, as an error.
    const aliceAdmin = new Kafka({ brokers: [broker.address], sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' }, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await aliceAdmin.connect();
    await assert.rejects(aliceAdmin.createAcls({ acl: [binding] }), /CLUSTER_AUTHORIZATION_FAILED|[Aa]uthoriz/);
    await aliceAdmin.disconnect();
  } finally {
    await fjordAdmin.disconnect();
    await kafkajsAdmin.disconnect();
    await broker.stop();
  }
});
