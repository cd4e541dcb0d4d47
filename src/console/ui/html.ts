// preact + htm: the page's components are tagged templates, no JSX step.
import { h, type ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { api, ApiError } from './api.js';
import type { Info } from './types.js';

export const html = htm.bind(h);

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** GETs `path` (again when it changes or reload() is called). */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: path !== null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    api<T>(path).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (err: unknown) => live && setState({ data: null, error: err instanceof ApiError ? err.message : String(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function ErrorBox({ error }: { error: string | null }) {
  return error ? html`<p class="error" role="alert" data-test="error">${error}</p>` : null;
}

export function Card({ title, children }: { title: string; children?: ComponentChildren }) {
  return html`<section class="card"><h2>${title}</h2>${children}</section>`;
}

/** What every page gets: the console's info (read-only mode, limits). */
export interface PageProps {
  info: Info;
}
