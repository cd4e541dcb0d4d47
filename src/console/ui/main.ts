// The console's page: a hash router over the pages, the login form, the light/dark toggle.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, whenUnauthorized } from './api.js';
import { Group, Groups } from './groups.js';
import { ErrorBox, html } from './html.js';
import { Overview } from './overview.js';
import { Topic, Topics } from './topics.js';
import type { Info } from './types.js';

type Theme = 'light' | 'dark' | 'auto';

function applyTheme(theme: Theme): void {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Login({ onDone }: { onDone: (user: string) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ user: string }>('/login', { method: 'POST', body: { username, password } });
      onDone(r.user);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="login card" data-test="page-login">
    <h1>Log in</h1>
    <p class="muted">The cluster needs a SASL user: the same username and password Kafka clients use.</p>
    <form class="form" onSubmit=${submit}>
      <label>username <input name="username" autocomplete="username" required value=${username} onInput=${(e: Event) => setUsername((e.target as HTMLInputElement).value)} /></label>
      <label>password <input name="password" type="password" autocomplete="current-password" value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" data-test="login-submit" disabled=${busy}>Log in</button>
      <${ErrorBox} error=${error} />
    </form>
  </div>`;
}

function App() {
  const [info, setInfo] = useState<Info | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem('fjord-theme') as Theme | null) ?? 'auto');
  const hash = useHash();
  const load = () => api<Info>('/info').then(setInfo, (err: unknown) => setError(String(err)));
  useEffect(() => {
    whenUnauthorized(() => setInfo((i) => (i ? { ...i, user: null } : i)));
    void load();
  }, []);
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem('fjord-theme', theme);
  }, [theme]);
  const next: Record<Theme, Theme> = { auto: 'dark', dark: 'light', light: 'auto' };
  const logout = async () => {
    await api('/logout', { method: 'POST' }).catch(() => undefined);
    void load();
  };
  const parts = hash.replace(/^#\/?/, '').split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const needLogin = info !== null && info.loginRequired && info.user === null;
  let page = null;
  if (info && !needLogin) {
    if (parts[0] === 'topics' && parts[1]) page = html`<${Topic} key=${parts[1]} info=${info} name=${parts[1]} tab=${(['partitions', 'messages', 'produce', 'configs'].includes(parts[2]) ? parts[2] : 'partitions')} />`;
    else if (parts[0] === 'topics') page = html`<${Topics} info=${info} />`;
    else if (parts[0] === 'groups' && parts[1]) page = html`<${Group} key=${parts[1]} info=${info} id=${parts[1]} />`;
    else if (parts[0] === 'groups') page = html`<${Groups} info=${info} />`;
    else page = html`<${Overview} info=${info} />`;
  }
  const section = parts[0] || 'overview';
  return html`<header class="top">
      <a class="brand" href="#/">Fjord</a>
      ${!needLogin && html`<nav>
        <a class=${section === 'overview' ? 'active' : ''} href="#/">Overview</a>
        <a class=${section === 'topics' ? 'active' : ''} href="#/topics" data-test="nav-topics">Topics</a>
        <a class=${section === 'groups' ? 'active' : ''} href="#/groups" data-test="nav-groups">Consumer groups</a>
      </nav>`}
      <span class="spacer"></span>
      ${info?.readOnly && html`<span class="tag" data-test="read-only">read-only</span>`}
      ${info?.user && html`<span class="muted">${info.user}</span> <button class="small" onClick=${logout} data-test="logout">Log out</button>`}
      <button class="small" data-test="theme" title="light / dark / system" onClick=${() => setTheme(next[theme])}>${theme === 'auto' ? 'theme: system' : `theme: ${theme}`}</button>
    </header>
    <main>
      <${ErrorBox} error=${error} />
      ${needLogin ? html`<${Login} onDone=${() => void load()} />` : page}
    </main>
    <footer class="muted">Fjord console ${info?.version ?? ''}</footer>`;
}

render(html`<${App} />`, document.getElementById('app')!);
