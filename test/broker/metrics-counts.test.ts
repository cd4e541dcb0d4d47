// BrokerMetrics counts requests, latencies, error codes and per-topic bytes in plain numbers and
// hands them to prom-client only when scraped (docs/performance.md, Metrics overhead). These
// checks compare what /metrics would serve with what prom-client's own Counter and Histogram
// write for the same observations, so the cheap path cannot drift from the format Prometheus reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { BrokerMetrics } from '../../src/broker/metrics.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';

/** The lines of one metric family (its HELP and TYPE included) in Prometheus text. */
function family(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name}_`) || l.startsWith(`${name} `) || l.startsWith(`# HELP ${name} `) || l.startsWith(`# TYPE ${name} `));
}

/** A Produce batch of `records` records (only the fields recordCount reads are set). */
function batch(records: number, bytes = 200): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeInt32BE(bytes - 12, 8);
  b[16] = 2;
  b.writeInt32BE(records, 57);
  return b;
}

test('request latency histogram and request/error counters: the same text as prom-client observing the same values', async () => {
  const metrics = new BrokerMetrics();
  const reference = new Registry();
  const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const name = 'kafka_network_requestmetrics_totaltime_seconds';
  const latency = new Histogram({ name, help: 'Time from a request read to its response built, in seconds (Kafka: RequestMetrics TotalTimeMs)', labelNames: ['request', 'version'], buckets: REQUEST_BUCKETS, registers: [reference] });
  const errors = new Counter({ name: 'kafka_network_requestmetrics_errors_total', help: 'Error codes in responses other than NONE, one per partition or resource carrying one (Kafka: RequestMetrics ErrorsPerSec)', labelNames: ['request', 'error'], registers: [reference] });
  // Values on bucket bounds, between them, above the last, and zero.
  const seconds = [0, 0.0005, 0.0007, 0.001, 0.003, 0.05, 0.3, 1, 4.9, 10, 11, 120];
  seconds.forEach((s, i) => {
    const version = i % 3 === 0 ? 12 : 9;
    metrics.requestDone(ApiKey.Metadata, version, {}, { topics: [{ errorCode: i % 4 === 0 ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : 0, partitions: [{ errorCode: 0 }] }] }, s);
    latency.observe({ request: 'Metadata', version }, s);
    if (i % 4 === 0) errors.inc({ request: 'Metadata', error: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });
  const ours = await metrics.text();
  const theirs = await reference.metrics();
  assert.deepEqual(family(ours, name), family(theirs, name));
  assert.ok(family(ours, name).length > 2 * (REQUEST_BUCKETS.length + 3), 'both versions written');
  assert.deepEqual(family(ours, 'kafka_network_requestmetrics_errors_total'), family(theirs, 'kafka_network_requestmetrics_errors_total'));
  assert.ok(ours.includes('kafka_network_requestmetrics_requests_total{request="Metadata",version="12"} 4\n'));
  assert.ok(ours.includes('kafka_network_requestmetrics_requests_total{request="Metadata",version="9"} 8\n'));
});

test('Produce: records and bytes per topic of the partitions appended, error codes of the ones refused; acks=0 counts all', async () => {
  const metrics = new BrokerMetrics();
  const request = { topicData: [
    { name: 'a', partitionData: [{ index: 0, records: batch(10, 300) }, { index: 1, records: [batch(5, 100), batch(7, 150)] }] },
    { name: 'b', partitionData: [{ index: 0, records: batch(3, 90) }] },
  ] };
  const response = { responses: [
    { name: 'a', partitionResponses: [{ index: 0, errorCode: 0 }, { index: 1, errorCode: 0 }] },
    { name: 'b', partitionResponses: [{ index: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }] },
  ] };
  metrics.requestDone(ApiKey.Produce, 9, request, response, 0.001);
  metrics.requestDone(ApiKey.Produce, 9, request, null, 0.001); // acks=0: no answer, everything appended
  const text = await metrics.text();
  assert.ok(text.includes('kafka_server_brokertopicmetrics_messagesin_total{topic="a"} 44\n'));
  assert.ok(text.includes('kafka_server_brokertopicmetrics_bytesin_total{topic="a"} 1100\n'));
  assert.ok(text.includes('kafka_server_brokertopicmetrics_messagesin_total{topic="b"} 3\n'), 'b counted once: refused in the acks=1 request');
  assert.ok(text.includes('kafka_server_brokertopicmetrics_bytesin_total{topic="b"} 90\n'));
  assert.ok(text.includes('kafka_network_requestmetrics_errors_total{request="Produce",error="NOT_LEADER_OR_FOLLOWER"} 1\n'));
  assert.ok(!/bytesout_total\{topic=/.test(text), 'no bytes out before a Fetch');
  metrics.requestDone(ApiKey.Fetch, 12, {}, { responses: [{ topic: 'a', partitions: [{ errorCode: 0, records: batch(1, 64) }, { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: null }] }] }, 0.01);
  const after = await metrics.text();
  assert.ok(after.includes('kafka_server_brokertopicmetrics_bytesout_total{topic="a"} 64\n'));
  assert.ok(after.includes('kafka_network_requestmetrics_errors_total{request="Fetch",error="OFFSET_OUT_OF_RANGE"} 1\n'));
});
