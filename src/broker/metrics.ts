// The broker's Prometheus metrics (prom-client), served by the HTTP listener (http/server.ts) at
// /metrics. Names follow Kafka's JMX names as the Prometheus JMX exporter writes them, so Kafka
// dashboards map over (the mapping: docs/metrics.md). The hot path only adds to plain numbers:
// dispatch.ts reports each answered request (requestDone), server.ts each accepted connection,
// storage each fsync and storage error (StorageObserver). Per-request and per-topic counts and the
// request latency buckets are kept in this class's own maps and handed to prom-client when
// Prometheus scrapes (collect callbacks, PlainHistogram): prom-client's inc/observe with labels
// validate and hash the label object on every call, which cost more than the rest of a request's
// bookkeeping (docs/performance.md, Metrics overhead). Everything that is a state (offsets,
// sizes, lag, open connections) is a gauge computed at the scrape too.
// Only brokers with an HTTP listener have a BrokerMetrics; without one nothing is counted.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type HistogramConfiguration, type MetricObjectWithValues, type MetricType, type MetricValueWithName } from 'prom-client';
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

/** One labelled series of a PlainHistogram: counts per bucket (not cumulative), their sum and total. */
interface HistogramSeries<T extends string> {
  readonly labels: Readonly<Record<T, string | number>>;
  /** buckets[i]: observations in (bounds[i-1], bounds[i]]; above the last bound only `count` has them. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** Adds one observation to a series (the bucket found by a linear scan: the bounds are few). */
function observeInto<T extends string>(series: HistogramSeries<T>, bounds: readonly number[], value: number): void {
  series.count++;
  series.sum += value;
  for (let i = 0; i < bounds.length; i++) {
    if (value <= bounds[i]) {
      series.buckets[i]++;
      return;
    }
  }
}

/**
 * A Prometheus histogram whose observations are counted outside prom-client (HistogramSeries, by
 * the broker's hot path) and read when scraped: same text as prom-client's Histogram writes
 * (cumulative _bucket with le, +Inf, _sum, _count per series).
 */
class PlainHistogram<T extends string> extends Histogram<T> {
  constructor(private readonly config: HistogramConfiguration<T> & { buckets: number[] }, private readonly series: () => Iterable<HistogramSeries<T>>) {
    super(config);
    // prom-client's registry writes text from getForPromString when a metric has one (Histogram
    // has), and from get() otherwise: both answer from the series.
    Object.defineProperty(this, 'getForPromString', { value: () => this.get() });
  }

