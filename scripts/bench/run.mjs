#!/usr/bin/env node
// `npm run bench`: Fjord side by side with Apache Kafka on this machine (issue 6).
//
//   npm run bench                   the full run (1 GiB consume, ~0.5 GiB per produce scenario)
//   npm run bench -- --quick        small sizes, a few minutes; for development
//   npm run bench -- --tls          TLS: kafka, fjord, kafka-tls, fjord-tls in one run; its table goes to
//                                   the "TLS" section of docs/performance.md (not the latest-run one)
//   options: --targets fjord,kafka,fjord-always   which brokers (default all three; --tls: the four above)
//            --only <regex>          only scenarios whose name matches (startup/memory always run)
//            --fjord-src worktree|HEAD|<rev>     what Fjord to build (default: the files as they are)
//            --no-ceilings           skip the loopback/disk ceiling probes
//            --no-save               print the table, write neither bench-results/ nor docs/
//            --repeat N              runs of each franz-go produce/consume row; the median counts
//                                    (default 3, --quick 1)
//
// Brokers, one after the other, each on a fresh data dir on 127.0.0.1:
//   kafka         Apache Kafka (KRaft single node, its defaults: no fsync per write; -Xmx1G -Xms1G)
//   fjord         Fjord --flush os     (comparable durability: the OS writes back, like Kafka)
//   fjord-always  Fjord --flush always (acks=all answered after fsync; only the acks=all rows + e2e)
//   kafka-tls     Apache Kafka, the load over an SSL listener (PEM keystore; TLS 1.3)
//   fjord-tls     Fjord --flush os, the load over an SSL listener
// The TLS targets use a CA and a server certificate (EC P-256, for 127.0.0.1) made with openssl at
// the start of the run; franz-go and the Java tools trust that CA. They skip the transactions rows.
// Load: Kafka's own kafka-producer-perf-test / kafka-consumer-perf-test (JVM) and a franz-go
// program (scripts/bench/go) that costs less CPU on 2 cores. Output: a table on stdout,
// bench-results/<timestamp>.json, and the table rendered into docs/performance.md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureKafka, freePort, startKafka } from '../kafka-dist.mjs';
import {
  MIB, ROOT, buildFjord, buildGoTool, cpuSeconds, goTool, javaConsume, javaProduce, javaTlsProps, log, machineFacts, makeTlsMaterial, rssMiB,
  rssSampler, sleep, startFjord,
} from './lib.mjs';
import { renderTable, renderTlsRun, renderTlsTable, updateDocs, updateDocsSection } from './render.mjs';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    tls: { type: 'boolean', default: false },
    targets: { type: 'string' },
    only: { type: 'string' },
    'fjord-src': { type: 'string', default: 'worktree' },
    'no-ceilings': { type: 'boolean', default: false },
    'no-save': { type: 'boolean', default: false },
    repeat: { type: 'string' },
  },
});

const quick = opt.quick;
const targetIds = opt.targets ?? (opt.tls ? 'kafka,fjord,kafka-tls,fjord-tls' : 'fjord,kafka,fjord-always');
const P = quick
  ? { produce1k: 50_000, produce100: 300_000, consumeMiB: 100, e2eSeconds: 10, e2eWarmup: 2, e2eRate: 1000, starts: 2, tcpBytes: 1 << 30, diskBytes: 256 * MIB, syncSeconds: 2, txnCommits: 300, txn100: 30_000, txn10k: 300_000 }
  : { produce1k: 500_000, produce100: 2_000_000, consumeMiB: 1024, e2eSeconds: 30, e2eWarmup: 3, e2eRate: 1000, starts: 3, tcpBytes: 4 * 1024 * MIB, diskBytes: 1024 * MIB, syncSeconds: 3, txnCommits: 2000, txn100: 300_000, txn10k: 2_000_000 };
const KAFKA_HEAP = '1G';
const REPEAT = Math.max(1, Number(opt.repeat ?? (quick ? 1 : 3)));

/** Runs `once` REPEAT times and keeps the run with the median MiB/s, plus every run's figure. */
async function medianOf(once) {
  const runs = [];
  for (let i = 0; i < REPEAT; i++) runs.push(await once(i));
  const sorted = runs.slice().sort((a, b) => a.mibPerSec - b.mibPerSec);
  return {
    ...sorted[Math.floor((sorted.length - 1) / 2)],
    runsMibPerSec: runs.map((r) => +r.mibPerSec.toFixed(1)),
    brokerRssMaxMiB: Math.max(...runs.map((r) => r.brokerRssMaxMiB)),
  };
}

