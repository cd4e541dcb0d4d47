// Three `fjord server` processes on one PostgreSQL: a topic created through one broker is produced
// to at once through the brokers it names leaders, before they have polled the database. Old
// clients (kafka-node, sarama without retries) do exactly that and take UNKNOWN_TOPIC_OR_PARTITION
// or NOT_LEADER_OR_FOLLOWER (the leader read the topic for a Metadata but had not taken it over) as final;
// sarama's GetOffset does the same with ListOffsets, and a consumer's first Fetch can come as early (the cluster conformance run failed on them). The brokers poll
// only once a minute here, so only the catch-up Produce makes itself can find the new topic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { pgForTestFile, killServersAfterFile } from '../pg-test-file.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { encodeBatch } from '../../src/protocol/records.js';
import { MEMBERSHIP_LOCK } from '../../src/storage/postgres/storage.js';
import pg from 'pg';

const { skip, pg: server } = await pgForTestFile('postgres fresh topic integration');

const servers = new Map<number, ServerProcess>();
killServersAfterFile(() => servers.values());

const portOf = (s: ServerProcess) => Number(s.address.split(':')[1]);

describe('a topic just created through another broker', skip ? { skip } : {}, () => {
  test('is produced to at each leader before that leader polled (one request, and pipelined ones in order)', async () => {
    assert.ok(server);
    const url = `${server.url}?schema=it_fresh_topic`;
    for (const n of [1, 2, 3]) servers.set(n, await startServerProcess(['--storage', url, '--node-id', String(n), '--cluster-poll-ms', '60000']));
    const ports = new Map([...servers].map(([n, s]) => [n, portOf(s)]));
    const admin = await RawConnection.connect(ports.get(1)!);
    try {
      for (const round of [0, 1, 2, 3, 4]) {
        const topic = `fresh-${round}`;
        const created = await admin.request(ApiKey.CreateTopics, 4, { topics: [{ name: topic, numPartitions: 3, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false });
        assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
        // Broker 1 assigned the leaders in CreateTopics and knows them; the others have not polled since.
        const md = await admin.request(ApiKey.Metadata, 1, { topics: [{ name: topic }] });
        const leaders = (md.topics[0].partitions as { partitionIndex: number; leaderId: number }[]).sort((a, b) => a.partitionIndex - b.partitionIndex).map((p) => p.leaderId);
        assert.deepEqual([...leaders].sort(), [1, 2, 3], `one partition per broker: ${leaders.join(',')}`);
        for (const [partition, leader] of leaders.entries()) {
          const c = await RawConnection.connect(ports.get(leader)!);
          try {
            const produce = (seq: number) => c.request(ApiKey.Produce, 7, {
              transactionalId: null, acks: -1, timeoutMs: 5000,
              topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeBatch({ records: [{ value: `v${seq}` }] }) }] }],
            });
            // Round 2: the leader answers a Metadata naming the topic first: it reads the topic from the
            // database then (and names itself leader) but has not polled, so has not taken the partition over.
            // Rounds 3 and 4: the first request the leader gets is a ListOffsets, a Fetch (a consumer's first steps).
            if (round === 3) {
              const lo = await c.request(ApiKey.ListOffsets, 1, { replicaId: -1, topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1 }] }] });
              assert.deepEqual([lo.topics[0].partitions[0].errorCode, Number(lo.topics[0].partitions[0].offset)], [ErrorCode.NONE, 0], `ListOffsets ${topic}-${partition} at node ${leader}`);
            }
            if (round === 4) {
              const f = await c.request(ApiKey.Fetch, 4, { replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
                topics: [{ topic, partitions: [{ partition, fetchOffset: 0, partitionMaxBytes: 1 << 20 }] }] });
              assert.equal(f.responses[0].partitions[0].errorCode, ErrorCode.NONE, `Fetch ${topic}-${partition} at node ${leader}`);
            }
            if (round === 2) assert.equal((await c.request(ApiKey.Metadata, 1, { topics: [{ name: topic }] })).topics[0].partitions[partition].leaderId, leader);
            // Round 0: one request; round 1: three sent together on one connection (the later ones wait behind the first's catch-up).
            const answers = await Promise.all((round === 1 ? [0, 1, 2] : [0]).map(produce));
            const got = answers.map((r) => ({ error: r.responses[0].partitionResponses[0].errorCode as number, offset: Number(r.responses[0].partitionResponses[0].baseOffset) }));
            assert.deepEqual(got, got.map((_, i) => ({ error: ErrorCode.NONE, offset: i })), `${topic}-${partition} at node ${leader}`);
          } finally {
            c.close();
          }
        }
      }
    } finally {
      admin.close();
    }
  });

  test('is never visible without leaders: they are assigned in the transaction that creates it', async () => {
    assert.ok(server);
    const port1 = portOf(servers.get(1)!);
    const db = new pg.Client({ connectionString: server.url, options: '-c search_path=it_fresh_topic' });
    await db.connect();
    const admin = await RawConnection.connect(port1);
    try {
      // Hold the assignment lock: the creation waits for it (before the fix its rows committed first, leaderless).
      await db.query('SELECT pg_advisory_lock($1)', [MEMBERSHIP_LOCK]);
      const created = admin.request(ApiKey.CreateTopics, 4, { topics: [{ name: 'fresh-locked', numPartitions: 3, replicationFactor: -1, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false });
      await new Promise((r) => setTimeout(r, 500));
      const leaderless = await db.query(`SELECT count(*)::int AS n FROM fjord_partitions p JOIN fjord_topics t USING (topic_id) WHERE t.name = 'fresh-locked' AND p.leader_node IS NULL`);
      await db.query('SELECT pg_advisory_unlock($1)', [MEMBERSHIP_LOCK]);
      assert.equal(leaderless.rows[0].n, 0, 'partitions of a visible topic without a leader');
      assert.equal((await created).topics[0].errorCode, ErrorCode.NONE);
      const rows = await db.query(`SELECT count(*)::int AS n FROM fjord_partitions p JOIN fjord_topics t USING (topic_id) WHERE t.name = 'fresh-locked' AND p.leader_node IS NOT NULL`);
      assert.equal(rows.rows[0].n, 3);
    } finally {
      admin.close();
      await db.end();
    }
  });
});
