// The broker's Prometheus metrics (prom-client), served by the HTTP listener (http/server.ts) at
// /metrics. Names follow Kafka's JMX names as the Prometheus JMX exporter writes them, so Kafka
// dashboards map over (the mapping: docs/metrics.md). The hot path only increments: dispatch.ts
// reports each answered request (requestDone), server.ts each accepted connection, storage each
// fsync and storage error (StorageObserver). Everything that is a state (offsets, sizes, lag,
// open connections) is a gauge computed when Prometheus scrapes (collect callbacks).
// Only brokers with an HTTP listener have a BrokerMetrics; without one nothing is counted.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ApiKey, apiName } from '../protocol/apis.js';
import { ErrorCode } from '../protocol/generated/errors.js';
import type { Storage, StorageObserver } from '../storage/types.js';
import type { RequestObserver } from './dispatch.js';
import type { GroupCoordinator } from './groups/coordinator.js';
import type { ListenerInfo } from './listeners.js';
import type { ConnectionInfo } from './server.js';

/** What the scrape-time gauges read: the broker's storage, groups and open connections. */
export interface MetricsSources {
  readonly storage: Storage;
  readonly groups: GroupCoordinator;
  connections(): readonly ConnectionInfo[];
  /** False until storage is open (and after stop began): offsets and lag are not read then. */
  storageOpen(): boolean;
}

