#!/usr/bin/env node
// What the HTTP listener's metrics cost produce throughput (issue 17: under 3%). Starts the bundled
// `fjord server` (--flush os) alternately with --http-port none (no metrics object at all) and
// --http-port 0 (every request counted and timed, scraped once a second as Prometheus would), and
// produces the same load into each with Fjord's own client from this process: small batches, so
// the per-request cost of metrics weighs as much as it can. Both sides get the same warm-up (a
// tenth of the load, unmeasured: JIT and heap settle) and, with metrics, one scrape before the
// measured load (a scraped broker has compiled its /metrics path long before; a first scrape costs
// milliseconds of loading and compiling, which in a 2-second load reads as a per-record cost).
// Rounds alternate off,on / on,off (ABBA) so neither side always runs second. Wall-clock
// throughput swings with whatever else the machine runs, so the broker's own CPU time per message
// is reported too (all its threads, in ns from /proc/<pid>/task/*/schedstat): it is what metrics
// add, and it moves much less with the neighbours. Each round's on/off ratio is kept, and the
// median of those paired ratios is the result (with the range of the middle half, as the noise).
//
//   node scripts/bench/metrics-overhead.mjs [--rounds 5] [--messages 200000] [--size 100] [--batch 100]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFjord, startFjord } from './lib.mjs';

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

/** CPU seconds of every thread of process `pid` (ns precision; clock ticks would be 10 ms). */
function cpuSeconds(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e9;
}

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
    const load = async (count) => {
      let left = Math.ceil(count / batch);
      await Promise.all(Array.from({ length: inflight }, async () => {
        while (left-- > 0) await producer.send({ topic: 'bench', acks: 1, messages });
      }));
    };
    await load(total / 10);
    if (metrics) await scrape(http);
    const cpuBefore = cpuSeconds(broker.pid);
    const started = performance.now();
    await load(total);
    const seconds = (performance.now() - started) / 1000;
    return { rate: total / seconds, cpuUsPerMsg: ((cpuSeconds(broker.pid) - cpuBefore) * 1e6) / total };
  } finally {
    if (scraper) clearInterval(scraper);
    await producer.disconnect();
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
/** The middle half of xs (first to third quartile), as "a–b". */
const iqr = (xs) => { const s = sorted(xs); return `${s[Math.floor((s.length - 1) / 4)].toFixed(3)}–${s[Math.ceil((3 * (s.length - 1)) / 4)].toFixed(3)}`; };
const off = [];
const on = [];
for (let r = 0; r < rounds; r++) {
  // ABBA: even rounds off first, odd rounds on first.
  if (r % 2 === 0) { off.push(await once(false)); on.push(await once(true)); } else { on.push(await once(true)); off.push(await once(false)); }
  console.log(`round ${r + 1}${r % 2 ? ' (on first)' : ''}: off ${Math.round(off[r].rate)} msg/s ${off[r].cpuUsPerMsg.toFixed(3)} µs CPU/msg; on ${Math.round(on[r].rate)} msg/s ${on[r].cpuUsPerMsg.toFixed(3)} µs CPU/msg`);
}
const rates = on.map((x, i) => x.rate / off[i].rate);
const cpus = on.map((x, i) => x.cpuUsPerMsg / off[i].cpuUsPerMsg);
console.log(`broker CPU per message: off ${median(off.map((x) => x.cpuUsPerMsg)).toFixed(3)} µs, on ${median(on.map((x) => x.cpuUsPerMsg)).toFixed(3)} µs (medians)`);
console.log(`paired on/off ratios, median (middle half): throughput ${median(rates).toFixed(3)} (${iqr(rates)}); broker CPU per message ${median(cpus).toFixed(3)} (${iqr(cpus)}) = ${((median(cpus) - 1) * 100).toFixed(1)}% more CPU with metrics`);
