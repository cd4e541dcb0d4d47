// The console's data layer: one connection to a Kafka-compatible cluster through Fjord's own client
// (an Admin, a Producer, and the client's Cluster for the few requests Admin has no call for:
// Fetch of one partition from an offset, DescribeLogDirs, IncrementalAlterConfigs). It knows
// nothing of the broker: embedded in `fjord server` it connects to the broker's own listener, and
// `fjord console` points it at any cluster, Apache Kafka included. Every answer is plain JSON data.
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import {
  AssignerProtocol, FjordAggregateError, FjordNumberOfRetriesExceeded, FjordProtocolError, Kafka, logLevel,
  type Admin, type Producer, type SaslOptions,
} from '../client/index.js';
import { Cluster } from '../client/cluster.js';
import { createClientLogger } from '../client/logger.js';
import { decodeRecordSet } from '../client/record-codec.js';
import { ApiKey } from '../protocol/apis.js';

export interface LinkOptions {
  readonly brokers: string[];
  readonly sasl?: SaslOptions;
  readonly ssl?: boolean | TlsOptions;
  readonly clientId?: string;
  /** ms one request to a broker may take. */
  readonly requestTimeoutMs: number;
}

/** A refusal the browser should see as a 4xx with this message (bad input, a state Kafka refuses). */
export class ConsoleError extends Error {
  override name = 'ConsoleError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface ConsoleRecord {
  partition: number;
  offset: string;
  timestamp: string;
  /** base64 of the bytes (null for a null key/value); the page shows them as text, JSON or hex. */
  key: string | null;
  value: string | null;
  /** Bytes of the value, and whether `value` was cut to VALUE_SHOWN_BYTES. */
  valueSize: number;
  truncated: boolean;
  headers: { key: string; value: string | null }[];
}

export type BrowseFrom = { kind: 'offset'; offset: number } | { kind: 'timestamp'; timestamp: number } | { kind: 'newest'; count: number };

export interface BrowseRequest {
  topic: string;
  partition: number;
  from: BrowseFrom;
  /** Records returned at most. */
  limit: number;
  /** Case-insensitive substring of the key or value (as UTF-8 text); empty: no filter. */
  search: string;
  /** Records read at most while searching. */
  scanLimit: number;
  /** Stop reading after this many ms (what was found so far is returned). */
  deadlineMs: number;
}

/** The part of a value sent to the browser (the size is said beside it). */
const VALUE_SHOWN_BYTES = 64 * 1024;
/** Bytes asked of one Fetch: a browse reads in steps of this. */
const FETCH_BYTES = 1024 * 1024;

const TOPIC_RESOURCE = 2;
const CONFIG_SET = 0;
const CONFIG_DELETE = 1;

/** The error behind retries and one-item aggregates (createTopics' per-topic error). */
export function rootOf(err: unknown): unknown {
  let e = err;
  for (;;) {
    if (e instanceof FjordNumberOfRetriesExceeded && e.cause) e = e.cause;
    else if (e instanceof FjordAggregateError && e.errors.length === 1) e = e.errors[0];
    else return e;
  }
}

/** The readable reason of a client error (Kafka's error name and the broker's message). */
export function reasonOf(err: unknown): string {
  const e = rootOf(err);
  if (e instanceof FjordProtocolError) return `${e.message} (${e.type})`;
  return e instanceof Error ? e.message : String(e);
}

/** Kafka's name of an error code (UNKNOWN_TOPIC_OR_PARTITION, ...). */
const errorName = (code: number): string => new FjordProtocolError(code).type;

const b64 = (b: Buffer | null | undefined, max = Infinity): string | null => (b === null || b === undefined ? null : (b.length > max ? b.subarray(0, max) : b).toString('base64'));

export class ClusterLink {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly raw: Cluster;
  private producer: Producer | null = null;
  private producing: Promise<Producer> | null = null;

  private constructor(options: LinkOptions) {
    const common = {
      brokers: options.brokers,
      clientId: options.clientId ?? 'fjord-console',
      ...(options.sasl ? { sasl: options.sasl } : {}),
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      connectionTimeout: 5000,
      requestTimeout: options.requestTimeoutMs,
    };
    this.kafka = new Kafka({ ...common, logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });
    this.admin = this.kafka.admin();
    this.raw = new Cluster({ ...common, logger: createClientLogger(logLevel.NOTHING), retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });
  }

