// Topics: the list (create), one topic's partitions, message browser, produce form and configs.
import { useState } from 'preact/hooks';
import { api, ApiError, enc } from './api.js';
import { count, show, size, when, type View } from './format.js';
import { ErrorBox, html, useApi, type PageProps } from './html.js';
import type { Browse, TopicDetail, TopicRow } from './types.js';

const errorText = (err: unknown) => (err instanceof ApiError ? err.message : String(err));

export function Topics({ info }: PageProps) {
  const [internal, setInternal] = useState(false);
  const list = useApi<TopicRow[]>('/topics');
  const rows = (list.data ?? []).filter((t) => internal || !t.internal);
  return html`<div class="page" data-test="page-topics">
    <h1>Topics</h1>
    ${!info.readOnly && html`<${CreateTopic} onCreated=${list.reload} />`}
    <${ErrorBox} error=${list.error} />
    <label class="inline"><input type="checkbox" checked=${internal} onChange=${(e: Event) => setInternal((e.target as HTMLInputElement).checked)} /> show internal topics</label>
    <table data-test="topics-table">
      <thead><tr><th>name</th><th class="num">partitions</th><th class="num">messages</th><th class="num">size</th></tr></thead>
      <tbody>${rows.map((t) => html`<tr data-topic=${t.name}>
        <td><a href=${`#/topics/${enc(t.name)}`}>${t.name}</a>${t.internal ? html` <span class="tag">internal</span>` : null}</td>
        <td class="num">${t.partitions}</td><td class="num">${count(t.messages)}</td><td class="num">${size(t.sizeBytes)}</td></tr>`)}
      </tbody>
    </table>
    ${list.data && rows.length === 0 && html`<p class="muted">No topics yet.</p>`}
  </div>`;
}

/**
 * The `name=value` lines of a text box (blank lines skipped): the pairs, names trimmed (values too
 * when `trimValue`), or the error for the first line without a name before its `=`.
 */
function assignmentLines(text: string, rule: string, trimValue: boolean): { pairs: [string, string][] } | { error: string } {
  const pairs: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const at = line.indexOf('=');
    if (at <= 0) return { error: `${rule}, not "${line}"` };
    const value = line.slice(at + 1);
    pairs.push([line.slice(0, at).trim(), trimValue ? value.trim() : value]);
  }
  return { pairs };
}

