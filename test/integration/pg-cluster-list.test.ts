// Three `fjord server` processes on one PostgreSQL: ListGroups and ListTransactions, which admin
// clients (Java's AdminClient: kafka-consumer-groups --list, kafka-transactions list/find-hanging)
// send to every broker and merge, are answered by every broker: the coordinators' broker lists its
// groups and transactional ids, the others answer an empty list with no error, as Kafka's brokers
// that coordinate no partition of the internal topics do. A COORDINATOR_NOT_AVAILABLE from them
// failed the whole call (the cluster conformance run: "ListTransactions request sent to broker 3 failed").
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgForTestFile, killServersAfterFile } from '../pg-test-file.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';

const { skip, pg: server } = await pgForTestFile('postgres cluster listing integration');

const servers = new Map<number, ServerProcess>();
killServersAfterFile(() => servers.values());

async function ask<T>(port: number, fn: (c: RawConnection) => Promise<T>): Promise<T> {
  const c = await RawConnection.connect(port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

describe('listing groups and transactions on a cluster', skip ? { skip } : {}, () => {
  test('every broker answers without error; the coordinators\' broker lists them, once', async () => {
    assert.ok(server);
    const url = `${server.url}?schema=it_cluster_list`;
    for (const n of [1, 2, 3]) servers.set(n, await startServerProcess(['--storage', url, '--node-id', String(n)]));
    const ports = [...servers.values()].map((s) => Number(s.address.split(':')[1]));
    const topic = 'listed';
    const created = await ask(ports[0]!, (c) => c.request(ApiKey.CreateTopics, 4, { topics: [{ name: topic, numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false }));
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    // Every broker names the same coordinator (of groups and transactions alike).
    let coordinator = -1;
    await eventually(async () => {
      const named = await Promise.all(ports.map((p) => ask(p, (c) => c.request(ApiKey.FindCoordinator, 1, { key: 'g', keyType: 0 }))));
      coordinator = named[0].nodeId as number;
      return named.every((r) => r.errorCode === ErrorCode.NONE && r.nodeId === coordinator);
    }, 20000, 'one coordinator named by all');
    const coordPort = Number(servers.get(coordinator)!.address.split(':')[1]);
    const committed = await ask(coordPort, (c) => c.request(ApiKey.OffsetCommit, 2, {
      groupId: 'listed-group', generationIdOrMemberEpoch: -1, memberId: '', retentionTimeMs: -1,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 0, committedMetadata: null }] }],
    }));
    assert.equal(committed.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    const init = await ask(coordPort, (c) => c.request(ApiKey.InitProducerId, 4, { transactionalId: 'listed-txn', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 }));
    assert.equal(init.errorCode, ErrorCode.NONE);

    const groups = await Promise.all(ports.map((p) => ask(p, (c) => c.request(ApiKey.ListGroups, 4, { statesFilter: [] }))));
    assert.deepEqual(groups.map((g) => g.errorCode), [0, 0, 0], 'ListGroups from each broker');
    assert.deepEqual(groups.flatMap((g) => (g.groups as { groupId: string }[]).map((x) => x.groupId)), ['listed-group']);
    const txns = await Promise.all(ports.map((p) => ask(p, (c) => c.request(ApiKey.ListTransactions, 0, { stateFilters: ['Empty', 'Bogus'], producerIdFilters: [] }))));
    assert.deepEqual(txns.map((t) => t.errorCode), [0, 0, 0], 'ListTransactions from each broker');
    assert.deepEqual(txns.map((t) => t.unknownStateFilters), [['Bogus'], ['Bogus'], ['Bogus']]);
    assert.deepEqual(txns.flatMap((t) => (t.transactionStates as { transactionalId: string }[]).map((x) => x.transactionalId)), ['listed-txn']);
  });
});
