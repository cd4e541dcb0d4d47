// A small hand-drawn SVG line chart: one or more series over the same x (time) axis.
import { html } from './html.js';

export interface Series {
  name: string;
  points: number[];
}

/** Series colours are classes s0..s5 in style.css (no inline styles: the page's CSP forbids them). */
const COLOURS = 6;

export function LineChart({ series, width = 640, height = 160, unit }: { series: Series[]; width?: number; height?: number; unit: string }) {
  const n = Math.max(2, ...series.map((s) => s.points.length));
  const max = Math.max(1, ...series.flatMap((s) => s.points));
  const pad = { l: 48, r: 8, t: 8, b: 18 };
  const w = width - pad.l - pad.r;
  const hgt = height - pad.t - pad.b;
  const x = (i: number) => pad.l + (w * i) / (n - 1);
  const y = (v: number) => pad.t + hgt - (hgt * v) / max;
  const ticks = [0, max / 2, max];
  return html`<figure class="chart">
    <svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="throughput chart">
      ${ticks.map((t) => html`<g><line x1=${pad.l} x2=${width - pad.r} y1=${y(t)} y2=${y(t)} class="grid" /><text x=${pad.l - 6} y=${y(t) + 4} text-anchor="end" class="axis">${t >= 100 ? Math.round(t) : t.toFixed(1)}</text></g>`)}
      ${series.map((s, k) => {
        const offset = n - s.points.length;
        const d = s.points.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
        return html`<path d=${d} class=${`line s${k % COLOURS}`} />`;
      })}
      <text x=${pad.l} y=${height - 4} class="axis">${unit}, last ${n} samples</text>
    </svg>
    <figcaption>${series.map((s, k) => html`<span class="legend"><i class=${`swatch s${k % COLOURS}`}></i>${s.name}</span>`)}</figcaption>
  </figure>`;
}