const PRODUCE = [];
for (const size of [1024, 100]) for (const acks of ['1', 'all']) for (const partitions of [1, 6]) {
  PRODUCE.push({ name: `produce ${size === 1024 ? '1 KiB' : '100 B'} acks=${acks} ${partitions}p`, size, acks, partitions,
    records: size === 1024 ? P.produce1k : P.produce100 });
}
const only = opt.only ? new RegExp(opt.only) : null;
const wanted = (name) => !only || only.test(name);

const started = Date.now();
const dataRoot = mkdtempSync(join(os.tmpdir(), 'fjord-bench-'));
const results = {
  startedAt: new Date(started).toISOString(),
  command: `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
  quick,
  tls: opt.tls,
  params: P,
  machine: machineFacts(dataRoot),
  notes: [
    `franz-go produce and consume rows: the median of ${REPEAT} run(s) (every run is in the JSON, runsMibPerSec); on this 2-core VM the same row still moves by 10–20% between runs, so read smaller differences as noise.`,
    'Brokers ran one after the other; each load generator ran on the same 2 cores as the broker.',
    'MiB/s counts record values only (1 KiB = 1024 B, 100 B records); consume reads back what the franz-go producer wrote, from the page cache.',
    'kafka-consumer-perf-test figures are its fetch.* columns (the group join is excluded).',
  ],
  ceilings: {},
  targets: {},
};

function targetsList() {
  const all = {
    kafka: { label: 'Apache Kafka', durability: 'Kafka defaults: no fsync per write (log.flush.* unset), page cache' },
    fjord: { label: 'Fjord --flush os', durability: 'no fsync per write, page cache (comparable to Kafka)', flush: 'os' },
    'fjord-always': { label: 'Fjord --flush always', durability: 'acks=all answered after fsync (group commit)', flush: 'always' },
    'kafka-tls': { label: 'Apache Kafka, SSL listener', durability: 'as Kafka', tls: true },
    'fjord-tls': { label: 'Fjord --flush os, SSL listener', durability: 'as Fjord --flush os', flush: 'os', tls: true },
  };
  return targetIds.split(',').map((t) => t.trim()).filter(Boolean).map((t) => {
    if (!all[t]) throw new Error(`unknown target ${t}`);
    return { id: t, ...all[t] };
  });
}

async function ceilings() {
  log('ceiling: loopback TCP');
  results.ceilings.loopbackTcp = await goTool('tcp', ['-bytes', String(P.tcpBytes)]);
  log(`  ${results.ceilings.loopbackTcp.mibPerSec.toFixed(0)} MiB/s`);
  log('ceiling: sequential disk writes');
  results.ceilings.disk = await goTool('disk', ['-dir', dataRoot, '-bytes', String(P.diskBytes), '-sync-seconds', String(P.syncSeconds)]);
  log(`  ${JSON.stringify(results.ceilings.disk)}`);
}

/** The CA and server certificate of the TLS targets, made once per run (outside dataRoot, which is emptied between targets). */
let tlsMaterial = null;
const tlsDir = mkdtempSync(join(os.tmpdir(), 'fjord-bench-tls-'));
function tls() {
  tlsMaterial ??= makeTlsMaterial(tlsDir);
  return tlsMaterial;
}

async function startTarget(t, dataDir, dist, fjord) {
  if (t.id === 'kafka') return startKafka({ dist, dataDir, heap: KAFKA_HEAP, quiet: true });
  if (t.id === 'kafka-tls') {
    // A PLAINTEXT listener stays for the readiness probe and between the broker and its controller.
    const [port, controllerPort, sslPort] = [await freePort(), await freePort(), await freePort()];
    const k = await startKafka({
      dist, dataDir, heap: KAFKA_HEAP, quiet: true, port, controllerPort,
      props: {
        listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},SSL://127.0.0.1:${sslPort}`,
        'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},SSL://127.0.0.1:${sslPort}`,
        'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL',
        'ssl.keystore.type': 'PEM', 'ssl.keystore.location': tls().keystoreFile,
      },
    });
    return { ...k, bootstrap: `127.0.0.1:${sslPort}` };
  }
  return startFjord({ main: fjord.main, dataDir, flush: t.flush, tls: t.tls ? { keystoreFile: tls().keystoreFile } : null });
}

