#!/usr/bin/env node
// CPU profiles of Fjord under the bench's produce and consume loads (`node --cpu-prof`), summarized
// into the functions with the most self time and the most inclusive time, mapped back to src/*.ts
// lines through the source maps.
//
//   node scripts/bench/profile.mjs [--quick] [--flush os|always]   profile, summarize, write
//                                   bench-results/profile-<ts>.json and the profile section of
//                                   docs/performance.md; raw .cpuprofile files stay in .cache/bench/profiles
//   node scripts/bench/profile.mjs summarize <file.cpuprofile> [--top 25]
//
// Open a .cpuprofile in Chrome DevTools (Performance tab) or speedscope for a flame graph.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CACHE, ROOT, buildFjord, buildGoTool, goTool, log, machineFacts, startFjord } from './lib.mjs';
import { renderFlameGraph } from './flamegraph.mjs';
import { updateDocsSection } from './render.mjs';

const maps = new Map();
function sourceMapFor(url) {
  if (maps.has(url)) return maps.get(url);
  let sm = null;
  try {
    const file = fileURLToPath(url);
    sm = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
  } catch { /* not ours, or no map */ }
  maps.set(url, sm);
  return sm;
}

/** "name (src/x.ts:line)" for a V8 call frame; line numbers are 0-based in the profile. */
function frameKey(cf) {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return name;
  if (cf.url.startsWith('node:')) return `${name} (${cf.url})`;
  const sm = cf.url.startsWith('file:') ? sourceMapFor(cf.url) : null;
  if (sm) {
    const e = sm.findEntry(cf.lineNumber, cf.columnNumber);
    if (e && e.originalSource) {
      const src = e.originalSource.startsWith('file:') ? fileURLToPath(e.originalSource) : e.originalSource;
      const rel = src.includes('/src/') ? 'src/' + src.split('/src/').pop() : src;
      return `${name} (${rel}:${e.originalLine + 1})`;
    }
  }
  const path = cf.url.startsWith('file:') ? fileURLToPath(cf.url) : cf.url;
  const short = path.includes('/node_modules/') ? 'node_modules/' + path.split('/node_modules/').pop() : relative(ROOT, path);
  return `${name} (${short}:${cf.lineNumber + 1})`;
}

/** Self and inclusive time per function of one .cpuprofile. */
export function summarize(file, top = 25) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const keys = new Map();
  const keyOf = (id) => {
    let k = keys.get(id);
    if (k === undefined) keys.set(id, (k = frameKey(byId.get(id).callFrame)));
    return k;
  };
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt);
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  let idleUs = 0;
  const self = new Map();
  const incl = new Map();
  const callers = new Map(); // self-time function -> (calling function -> us)
  for (const [id, us] of selfUs) {
    const key = keyOf(id);
    if (key === '(idle)') { idleUs += us; continue; }
    self.set(key, (self.get(key) ?? 0) + us);
    // the nearest caller that is a different function (skips recursion and anonymous wrappers' own frames)
    let up = parent.get(id);
    while (up !== undefined && keyOf(up) === key) up = parent.get(up);
    const ck = up === undefined ? '(none)' : keyOf(up);
    if (!callers.has(key)) callers.set(key, new Map());
    callers.get(key).set(ck, (callers.get(key).get(ck) ?? 0) + us);
    // inclusive: every distinct function on the stack once
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = keyOf(cur);
      if (k === '(root)' || seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  const busyUs = totalUs - idleUs;
  const list = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([fn, us]) => ({ fn, ms: Math.round(us / 1000), pctOfBusy: +((100 * us) / busyUs).toFixed(1) }));
  // by source file (self time)
  const files = new Map();
  for (const [k, us] of self) {
    const m = /\((src\/[^:]+|node_modules\/[^/]+(?:\/[^/:]+)?|node:[^)]+)/.exec(k);
    const f = m ? m[1].replace(/^(node_modules\/(?:@[^/]+\/)?[^/]+).*/, '$1') : k.startsWith('(') ? k : '(other)';
    files.set(f, (files.get(f) ?? 0) + us);
  }
  return {
    file: relative(ROOT, file),
    wallMs: Math.round(totalUs / 1000), busyMs: Math.round(busyUs / 1000), idlePct: +((100 * idleUs) / totalUs).toFixed(1),
    self: list(self).map((r) => {
      const c = [...callers.get(r.fn).entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
      const tot = [...callers.get(r.fn).values()].reduce((a, b) => a + b, 0);
      return { ...r, callers: c.map(([fn, us]) => `${fn} ${Math.round((100 * us) / tot)}%`) };
    }),
    inclusive: list(incl), byFile: list(files).slice(0, 15),
  };
}

function newestProfile(dir) {
  const f = readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).sort().pop();
  if (!f) throw new Error(`no .cpuprofile in ${dir}`);
  return join(dir, f);
}

