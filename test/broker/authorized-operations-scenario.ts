// One authorizedOperations scenario, run against Fjord (test/broker/authorized-operations.test.ts)
// and against Apache Kafka 4.1 with StandardAuthorizer (test/conformance/authorized-operations-kafka.test.ts):
// a super user on a PLAINTEXT listener makes topics and ACLs; alice and bob, over SASL PLAIN,
// ask Metadata, DescribeCluster and DescribeGroups with and without the include flags. The result
// is plain data (names, error codes, bit fields) so the two brokers' answers can be compared.
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/apis.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../src/broker/auth/acls.js';
import { RawConnection, type Message } from '../raw-client.js';

const SASL_HANDSHAKE = 17, SASL_AUTHENTICATE = 36, DESCRIBE_ACLS = 29, CREATE_ACLS = 30, DESCRIBE_CLUSTER = 60;

export async function login(port: number, user: string): Promise<RawConnection> {
  const c = await RawConnection.connect(port);
  assert.equal((await c.request(SASL_HANDSHAKE, 1, { mechanism: 'PLAIN' })).errorCode, 0);
  assert.equal((await c.request(SASL_AUTHENTICATE, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${user}-secret`) })).errorCode, 0);
  return c;
}

type Acl = [type: keyof typeof ResourceType, name: string, pattern: 'LITERAL' | 'PREFIXED', principal: string, op: keyof typeof AclOperation, perm: 'ALLOW' | 'DENY'];

/** The names the scenario uses, from a prefix unique to the run. */
export function names(prefix: string) {
  return { a: `${prefix}-a`, b: `${prefix}-b-1`, bPrefix: `${prefix}-b-`, c: `${prefix}-c`, d: `${prefix}-d`, group: `${prefix}-g`, hidden: `${prefix}-g-hidden` };
}

export function acls(prefix: string): Acl[] {
  const n = names(prefix);
  return [
    ['TOPIC', n.a, 'LITERAL', 'User:alice', 'READ', 'ALLOW'],
    ['TOPIC', n.a, 'LITERAL', 'User:alice', 'WRITE', 'ALLOW'],
    ['TOPIC', n.a, 'LITERAL', 'User:*', 'DESCRIBE', 'ALLOW'],
    ['TOPIC', n.bPrefix, 'PREFIXED', 'User:alice', 'ALL', 'ALLOW'],
    ['TOPIC', n.b, 'LITERAL', 'User:alice', 'ALTER_CONFIGS', 'DENY'],
    ['TOPIC', n.c, 'LITERAL', 'User:alice', 'ALTER_CONFIGS', 'ALLOW'],
    ['TOPIC', n.c, 'LITERAL', 'User:alice', 'DESCRIBE', 'ALLOW'],
    ['TOPIC', n.c, 'LITERAL', 'User:bob', 'DELETE', 'ALLOW'],
    ['CLUSTER', 'kafka-cluster', 'LITERAL', 'User:alice', 'ALTER', 'ALLOW'],
    ['CLUSTER', 'kafka-cluster', 'LITERAL', 'User:alice', 'IDEMPOTENT_WRITE', 'ALLOW'],
    ['CLUSTER', 'kafka-cluster', 'LITERAL', 'User:bob', 'IDEMPOTENT_WRITE', 'ALLOW'],
    ['GROUP', n.group, 'LITERAL', 'User:alice', 'READ', 'ALLOW'],
    ['GROUP', n.group, 'LITERAL', 'User:bob', 'DELETE', 'ALLOW'],
    ['GROUP', n.group, 'LITERAL', 'User:bob', 'DESCRIBE', 'ALLOW'],
    ['GROUP', n.hidden, 'LITERAL', 'User:bob', 'READ', 'ALLOW'],
  ];
}

/** As the super user (on `adminPort`, no SASL): four topics, the ACLs; waits until the broker serves them. */
export async function setUp(adminPort: number, prefix: string): Promise<void> {
  const n = names(prefix);
  const c = await RawConnection.connect(adminPort);
  try {
    const created = await c.request(ApiKey.CreateTopics, 7, {
      topics: [n.a, n.b, n.c, n.d].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 30000, validateOnly: false,
    });
    assert.deepEqual((created.topics as Message[]).map((t) => t.errorCode), [0, 0, 0, 0]);
    const list = acls(prefix);
    const res = await c.request(CREATE_ACLS, 3, {
      creations: list.map(([type, name, pattern, principal, op, perm]) => ({
        resourceType: ResourceType[type], resourceName: name, resourcePatternType: PatternType[pattern], principal, host: '*', operation: AclOperation[op], permissionType: AclPermission[perm],
      })),
    });
    assert.deepEqual((res.results as Message[]).map((r) => r.errorCode), list.map(() => 0));
    // Kafka applies ACLs and topics through its metadata log: wait until this broker shows them.
    const deadline = Date.now() + 60000;
    for (;;) {
      const d = await c.request(DESCRIBE_ACLS, 3, { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 });
      const count = (d.resources as Message[]).filter((r) => (r.resourceName as string).startsWith(prefix) || r.resourceType === ResourceType.CLUSTER)
        .reduce((s, r) => s + (r.acls as Message[]).length, 0);
      const m = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false });
      const topics = (m.topics as Message[]).filter((t) => (t.name as string).startsWith(prefix) && t.errorCode === 0).length;
      if (count >= list.length && topics === 4) break;
      if (Date.now() > deadline) throw new Error(`ACLs (${count}) or topics (${topics}) not visible`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Both groups exist (an offset commit outside any generation), so that DescribeGroups compares
    // authorization, not how each broker answers for an unknown group.
    for (const group of [n.group, n.hidden]) {
      for (;;) {
        const fc = await c.request(ApiKey.FindCoordinator, 3, { key: group, keyType: 0 });
        const oc = fc.errorCode === 0 ? await c.request(ApiKey.OffsetCommit, 8, {
          groupId: group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
          topics: [{ name: n.a, partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: null }] }],
        }) : null;
        if (oc && oc.topics[0].partitions[0].errorCode === 0) break;
        if (Date.now() > deadline) throw new Error(`cannot commit for group ${group}: ${JSON.stringify(oc ?? fc)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    c.socket.destroy();
  }
}

const byName = (topics: Message[], prefix: string) => Object.fromEntries(topics.filter((t) => typeof t.name === 'string' && t.name.startsWith(prefix))
  .map((t) => [(t.name as string).slice(prefix.length), [t.errorCode as number, t.topicAuthorizedOperations as number]]));

/** What `user` sees: per request, error codes and authorizedOperations fields. */
export async function observe(saslPort: number, user: string, prefix: string): Promise<Record<string, unknown>> {
  const n = names(prefix);
  const c = await login(saslPort, user);
  try {
    const named = [n.a, n.b, n.c, n.d].map((name) => ({ name }));
    const m10 = await c.request(ApiKey.Metadata, 10, { topics: named, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
    const m10all = await c.request(ApiKey.Metadata, 10, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: true, includeTopicAuthorizedOperations: true });
    const m12 = await c.request(ApiKey.Metadata, 12, { topics: named, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true });
    const m8none = await c.request(ApiKey.Metadata, 8, { topics: named, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    const dc = await c.request(DESCRIBE_CLUSTER, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 });
    const dcNone = await c.request(DESCRIBE_CLUSTER, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 });
    const groups = [n.group, n.hidden];
    const dg = await c.request(ApiKey.DescribeGroups, 5, { groups, includeAuthorizedOperations: true });
    const dgNone = await c.request(ApiKey.DescribeGroups, 5, { groups, includeAuthorizedOperations: false });
    // By group id: Kafka lists refused groups first and the others in its coordinator shards' order.
    const groupView = (r: Message) => (r.groups as Message[]).map((g) => [(g.groupId as string).slice(prefix.length), g.errorCode, g.authorizedOperations])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    return {
      metadataV10Named: byName(m10.topics as Message[], prefix), metadataV10Cluster: m10.clusterAuthorizedOperations,
      metadataV10All: byName(m10all.topics as Message[], prefix), metadataV10AllCluster: m10all.clusterAuthorizedOperations,
      metadataV12Named: byName(m12.topics as Message[], prefix),
      metadataV8NotRequested: byName(m8none.topics as Message[], prefix), metadataV8NotRequestedCluster: m8none.clusterAuthorizedOperations,
      describeCluster: [dc.errorCode, dc.clusterAuthorizedOperations], describeClusterNotRequested: dcNone.clusterAuthorizedOperations,
      describeGroups: groupView(dg), describeGroupsNotRequested: groupView(dgNone),
    };
  } finally {
    c.socket.destroy();
  }
}

/** A bit field from operation names. */
export const bits = (...ops: (keyof typeof AclOperation)[]) => ops.reduce((b, op) => b | (1 << AclOperation[op]), 0);
