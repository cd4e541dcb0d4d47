// Consumer groups: the list with total lag, one group's members, assignments, lag per partition, reset.
import { useState } from 'preact/hooks';
import { api, ApiError, enc } from './api.js';
import { count } from './format.js';
import { Card, ErrorBox, html, useApi, type PageProps } from './html.js';
import type { GroupDetail, GroupRow } from './types.js';

export function Groups(_props: PageProps) {
  const list = useApi<GroupRow[]>('/groups');
  return html`<div class="page" data-test="page-groups">
    <h1>Consumer groups</h1>
    <${ErrorBox} error=${list.error} />
    <table data-test="groups-table"><thead><tr><th>group</th><th>state</th><th>type</th><th class="num">members</th><th class="num">lag</th></tr></thead>
    <tbody>${(list.data ?? []).map((g) => html`<tr data-group=${g.groupId}>
      <td><a href=${`#/groups/${enc(g.groupId)}`}>${g.groupId}</a></td><td>${g.state}</td><td>${g.protocolType}</td>
      <td class="num">${g.members}</td><td class="num" data-test="group-lag">${g.lag === null ? '—' : count(g.lag)}</td></tr>`)}</tbody></table>
    ${list.data && list.data.length === 0 && html`<p class="muted">No consumer groups.</p>`}
  </div>`;
}

export function Group({ info, id }: PageProps & { id: string }) {
  const g = useApi<GroupDetail>(`/groups/${enc(id)}`);
  const d = g.data;
  const total = d ? d.offsets.reduce((s, o) => s + (o.lag ?? 0), 0) : 0;
  return html`<div class="page" data-test="page-group">
    <h1><a href="#/groups">Groups</a> / ${id}</h1>
    <${ErrorBox} error=${g.error} />
    ${d && html`<div class="stats">
      <div class="stat"><b data-test="group-state">${d.state}</b><span>state</span></div>
      <div class="stat"><b>${d.members.length}</b><span>members</span></div>
      <div class="stat"><b data-test="group-total-lag">${count(total)}</b><span>total lag</span></div>
    </div>
    <${Card} title="Members">
      ${d.members.length === 0 ? html`<p class="muted">No members.</p>` : html`<table><thead><tr><th>member</th><th>client</th><th>host</th><th>assigned</th></tr></thead>
      <tbody>${d.members.map((m) => html`<tr><td><code>${m.memberId}</code></td><td>${m.clientId}</td><td>${m.host}</td>
        <td>${m.assignments.map((a) => html`<div>${a.topic}: ${a.partitions.join(', ')}</div>`)}</td></tr>`)}</tbody></table>`}
    <//>
    <${Card} title="Offsets and lag">
      <table data-test="lag-table"><thead><tr><th>topic</th><th class="num">partition</th><th class="num">committed</th><th class="num">end</th><th class="num">lag</th></tr></thead>
      <tbody>${d.offsets.map((o) => html`<tr data-tp=${`${o.topic}/${o.partition}`}><td>${o.topic}</td><td class="num">${o.partition}</td><td class="num">${o.committed}</td><td class="num">${o.end}</td><td class="num" data-test="lag">${o.lag ?? '—'}</td></tr>`)}</tbody></table>
      ${d.offsets.length === 0 && html`<p class="muted">No committed offsets yet.</p>`}
    <//>
    ${!info.readOnly && html`<${Reset} group=${d} onDone=${g.reload} />`}`}
  </div>`;
}

function Reset({ group, onDone }: { group: GroupDetail; onDone: () => void }) {
  const topics = [...new Set([...group.offsets.map((o) => o.topic), ...group.members.flatMap((m) => m.assignments.map((a) => a.topic))])];
  const [topic, setTopic] = useState(topics[0] ?? '');
  const [to, setTo] = useState<'earliest' | 'latest' | 'offset' | 'timestamp'>('earliest');
  const [at, setAt] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const empty = group.state === 'Empty';
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    try {
      const body = { topic, to, ...(to === 'offset' ? { offset: Number(at) } : {}), ...(to === 'timestamp' ? { timestamp: at } : {}) };
      const r = await api<{ offsets: { partition: number; offset: number }[] }>(`/groups/${enc(group.groupId)}/reset`, { method: 'POST', body });
      setDone(`offsets now ${r.offsets.map((o) => `${o.partition}: ${o.offset}`).join(', ')}`);
      onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  return html`<${Card} title="Reset offsets">
    ${!empty && html`<p class="muted" data-test="reset-needs-empty">The group is ${group.state}: Kafka allows a reset only while a group has no members. Stop its consumers first.</p>`}
    <form class="form row" onSubmit=${submit} data-test="reset">
      <label>topic <input name="topic" list="group-topics" value=${topic} onInput=${(e: Event) => setTopic((e.target as HTMLInputElement).value)} /></label>
      <datalist id="group-topics">${topics.map((t) => html`<option value=${t} />`)}</datalist>
      <label>to <select name="to" value=${to} onChange=${(e: Event) => setTo((e.target as HTMLSelectElement).value as 'earliest')}>
        <option value="earliest">earliest</option><option value="latest">latest</option><option value="offset">offset</option><option value="timestamp">timestamp</option></select></label>
      ${(to === 'offset' || to === 'timestamp') && html`<label>${to} <input name="at" value=${at} onInput=${(e: Event) => setAt((e.target as HTMLInputElement).value)} /></label>`}
      <button type="submit" data-test="reset-submit" disabled=${!empty}>Reset</button>
    </form>
    <${ErrorBox} error=${error} />
    ${done && html`<p class="ok" data-test="ok">${done}</p>`}
  <//>`;
}
