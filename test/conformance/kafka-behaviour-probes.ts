// Raw requests whose answers a client notices, sent the same way to any broker: Fjord in
// test/broker/kafka-behaviour.test.ts (what it must answer), and Fjord beside Apache Kafka 4.1 in
// test/conformance/kafka-behaviour-kafka.test.ts (the two must answer alike, except where a
// difference is documented in docs/compatibility.md). Each probe returns a plain object of what
// it saw, with the broker-specific parts (offsets, partition counts of internal topics, ids) reduced
// to what both should share.
import { ApiKey } from '../../src/protocol/apis.js';
import { encodeBatch, encodeBatchCompressed } from '../../src/protocol/records.js';
import { Codec } from '../../src/protocol/compression.js';
import { RawConnection, type Message } from '../raw-client.js';

export type { Message };

let correlation = 100;

/** One request on a fresh connection. */
export async function ask(address: string, apiKey: number, version: number, body: Message): Promise<Message> {
  const [host, port] = splitAddress(address);
  const c = await RawConnection.connect(port, host);
  try {
    return await c.request(apiKey, version, body, ++correlation);
  } finally {
    c.close();
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^localhost$/, '127.0.0.1');
  return [host, Number(address.slice(i + 1))];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const metadata = (address: string, names: string[] | null, allowAutoTopicCreation: boolean, version = 12) =>
  ask(address, ApiKey.Metadata, version, {
    topics: names === null ? null : names.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
    allowAutoTopicCreation, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
  });

/** Asks for the group coordinator (Kafka creates `__consumer_offsets` then), and waits until Metadata lists `__consumer_offsets`. */
export async function consumerOffsetsListed(address: string): Promise<{ byName: Message; inList: Message }> {
  await ask(address, ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['probe-group'] });
  for (let i = 0; ; i++) {
    const all = await metadata(address, null, false);
    const inList = all.topics.find((t: Message) => t.name === '__consumer_offsets');
    if (inList && inList.partitions.length > 0 && inList.partitions.every((p: Message) => p.errorCode === 0)) {
      const byName = (await metadata(address, ['__consumer_offsets'], false)).topics[0];
      return { byName, inList };
    }
    if (i > 150) throw new Error(`__consumer_offsets not listed: ${JSON.stringify(all.topics.map((t: Message) => t.name))}`);
    await sleep(200);
  }
}

/** What a client sees of `__consumer_offsets` besides Metadata: a write, growing it (validateOnly), creating it, deleting it (last). */
export async function consumerOffsetsRequests(address: string): Promise<Record<string, unknown>> {
  const produce = await ask(address, ApiKey.Produce, 9, {
    transactionalId: null, acks: -1, timeoutMs: 5000,
    topicData: [{ name: '__consumer_offsets', partitionData: [{ index: 0, records: encodeBatch({ records: [{ value: 'x' }] }) }] }],
  });
  const grow = await ask(address, ApiKey.CreatePartitions, 3, { topics: [{ name: '__consumer_offsets', count: 60, assignments: null }], timeoutMs: 5000, validateOnly: true });
  const create = await ask(address, ApiKey.CreateTopics, 7, {
    topics: [{ name: '__consumer_offsets', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false,
  });
  // Last: Kafka 4.1 does delete it.
  const del = await ask(address, ApiKey.DeleteTopics, 6, { topics: [{ name: '__consumer_offsets', topicId: '00000000-0000-0000-0000-000000000000' }], timeoutMs: 5000 });
  return {
    produce: produce.responses[0].partitionResponses[0].errorCode,
    deleteTopics: del.responses[0].errorCode,
    createPartitions: grow.results[0].errorCode,
    createTopics: create.topics[0].errorCode,
    createTopicsMessage: create.topics[0].errorMessage,
  };
}

/**
 * Auto-creation through Metadata: the answer to the request that creates the topic (its error and
 * partition count), then the first answer that lists it; and a v4+ request with
 * allowAutoTopicCreation=false for another new name, twice (nothing created).
 */
export async function autoCreation(address: string, topic: string, version = 12): Promise<Record<string, unknown>> {
  const first = (await metadata(address, [topic], true, version)).topics[0];
  let later: Message = first;
  for (let i = 0; i < 100; i++) {
    later = (await metadata(address, [topic], true, version)).topics[0];
    if (later.errorCode === 0) break;
    await sleep(100);
  }
  const off1 = (await metadata(address, [`${topic}-off`], false, version)).topics[0];
  await sleep(300);
  const off2 = (await metadata(address, [`${topic}-off`], false, version)).topics[0];
  return {
    first: { errorCode: first.errorCode, partitions: first.partitions.length, isInternal: first.isInternal },
    later: { errorCode: later.errorCode, partitions: later.partitions.length },
    notAllowed: [off1.errorCode, off2.errorCode],
  };
}

/** CreateTopics answers whose errorMessage tools print (kafka-topics, AdminClient exceptions). */
export async function createTopicsErrors(address: string, topic: string): Promise<Record<string, { errorCode: number; errorMessage: string | null }>> {
  const create = async (name: string, numPartitions: number, replicationFactor: number) => {
    const r = await ask(address, ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions, replicationFactor, assignments: [], configs: [] }], timeoutMs: 10000, validateOnly: false,
    });
    return { errorCode: r.topics[0].errorCode as number, errorMessage: r.topics[0].errorMessage as string | null };
  };
  const created = await create(topic, 1, 1);
  if (created.errorCode !== 0) throw new Error(`creating ${topic}: ${JSON.stringify(created)}`);
  return {
    exists: await create(topic, 1, 1),
    replicationFactor3: await create(`${topic}-rf3`, 1, 3),
    replicationFactor0: await create(`${topic}-rf0`, 1, 0),
    partitions0: await create(`${topic}-p0`, 0, 1),
    partitionsNegative: await create(`${topic}-pneg`, -5, 1),
    badName: await create(`${topic}?bad`, 1, 1),
  };
}