/** Runs `fn` while sampling the broker's memory and CPU; returns fn's result plus those. */
async function underLoad(pid, fn) {
  const s = rssSampler(pid);
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const r = await fn();
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  return { ...r, brokerRssMaxMiB: +s.stop().toFixed(1), brokerCpuSeconds: +cpu.toFixed(2), brokerCores: +(cpu / wall).toFixed(2) };
}

async function benchTarget(t, dist, fjord) {
  const R = { label: t.label, durability: t.durability, scenarios: {} };
  results.targets[t.id] = R;
  const full = t.id !== 'fjord-always'; // the fsync variant only runs the rows where fsync matters
  const starts = full && !t.tls ? P.starts : 1; // TLS does not change how fast a broker starts
  // The load generators, over TLS for the TLS targets.
  const go = (mode, args) => goTool(mode, args, { tlsCa: t.tls ? tls().caFile : null });
  const javaClient = t.tls ? { clientProps: javaTlsProps(tls().caFile), configDir: tlsDir } : {};

  // Start-to-ready: spawn -> first Metadata answer listing a broker, on an empty data dir.
  const ready = [];
  let broker;
  for (let i = 0; i < starts; i++) {
    const dir = join(dataRoot, `${t.id}-${i}`);
    mkdirSync(dir, { recursive: true });
    broker = await startTarget(t, dir, dist, fjord);
    ready.push(+broker.readyMs.toFixed(1));
    log(`${t.label}: ready in ${broker.readyMs.toFixed(0)} ms (pid ${broker.pid})`);
    if (i < starts - 1) { await broker.stop(); rmSync(dir, { recursive: true, force: true }); }
  }
  R.readyMs = ready;
  R.readyMedianMs = ready.slice().sort((a, b) => a - b)[Math.floor(ready.length / 2)];
  await sleep(3000);
  R.idleRssMiB = +rssMiB(broker.pid).toFixed(1);
  log(`${t.label}: idle RSS ${R.idleRssMiB} MiB`);
  const bootstrap = broker.bootstrap;
  let loadRss = 0;
  let n = 0;
  const topic = (what) => `bench-${what}-${++n}`;

  try {
    for (const s of PRODUCE) {
      if (!wanted(s.name) || (!full && s.acks !== 'all')) continue;
      const sc = (R.scenarios[s.name] = {});
      for (const tool of ['java', 'go']) {
        const once = async () => {
          const tp = topic('p');
          await go('create', ['-brokers', bootstrap, '-topic', tp, '-partitions', String(s.partitions)]);
          return underLoad(broker.pid, () => tool === 'java'
            ? javaProduce({ bootstrap, topic: tp, records: s.records, size: s.size, acks: s.acks, dist, ...javaClient })
            : go('produce', ['-brokers', bootstrap, '-topic', tp, '-records', String(s.records), '-size', String(s.size), '-acks', s.acks]));
        };
        const r = tool === 'go' ? await medianOf(once) : await once();
        sc[tool] = r;
        loadRss = Math.max(loadRss, r.brokerRssMaxMiB);
        log(`${t.label}: ${s.name} [${tool}] ${r.mibPerSec.toFixed(1)} MiB/s, ${Math.round(r.recordsPerSec)} rec/s, broker ${r.brokerCores} cores, RSS ${r.brokerRssMaxMiB} MiB${r.runsMibPerSec ? ` (runs: ${r.runsMibPerSec.join(', ')})` : ''}`);
      }
    }

    const consumeName = `consume ${P.consumeMiB >= 1024 ? P.consumeMiB / 1024 + ' GiB' : P.consumeMiB + ' MiB'} from the start (1 KiB, 1p)`;
    if (full && wanted(consumeName)) {
      const tp = topic('c');
      const records = P.consumeMiB * 1024;
      await go('create', ['-brokers', bootstrap, '-topic', tp, '-partitions', '1']);
      log(`${t.label}: writing ${P.consumeMiB} MiB to consume`);
      await go('produce', ['-brokers', bootstrap, '-topic', tp, '-records', String(records), '-size', '1024', '-acks', '1']);
      const sc = (R.scenarios[consumeName] = {});
      for (const tool of ['java', 'go']) {
        const once = () => underLoad(broker.pid, () => tool === 'java'
          ? javaConsume({ bootstrap, topic: tp, records, dist, ...javaClient })
          : go('consume', ['-brokers', bootstrap, '-topic', tp, '-records', String(records)]));
        const r = tool === 'go' ? await medianOf(once) : await once();
        sc[tool] = r;
        loadRss = Math.max(loadRss, r.brokerRssMaxMiB);
        log(`${t.label}: ${consumeName} [${tool}] ${r.mibPerSec.toFixed(1)} MiB/s, broker ${r.brokerCores} cores, RSS ${r.brokerRssMaxMiB} MiB${r.runsMibPerSec ? ` (runs: ${r.runsMibPerSec.join(', ')})` : ''}`);
      }
    }

    const e2eName = `end-to-end latency, ${P.e2eRate} x 1 KiB/s, acks=all, 1p`;
    if (wanted(e2eName)) {
      const tp = topic('e');
      await go('create', ['-brokers', bootstrap, '-topic', tp, '-partitions', '1']);
      const r = await underLoad(broker.pid, () => go('e2e', ['-brokers', bootstrap, '-topic', tp, '-rate', String(P.e2eRate),
        '-seconds', String(P.e2eSeconds), '-warmup', String(P.e2eWarmup), '-size', '1024', '-acks', 'all']));
      R.scenarios[e2eName] = { go: r };
      log(`${t.label}: e2e p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms, p99.9 ${r.latency.p999Ms} ms (rate ${r.achievedRate.toFixed(0)}/s)`);
    }

    // Transactions (issue 12): one franz-go transactional producer, acks=all, begin → K records →
    // flush → commit, again and again. K = 1 measures the commit itself (AddPartitionsToTxn,
    // EndTxn, the markers); K = 100 and 10,000 the cost of transactions on throughput.
    for (const [perTxn, records] of [[1, P.txnCommits], [100, P.txn100], [10_000, P.txn10k]]) {
      const name = `transactions of ${perTxn === 1 ? '1 record' : `${perTxn.toLocaleString('en-US')} records`}, 100 B, acks=all, 1p`;
      if (!wanted(name) || t.tls) continue;
      const tp = topic('t');
      await go('create', ['-brokers', bootstrap, '-topic', tp, '-partitions', '1']);
      const r = await underLoad(broker.pid, () => go('txn', ['-brokers', bootstrap, '-topic', tp, '-records', String(records), '-per-txn', String(perTxn), '-size', '100']));
      R.scenarios[name] = { go: r };
      loadRss = Math.max(loadRss, r.brokerRssMaxMiB);
      log(`${t.label}: ${name}: ${r.commitsPerSec.toFixed(0)} commits/s, ${r.mibPerSec.toFixed(1)} MiB/s, commit p50 ${r.commitLatency.p50Ms} ms, p99 ${r.commitLatency.p99Ms} ms`);
    }
    R.loadRssMiB = loadRss;
  } finally {
    const t0 = performance.now();
    await broker.stop();
    R.stopMs = +(performance.now() - t0).toFixed(0);
    if (!t.id.startsWith('kafka')) {
      const warn = broker.output.filter((l) => /\b(WARN|ERROR)\b/i.test(l));
      if (warn.length) R.brokerWarnings = warn.slice(0, 20);
    }
    rmSync(join(dataRoot), { recursive: true, force: true });
    mkdirSync(dataRoot, { recursive: true });
  }
}