  override async get(): Promise<MetricObjectWithValues<MetricValueWithName<T>>> {
    const { name, help, buckets } = this.config;
    const values: MetricValueWithName<T>[] = [];
    const at = (labels: object, value: number, suffix: string) => values.push({ labels: labels as Partial<Record<T, string | number>>, value, metricName: name + suffix });
    for (const s of this.series()) {
      let cumulative = 0;
      buckets.forEach((le, i) => at({ le, ...s.labels }, (cumulative += s.buckets[i]), '_bucket'));
      at({ le: '+Inf', ...s.labels }, s.count, '_bucket');
      at(s.labels, s.sum, '_sum');
      at(s.labels, s.count, '_count');
    }
    // The runtime type is the text Prometheus reads ('histogram'); prom-client's typings call it an enum.
    return { name, help, type: 'histogram' as unknown as MetricType, aggregator: 'sum', collect: () => undefined, values };
  }
}

/** What one API and version counted: requests, latency buckets, error codes (code → count). */
interface RequestStats extends HistogramSeries<'request' | 'version'> {
  readonly labels: { readonly request: string; readonly version: number };
  readonly errors: Map<number, number>;
}

/** Record counts and bytes of one topic. */
interface TopicStats {
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
}

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
  private readonly connectionsCreated: Counter<'listener'>;
  private readonly fsyncs: Histogram;
  private readonly storageErrors: Counter<'operation'>;
  /** Per API and version (key apiKey * 256 + version): plain numbers, read by the collect callbacks at a scrape. */
  private readonly perRequest = new Map<number, RequestStats>();
  /** Per topic: plain numbers read at a scrape; a deleted topic's entry (and so its series) is dropped. */
  private readonly perTopic = new Map<string, TopicStats>();
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
    new Counter({
      name: 'kafka_network_requestmetrics_errors_total', help: 'Error codes in responses other than NONE, one per partition or resource carrying one (Kafka: RequestMetrics ErrorsPerSec)', labelNames: ['request', 'error'], registers,
      collect() {
        this.reset();
        for (const { labels, errors } of metrics.perRequest.values()) {
          for (const [code, n] of errors) this.inc({ request: labels.request, error: ERROR_NAMES.get(code) ?? String(code) }, n);
        }
      },
    });
    new PlainHistogram({ name: 'kafka_network_requestmetrics_totaltime_seconds', help: 'Time from a request read to its response built, in seconds (Kafka: RequestMetrics TotalTimeMs)', labelNames: ['request', 'version'], buckets: REQUEST_BUCKETS, registers }, () => metrics.perRequest.values());
    const perTopic = (name: string, help: string, value: (t: TopicStats) => number) => new Counter({
      name, help, labelNames: ['topic'], registers,
      collect() {
        this.reset();
        for (const [topic, stats] of metrics.perTopic) {
          const v = value(stats);
          if (v > 0) this.inc({ topic }, v);
        }
      },
    });
    perTopic('kafka_server_brokertopicmetrics_messagesin_total', 'Records appended by Produce, by topic (Kafka: BrokerTopicMetrics MessagesInPerSec)', (t) => t.messagesIn);
    perTopic('kafka_server_brokertopicmetrics_bytesin_total', 'Record bytes appended by Produce, by topic (Kafka: BrokerTopicMetrics BytesInPerSec)', (t) => t.bytesIn);
    perTopic('kafka_server_brokertopicmetrics_bytesout_total', 'Record bytes served by Fetch, by topic (Kafka: BrokerTopicMetrics BytesOutPerSec)', (t) => t.bytesOut);
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
    // One entry per API and version, made once; the hot path only adds to its numbers.
    const key = apiKey * 256 + version;
    let stats = this.perRequest.get(key);
    if (!stats) {
      stats = { labels: { request: apiName(apiKey), version }, count: 0, sum: 0, buckets: new Float64Array(REQUEST_BUCKETS.length), errors: new Map() };
      this.perRequest.set(key, stats);
    }
    observeInto(stats, REQUEST_BUCKETS, seconds);
    if (apiKey === ApiKey.Produce) this.produced(stats, request, response);
    else if (response !== null) {
      this.countErrors(stats.errors, response);
      if (apiKey === ApiKey.Fetch) this.fetched(response);
    }
  }

  /** Every errorCode field of a response (other than NONE), wherever it sits (`records` are not opened). */
  private countErrors(errors: Map<number, number>, value: object): void {
    if (Array.isArray(value)) {
      for (const v of value as unknown[]) if (v !== null && typeof v === 'object') this.countErrors(errors, v);
      return;
    }
    if (Buffer.isBuffer(value)) return;
    const fields = value as Record<string, unknown>;
    for (const key in fields) {
      const v = fields[key];
      if (key === 'errorCode') {
        if (typeof v === 'number' && v !== 0) errors.set(v, (errors.get(v) ?? 0) + 1);
      } else if (key !== 'records' && v !== null && typeof v === 'object') this.countErrors(errors, v);
    }
  }

  private topicStats(topic: string): TopicStats {
    let stats = this.perTopic.get(topic);
    if (!stats) this.perTopic.set(topic, (stats = { messagesIn: 0, bytesIn: 0, bytesOut: 0 }));
    return stats;
  }

  /**
   * A Produce: its partitions' error codes (a Produce response has errorCode only per partition),
   * and the bytes and records of the partitions it appended (all of them for acks=0, which has no answer).
   */
  private produced(stats: RequestStats, request: object, response: object | null): void {
    const topics = (request as { topicData?: { name: string; partitionData: { records: Buffer | Buffer[] | null }[] }[] }).topicData ?? [];
    const answers = (response as { responses?: { partitionResponses: { errorCode: number }[] }[] } | null)?.responses;
    if (answers) {
      for (const t of answers) {
        for (const p of t.partitionResponses) if (p.errorCode !== 0) stats.errors.set(p.errorCode, (stats.errors.get(p.errorCode) ?? 0) + 1);
      }
    }
    for (let i = 0; i < topics.length; i++) {
      const t = topics[i];
      let bytes = 0;
      let records = 0;
      for (let j = 0; j < t.partitionData.length; j++) {
        const r = t.partitionData[j].records;
        if (r === null || (answers && answers[i]?.partitionResponses[j]?.errorCode !== 0)) continue;
        if (Array.isArray(r)) {
          for (const b of r) {
            bytes += b.length;
            records += recordCount(b);
          }
        } else {
          bytes += r.length;
          records += recordCount(r);
        }
      }
      if (bytes === 0) continue;
      const topic = this.topicStats(t.name);
      topic.bytesIn += bytes;
      topic.messagesIn += records;
    }
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
      this.topicStats(topic).bytesOut += bytes;
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
    for (const topic of this.perTopic.keys()) if (!s.storage.topic(topic)) this.perTopic.delete(topic);
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