/**
 * Fetch of zstd data at v9 (before KIP-110's v10) and v10: a topic with compression.type=zstd, and
 * one with compression.type=producer holding a zstd batch a producer sent. Error codes per case.
 */
export async function zstdFetch(address: string, topic: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [suffix, type] of [['zstd', 'zstd'], ['producer', 'producer']] as const) {
    const name = `${topic}-${suffix}`;
    const created = await ask(address, ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'compression.type', value: type }] }], timeoutMs: 10000, validateOnly: false,
    });
    if (created.topics[0].errorCode !== 0) throw new Error(`creating ${name}: ${JSON.stringify(created.topics[0])}`);
    const records = await encodeBatchCompressed({ records: [{ value: 'zstd record' }] }, Codec.zstd);
    for (let i = 0; ; i++) {
      const p = await ask(address, ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name, partitionData: [{ index: 0, records }] }] });
      const code = p.responses[0].partitionResponses[0].errorCode as number;
      if (code === 0) break;
      if (i > 50) throw new Error(`produce to ${name}: error ${code}`);
      await sleep(200);
    }
    for (const version of [9, 10]) {
      const f = await ask(address, ApiKey.Fetch, version, {
        replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: name, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      out[`${suffix}-v${version}`] = f.responses[0].partitions[0].errorCode as number;
    }
  }
  return out;
}

/** min.insync.replicas as DescribeConfigs reports it for a topic and for the broker (value, source). */
export async function minInsyncReplicas(address: string, topic: string, brokerId: string): Promise<Record<string, unknown>> {
  const r = await ask(address, ApiKey.DescribeConfigs, 4, {
    resources: [
      { resourceType: 2, resourceName: topic, configurationKeys: ['min.insync.replicas'] },
      { resourceType: 4, resourceName: brokerId, configurationKeys: ['min.insync.replicas'] },
    ],
    includeSynonyms: false, includeDocumentation: false,
  });
  const pick = (res: Message) => {
    const c = res.configs.find((x: Message) => x.name === 'min.insync.replicas');
    return { errorCode: res.errorCode, value: c?.value ?? null, readOnly: c?.readOnly ?? null, configSource: c?.configSource ?? null };
  };
  return { topic: pick(r.results[0]), broker: pick(r.results[1]) };
}

/** ListOffsets (latest) and Fetch of `__consumer_offsets` partition 0: the error code of each. */
export async function consumerOffsetsReads(address: string): Promise<{ listOffsets: number; fetch: number }> {
  const lo = await ask(address, ApiKey.ListOffsets, 7, {
    replicaId: -1, isolationLevel: 0, topics: [{ name: '__consumer_offsets', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  const f = await ask(address, ApiKey.Fetch, 12, {
    replicaId: -1, maxWaitMs: 100, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: '__consumer_offsets', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: '',
  });
  return { listOffsets: lo.topics[0].partitions[0].errorCode as number, fetch: f.responses[0].partitions[0].errorCode as number };
}
