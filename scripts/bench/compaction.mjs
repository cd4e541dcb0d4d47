#!/usr/bin/env node
// Compaction next to Apache Kafka (issue 15): how fast each broker's log cleaner gets through the
// same data, and what a producer sees while it runs. Same run, one broker after the other.
//
//   node scripts/bench/compaction.mjs [--mib 256] [--keys 20000] [--size 1000] [--segment-mib 16]
//                                     [--targets fjord,kafka] [--rate 500]
//
// Per broker (fresh data dir, 127.0.0.1; Kafka: KRaft single node -Xmx1G; Fjord: --flush os):
//   1. A topic (1 partition, segment.bytes = --segment-mib) with cleanup.policy=delete, so nothing is
//      cleaned while it loads. --mib of records go in (Fjord's client from this process, acks=1,
//      batches of 100): key k<i mod --keys>, value --size bytes, the same sequence for both brokers.
//   2. A probe producer sends one record (acks=1) every 1000/--rate ms into a second, ordinary topic,
//      and times each send. After a baseline window, the bench topic is switched to
//      cleanup.policy=compact (incremental alter; min.cleanable.dirty.ratio 0.5 and
//      delete.retention.ms left at Kafka's defaults on both), and the clock starts.
//   3. The pass's end is the broker's own log line (Kafka: "MB of log processed in ..."; Fjord:
//      "log cleaner: <topic>-0: ..."). MB/s cleaned = bytes the pass read / (end - alter).
// Broker cleaner settings aligned on both: log.cleaner.backoff.ms=100 (so the wait before the
// pass is at most 0.1 s of the time), log.cleaner.dedupe.buffer.size 128 MiB (both defaults, all
// keys fit: one pass), log.cleaner.io.max.bytes.per.second unbounded (both defaults), one thread.
// Kafka also prints its own figure (its timer starts when the pass starts); it is shown beside.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { startKafka } from '../kafka-dist.mjs';
import { MIB, buildFjord, log, sleep, startFjord } from './lib.mjs';

const { values: opt } = parseArgs({ options: {
  mib: { type: 'string', default: '256' }, keys: { type: 'string', default: '20000' }, size: { type: 'string', default: '1000' },
  'segment-mib': { type: 'string', default: '16' }, targets: { type: 'string', default: 'fjord,kafka' }, rate: { type: 'string', default: '500' },
  'baseline-s': { type: 'string', default: '5' },
} });
const totalBytes = Number(opt.mib) * MIB;
const keys = Number(opt.keys);
const size = Number(opt.size);
const segmentBytes = Number(opt['segment-mib']) * MIB;
const rate = Number(opt.rate);
const baselineMs = Number(opt['baseline-s']) * 1000;
const records = Math.ceil(totalBytes / size);
const TOPIC = 'compact-bench';
const PROBE = 'probe';

const fjord = await buildFjord('worktree');
const { Kafka } = await import(join(dirname(fjord.main), 'index.js'));

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function startTarget(id, dataDir) {
  if (id === 'kafka') {
    return startKafka({ heap: '1G', quiet: true, dataDir, props: {
      'log.cleaner.backoff.ms': 100, 'log.cleaner.dedupe.buffer.size': 128 * MIB, 'log.cleaner.threads': 1,
    } });
  }
  return startFjord({ main: fjord.main, dataDir, flush: 'os', extraArgs: [
    '--log-format', 'text', '--http-port', 'none', '--log-cleaner-backoff-ms', '100', '--log-cleaner-dedupe-buffer-size', String(128 * MIB),
  ] });
}

/** Parses the pass's end from the broker's output: { bytesRead, kafkaMBps? } or null. */
function passDone(id, lines) {
  if (id === 'kafka') {
    for (const l of lines) {
      const m = /([\d,.]+) MB of log processed in ([\d,.]+) seconds \(([\d,.]+) MB\/sec\)/.exec(l);
      if (m) return { bytesRead: Number(m[1].replace(/,/g, '')) * MIB, ownMBps: Number(m[3].replace(/,/g, '')) };
    }
    return null;
  }
  for (const l of lines) {
    const m = new RegExp(`log cleaner: ${TOPIC}-0: .*?, (\\d+) bytes →`).exec(l);
    if (m) return { bytesRead: Number(m[1]), ownMBps: null };
  }
  return null;
}

