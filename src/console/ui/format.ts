// How bytes are shown: text, pretty JSON or hex; sizes and times.
export type View = 'text' | 'json' | 'hex';

export function bytesOf(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

export function show(b64: string | null, view: View): string {
  if (b64 === null) return 'null';
  const bytes = bytesOf(b64);
  if (view === 'hex') {
    const lines: string[] = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = Array.from(bytes.subarray(i, i + 16), (x) => x.toString(16).padStart(2, '0')).join(' ');
      lines.push(`${i.toString(16).padStart(6, '0')}  ${row}`);
    }
    return lines.join('\n');
  }
  const text = decoder.decode(bytes);
  if (view === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}

export function size(n: number | null): string {
  if (n === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function when(ms: string | number): string {
  const n = Number(ms);
  if (!Number.isFinite(n) || n < 0) return String(ms);
  return new Date(n).toISOString().replace('T', ' ').replace('Z', '');
}

export const count = (n: number): string => n.toLocaleString('en-US');
