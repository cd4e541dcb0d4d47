#!/usr/bin/env node
// Cluster mode on PostgreSQL in the bench (issue 14): throughput of 1 and 3 Fjord brokers sharing one
// PostgreSQL, next to Fjord on its file engine and Apache Kafka, with the CPU of every process that
// does the work counted — the brokers and PostgreSQL's own (the postmaster, its live backends and,
// through the postmaster's cutime/cstime, the backends that ended during the run).
//
//   node --import tsx scripts/bench/cluster.mjs [--quick] [--targets kafka,file,pg-1,pg-3] [--records N]
//
// Each target runs on this machine, one after the other, on a fresh data dir / database:
//   kafka   Apache Kafka 4.1 (KRaft single node, its defaults: no fsync per write; -Xmx1G)
//   file    Fjord, file engine, --flush always (acks=all answered after fsync)
//   pg-1    one Fjord broker on PostgreSQL (acks=all answered after a synchronous COMMIT)
//   pg-3    three Fjord brokers on the same PostgreSQL, partitions spread over them
// The PostgreSQL server is the tests' throw-away one (test/pg-server.ts: initdb in a temp folder,
// fsync on, shared_buffers 64 MB). Load: the franz-go tool (scripts/bench/go), one producer process
// (acks=all, 1 KiB records, linger 5 ms) then one consumer process, on a 6-partition topic. The
// load generator, the brokers and PostgreSQL share the machine's cores: on a 2-core machine three
// brokers cannot run faster than one in parallel, so the 1→3 figure says what the coordination
// costs here, not what three machines would give. Prints a table; writes bench-results/cluster-*.json.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureKafka, startKafka } from '../kafka-dist.mjs';
import { MIB, ROOT, buildFjord, buildGoTool, cpuSeconds, goTool, log, startFjord } from './lib.mjs';
import { startPgServer } from '../../test/pg-server.ts';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'kafka,file,pg-1,pg-3' },
    records: { type: 'string' },
  },
});
const RECORDS = Number(opt.records ?? (opt.quick ? 50_000 : 300_000));
const SIZE = 1024;
const PARTITIONS = 6;
const TICKS = 100; // USER_HZ

