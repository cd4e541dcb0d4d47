// The HTTP listener of a real `fjord server`: /metrics parsed with a Prometheus text-format parser
// before and after a real client produces and consumes (request counts, bytes and records in,
// bytes out, log offsets and size, fsyncs, connections, group lag), /health and /ready (503 while
// storage opens), JSON log lines with the request fields, and the defaults (off when embedded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import parsePrometheus, { type ParsedFamily } from 'parse-prometheus-text-format';
import { Broker } from '../../src/broker/broker.js';
import { isLoopbackHost } from '../../src/broker/http/server.js';
import { SERVER_DEFAULTS } from '../../src/broker/settings.js';
import { serverConfig } from '../../src/cli/app.js';
import { startBroker } from '../../src/index.js';
import { eventually, kafkaFor, tempDir, uniqueTopic } from '../helpers.js';
import { startServerProcess } from '../server-process.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Scrape {
  families: ParsedFamily[];
  text: string;
}

async function scrape(port: number): Promise<Scrape> {
  const res = await get(port, '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.type, /^text\/plain; version=0\.0\.4/);
  return { families: parsePrometheus(res.body), text: res.body };
}

/**
 * The `_count` of a labelled histogram's series whose labels include `labels`, summed. Read from
 * the text: parse-prometheus-text-format folds a labelled histogram's series into one and drops
 * their counts (it handles unlabelled histograms, which `sum` reads).
 */
function histogramCount(s: Scrape, name: string, labels: Record<string, string>): number {
  let n = 0;
  for (const m of s.text.matchAll(new RegExp(`^${name}_count\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const have = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) n += Number(m[2]);
  }
  return n;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there are none). */
function sum(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  const family = s.families.find((f) => f.name === name);
  if (!family) return 0;
  return family.metrics
    .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((n, m) => n + Number(m.value ?? m.count ?? 0), 0);
}

test('/metrics follows produce and consume: requests, bytes and records in, bytes out, offsets, size, fsyncs, connections, group lag', async () => {
  const dir = tempDir();
  const server = await startServerProcess(['--data-dir', dir.path, '--http-port', '0', '--group-initial-rebalance-delay-ms', '0']);
  const kafka = kafkaFor(server, 'metrics-test');
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    const http = Number(/metrics at http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(server.output())?.[1] ?? assert.fail(`no metrics address:\n${server.output()}`));
    const topic = uniqueTopic('metrics');
    const group = `g-${topic}`;
    const before = await scrape(http);
    assert.ok(before.families.some((f) => f.name === 'nodejs_eventloop_lag_seconds'), 'process metrics are there');
    assert.ok(before.families.some((f) => f.name === 'nodejs_gc_duration_seconds'), 'GC pauses are there');

    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }), true);
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] }), false); // TOPIC_ALREADY_EXISTS
    await producer.connect();
    for (let i = 0; i < 5; i++) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 5 }, (_, j) => ({ key: `k${i}`, value: `value ${i}-${j}` })) });
    }
    const produced = await scrape(http);
    const produceRequests = sum(produced, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' }) - sum(before, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' });
    assert.equal(produceRequests, 5);
    assert.equal(histogramCount(produced, 'kafka_network_requestmetrics_totaltime_seconds', { request: 'Produce' }), sum(produced, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' }), 'one latency sample per request');
    assert.equal(sum(produced, 'kafka_network_requestmetrics_errors_total', { request: 'CreateTopics', error: 'TOPIC_ALREADY_EXISTS' }), 1);
    assert.equal(sum(produced, 'kafka_server_brokertopicmetrics_messagesin_total', { topic }), 25);
    const bytesIn = sum(produced, 'kafka_server_brokertopicmetrics_bytesin_total', { topic });
    assert.ok(bytesIn > 25 * 'value 0-0'.length, `bytes in ${bytesIn}`);
    assert.equal(sum(produced, 'kafka_log_log_logendoffset', { topic, partition: '0' }), 25);
    assert.equal(sum(produced, 'kafka_log_log_logstartoffset', { topic, partition: '0' }), 0);
    // Stored as sent: the log holds exactly the batches' bytes.
    assert.equal(sum(produced, 'kafka_log_log_size', { topic, partition: '0' }), bytesIn);
    assert.ok(sum(produced, 'kafka_log_logflushstats_logflush_seconds') >= 1, 'acks=-1 with --flush always fsyncs');
    assert.ok(sum(produced, 'kafka_server_socketservermetrics_connection_count', { listener: 'PLAINTEXT' }) >= 1);
    assert.ok(sum(produced, 'kafka_server_socketservermetrics_connection_creation_total', { listener: 'PLAINTEXT' }) >= 1);
    assert.equal(sum(produced, 'fjord_storage_errors_total'), 0);

    const consumer = kafka.consumer({ groupId: group });
    let seen = 0;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async () => { seen++; } });
    await eventually(() => seen === 25, 30000, 'all 25 messages');
    await consumer.disconnect(); // commits what it consumed
    const consumed = await scrape(http);
    assert.equal(sum(consumed, 'kafka_consumergroup_current_offset', { consumergroup: group, topic, partition: '0' }), 25);
    assert.equal(sum(consumed, 'kafka_consumergroup_lag', { consumergroup: group, topic, partition: '0' }), 0);
    assert.ok(sum(consumed, 'kafka_server_brokertopicmetrics_bytesout_total', { topic }) >= bytesIn, 'every produced byte went out at least once');

    await producer.send({ topic, acks: -1, messages: Array.from({ length: 7 }, (_, j) => ({ value: `late ${j}` })) });
    const behind = await scrape(http);
    assert.equal(sum(behind, 'kafka_log_log_logendoffset', { topic, partition: '0' }), 32);
    assert.equal(sum(behind, 'kafka_consumergroup_lag', { consumergroup: group, topic, partition: '0' }), 7);
    assert.equal(sum(behind, 'kafka_consumergroup_lag_sum', { consumergroup: group, topic }), 7);
    assert.equal(sum(behind, 'kafka_server_brokertopicmetrics_messagesin_total', { topic }), 32);

    // Every metric the Grafana dashboard queries exists.
    const dashboard = readFileSync(join(root, 'docs/grafana/fjord.json'), 'utf8');
    const queried = new Set([...dashboard.matchAll(/\b((?:kafka|fjord|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]));
    assert.ok(queried.size >= 15, [...queried].join(' '));
    const served = (name: string) => behind.families.some((f) => f.name === name || (f.type === 'HISTOGRAM' && `${f.name}_bucket` === name) || (f.type === 'HISTOGRAM' && `${f.name}_sum` === name));
    for (const name of queried) assert.ok(served(name), `the dashboard's ${name} is not served`);

    // A deleted topic's series go.
    await admin.deleteTopics({ topics: [topic] });
    const deleted = await scrape(http);
    assert.equal(sum(deleted, 'kafka_server_brokertopicmetrics_bytesin_total', { topic }), 0);
    assert.equal(sum(deleted, 'kafka_log_log_logendoffset', { topic }), 0);

    assert.deepEqual(JSON.parse((await get(http, '/health')).body), { status: 'up' });
    assert.deepEqual(JSON.parse((await get(http, '/ready')).body), { status: 'ready' });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    server.child.kill('SIGTERM');
    await server.exited;
    dir.remove();
  }
});

test('/ready answers 503 with the reason until storage is open, /health 200 throughout; unknown paths 404, other methods 405', async () => {
  const broker = new Broker({ dataDir: 'memory', port: 0, listenHosts: ['127.0.0.1'], httpPort: 0, logLevel: 'silent' });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const open = broker.storage.open.bind(broker.storage);
  broker.storage.open = async () => {
    await gate;
    await open();
  };
  const started = broker.start();
  try {
    await eventually(() => broker.http !== null && broker.http.port !== 0, 10000, 'the HTTP listener');
    const port = broker.http!.port;
    const waiting = await get(port, '/ready');
    assert.equal(waiting.status, 503);
    assert.match(waiting.type, /application\/json/);
    assert.deepEqual(JSON.parse(waiting.body), { status: 'not ready', reason: 'storage is opening (listeners bound, requests wait)' });
    assert.equal((await get(port, '/health')).status, 200);
    release();
    await started;
    assert.equal((await get(port, '/ready')).status, 200);
    assert.equal((await get(port, '/nope')).status, 404);
    assert.equal((await get(port, '/metrics', 'POST')).status, 405);
    assert.equal(broker.httpAddress, `127.0.0.1:${port}`);
  } finally {
    release();
    await started.catch(() => undefined);
    await broker.stop();
  }
});

test('JSON logs: every line is a JSON object with level, time and msg; debug adds a line per request with API, client id, principal and latency', async () => {
  const server = await startServerProcess(['--data-dir', 'memory', '--log-format', 'json', '--log-level', 'debug']);
  const kafka = kafkaFor(server, 'json-log-client');
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    await eventually(() => /"api":"Metadata"/.test(server.output()), 10000, 'a Metadata request line');
  } finally {
    await admin.disconnect();
    server.child.kill('SIGTERM');
    await server.exited;
  }
  const lines = server.output().split('\n').filter((l) => l !== '');
  const events = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return assert.fail(`not a JSON line: ${l}`);
    }
  });
  for (const e of events) {
    assert.ok(['debug', 'info', 'warn', 'error'].includes(String(e.level)), JSON.stringify(e));
    assert.match(String(e.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(typeof e.msg, 'string');
  }
  assert.ok(events.some((e) => e.level === 'info' && /^Fjord listening on /.test(String(e.msg))));
  const metadata = events.find((e) => e.api === 'Metadata');
  assert.ok(metadata, lines.join('\n'));
  assert.equal(metadata.level, 'debug');
  assert.equal(metadata.clientId, 'json-log-client');
  assert.equal(metadata.principal, 'User:ANONYMOUS');
  assert.equal(metadata.listener, 'PLAINTEXT');
  assert.equal(typeof metadata.version, 'number');
  assert.equal(typeof metadata.latencyMs, 'number');
  assert.ok(events.some((e) => e.msg === 'stopped cleanly'));
});

