#!/usr/bin/env node
// Renders a bench-results/*.json into markdown tables, and writes them into docs/performance.md
// between the `<!-- bench:begin -->` / `<!-- bench:end -->` markers (the rest of the file is prose
// written by people). Standalone: node scripts/bench/render.mjs bench-results/<file>.json
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const DOC = join(ROOT, 'docs', 'performance.md');

const fmt = (v, digits = 1) => {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(digits);
};
const ratio = (a, b) => (a == null || b == null || !b ? '–' : `${(a / b).toFixed(2)}×`);
const krec = (v) => (v == null ? '' : ` (${v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : (v / 1e3).toFixed(0) + 'k'} rec/s)`);

/** Every figure as { name, unit, better, values: {kafka, fjord, 'fjord-always', ...}, extra } */
export function figures(res, ids = ['kafka', 'fjord', 'fjord-always']) {
  const T = res.targets;
  const rows = [];
  const row = (name, unit, better, get, extra) => {
    const values = {};
    const notes = {};
    for (const id of ids) {
      if (!T[id]) continue;
      const v = get(T[id]);
      values[id] = v;
      if (extra) notes[id] = extra(T[id]);
    }
    if (Object.values(values).some((v) => v != null)) rows.push({ name, unit, better, values, notes });
  };
  row(`start to ready (median of ${res.params.starts})`, 'ms', 'lower', (t) => t.readyMedianMs);
  row('resident memory, idle', 'MiB', 'lower', (t) => t.idleRssMiB);
  row('resident memory, under load (max)', 'MiB', 'lower', (t) => t.loadRssMiB || null);
  const names = [];
  for (const t of Object.values(T)) for (const n of Object.keys(t.scenarios)) if (!names.includes(n)) names.push(n);
  const toolName = { java: (n) => (n.startsWith('consume') ? 'kafka-consumer-perf-test' : 'kafka-producer-perf-test'), go: () => 'franz-go' };
  const isTxn = (n) => n.startsWith('transactions');
  for (const n of names.filter((x) => !x.startsWith('end-to-end') && !isTxn(x))) {
    for (const tool of ['java', 'go']) {
      row(`${n} — ${toolName[tool](n)}`, 'MiB/s', 'higher', (t) => t.scenarios[n]?.[tool]?.mibPerSec, (t) => krec(t.scenarios[n]?.[tool]?.recordsPerSec));
    }
  }
  for (const n of names.filter((x) => x.startsWith('end-to-end'))) {
    for (const [k, label] of [['p50Ms', 'p50'], ['p99Ms', 'p99'], ['p999Ms', 'p99.9']]) {
      row(`${n} — ${label}`, 'ms', 'lower', (t) => t.scenarios[n]?.go?.latency?.[k]);
    }
  }
  for (const n of names.filter(isTxn)) {
    row(`${n} — franz-go`, 'commits/s', 'higher', (t) => t.scenarios[n]?.go?.commitsPerSec);
    if (!n.startsWith('transactions of 1 record')) {
      row(`${n} — franz-go`, 'MiB/s', 'higher', (t) => t.scenarios[n]?.go?.mibPerSec, (t) => krec(t.scenarios[n]?.go?.recordsPerSec));
    }
    row(`${n} — flush + commit p99`, 'ms', 'lower', (t) => t.scenarios[n]?.go?.commitLatency?.p99Ms);
  }
  return rows;
}

export function renderTable(res) {
  const has = (id) => !!res.targets[id];
  const head = ['figure', 'unit'];
  if (has('kafka')) head.push(`Kafka ${res.kafka?.version ?? ''}`.trim());
  if (has('fjord')) head.push('Fjord `--flush os`');
  if (has('kafka') && has('fjord')) head.push('Fjord/Kafka');
  if (has('fjord-always')) head.push('Fjord `--flush always`');
  if (has('kafka') && has('fjord-always')) head.push('always/Kafka');
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of figures(res)) {
    const v = r.values;
    const cell = (id) => (v[id] == null ? '–' : `${fmt(v[id], r.unit === 'ms' ? (v[id] < 10 ? 2 : 1) : 1)}${r.notes[id] ?? ''}`);
    const c = [r.name, `${r.unit} (${r.better} is better)`];
    if (has('kafka')) c.push(cell('kafka'));
    if (has('fjord')) c.push(cell('fjord'));
    if (has('kafka') && has('fjord')) c.push(ratio(v.fjord, v.kafka));
    if (has('fjord-always')) c.push(cell('fjord-always'));
    if (has('kafka') && has('fjord-always')) c.push(ratio(v['fjord-always'], v.kafka));
    lines.push(`| ${c.join(' | ')} |`);
  }
  return lines.join('\n');
}

