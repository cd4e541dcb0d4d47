// Admin requests are all-or-nothing, through real TCP: a CreatePartitions the storage fails part
// way leaves topics.json, memory and the folders as they were (and a restart agrees); concurrent
// creations and growths from several connections never take the broker past --max-partitions.
import { test } from 'node:test';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { eventually, tempDir, uniqueTopic, withBroker } from '../helpers.js';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';

const createTopic = (name: string, numPartitions: number) => ({
  topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false,
});
const grow = (name: string, count: number) => ({ topics: [{ name, count, assignments: null }], timeoutMs: 5000, validateOnly: false });
const metadata = (name: string) => ({
  topics: [{ name }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
});
const catalogCount = (dir: string, topic: string): number | undefined => {
  const catalog = JSON.parse(readFileSync(join(dir, 'topics.json'), 'utf8')) as { topics: { name: string; partitionCount: number }[] };
  return catalog.topics.find((t) => t.name === topic)?.partitionCount;
};

test('CreatePartitions failing part way changes nothing: topics.json, memory and folders agree, also after a restart', async () => {
  const dir = tempDir();
  const topic = uniqueTopic('grow-fail');
  let running = await withBroker({ dataDir: dir.path });
  let c = await RawConnection.connect(running.port);
  try {
    assert.equal((await c.request(ApiKey.CreateTopics, 4, createTopic(topic, 1), 1)).topics[0].errorCode, ErrorCode.NONE);
    // A file where partition 2's folder would go: partition 1 is made, then the growth fails.
    writeFileSync(join(dir.path, `${topic}-2`), 'not a partition');
    const r = (await c.request(ApiKey.CreatePartitions, 1, grow(topic, 4), 2)).results[0];
    assert.equal(r.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    assert.equal(running.broker.storage.topic(topic)?.partitionCount, 1);
    assert.equal(catalogCount(dir.path, topic), 1, 'topics.json is back to 1 partition');
    const m = await c.request(ApiKey.Metadata, 9, metadata(topic), 3);
    assert.equal(m.topics[0].partitions.length, 1);
    // No orphan folder of partition 1 (set aside and removed in the background).
    await eventually(() => !readdirSync(dir.path).some((n) => n.startsWith(`${topic}-1`)), 5000, 'partition 1 folder removed');
    assert.ok(existsSync(join(dir.path, `${topic}-2`)), 'the file Fjord did not write stays');
    assert.equal((await c.request(ApiKey.ApiVersions, 0, {}, 4)).errorCode, ErrorCode.NONE, 'the connection stays');

    // A restart reads the same topic (with topics.json ahead, it would look for 4 folders and fail on the file).
    c.close();
    await running.stop();
    running = await withBroker({ dataDir: dir.path });
    c = await RawConnection.connect(running.port);
    assert.equal(running.broker.storage.topic(topic)?.partitionCount, 1);

    // With the file gone the growth works.
    rmSync(join(dir.path, `${topic}-2`));
    assert.equal((await c.request(ApiKey.CreatePartitions, 1, grow(topic, 4), 5)).results[0].errorCode, ErrorCode.NONE);
    assert.equal(catalogCount(dir.path, topic), 4);
    assert.equal(running.broker.storage.topic(topic)?.partitionCount, 4);
  } finally {
    c.close();
    await running.stop();
    dir.remove();
  }
});

test('concurrent CreateTopics and CreatePartitions from several connections never pass --max-partitions', async () => {
  const dir = tempDir();
  const cap = 60;
  const running = await withBroker({ dataDir: dir.path, maxPartitions: cap });
  const conns = await Promise.all(Array.from({ length: 4 }, () => RawConnection.connect(running.port)));
  try {
    const shared = [uniqueTopic('race-a'), uniqueTopic('race-b')];
    for (const [i, name] of shared.entries()) {
      assert.equal((await conns[0].request(ApiKey.CreateTopics, 4, createTopic(name, 10), 100 + i)).topics[0].errorCode, ErrorCode.NONE);
    }
    // 40 more partitions fit. Each connection pipelines creations and growths, all at once.
    type Sent = { kind: 'create'; name: string; partitions: number } | { kind: 'grow'; name: string; count: number };
    const sent: Sent[][] = conns.map((_, ci) => Array.from({ length: 8 }, (_, k): Sent =>
      k % 2 === 0 ? { kind: 'create', name: uniqueTopic(`race-new-${ci}`), partitions: 3 + (k % 3) } : { kind: 'grow', name: shared[(ci + k) % 2], count: 12 + ci * 3 + k }));
    const answers = await Promise.all(conns.map(async (c, ci) => {
      sent[ci].forEach((s, k) => c.write(s.kind === 'create'
        ? RawConnection.frame(ApiKey.CreateTopics, 4, k, createTopic(s.name, s.partitions))
        : RawConnection.frame(ApiKey.CreatePartitions, 1, k, grow(s.name, s.count))));
      const out: { errorCode: number; errorMessage: string | null }[] = [];
      for (const s of sent[ci]) {
        const r = await c.response(s.kind === 'create' ? ApiKey.CreateTopics : ApiKey.CreatePartitions, s.kind === 'create' ? 4 : 1);
        out.push(s.kind === 'create' ? r.body.topics[0] : r.body.results[0]);
      }
      return out;
    }));
    const total = running.broker.storage.topics().reduce((n, t) => n + t.partitionCount, 0);
    assert.ok(total <= cap, `${total} partitions, more than the cap of ${cap}`);
    let refusedForCap = 0;
    const grownTo = new Map(shared.map((n) => [n, 10]));
    sent.flat().forEach((s, i) => {
      const a = answers.flat()[i];
      if (a.errorCode === ErrorCode.POLICY_VIOLATION) {
        refusedForCap++;
        assert.match(a.errorMessage ?? '', /max-partitions/);
      } else if (s.kind === 'grow' && a.errorCode === ErrorCode.INVALID_PARTITIONS) {
        assert.match(a.errorMessage ?? '', /must be larger/); // a concurrent growth got there first
      } else {
        assert.equal(a.errorCode, ErrorCode.NONE, `${s.kind} ${s.name}: ${a.errorMessage}`);
        if (s.kind === 'create') assert.equal(running.broker.storage.topic(s.name)?.partitionCount, s.partitions);
        else grownTo.set(s.name, Math.max(grownTo.get(s.name)!, s.count));
      }
      if (s.kind === 'create' && a.errorCode !== ErrorCode.NONE) assert.equal(running.broker.storage.topic(s.name), undefined);
    });
    assert.ok(refusedForCap > 0, 'the cap was reached');
    for (const name of shared) {
      assert.equal(running.broker.storage.topic(name)?.partitionCount, grownTo.get(name), `${name}: the largest accepted growth`);
      assert.equal(catalogCount(dir.path, name), grownTo.get(name));
    }
    assert.equal(running.broker.topics.partitionTotal(), total, 'nothing left reserved');
  } finally {
    for (const c of conns) c.close();
    await running.stop();
    dir.remove();
  }
});