test('text logs carry the request fields as key=value', async () => {
  const server = await startServerProcess(['--data-dir', 'memory', '--log-format', 'text', '--log-level', 'debug']);
  const admin = kafkaFor(server, 'text-log-client').admin();
  try {
    await admin.connect();
    await admin.listTopics();
    await eventually(() => /DEBUG request Metadata v\d+ from \/127\.0\.0\.1 api=Metadata version=\d+ correlationId=\d+ clientId=text-log-client principal=User:ANONYMOUS clientHost=\/127\.0\.0\.1 listener=PLAINTEXT latencyMs=[\d.]+/.test(server.output()), 10000, 'a Metadata request line');
  } finally {
    await admin.disconnect();
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

test('the HTTP listener: off in embedded brokers, on port 9080 for fjord server, none turns it off; only loopback goes without a warning', async () => {
  const embedded = await startBroker();
  try {
    assert.equal(embedded.broker.http, null);
    assert.equal(embedded.broker.metrics, null);
    assert.equal(embedded.broker.httpAddress, null);
  } finally {
    await embedded.stop();
  }
  assert.equal(SERVER_DEFAULTS.httpPort, 9080);
  assert.deepEqual(serverConfig(['--http-port', 'none'], {}), { httpPort: -1 });
  assert.deepEqual(serverConfig([], { FJORD_HTTP_PORT: '-1' }), { httpPort: -1 });
  assert.throws(() => serverConfig(['--http-port', '70000'], {}), /--http-port must be a port from 0 to 65535 or none, not "70000"/);
  assert.throws(() => serverConfig(['--log-format', 'xml'], {}), /--log-format must be one of auto, text, json/);
  const off = new Broker({ dataDir: 'memory', httpPort: -1 });
  assert.equal(off.http, null);
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '', '::', '10.0.0.5', 'broker.example']) assert.ok(!isLoopbackHost(host), host);
});
