#!/usr/bin/env node
// What the HTTP listener's metrics cost produce throughput (issue 17: under 3%). Starts the bundled
// `fjord server` (--flush os) alternately with --http-port none (no metrics object at all) and
// --http-port 0 (every request counted and timed, scraped once a second as Prometheus would), and
// produces the same load into each with Fjord's own client from this process: small batches, so
// the per-request cost of metrics weighs as much as it can. Rounds alternate to spread machine
// noise; the median of each side counts. Wall-clock throughput swings with whatever else the
// machine runs, so the broker's own CPU time per message (utime + stime of its process over the
// load) is reported too: it is what metrics add, and it moves much less with the neighbours.
//
//   node scripts/bench/metrics-overhead.mjs [--rounds 5] [--messages 200000] [--size 100] [--batch 100]
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFjord, cpuSeconds, startFjord } from './lib.mjs';

const { values: opt } = parseArgs({ options: {
  rounds: { type: 'string', default: '5' }, messages: { type: 'string', default: '200000' },
  size: { type: 'string', default: '100' }, batch: { type: 'string', default: '100' }, inflight: { type: 'string', default: '8' },
} });
const rounds = Number(opt.rounds);
const total = Number(opt.messages);
const batch = Number(opt.batch);
const inflight = Number(opt.inflight);
const value = Buffer.alloc(Number(opt.size), 'x');

const { main } = await buildFjord('worktree');
const { Kafka } = await import('../../dist/index.js');

function scrape(port) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', resolve);
    req.end();
  });
}

async function once(metrics) {
  const dataDir = mkdtempSync(join(tmpdir(), 'fjord-metrics-bench-'));
  const broker = await startFjord({ main, dataDir, flush: 'os', extraArgs: ['--http-port', metrics ? '0' : 'none', '--log-format', 'text'] });
  const http = metrics ? Number(/metrics at http:\/\/127\.0\.0\.1:(\d+)\//.exec(broker.output.join('\n'))?.[1]) : 0;
  const scraper = metrics ? setInterval(() => void scrape(http), 1000) : null;
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: 0 });
  const producer = kafka.producer();
  try {
    await producer.connect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: 4 }] });
    await admin.disconnect();
    const messages = Array.from({ length: batch }, () => ({ value }));
    let left = Math.ceil(total / batch);
    const cpuBefore = cpuSeconds(broker.pid);
    const started = performance.now();
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (left-- > 0) await producer.send({ topic: 'bench', acks: 1, messages });
    }));
    const seconds = (performance.now() - started) / 1000;
    return { rate: total / seconds, cpuUsPerMsg: ((cpuSeconds(broker.pid) - cpuBefore) * 1e6) / total };
  } finally {
    if (scraper) clearInterval(scraper);
    await producer.disconnect();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const off = [];
const on = [];
for (let r = 0; r < rounds; r++) {
  off.push(await once(false));
  on.push(await once(true));
  console.log(`round ${r + 1}: off ${Math.round(off[r].rate)} msg/s ${off[r].cpuUsPerMsg.toFixed(3)} µs CPU/msg; on ${Math.round(on[r].rate)} msg/s ${on[r].cpuUsPerMsg.toFixed(3)} µs CPU/msg`);
}
const rate = median(on.map((x) => x.rate)) / median(off.map((x) => x.rate));
const cpu = median(on.map((x) => x.cpuUsPerMsg)) / median(off.map((x) => x.cpuUsPerMsg));
console.log(`median throughput on/off = ${rate.toFixed(3)}; median broker CPU per message on/off = ${cpu.toFixed(3)} (${((cpu - 1) * 100).toFixed(1)}% more CPU with metrics)`);