/** Request latency buckets (seconds): sub-millisecond produces up to long-polling fetches. */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** fsync buckets (seconds). */
const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/**
 * Node.js process metrics (event-loop lag, GC pauses, heap, CPU, open handles) under prom-client's
 * standard names. They describe the process, not a broker, so every broker of a process shares
 * one registry of them (created on first use: prom-client starts its observers then).
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}

export class BrokerMetrics implements RequestObserver {
  /** What /metrics serves: this broker's metrics and the process's. */
  readonly registry: Registry;
  private readonly own = new Registry();
  private readonly errors: Counter<'request' | 'error'>;
  private readonly latency: Histogram<'request' | 'version'>;
  private readonly messagesIn: Counter<'topic'>;
  private readonly bytesIn: Counter<'topic'>;
  private readonly bytesOut: Counter<'topic'>;
  private readonly connectionsCreated: Counter<'listener'>;
  private readonly fsyncs: Histogram;
  private readonly storageErrors: Counter<'operation'>;
  /** Requests answered per API and version (key apiKey * 256 + version), copied into `requests` at a scrape. */
  private readonly perRequest = new Map<number, { labels: { request: string; version: number }; count: number }>();
  /** Topics with per-topic counters: their series are dropped once the topic is gone. */
  private readonly countedTopics = new Set<string>();
  /** Topic id → name, for Fetch v13+ responses (refreshed when an id is not found). */
  private topicNames = new Map<string, string>();

  /** Hands storage its observer (fsync times, errors): pass it in StorageOptions. */
  readonly storageObserver: StorageObserver = {
    fsync: (seconds, failed) => {
      this.fsyncs.observe(seconds);
      if (failed) this.storageErrors.inc({ operation: 'fsync' });
    },
    error: (operation) => this.storageErrors.inc({ operation }),
  };

  private sources: MetricsSources | null = null;

  constructor() {
    const registers = [this.own];
    const metrics = this;
    new Counter({
      name: 'kafka_network_requestmetrics_requests_total', help: 'Requests answered, by API and version (Kafka: kafka.network:type=RequestMetrics,name=RequestsPerSec)', labelNames: ['request', 'version'], registers,
      collect() {
        this.reset();
        for (const { labels, count } of metrics.perRequest.values()) this.inc(labels, count);
      },
    });
    this.errors = new Counter({ name: 'kafka_network_requestmetrics_errors_total', help: 'Error codes in responses other than NONE, one per partition or resource carrying one (Kafka: RequestMetrics ErrorsPerSec)', labelNames: ['request', 'error'], registers });
    this.latency = new Histogram({ name: 'kafka_network_requestmetrics_totaltime_seconds', help: 'Time from a request read to its response built, in seconds (Kafka: RequestMetrics TotalTimeMs)', labelNames: ['request', 'version'], buckets: REQUEST_BUCKETS, registers });
    this.messagesIn = new Counter({ name: 'kafka_server_brokertopicmetrics_messagesin_total', help: 'Records appended by Produce, by topic (Kafka: BrokerTopicMetrics MessagesInPerSec)', labelNames: ['topic'], registers });
    this.bytesIn = new Counter({ name: 'kafka_server_brokertopicmetrics_bytesin_total', help: 'Record bytes appended by Produce, by topic (Kafka: BrokerTopicMetrics BytesInPerSec)', labelNames: ['topic'], registers });
    this.bytesOut = new Counter({ name: 'kafka_server_brokertopicmetrics_bytesout_total', help: 'Record bytes served by Fetch, by topic (Kafka: BrokerTopicMetrics BytesOutPerSec)', labelNames: ['topic'], registers });
    this.connectionsCreated = new Counter({ name: 'kafka_server_socketservermetrics_connection_creation_total', help: 'Connections accepted, by listener (Kafka: socket-server-metrics connection-creation-total)', labelNames: ['listener'], registers });
    this.fsyncs = new Histogram({ name: 'kafka_log_logflushstats_logflush_seconds', help: 'fsyncs of partition data (one group commit each), in seconds (Kafka: LogFlushStats LogFlushRateAndTimeMs)', buckets: FSYNC_BUCKETS, registers });
    this.storageErrors = new Counter({ name: 'fjord_storage_errors_total', help: 'Failed writes, reads and fsyncs of stored data (requests got KAFKA_STORAGE_ERROR)', labelNames: ['operation'], registers });

    new Gauge({
      name: 'kafka_server_socketservermetrics_connection_count', help: 'Open connections, by listener (Kafka: socket-server-metrics connection-count)', labelNames: ['listener'], registers,
      collect() {
        this.reset();
        const byListener = new Map<string, number>();
        for (const c of metrics.sources?.connections() ?? []) byListener.set(c.listener.name, (byListener.get(c.listener.name) ?? 0) + 1);
        for (const [listener, n] of byListener) this.set({ listener }, n);
      },
    });
    const perPartition = (name: string, help: string, value: (log: NonNullable<ReturnType<Storage['partition']>>) => number | undefined) => new Gauge({
      name, help, labelNames: ['topic', 'partition'], registers,
      collect() {
        this.reset();
        metrics.eachPartition((topic, partition, log) => {
          const v = value(log);
          if (v !== undefined) this.set({ topic, partition }, v);
        });
      },
    });
    perPartition('kafka_log_log_logendoffset', 'Log end offset (high watermark) per partition (Kafka: kafka.log:type=Log,name=LogEndOffset)', (log) => log.logEndOffset());
    perPartition('kafka_log_log_logstartoffset', 'Log start offset per partition (Kafka: kafka.log:type=Log,name=LogStartOffset)', (log) => log.logStartOffset());
    perPartition('kafka_log_log_size', 'Bytes of the partition\'s log segments (Kafka: kafka.log:type=Log,name=Size)', (log) => log.segmentSizes?.().reduce((n, s) => n + s.bytes, 0));
    perPartition('kafka_log_log_numlogsegments', 'Log segments per partition (Kafka: kafka.log:type=Log,name=NumLogSegments)', (log) => log.segmentSizes?.().length);
    new Gauge({
      name: 'kafka_server_replicamanager_partitioncount', help: 'Partitions of all topics (Kafka: ReplicaManager PartitionCount)', registers,
      collect() {
        const s = metrics.sources;
        this.set(s && s.storageOpen() ? s.storage.topics().reduce((n, t) => n + t.partitionCount, 0) : 0);
      },
    });
    // Consumer group offsets and lag, as kafka_exporter names them (the usual Kafka lag dashboards).
    // prom-client collects and writes metrics in the order they were made: the one that reads the
    // groups comes first and fills the two after it.
    const lagLabels = ['consumergroup', 'topic', 'partition'] as const;
    new Gauge({
      name: 'kafka_consumergroup_lag', help: 'Log end offset minus the committed offset of a consumer group per partition', labelNames: lagLabels, registers,
      collect() {
        this.reset();
        current.reset();
        lagSum.reset();
        metrics.eachCommittedOffset((consumergroup, topic, partition, committed, logEnd) => {
          const lag = Math.max(0, logEnd - committed);
          this.set({ consumergroup, topic, partition }, lag);
          current.set({ consumergroup, topic, partition }, committed);
          lagSum.inc({ consumergroup, topic }, lag);
        });
      },
    });
    const current = new Gauge({ name: 'kafka_consumergroup_current_offset', help: 'Committed offset of a consumer group per partition', labelNames: lagLabels, registers });
    const lagSum = new Gauge({ name: 'kafka_consumergroup_lag_sum', help: 'Lag of a consumer group summed over a topic\'s partitions', labelNames: ['consumergroup', 'topic'], registers });
    this.registry = Registry.merge([processMetrics(), this.own]);
  }

  /** Where the scrape-time gauges read from (the broker, once its services exist). */
  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** The Prometheus text of every metric (what /metrics answers). */
  async text(): Promise<string> {
    this.dropGoneTopics();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A connection was accepted on `listener`. */
  connectionAccepted(listener: ListenerInfo): void {
    this.connectionsCreated.inc({ listener: listener.name });
  }

  /** dispatch.ts: a request was answered (`response` null: acks=0 Produce, or a closed connection). */
  requestDone(apiKey: number, version: number, request: object, response: object | null, seconds: number): void {
    // One label object per API and version, made once; the request count is a plain number until a scrape.
    const key = apiKey * 256 + version;
    let entry = this.perRequest.get(key);
    if (!entry) this.perRequest.set(key, (entry = { labels: { request: apiName(apiKey), version }, count: 0 }));
    entry.count++;
    this.latency.observe(entry.labels, seconds);
    if (response !== null) this.countErrors(entry.labels.request, response);
    if (apiKey === ApiKey.Produce) this.produced(request, response);
    else if (apiKey === ApiKey.Fetch && response !== null) this.fetched(response);
  }

  /** Every errorCode field of a response (other than NONE), wherever it sits. */
  private countErrors(request: string, response: object): void {
    const walk = (value: object): void => {
      if (Array.isArray(value)) {
        for (const v of value as unknown[]) if (v !== null && typeof v === 'object') walk(v);
        return;
      }
      if (Buffer.isBuffer(value)) return;
      const fields = value as Record<string, unknown>;
      for (const key in fields) {
        const v = fields[key];
        if (key === 'errorCode') {
          if (typeof v === 'number' && v !== 0) this.errors.inc({ request, error: ERROR_NAMES.get(v) ?? String(v) });
        } else if (key !== 'records' && v !== null && typeof v === 'object') walk(v);
      }
    };
    walk(response);
  }

  /** Bytes and records of the partitions a Produce appended (all of them for acks=0, which has no answer). */
  private produced(request: object, response: object | null): void {
    const topics = (request as { topicData?: { name: string; partitionData: { records: Buffer | Buffer[] | null }[] }[] }).topicData ?? [];
    const answers = (response as { responses?: { partitionResponses: { errorCode: number }[] }[] } | null)?.responses;
    topics.forEach((t, i) => {
      let bytes = 0;
      let records = 0;
      t.partitionData.forEach((p, j) => {
        if (p.records === null || (answers && answers[i]?.partitionResponses[j]?.errorCode !== 0)) return;
        for (const b of Array.isArray(p.records) ? p.records : [p.records]) {
          bytes += b.length;
          records += recordCount(b);
        }
      });
      if (bytes === 0) return;
      this.countedTopics.add(t.name);
      this.bytesIn.inc({ topic: t.name }, bytes);
      this.messagesIn.inc({ topic: t.name }, records);
    });
  }

  /** Record bytes a Fetch response carries, by topic. */
  private fetched(response: object): void {
    const topics = (response as { responses?: { topic?: string; topicId?: string; partitions: { records?: Buffer | Buffer[] | null }[] }[] }).responses ?? [];
    for (const t of topics) {
      let bytes = 0;
      for (const p of t.partitions) {
        const r = p.records;
        if (r) bytes += Array.isArray(r) ? r.reduce((n, b) => n + b.length, 0) : r.length;
      }
      if (bytes === 0) continue;
      const topic = t.topic ?? (t.topicId !== undefined ? this.topicName(t.topicId) : undefined);
      if (topic === undefined) continue;
      this.countedTopics.add(topic);
      this.bytesOut.inc({ topic }, bytes);
    }
  }

  private topicName(id: string): string | undefined {
    let name = this.topicNames.get(id);
    if (name === undefined && this.sources) {
      this.topicNames = new Map(this.sources.storage.topics().map((t) => [t.topicId, t.name]));
      name = this.topicNames.get(id);
    }
    return name;
  }

  /** Drops the per-topic series of deleted topics (a deleted topic's counters would stay forever). */
  private dropGoneTopics(): void {
    const s = this.sources;
    if (!s || !s.storageOpen()) return;
    for (const topic of this.countedTopics) {
      if (s.storage.topic(topic)) continue;
      this.countedTopics.delete(topic);
      for (const c of [this.bytesIn, this.bytesOut, this.messagesIn]) c.remove({ topic });
    }
  }

  private eachPartition(fn: (topic: string, partition: number, log: NonNullable<ReturnType<Storage['partition']>>) => void): void {
    const s = this.sources;
    if (!s || !s.storageOpen()) return;
    for (const t of s.storage.topics()) {
      for (let p = 0; p < t.partitionCount; p++) {
        const log = s.storage.partition(t.name, p);
        if (log) fn(t.name, p, log);
      }
    }
  }

  private eachCommittedOffset(fn: (group: string, topic: string, partition: number, committed: number, logEnd: number) => void): void {
    const s = this.sources;
    if (!s || !s.storageOpen()) return;
    const listed = s.groups.listGroups();
    if (listed.errorCode !== ErrorCode.NONE) return;
    for (const { groupId } of listed.groups) {
      for (const t of s.groups.fetchOffsets(groupId, null).topics) {
        for (const p of t.partitions) {
          if (p.committedOffset < 0) continue;
          const log = s.storage.partition(t.name, p.partitionIndex);
          if (log) fn(groupId, t.name, p.partitionIndex, p.committedOffset, log.logEndOffset());
        }
      }
    }
  }
}

/**
 * Records in a Produce's bytes: each v2 batch's record count; a v0/v1 message counts as one
 * (a compressed wrapper too: its inner messages are not opened for a metric).
 */
function recordCount(b: Buffer): number {
  let n = 0;
  for (let at = 0; at + 17 <= b.length;) {
    const size = b.readInt32BE(at + 8) + 12;
    if (size < 12) break;
    n += b[at + 16] === 2 && at + 61 <= b.length ? b.readInt32BE(at + 57) : 1;
    at += size;
  }
  return n;
}