  /** Connects (and authenticates, with SASL): a wrong password fails here. */
  static async open(options: LinkOptions): Promise<ClusterLink> {
    const link = new ClusterLink(options);
    try {
      await link.admin.connect();
      await link.raw.connect();
    } catch (err) {
      await link.close();
      throw err;
    }
    return link;
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.admin.disconnect(), this.raw.disconnect(), this.producer?.disconnect()]);
  }

  // --- cluster and topics -----------------------------------------------------------------------

  async overview(): Promise<{ clusterId: string; controller: number | null; brokers: { nodeId: number; host: string; port: number }[]; topics: number; internalTopics: number; partitions: number; groups: number }> {
    const cluster = await this.admin.describeCluster();
    await this.raw.refreshMetadata('all');
    let topics = 0;
    let internal = 0;
    let partitions = 0;
    for (const name of this.raw.knownTopics()) {
      const t = this.raw.topic(name);
      if (!t) continue;
      if (t.isInternal) internal++;
      else topics++;
      partitions += t.partitions.length;
    }
    const { groups } = await this.admin.listGroups();
    return { clusterId: cluster.clusterId, controller: cluster.controller, brokers: cluster.brokers.sort((a, b) => a.nodeId - b.nodeId), topics, internalTopics: internal, partitions, groups: groups.length };
  }

  /** Bytes per topic and partition from every broker's DescribeLogDirs (the largest replica); null when no broker answers it. */
  private async logDirSizes(): Promise<Map<string, Map<number, number>> | null> {
    const sizes = new Map<string, Map<number, number>>();
    let answered = false;
    await Promise.all([...this.raw.brokers.keys()].map(async (nodeId) => {
      try {
        // v1: what every broker since Kafka 2.0 (and 4.x, whose floor is v1) answers.
        const res = await this.raw.request(nodeId, ApiKey.DescribeLogDirs, { topics: null }, { version: 1 });
        answered = true;
        for (const dir of res.results) {
          if (dir.errorCode !== 0) continue;
          for (const t of dir.topics) {
            let m = sizes.get(t.name);
            if (!m) sizes.set(t.name, (m = new Map()));
            for (const p of t.partitions) if (!p.isFutureKey) m.set(p.partitionIndex, Math.max(m.get(p.partitionIndex) ?? 0, p.partitionSize));
          }
        }
      } catch {
        // A broker that does not answer DescribeLogDirs: its sizes stay unknown.
      }
    }));
    return answered ? sizes : null;
  }

  async topics(): Promise<{ name: string; internal: boolean; partitions: number; messages: number; sizeBytes: number | null }[]> {
    await this.raw.refreshMetadata('all');
    const names = this.raw.knownTopics().sort();
    const sizes = await this.logDirSizes();
    const offsets = await Promise.all(names.map((n) => this.admin.fetchTopicOffsets(n).catch(() => [])));
    return names.map((name, i) => {
      const t = this.raw.topic(name);
      const perPartition = sizes?.get(name);
      return {
        name,
        internal: t?.isInternal ?? false,
        partitions: t?.partitions.length ?? 0,
        messages: offsets[i].reduce((sum, o) => sum + (Number(o.high) - Number(o.low)), 0),
        sizeBytes: perPartition ? [...perPartition.values()].reduce((a, b) => a + b, 0) : sizes ? 0 : null,
      };
    });
  }

  private async requireTopic(name: string) {
    await this.raw.refreshMetadata([name]).catch(() => undefined);
    const t = this.raw.topic(name);
    if (!t || t.errorCode !== 0) throw new ConsoleError(404, `topic "${name}" does not exist`);
    return t;
  }

  async topic(name: string): Promise<{
    name: string; internal: boolean; topicId: string;
    partitions: { partition: number; leader: number; replicas: number[]; isr: number[]; low: string; high: string; sizeBytes: number | null }[];
    configs: { name: string; value: string | null; isDefault: boolean; readOnly: boolean; sensitive: boolean; source: number }[];
  }> {
    const t = await this.requireTopic(name);
    const [offsets, sizes, configs] = await Promise.all([
      this.admin.fetchTopicOffsets(name),
      this.logDirSizes(),
      this.admin.describeConfigs({ resources: [{ type: TOPIC_RESOURCE, name }] }).catch(() => null),
    ]);
    const perPartition = sizes?.get(name);
    return {
      name,
      internal: t.isInternal,
      topicId: t.topicId,
      partitions: [...t.partitions].sort((a, b) => a.partitionId - b.partitionId).map((p) => {
        const o = offsets.find((x) => x.partition === p.partitionId);
        return { partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr, low: o?.low ?? '0', high: o?.high ?? '0', sizeBytes: sizes ? perPartition?.get(p.partitionId) ?? 0 : null };
      }),
      configs: (configs?.resources[0]?.configEntries ?? [])
        .map((c) => ({ name: c.configName, value: c.isSensitive ? null : c.configValue, isDefault: c.isDefault, readOnly: c.readOnly, sensitive: c.isSensitive, source: c.configSource }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  }

  async createTopic(name: string, partitions: number, replicationFactor: number, configs: Record<string, string>): Promise<void> {
    const created = await this.admin.createTopics({
      topics: [{ topic: name, numPartitions: partitions, replicationFactor, configEntries: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
      waitForLeaders: true,
    });
    // kafkajs' shape: false (no error) when the topic was already there.
    if (!created) throw new ConsoleError(409, `topic "${name}" already exists`);
  }

  async deleteTopic(name: string): Promise<void> {
    await this.requireTopic(name);
    await this.admin.deleteTopics({ topics: [name] });
  }

  /** Sets and removes topic overrides (IncrementalAlterConfigs: the other overrides stay). */
  async alterTopicConfigs(name: string, set: Record<string, string>, remove: string[]): Promise<void> {
    await this.requireTopic(name);
    const conn = await this.raw.anyConnection();
    const res = await conn.request(ApiKey.IncrementalAlterConfigs, {
      resources: [{
        resourceType: TOPIC_RESOURCE, resourceName: name,
        configs: [
          ...Object.entries(set).map(([n, value]) => ({ name: n, configOperation: CONFIG_SET, value })),
          ...remove.map((n) => ({ name: n, configOperation: CONFIG_DELETE, value: null })),
        ],
      }],
      validateOnly: false,
    });
    for (const r of res.responses) {
      if (r.errorCode !== 0) throw new ConsoleError(400, `${errorName(r.errorCode)}: ${r.errorMessage ?? 'the broker refused the change'}`);
    }
  }

  /**
   * Sum of every partition's log end offset per topic (what the throughput chart differences): one
   * ListOffsets per leader for all topics, as a page asks for it every 2 s.
   */
  async endOffsets(): Promise<Record<string, number>> {
    await this.raw.refreshMetadata('all');
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const name of this.raw.knownTopics()) {
      const t = this.raw.topic(name);
      if (!t || t.isInternal || t.errorCode !== 0) continue;
      for (const p of t.partitions) {
        if (p.leader < 0) continue;
        let topics = byLeader.get(p.leader);
        if (!topics) byLeader.set(p.leader, (topics = new Map()));
        let list = topics.get(name);
        if (!list) topics.set(name, (list = []));
        list.push(p.partitionId);
      }
    }
    const out: Record<string, number> = {};
    await Promise.all([...byLeader].map(async ([leader, topics]) => {
      const res = await this.raw.request(leader, ApiKey.ListOffsets, {
        replicaId: -1, isolationLevel: 0,
        topics: [...topics].map(([name, partitions]) => ({ name, partitions: partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) })),
      }).catch(() => null);
      for (const t of res?.topics ?? []) {
        for (const p of t.partitions) if (p.errorCode === 0 && p.offset !== undefined && p.offset >= 0) out[t.name] = (out[t.name] ?? 0) + p.offset;
      }
    }));
    return out;
  }

  // --- messages ---------------------------------------------------------------------------------

  async browse(req: BrowseRequest): Promise<{ records: ConsoleRecord[]; scanned: number; nextOffset: number; low: number; high: number; stoppedBy: 'end' | 'limit' | 'scan-limit' | 'deadline' }> {
    const t = await this.requireTopic(req.topic);
    if (!t.partitions.some((p) => p.partitionId === req.partition)) throw new ConsoleError(404, `topic "${req.topic}" has no partition ${req.partition} (it has ${t.partitions.length})`);
    const offsets = await this.admin.fetchTopicOffsets(req.topic);
    const o = offsets.find((x) => x.partition === req.partition);
    const low = Number(o?.low ?? 0);
    const high = Number(o?.high ?? 0);
    let start: number;
    if (req.from.kind === 'offset') start = Math.min(Math.max(req.from.offset, low), high);
    else if (req.from.kind === 'newest') start = Math.max(low, high - req.from.count);
    else {
      const at = await this.admin.fetchTopicOffsetsByTimestamp(req.topic, req.from.timestamp);
      start = Number(at.find((x) => x.partition === req.partition)?.offset ?? high);
    }
    const needle = req.search.toLowerCase();
    const records: ConsoleRecord[] = [];
    let scanned = 0;
    let offset = start;
    const deadline = Date.now() + req.deadlineMs;
    let stoppedBy: 'end' | 'limit' | 'scan-limit' | 'deadline' = 'end';
    outer: while (offset < high) {
      if (Date.now() > deadline) {
        stoppedBy = 'deadline';
        break;
      }
      const leader = this.raw.leaderOf(req.topic, req.partition);
      const res = await this.raw.request(leader, ApiKey.Fetch, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: FETCH_BYTES, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: req.topic, partitions: [{ partition: req.partition, fetchOffset: offset, partitionMaxBytes: FETCH_BYTES, currentLeaderEpoch: -1, logStartOffset: -1 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const p = res.responses[0]?.partitions[0];
      if (!p) break;
      if (p.errorCode !== 0) throw new ConsoleError(502, `fetching ${req.topic}/${req.partition} at offset ${offset}: ${errorName(p.errorCode)}`);
      let decoded: Awaited<ReturnType<typeof decodeRecordSet>>;
      try {
        // The decoder gives one Buffer (lists are for encoding).
        decoded = await decodeRecordSet(p.records as Buffer | null, { minOffset: offset });
      } catch (err) {
        throw new ConsoleError(502, `the records of ${req.topic}/${req.partition} at offset ${offset} cannot be read: ${(err as Error).message}`);
      }
      const { messages, nextOffset } = decoded;
      if (nextOffset <= offset) break; // nothing more could be read
      for (const m of messages) {
        if (Number(m.offset) >= high) break outer;
        scanned++;
        const matches = needle === '' || [m.key, m.value].some((b) => b !== null && b !== undefined && b.toString('utf8').toLowerCase().includes(needle));
        if (matches) {
          records.push({
            partition: req.partition,
            offset: m.offset,
            timestamp: m.timestamp,
            key: b64(m.key, VALUE_SHOWN_BYTES),
            value: b64(m.value, VALUE_SHOWN_BYTES),
            valueSize: m.value?.length ?? 0,
            truncated: (m.value?.length ?? 0) > VALUE_SHOWN_BYTES || (m.key?.length ?? 0) > VALUE_SHOWN_BYTES,
            headers: Object.entries(m.headers ?? {}).flatMap(([k, v]) => (v === undefined ? [] : Array.isArray(v) ? v : [v]).map((x) => ({ key: k, value: b64(x, 4096) }))),
          });
          if (records.length >= req.limit) {
            offset = Number(m.offset) + 1;
            stoppedBy = 'limit';
            break outer;
          }
        }
        if (needle !== '' && scanned >= req.scanLimit) {
          offset = Number(m.offset) + 1;
          stoppedBy = 'scan-limit';
          break outer;
        }
      }
      offset = nextOffset;
    }
    return { records, scanned, nextOffset: Math.min(offset, high), low, high, stoppedBy };
  }

  async produce(topic: string, message: { partition?: number; key: string | null; value: string | null; headers: { key: string; value: string }[] }): Promise<{ partition: number; offset: string }> {
    const t = await this.requireTopic(topic);
    if (message.partition !== undefined && !t.partitions.some((p) => p.partitionId === message.partition)) {
      throw new ConsoleError(400, `topic "${topic}" has no partition ${message.partition} (it has ${t.partitions.length})`);
    }
    const producer = await this.theProducer();
    const headers: Record<string, string> = {};
    for (const h of message.headers) headers[h.key] = h.value;
    const [meta] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: message.key, value: message.value, headers, ...(message.partition !== undefined ? { partition: message.partition } : {}) }],
    });
    return { partition: meta.partition, offset: meta.baseOffset ?? '-1' };
  }

  private theProducer(): Promise<Producer> {
    this.producing ??= (async () => {
      const p = this.kafka.producer({ allowAutoTopicCreation: false });
      await p.connect();
      this.producer = p;
      return p;
    })();
    this.producing.catch(() => (this.producing = null));
    return this.producing;
  }

  // --- groups -----------------------------------------------------------------------------------

  async groups(): Promise<{ groupId: string; protocolType: string; state: string; members: number; lag: number | null }[]> {
    const { groups } = await this.admin.listGroups();
    const ids = groups.map((g) => g.groupId).sort();
    if (ids.length === 0) return [];
    const { groups: described } = await this.admin.describeGroups(ids);
    const lags = await Promise.all(ids.map((id) => this.groupOffsets(id).then((rows) => rows.reduce((s, r) => s + (r.lag ?? 0), 0)).catch(() => null)));
    return ids.map((id, i) => {
      const d = described.find((g) => g.groupId === id);
      return { groupId: id, protocolType: groups.find((g) => g.groupId === id)?.protocolType ?? '', state: d?.state ?? 'Unknown', members: d?.members.length ?? 0, lag: lags[i] };
    });
  }

  /** Committed offsets of a group with each partition's log end and lag (end - committed). */
  private async groupOffsets(groupId: string): Promise<{ topic: string; partition: number; committed: number; end: number; lag: number | null }[]> {
    const committed = await this.admin.fetchOffsets({ groupId });
    const rows: { topic: string; partition: number; committed: number; end: number; lag: number | null }[] = [];
    for (const t of committed) {
      const ends = await this.admin.fetchTopicOffsets(t.topic).catch(() => []);
      for (const p of t.partitions) {
        const c = Number(p.offset);
        if (c < 0) continue; // nothing committed for this partition
        const end = Number(ends.find((e) => e.partition === p.partition)?.high ?? -1);
        rows.push({ topic: t.topic, partition: p.partition, committed: c, end, lag: end < 0 ? null : Math.max(0, end - c) });
      }
    }
    return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  async group(groupId: string): Promise<{
    groupId: string; state: string; protocol: string; protocolType: string;
    members: { memberId: string; clientId: string; host: string; assignments: { topic: string; partitions: number[] }[] }[];
    offsets: { topic: string; partition: number; committed: number; end: number; lag: number | null }[];
  }> {
    const { groups } = await this.admin.describeGroups([groupId]);
    const g = groups[0];
    if (!g || g.state === 'Dead') throw new ConsoleError(404, `group "${groupId}" does not exist`);
    const offsets = await this.groupOffsets(groupId);
    return {
      groupId, state: g.state, protocol: g.protocol, protocolType: g.protocolType,
      members: g.members.map((m) => {
        let assignments: { topic: string; partitions: number[] }[] = [];
        if (g.protocolType === 'consumer' && m.memberAssignment.length > 0) {
          try {
            const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
            assignments = Object.entries(a?.assignment ?? {}).map(([topic, partitions]) => ({ topic, partitions: [...partitions].sort((x, y) => x - y) }));
          } catch {
            // An assignment in another format: shown as none.
          }
        }
        return { memberId: m.memberId, clientId: m.clientId, host: m.clientHost, assignments };
      }),
      offsets,
    };
  }

  /** Moves a group's committed offsets on one topic; Kafka (and this) allow it only while the group has no members. */
  async resetOffsets(groupId: string, topic: string, to: { kind: 'earliest' | 'latest' } | { kind: 'offset'; offset: number } | { kind: 'timestamp'; timestamp: number }, partitions: number[] | null): Promise<{ partition: number; offset: number }[]> {
    const t = await this.requireTopic(topic);
    const { groups } = await this.admin.describeGroups([groupId]);
    const state = groups[0]?.state ?? 'Dead';
    if (state !== 'Empty' && state !== 'Dead') throw new ConsoleError(409, `group "${groupId}" is ${state}: offsets can be reset only while the group has no members (stop its consumers first)`);
    const chosen = (partitions ?? t.partitions.map((p) => p.partitionId)).sort((a, b) => a - b);
    for (const p of chosen) if (!t.partitions.some((x) => x.partitionId === p)) throw new ConsoleError(400, `topic "${topic}" has no partition ${p}`);
    const ends = await this.admin.fetchTopicOffsets(topic);
    const at = to.kind === 'timestamp' ? await this.admin.fetchTopicOffsetsByTimestamp(topic, to.timestamp) : null;
    const target = chosen.map((partition) => {
      const e = ends.find((x) => x.partition === partition);
      const low = Number(e?.low ?? 0);
      const high = Number(e?.high ?? 0);
      const offset = to.kind === 'earliest' ? low : to.kind === 'latest' ? high : to.kind === 'offset' ? Math.min(Math.max(to.offset, low), high) : Number(at?.find((x) => x.partition === partition)?.offset ?? high);
      return { partition, offset };
    });
    await this.admin.setOffsets({ groupId, topic, partitions: target.map((x) => ({ partition: x.partition, offset: String(x.offset) })) });
    return target;
  }
}