function CreateTopic({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [configs, setConfigs] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const parsed = assignmentLines(configs, 'config lines are name=value', true);
    if ('error' in parsed) return setError(parsed.error);
    const cfg = Object.fromEntries(parsed.pairs);
    try {
      await api('/topics', { method: 'POST', body: { name, partitions: Number(partitions), configs: cfg } });
      setDone(`created ${name}`);
      setName('');
      onCreated();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<details class="card" data-test="create-topic"><summary>Create a topic</summary>
    <form onSubmit=${submit} class="form">
      <label>name <input name="name" required value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
      <label>partitions <input name="partitions" type="number" min="1" value=${partitions} onInput=${(e: Event) => setPartitions((e.target as HTMLInputElement).value)} /></label>
      <label>configs (name=value a line) <textarea name="configs" rows="2" value=${configs} onInput=${(e: Event) => setConfigs((e.target as HTMLTextAreaElement).value)}></textarea></label>
      <button type="submit" data-test="create-topic-submit">Create</button>
      <${ErrorBox} error=${error} />
      ${done && html`<p class="ok" data-test="ok">${done}</p>`}
    </form></details>`;
}

type Tab = 'partitions' | 'messages' | 'produce' | 'configs';

export function Topic({ info, name, tab }: PageProps & { name: string; tab: Tab }) {
  const t = useApi<TopicDetail>(`/topics/${enc(name)}`);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    if (!confirm(`Delete topic ${name} and all its messages?`)) return;
    try {
      await api(`/topics/${enc(name)}`, { method: 'DELETE' });
      location.hash = '#/topics';
    } catch (err) {
      setError(errorText(err));
    }
  };
  const tabs: Tab[] = info.readOnly ? ['partitions', 'messages', 'configs'] : ['partitions', 'messages', 'produce', 'configs'];
  return html`<div class="page" data-test="page-topic">
    <h1><a href="#/topics">Topics</a> / ${name}</h1>
    <${ErrorBox} error=${t.error ?? error} />
    ${!info.readOnly && t.data && !t.data.internal && html`<button class="danger right" data-test="delete-topic" onClick=${remove}>Delete topic</button>`}
    <nav class="tabs">${tabs.map((x) => html`<a class=${x === tab ? 'active' : ''} data-test=${`tab-${x}`} href=${`#/topics/${enc(name)}/${x}`}>${x}</a>`)}</nav>
    ${t.data && tab === 'partitions' && html`<${Partitions} topic=${t.data} />`}
    ${t.data && tab === 'messages' && html`<${Messages} topic=${t.data} info=${info} />`}
    ${t.data && tab === 'produce' && !info.readOnly && html`<${Produce} topic=${t.data} onDone=${t.reload} />`}
    ${t.data && tab === 'configs' && html`<${Configs} topic=${t.data} info=${info} onDone=${t.reload} />`}
  </div>`;
}

function Partitions({ topic }: { topic: TopicDetail }) {
  return html`<table data-test="partitions-table">
    <thead><tr><th class="num">partition</th><th class="num">leader</th><th>replicas</th><th>in sync</th><th class="num">start offset</th><th class="num">end offset</th><th class="num">messages</th><th class="num">size</th></tr></thead>
    <tbody>${topic.partitions.map((p) => html`<tr>
      <td class="num">${p.partition}</td><td class="num">${p.leader}</td><td>${p.replicas.join(', ')}</td><td>${p.isr.join(', ')}</td>
      <td class="num">${p.low}</td><td class="num">${p.high}</td><td class="num">${count(Number(p.high) - Number(p.low))}</td><td class="num">${size(p.sizeBytes)}</td></tr>`)}</tbody>
  </table>`;
}

function Messages({ topic, info }: { topic: TopicDetail; info: PageProps['info'] }) {
  const [partition, setPartition] = useState('0');
  const [from, setFrom] = useState<'newest' | 'offset' | 'timestamp'>('newest');
  const [at, setAt] = useState('');
  const [limit, setLimit] = useState(String(Math.min(50, info.maxRecords)));
  const [search, setSearch] = useState('');
  const [view, setView] = useState<View>('text');
  const [result, setResult] = useState<Browse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = async (e?: Event, continueAt?: number) => {
    e?.preventDefault();
    setError(null);
    setBusy(true);
    const q = new URLSearchParams({ from: continueAt === undefined ? from : 'offset', limit });
    if (continueAt !== undefined) {
      q.set('offset', String(continueAt));
      setFrom('offset');
      setAt(String(continueAt));
    } else if (from === 'offset') q.set('offset', at || '0');
    if (from === 'timestamp') q.set('timestamp', at);
    if (search !== '') q.set('search', search);
    try {
      setResult(await api<Browse>(`/topics/${enc(topic.name)}/partitions/${enc(partition)}/messages?${q}`));
    } catch (err) {
      setResult(null);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const stopped = result && ({ end: 'reached the end of the partition', limit: `showing the first ${result.records.length} matches`, 'scan-limit': `stopped after scanning ${count(result.scanned)} records (the scan limit, at most ${count(info.scanLimit)})`, deadline: 'stopped: the time limit ran out' })[result.stoppedBy];
  return html`<div data-test="messages">
    <form class="form row" onSubmit=${load}>
      <label>partition <select name="partition" value=${partition} onChange=${(e: Event) => setPartition((e.target as HTMLSelectElement).value)}>
        ${topic.partitions.map((p) => html`<option value=${String(p.partition)}>${p.partition}</option>`)}</select></label>
      <label>from <select name="from" value=${from} onChange=${(e: Event) => setFrom((e.target as HTMLSelectElement).value as 'newest')}>
        <option value="newest">newest</option><option value="offset">offset</option><option value="timestamp">timestamp</option></select></label>
      ${from !== 'newest' && html`<label>${from} <input name="at" value=${at} placeholder=${from === 'offset' ? '0' : '2024-05-01T12:00:00Z'} onInput=${(e: Event) => setAt((e.target as HTMLInputElement).value)} /></label>`}
      <label>max records <input name="limit" type="number" min="1" max=${info.maxRecords} value=${limit} onInput=${(e: Event) => setLimit((e.target as HTMLInputElement).value)} /></label>
      <label>search key/value <input name="search" value=${search} onInput=${(e: Event) => setSearch((e.target as HTMLInputElement).value)} /></label>
      <label>show as <select name="view" value=${view} onChange=${(e: Event) => setView((e.target as HTMLSelectElement).value as View)}>
        <option value="text">text</option><option value="json">JSON</option><option value="hex">hex</option></select></label>
      <button type="submit" data-test="load-messages" disabled=${busy}>${busy ? 'Loading…' : 'Load'}</button>
    </form>
    <p class="muted">A search reads at most ${count(info.scanLimit)} records; at most ${count(info.maxRecords)} are shown.</p>
    <${ErrorBox} error=${error} />
    ${result && html`<p class="muted" data-test="browse-status">Partition offsets ${result.low}–${result.high}; scanned ${count(result.scanned)}; ${stopped}.
        ${result.stoppedBy !== 'end' && result.nextOffset < result.high && html` <button class="small" data-test="continue" onClick=${() => void load(undefined, result.nextOffset)}>continue from offset ${result.nextOffset}</button>`}</p>
      <table class="messages" data-test="messages-table">
        <thead><tr><th class="num">offset</th><th>timestamp</th><th>key</th><th>value</th><th>headers</th></tr></thead>
        <tbody>${result.records.map((m) => html`<tr data-offset=${m.offset}>
          <td class="num">${m.offset}</td><td class="nowrap">${when(m.timestamp)}</td>
          <td><pre>${show(m.key, view)}</pre></td>
          <td><pre data-test="message-value">${show(m.value, view)}</pre>${m.truncated ? html`<span class="muted">(first 64 KiB of ${size(m.valueSize)})</span>` : null}</td>
          <td>${m.headers.map((h) => html`<div><code>${h.key}</code>: ${show(h.value, 'text')}</div>`)}</td></tr>`)}</tbody>
      </table>
      ${result.records.length === 0 && html`<p class="muted">No messages.</p>`}`}
  </div>`;
}

function Produce({ topic, onDone }: { topic: TopicDetail; onDone: () => void }) {
  const [partition, setPartition] = useState('');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [headers, setHeaders] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const parsed = assignmentLines(headers, 'header lines are key=value', false);
    if ('error' in parsed) return setError(parsed.error);
    const hs = parsed.pairs.map(([k, v]) => ({ key: k, value: v }));
    try {
      const r = await api<{ partition: number; offset: string }>(`/topics/${enc(topic.name)}/messages`, {
        method: 'POST', body: { ...(partition === '' ? {} : { partition: Number(partition) }), key: key === '' ? null : key, value, headers: hs },
      });
      setDone(`written to partition ${r.partition} at offset ${r.offset}`);
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<form class="form" onSubmit=${submit} data-test="produce">
    <label>partition <select name="partition" value=${partition} onChange=${(e: Event) => setPartition((e.target as HTMLSelectElement).value)}>
      <option value="">chosen by key</option>${topic.partitions.map((p) => html`<option value=${String(p.partition)}>${p.partition}</option>`)}</select></label>
    <label>key <input name="key" value=${key} placeholder="(none)" onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} /></label>
    <label>value <textarea name="value" rows="5" value=${value} onInput=${(e: Event) => setValue((e.target as HTMLTextAreaElement).value)}></textarea></label>
    <label>headers (key=value a line) <textarea name="headers" rows="2" value=${headers} onInput=${(e: Event) => setHeaders((e.target as HTMLTextAreaElement).value)}></textarea></label>
    <button type="submit" data-test="produce-submit">Produce</button>
    <${ErrorBox} error=${error} />
    ${done && html`<p class="ok" data-test="ok">${done}</p>`}
  </form>`;
}

const SOURCES: Record<number, string> = { 1: 'topic', 4: 'broker', 5: 'broker', 6: 'broker', 7: 'default', 8: 'broker' };

function Configs({ topic, info, onDone }: { topic: TopicDetail; info: PageProps['info']; onDone: () => void }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const change = async (body: { set?: Record<string, string>; delete?: string[] }) => {
    setError(null);
    try {
      await api(`/topics/${enc(topic.name)}/configs`, { method: 'POST', body });
      setName('');
      setValue('');
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<div data-test="configs">
    ${!info.readOnly && html`<form class="form row" onSubmit=${(e: Event) => { e.preventDefault(); void change({ set: { [name]: value } }); }}>
      <label>setting <input name="config-name" list="config-names" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
      <datalist id="config-names">${topic.configs.map((c) => html`<option value=${c.name} />`)}</datalist>
      <label>value <input name="config-value" value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" data-test="config-set">Set</button>
    </form>`}
    <${ErrorBox} error=${error} />
    <table data-test="configs-table"><thead><tr><th>setting</th><th>value</th><th>from</th><th></th></tr></thead>
    <tbody>${topic.configs.map((c) => html`<tr data-config=${c.name}>
      <td><code>${c.name}</code></td><td>${c.sensitive ? '(hidden)' : c.value ?? ''}</td><td>${SOURCES[c.source] ?? (c.isDefault ? 'default' : '')}</td>
      <td>${!info.readOnly && c.source === 1 && html`<button class="small" onClick=${() => void change({ delete: [c.name] })}>reset to default</button>`}</td></tr>`)}</tbody></table>
  </div>`;
}