/** CPU seconds of PostgreSQL: the postmaster (with its reaped children) and its live children. */
function pgCpuSeconds(dataDir) {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let ticks = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let f;
    try { f = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1].split(' '); } catch { continue; }
    const pid = Number(e);
    const ppid = Number(f[1]);
    if (pid === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (ppid === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS;
}

async function startTarget(id, fjord, dist) {
  const dataDir = mkdtempSync(join(os.tmpdir(), `fjord-bench-cluster-${id}-`));
  if (id === 'kafka') {
    const k = await startKafka({ dist, dataDir, heap: '1G', quiet: true });
    return { bootstrap: k.bootstrap, pids: () => [k.pid], pg: null, stop: async () => { await k.stop(); rmSync(dataDir, { recursive: true, force: true }); } };
  }
  if (id === 'file') {
    const f = await startFjord({ main: fjord.main, dataDir, flush: 'always', extraArgs: ['--http-port', 'none'] });
    return { bootstrap: f.bootstrap, pids: () => [f.pid], pg: null, stop: async () => { await f.stop(); rmSync(dataDir, { recursive: true, force: true }); } };
  }
  const n = id === 'pg-3' ? 3 : 1;
  const pg = await startPgServer();
  if (!pg) throw new Error('PostgreSQL binaries not found (apt-get install postgresql)');
  const brokers = [];
  for (let i = 1; i <= n; i++) {
    brokers.push(await startFjord({ main: fjord.main, dataDir, flush: 'always', extraArgs: ['--http-port', 'none', '--storage', `${pg.url}?schema=bench`, '--node-id', String(i)] }));
  }
  return {
    bootstrap: brokers.map((b) => b.bootstrap).join(','),
    pids: () => brokers.map((b) => b.pid),
    pg,
    stop: async () => {
      for (const b of brokers) await b.stop();
      await pg.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` and returns its result with the CPU seconds the brokers and PostgreSQL spent meanwhile. */
async function measured(t, fn) {
  const brokerCpu = () => t.pids().reduce((s, pid) => s + (cpuSeconds(pid) ?? 0), 0);
  const pgCpu = () => (t.pg ? pgCpuSeconds(join(t.pg.dir, 'data')) : 0);
  const [b0, p0] = [brokerCpu(), pgCpu()];
  const r = await fn();
  return { ...r, brokerCpu: brokerCpu() - b0, pgCpu: pgCpu() - p0 };
}

async function main() {
  const targets = opt.targets.split(',').filter(Boolean);
  buildGoTool();
  const fjord = await buildFjord('worktree');
  const dist = targets.includes('kafka') ? await ensureKafka({ quiet: true }) : null;
  const rows = [];
  for (const id of targets) {
    log(`${id}: starting`);
    const t = await startTarget(id, fjord, dist);
    try {
      const topic = `bench-${id}`;
      await goTool('create', ['-brokers', t.bootstrap, '-topic', topic, '-partitions', String(PARTITIONS)]);
      // Every broker learns of the topic and its leaders within a poll (cluster mode).
      await new Promise((r) => setTimeout(r, 1500));
      log(`${id}: producing ${RECORDS} records of ${SIZE} B, acks=all`);
      const p = await measured(t, () => goTool('produce', ['-brokers', t.bootstrap, '-topic', topic, '-records', String(RECORDS), '-size', String(SIZE), '-acks', 'all']));
      if (p.failed > 0) throw new Error(`${id}: ${p.failed} records failed: ${p.firstError}`);
      log(`${id}: consuming`);
      const c = await measured(t, () => goTool('consume', ['-brokers', t.bootstrap, '-topic', topic, '-records', String(RECORDS + 1)]));
      const mib = (RECORDS * SIZE) / MIB;
      rows.push({
        target: id,
        produceMiBs: p.mibPerSec, produceP99ms: p.latency?.p99Ms ?? null,
        produceBrokerCpu: p.brokerCpu, producePgCpu: p.pgCpu, produceCpuPerMiB: (p.brokerCpu + p.pgCpu) / mib,
        consumeMiBs: c.mibPerSec, consumeBrokerCpu: c.brokerCpu, consumePgCpu: c.pgCpu,
      });
    } finally {
      await t.stop();
    }
  }
  const f = (x, d = 1) => (x === null || x === undefined ? '–' : x.toFixed(d));
  const lines = [
    '| target | produce MiB/s (acks=all) | produce p99 ms | CPU s: brokers + PostgreSQL (produce) | CPU s per MiB produced | consume MiB/s | CPU s: brokers + PostgreSQL (consume) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.target} | ${f(r.produceMiBs)} | ${f(r.produceP99ms)} | ${f(r.produceBrokerCpu)} + ${f(r.producePgCpu)} | ${f(r.produceCpuPerMiB, 3)} | ${f(r.consumeMiBs)} | ${f(r.consumeBrokerCpu)} + ${f(r.consumePgCpu)} |`),
  ];
  const pg1 = rows.find((r) => r.target === 'pg-1');
  const pg3 = rows.find((r) => r.target === 'pg-3');
  if (pg1 && pg3) lines.push('', `1 → 3 brokers on PostgreSQL: produce ×${(pg3.produceMiBs / pg1.produceMiBs).toFixed(2)}, consume ×${(pg3.consumeMiBs / pg1.consumeMiBs).toFixed(2)} (${os.cpus().length} cores shared by the load generator, the brokers and PostgreSQL)`);
  const table = lines.join('\n');
  process.stdout.write(`\n${RECORDS} records of ${SIZE} B, ${PARTITIONS} partitions, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), Fjord ${fjord.commit}${fjord.dirty ? '+' : ''}\n\n${table}\n`);
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  const file = join(ROOT, 'bench-results', `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ records: RECORDS, size: SIZE, partitions: PARTITIONS, cores: os.cpus().length, fjord: fjord.commit, rows }, null, 2));
  log(`wrote ${file}`);
}

await main();