async function benchTarget(id) {
  const dataDir = mkdtempSync(join(tmpdir(), `compaction-bench-${id}-`));
  const broker = await startTarget(id, dataDir);
  const output = broker.output;
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: 0, retry: { initialRetryTime: 100, retries: 10 } });
  const admin = kafka.admin();
  const loader = kafka.producer();
  const probe = kafka.producer();
  try {
    await admin.connect();
    await admin.createTopics({ topics: [
      { topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'delete' }, { name: 'segment.bytes', value: String(segmentBytes) }, { name: 'retention.ms', value: '-1' }] },
      { topic: PROBE, numPartitions: 1 },
    ] });
    await loader.connect();
    await probe.connect();
    log(`${id}: loading ${records} records of ${size} B over ${keys} keys`);
    const value = Buffer.alloc(size, 'v');
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < records) {
        const from = next;
        next += 100;
        const messages = [];
        for (let i = from; i < Math.min(records, from + 100); i++) messages.push({ key: `k${i % keys}`, value });
        await loader.send({ topic: TOPIC, acks: 1, messages });
      }
    }));
    log(`${id}: loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await loader.disconnect();

    const lat = [];
    let phase = 'baseline';
    let stop = false;
    const probeLoop = (async () => {
      const gap = 1000 / rate;
      let due = performance.now();
      let n = 0;
      while (!stop) {
        const s = performance.now();
        await probe.send({ topic: PROBE, acks: 1, messages: [{ key: `p${n++}`, value }] });
        lat.push({ phase, ms: performance.now() - s });
        due += gap;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        else due = performance.now();
      }
    })();
    await sleep(baselineMs);
    const seen = output.length;
    phase = 'cleaning';
    const tAlter = performance.now();
    await admin.alterConfigs({ resources: [{ type: 2, name: TOPIC, configEntries: [
      { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: String(segmentBytes) }, { name: 'retention.ms', value: '-1' },
    ] }] });
    let done = null;
    while (!(done = passDone(id, output.slice(seen))) && performance.now() - tAlter < 600_000) await sleep(20);
    const seconds = (performance.now() - tAlter) / 1000;
    stop = true;
    await probeLoop;
    if (!done) throw new Error(`${id}: no cleaning pass within 10 minutes\n${output.slice(-20).join('\n')}`);
    const base = lat.filter((x) => x.phase === 'baseline').map((x) => x.ms);
    const during = lat.filter((x) => x.phase === 'cleaning').map((x) => x.ms);
    return {
      id, cleanedMiB: done.bytesRead / MIB, seconds, mbps: done.bytesRead / MIB / seconds, ownMBps: done.ownMBps,
      baseP50: pct(base, 50), baseP99: pct(base, 99), p50: pct(during, 50), p99: pct(during, 99), sends: during.length,
    };
  } finally {
    await probe.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = [];
for (const id of opt.targets.split(',')) results.push(await benchTarget(id));
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
console.log(`\nCompaction: ${opt.mib} MiB (${records} records of ${size} B, ${keys} keys), segment.bytes ${opt['segment-mib']} MiB, probe ${rate} sends/s (acks=1)`);
console.log('| broker | MiB read by the pass | alter → pass done (s) | MiB/s cleaned | broker\'s own MB/s | probe p50 / p99 before (ms) | probe p50 / p99 during (ms) | probe sends during |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.id === 'kafka' ? 'Apache Kafka 4.1' : `Fjord ${fjord.commit}${fjord.dirty ? '+' : ''}`} | ${f(r.cleanedMiB)} | ${f(r.seconds, 2)} | ${f(r.mbps)} | ${r.ownMBps === null ? '–' : f(r.ownMBps)} | ${f(r.baseP50, 2)} / ${f(r.baseP99, 2)} | ${f(r.p50, 2)} / ${f(r.p99, 2)} | ${r.sends} |`);
}