async function profileRun(name, { main, flush, load, preload }) {
  const dir = join(CACHE, 'profiles', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dataDir = mkdtempSync(join(os.tmpdir(), 'fjord-prof-'));
  try {
    if (preload) {
      const b = await startFjord({ main, dataDir, flush });
      await preload(b.bootstrap);
      await b.stop();
    }
    const b = await startFjord({ main, dataDir, flush, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    const result = await load(b.bootstrap);
    await b.stop();
    const cpuprofile = newestProfile(dir);
    const s = summarize(cpuprofile);
    // A flame graph per load, committed beside this page (docs/flamegraphs/<name>.svg).
    const svgDir = join(ROOT, 'docs', 'flamegraphs');
    mkdirSync(svgDir, { recursive: true });
    const svg = join(svgDir, `${name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}.svg`);
    writeFileSync(svg, renderFlameGraph(JSON.parse(readFileSync(cpuprofile, 'utf8')), { nameOf: frameKey, title: `Fjord --flush ${flush}: ${name}` }));
    log(`${name}: ${JSON.stringify(result).slice(0, 200)}; busy ${s.busyMs} ms of ${s.wallMs} ms`);
    return { name, load: result, flameGraph: relative(ROOT, svg), ...s };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function renderProfiles(res, file) {
  const out = [`Profiles of ${res.startedAt} (Fjord ${res.fjord.commit}${res.fjord.uncommittedSrc ? ' + uncommitted src/' : ''}, \`--flush ${res.flush}\`), produced by:`, '', '```sh', res.command, '```', ''];
  out.push(`Results: \`${relative(ROOT, file)}\`; the .cpuprofile files are in \`.cache/bench/profiles/\` (open them in Chrome DevTools or speedscope). Shares are of the broker's busy (non-idle) samples.`, '');
  for (const p of res.profiles) {
    out.push(`**${p.name}** — ${p.describe}; ${p.flameGraph ? `flame graph: [${p.flameGraph.replace(/^docs\//, '')}](${p.flameGraph.replace(/^docs\//, '')}); ` : ''}${p.load.mibPerSec ? `load result: ${p.load.mibPerSec.toFixed(1)} MiB/s, ${Math.round(p.load.recordsPerSec ?? 0)} rec/s; ` : ''}broker busy ${p.busyMs} ms of ${p.wallMs} ms`, '');
    out.push('| self time | % busy | function | called from |', '|---:|---:|---|---|');
    for (const r of p.self.slice(0, 15)) out.push(`| ${r.ms} ms | ${r.pctOfBusy} | \`${r.fn}\` | ${r.callers.map((c) => `\`${c}\``).join('<br>')} |`);
    out.push('', '<details><summary>inclusive time, and self time by file</summary>', '');
    out.push('| inclusive | % busy | function |', '|---:|---:|---|');
    for (const r of p.inclusive.slice(0, 20)) out.push(`| ${r.ms} ms | ${r.pctOfBusy} | \`${r.fn}\` |`);
    out.push('', '| self time | % busy | file |', '|---:|---:|---|');
    for (const r of p.byFile) out.push(`| ${r.ms} ms | ${r.pctOfBusy} | \`${r.fn}\` |`);
    out.push('', '</details>', '');
  }
  return out.join('\n');
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === 'summarize') {
    const { values, positionals } = parseArgs({ args: argv.slice(1), allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
    for (const f of positionals) console.log(JSON.stringify(summarize(f, Number(values.top)), null, 2));
    return;
  }
  const { values: opt } = parseArgs({ args: argv, options: { quick: { type: 'boolean', default: false }, flush: { type: 'string', default: 'os' }, 'fjord-src': { type: 'string', default: 'worktree' } } });
  buildGoTool();
  const fjord = await buildFjord(opt['fjord-src']);
  const q = opt.quick;
  const n1k = q ? 100_000 : 1_000_000;
  const n100 = q ? 500_000 : 5_000_000;
  const nConsume = q ? 102_400 : 1_048_576;
  const create = (b, t, p) => goTool('create', ['-brokers', b, '-topic', t, '-partitions', String(p)]);
  const produce = (b, t, records, size, acks) => goTool('produce', ['-brokers', b, '-topic', t, '-records', String(records), '-size', String(size), '-acks', acks]);
  const res = {
    startedAt: new Date().toISOString(),
    command: `node scripts/bench/profile.mjs ${argv.join(' ')}`.trim(),
    flush: opt.flush,
    fjord: { commit: fjord.commit, uncommittedSrc: fjord.dirty },
    machine: machineFacts(os.tmpdir()),
    profiles: [],
  };
  const runs = [
    { name: 'startup', describe: 'spawn to first Metadata answer on an empty data dir, then stop', load: async () => ({}) },
    { name: 'produce 1 KiB acks=1 6p', describe: `franz-go, ${n1k} records of 1 KiB into 6 partitions`, load: async (b) => { await create(b, 't', 6); return produce(b, 't', n1k, 1024, '1'); } },
    { name: 'produce 100 B acks=all 1p', describe: `franz-go, ${n100} records of 100 B, acks=all, 1 partition`, load: async (b) => { await create(b, 't', 1); return produce(b, 't', n100, 100, 'all'); } },
    { name: 'consume 1 KiB from the start 1p', describe: `franz-go reads ${nConsume} records of 1 KiB written before the broker restarted (page cache warm)`,
      preload: async (b) => { await create(b, 't', 1); await produce(b, 't', nConsume, 1024, '1'); },
      load: (b) => goTool('consume', ['-brokers', b, '-topic', 't', '-records', String(nConsume)]) },
  ];
  for (const r of runs) {
    log(`profiling: ${r.name}`);
    const p = await profileRun(r.name, { main: fjord.main, flush: opt.flush, load: r.load, preload: r.preload });
    res.profiles.push({ describe: r.describe, ...p });
    for (const x of p.self.slice(0, 12)) log(`  ${String(x.pctOfBusy).padStart(5)}%  ${x.ms} ms  ${x.fn}  <- ${x.callers[0]}`);
  }
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `profile-${res.startedAt.replace(/[:.]/g, '-')}${q ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify(res, null, 2) + '\n');
  updateDocsSection('profile', renderProfiles(res, file));
  log(`wrote ${file} and the profile section of docs/performance.md`);
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err.stack ?? err.message);
    process.exitCode = 1;
  });
}
