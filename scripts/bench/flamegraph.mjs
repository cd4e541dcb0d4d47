// Renders a V8 .cpuprofile as a self-contained SVG flame graph: one box per call path, as wide as
// the samples spent in it (and below it), callers at the bottom. Idle and program samples are left
// out so the width is the broker's busy time. Frames narrower than `minShare` of it are dropped.
//
//   node scripts/bench/flamegraph.mjs <file.cpuprofile> [out.svg] [--title "..."]
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SKIP = new Set(['(idle)', '(program)', '(root)']);
const ROW = 17;
const WIDTH = 1200;

const escapeXml = (s) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/** Call tree merged by name along each path, with sample time (µs) per node. */
function buildTree(profile, nameOf) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const root = { name: 'all', time: 0, kids: new Map() };
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const leaf = byId.get(id);
    if (!leaf || SKIP.has(leaf.callFrame.functionName)) return;
    const path = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n.callFrame.functionName !== '(root)') path.push(nameOf(n.callFrame));
    }
    let node = root;
    root.time += dt;
    for (let k = path.length - 1; k >= 0; k--) {
      let next = node.kids.get(path[k]);
      if (!next) node.kids.set(path[k], (next = { name: path[k], time: 0, kids: new Map() }));
      next.time += dt;
      node = next;
    }
  });
  return root;
}

function color(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const ours = name.includes('(src/');
  const hue = ours ? 20 + (h % 30) : name.includes('node:') ? 200 + (h % 30) : 45 + (h % 20);
  return `hsl(${hue},70%,${60 + (h % 15)}%)`;
}

export function renderFlameGraph(profile, { nameOf = (cf) => cf.functionName || '(anonymous)', title = 'CPU profile', minShare = 0.002 } = {}) {
  const root = buildTree(profile, nameOf);
  const total = root.time || 1;
  const boxes = [];
  let depth = 0;
  const walk = (node, x, d) => {
    const w = (node.time / total) * WIDTH;
    if (node.time / total < minShare) return;
    depth = Math.max(depth, d);
    boxes.push({ node, x, w, d });
    let at = x;
    for (const kid of [...node.kids.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      walk(kid, at, d + 1);
      at += (kid.time / total) * WIDTH;
    }
  };
  walk(root, 0, 0);
  const height = (depth + 1) * ROW + 40;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">`,
    `<text x="4" y="16" font-size="13">${escapeXml(title)} — ${(total / 1000).toFixed(0)} ms busy; hover for names</text>`];
  for (const b of boxes) {
    const y = height - (b.d + 1) * ROW - 4;
    const ms = (b.node.time / 1000).toFixed(1);
    const pct = ((100 * b.node.time) / total).toFixed(1);
    const label = b.w > 40 ? escapeXml(b.node.name.slice(0, Math.floor(b.w / 6.6))) : '';
    out.push(`<g><title>${escapeXml(b.node.name)} — ${ms} ms (${pct}%)</title><rect x="${b.x.toFixed(1)}" y="${y}" width="${Math.max(0.5, b.w - 0.5).toFixed(1)}" height="${ROW - 1}" fill="${color(b.node.name)}"/>` +
      (label ? `<text x="${(b.x + 3).toFixed(1)}" y="${y + 12}">${label}</text>` : '') + '</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { title: { type: 'string' } } });
  const [input, output] = positionals;
  if (!input) {
    console.error('usage: node scripts/bench/flamegraph.mjs <file.cpuprofile> [out.svg] [--title "..."]');
    process.exit(2);
  }
  const svg = renderFlameGraph(JSON.parse(readFileSync(input, 'utf8')), { title: values.title ?? input });
  if (output) writeFileSync(output, svg);
  else process.stdout.write(svg);
}
