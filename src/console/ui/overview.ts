// Cluster overview: brokers, counts, and live throughput (log end offsets polled every 2 s).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { LineChart, type Series } from './chart.js';
import { count } from './format.js';
import { Card, ErrorBox, html, useApi, type PageProps } from './html.js';
import type { Overview as OverviewData, Throughput } from './types.js';

const POLL_MS = 2000;
const KEEP = 60;

/** Messages per second per topic, from successive samples of log end offsets. */
export function useThroughput(): { series: Series[]; error: string | null } {
  const last = useRef<Throughput | null>(null);
  const [rates, setRates] = useState<Map<string, number[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const sample = async () => {
      try {
        const now = await api<Throughput>('/throughput');
        if (!live) return;
        const prev = last.current;
        last.current = now;
        setError(null);
        if (!prev) return;
        const secs = Math.max(0.001, (now.time - prev.time) / 1000);
        setRates((old) => {
          const next = new Map<string, number[]>();
          let total = 0;
          for (const [topic, end] of Object.entries(now.endOffsets)) {
            const rate = Math.max(0, (end - (prev.endOffsets[topic] ?? end)) / secs);
            total += rate;
            next.set(topic, [...(old.get(topic) ?? []), rate].slice(-KEEP));
          }
          next.set('', [...(old.get('') ?? []), total].slice(-KEEP));
          return next;
        });
      } catch (err) {
        if (live) setError(err instanceof Error ? err.message : String(err));
      }
    };
    void sample();
    const timer = setInterval(() => void sample(), POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  const busiest = [...rates.entries()].filter(([t]) => t !== '').sort((a, b) => sum(b[1]) - sum(a[1])).slice(0, 4);
  const active = busiest.filter(([, p]) => sum(p) > 0).map(([name, points]) => ({ name, points }));
  // One busy topic is the total: its own line would only hide the total's.
  const series: Series[] = [{ name: 'all topics', points: rates.get('') ?? [] }, ...(active.length > 1 ? active : [])];
  return { series, error };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function Overview(_props: PageProps) {
  const o = useApi<OverviewData>('/overview');
  const t = useThroughput();
  const d = o.data;
  return html`<div class="page" data-test="page-overview">
    <h1>Cluster</h1>
    <${ErrorBox} error=${o.error} />
    ${d && html`<div class="stats">
      <div class="stat"><b data-test="stat-brokers">${d.brokers.length}</b><span>brokers</span></div>
      <div class="stat"><b data-test="stat-topics">${count(d.topics)}</b><span>topics</span></div>
      <div class="stat"><b data-test="stat-partitions">${count(d.partitions)}</b><span>partitions</span></div>
      <div class="stat"><b data-test="stat-groups">${count(d.groups)}</b><span>consumer groups</span></div>
    </div>
    <${Card} title="Brokers">
      <p class="muted">Cluster id <code data-test="cluster-id">${d.clusterId}</code></p>
      <table><thead><tr><th>node</th><th>host</th><th>port</th><th>role</th></tr></thead>
      <tbody>${d.brokers.map((b) => html`<tr><td>${b.nodeId}</td><td>${b.host}</td><td>${b.port}</td><td>${b.nodeId === d.controller ? 'controller' : ''}</td></tr>`)}</tbody></table>
    <//>`}
    <${Card} title="Throughput (messages/s)">
      <${ErrorBox} error=${t.error} />
      <${LineChart} series=${t.series} unit="messages/s" />
    <//>
  </div>`;
}