const TLS_IDS = ['kafka', 'kafka-tls', 'fjord', 'fjord-tls'];

/** The TLS run's table: each broker plain and over TLS, what TLS costs each, and Fjord next to Kafka over TLS. */
export function renderTlsTable(res) {
  const head = ['figure', 'unit', `Kafka ${res.kafka?.version ?? ''}`.trim(), 'Kafka TLS', 'TLS/plain', 'Fjord', 'Fjord TLS', 'TLS/plain', 'Fjord TLS / Kafka TLS'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  // Start-up does not depend on TLS (the TLS targets start once): throughput, latency and memory rows only.
  for (const r of figures(res, TLS_IDS).filter((x) => !x.name.startsWith('start to ready'))) {
    const v = r.values;
    const cell = (id) => (v[id] == null ? '–' : `${fmt(v[id], r.unit === 'ms' ? (v[id] < 10 ? 2 : 1) : 1)}${r.notes[id] ?? ''}`);
    lines.push(`| ${[r.name, `${r.unit} (${r.better} is better)`, cell('kafka'), cell('kafka-tls'), ratio(v['kafka-tls'], v.kafka),
      cell('fjord'), cell('fjord-tls'), ratio(v['fjord-tls'], v.fjord), ratio(v['fjord-tls'], v['kafka-tls'])].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The TLS section of docs/performance.md. */
export function renderTlsRun(res, file) {
  const m = res.machine;
  const out = [];
  out.push(`Run of ${res.startedAt} (${res.quick ? 'quick' : 'full'}, ${Math.round(res.durationSec / 60)} min), produced by:`);
  out.push('', '```sh', res.command, '```', '');
  out.push(`Results: \`${file ? relative(ROOT, file) : '(not saved)'}\`. Fjord ${res.fjord?.commit}${res.fjord?.uncommittedSrc ? ' (with uncommitted changes in src/ at the time)' : ''}; Apache Kafka ${res.kafka?.version} (KRaft single node, heap ${res.kafka?.heap}). `
    + `${m.nproc} cores (${m.cpu}), ${m.node}, ${m.java}; load average at start ${m.loadavgAtStart?.join(' / ')}, at end ${m.loadavgAtEnd?.join(' / ')}.`, '');
  out.push(renderTlsTable(res), '');
  out.push('Broker CPU per GiB (user+system CPU of the broker process / data moved):', '');
  out.push(renderCpuTable(res, TLS_IDS), '');
  if (res.notes?.length) out.push(...res.notes.map((n) => `- ${n}`), '');
  return out.join('\n');
}

/** Broker CPU seconds per GiB moved, franz-go rows: a figure other load disturbs less than throughput. */
export function renderCpuTable(res, all = ['kafka', 'fjord', 'fjord-always']) {
  const ids = all.filter((id) => res.targets[id]);
  const lines = [`| scenario (franz-go) | ${ids.map((id) => res.targets[id].label).join(' | ')} |`, `|---|${ids.map(() => '---:').join('|')}|`];
  const names = [];
  for (const id of ids) for (const n of Object.keys(res.targets[id].scenarios)) if (!names.includes(n) && !n.startsWith('end-to-end') && !n.startsWith('transactions')) names.push(n);
  for (const n of names) {
    const cells = ids.map((id) => {
      const s = res.targets[id].scenarios[n]?.go;
      if (!s) return '–';
      const gib = (s.mibPerSec * s.seconds) / 1024;
      return `${(s.brokerCpuSeconds / gib).toFixed(1)} s/GiB (${s.brokerCores} cores)`;
    });
    lines.push(`| ${n} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function renderRun(res, file) {
  const m = res.machine;
  const c = res.ceilings ?? {};
  const d = c.disk;
  const out = [];
  out.push(`Run of ${res.startedAt} (${res.quick ? 'quick' : 'full'}, ${Math.round(res.durationSec / 60)} min), produced by:`);
  out.push('', '```sh', res.command, '```', '');
  out.push(`Results: \`${file ? relative(ROOT, file) : '(not saved)'}\`. Fjord ${res.fjord?.commit}${res.fjord?.uncommittedSrc ? ' (with uncommitted changes in src/ at the time)' : ''}; Apache Kafka ${res.kafka?.version} from Maven Central (KRaft single node, heap ${res.kafka?.heap}).`, '');
  const busy = (m.loadavgAtStart?.[0] ?? 0) >= 1;
  out.push(busy
    ? '**Machine** (busy with other work at the start of the run — load average ≥ 1 — so the numbers are noisier than usual):'
    : '**Machine** (quiet at the start of the run: load average below 1; the bench itself is the load):', '');
  out.push(`- ${m.nproc} cores (${m.cpu}), ${m.memoryGiB} GiB memory, kernel ${m.kernel}`);
  out.push(`- disk: ${m.disk}`);
  out.push(`- ${m.node} · ${m.java} · ${m.go}`);
  out.push(`- load average at start ${m.loadavgAtStart?.join(' / ')}, at end ${m.loadavgAtEnd?.join(' / ')}`, '');
  if (c.loopbackTcp || d) {
    out.push('**Ceilings measured in the same run**', '', '| ceiling | value |', '|---|---:|');
    if (c.loopbackTcp) out.push(`| loopback TCP, one connection (Go) | ${fmt(c.loopbackTcp.mibPerSec)} MiB/s |`);
    if (d) {
      out.push(`| sequential write, 1 MiB writes, no fsync (page cache) | ${fmt(d.bufferedMibPerSec)} MiB/s |`);
      out.push(`| sequential write, 1 MiB writes, one fdatasync at the end | ${fmt(d.fdatasyncAtEndMibPerSec)} MiB/s |`);
      out.push(`| sequential write, fdatasync after every 64 KiB | ${fmt(d.sync64kMibPerSec)} MiB/s (${fmt(d.sync64kPerSec, 0)} fsync/s) |`);
      out.push(`| sequential write, fdatasync after every 4 KiB | ${fmt(d.sync4kMibPerSec, 2)} MiB/s (${fmt(d.sync4kPerSec, 0)} fsync/s) |`);
    }
    out.push('');
  }
  out.push('**Fjord and Kafka**', '');
  out.push(renderTable(res), '');
  out.push('Durability: ' + Object.values(res.targets).map((t) => `${t.label}: ${t.durability}`).join('; ') + '.', '');
  out.push('**Broker CPU per GiB** (user+system CPU of the broker process / data moved; less sensitive to other load on the machine than throughput)', '');
  out.push(renderCpuTable(res), '');
  if (res.notes?.length) out.push(...res.notes.map((n) => `- ${n}`), '');
  const warn = Object.values(res.targets).flatMap((t) => (t.brokerWarnings ?? []).map((w) => `${t.label}: ${w}`));
  if (warn.length) out.push('Broker warnings seen during the run:', '', '```', ...warn.slice(0, 10), '```', '');
  return out.join('\n');
}

const SKELETON = `# Performance

How fast Fjord is next to Apache Kafka on the same machine, measured by \`npm run bench\`
(\`scripts/bench/run.mjs\`, issue 6). Numbers are what the harness printed, not targets.

## Latest run

<!-- bench:begin -->
<!-- bench:end -->
`;

function replaceBetween(text, tag, body) {
  const begin = `<!-- ${tag}:begin -->`;
  const end = `<!-- ${tag}:end -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < 0) return `${text.trimEnd()}\n\n${begin}\n${body}\n${end}\n`;
  return `${text.slice(0, i + begin.length)}\n${body}\n${text.slice(j)}`;
}

export function updateDocs(res, file) {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : SKELETON;
  writeFileSync(DOC, replaceBetween(text, 'bench', renderRun(res, file)));
}

export function updateDocsSection(tag, body) {
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : SKELETON;
  writeFileSync(DOC, replaceBetween(text, tag, body));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = resolve(process.argv[2] ?? '');
  const res = JSON.parse(readFileSync(file, 'utf8'));
  if (process.argv.includes('--print')) process.stdout.write(renderRun(res, file) + '\n');
  else if (res.tls) { updateDocsSection('bench-tls', renderTlsRun(res, file)); console.error(`rendered ${file} into ${DOC} (TLS section)`); }
  else { updateDocs(res, file); console.error(`rendered ${file} into ${DOC}`); }
}