async function main() {
  buildGoTool();
  const dist = await ensureKafka();
  const fjord = await buildFjord(opt['fjord-src']);
  results.fjord = { commit: fjord.commit, uncommittedSrc: fjord.dirty, src: fjord.src };
  results.kafka = { version: dist.version, heap: KAFKA_HEAP };
  if (!opt['no-ceilings']) await ceilings();
  for (const t of targetsList()) {
    log(`=== ${t.label} (${t.durability})`);
    await benchTarget(t, dist, fjord);
  }
  results.machine.loadavgAtEnd = os.loadavg().map((x) => +x.toFixed(2));
  results.durationSec = Math.round((Date.now() - started) / 1000);
  const table = opt.tls ? renderTlsTable(results) : renderTable(results);
  process.stdout.write(`\n${table}\n`);
  if (!opt['no-save']) {
    const dir = join(ROOT, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${results.startedAt.replace(/[:.]/g, '-')}${opt.tls ? '-tls' : ''}${quick ? '-quick' : ''}.json`);
    writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
    if (opt.tls) updateDocsSection('bench-tls', renderTlsRun(results, file));
    else updateDocs(results, file);
    log(`wrote ${file} and docs/performance.md (${results.durationSec} s)`);
  }
}

main().catch((err) => {
  console.error(err.stack ?? err.message);
  process.exitCode = 1;
}).finally(() => {
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(tlsDir, { recursive: true, force: true });
});
