// The one place a storage engine is picked, from a URL-like setting (`--storage` / FJORD_STORAGE,
// or the older `--data-dir`):
//
//   memory  | memory:                in-memory engine (nothing survives the process)
//   file:<path> | file://<path>       file engine in <path> (file:///var/fjord is /var/fjord)
//   <path>                            file engine in <path> (anything without a scheme)
//   postgres://... | postgresql://... PostgreSQL engine (docs/cluster.md); `?schema=name` picks a
//                                     schema (created at open), other parameters go to the driver
//
// Messages never echo a URL's password.
//
// A scheme is two or more letters before a colon, so `C:\data` is still a path. A relative path
// whose first segment has a colon (`a:b`) must be written `./a:b` or `file:a:b`.
import { DataDirError, FileStorage } from './file/index.js';
import { MemoryStorage } from './memory.js';
import { PostgresStorage, parsePgUrl } from './postgres/index.js';
import type { Storage, StorageLogger, StorageOptions } from './types.js';

/** A data dir the file engine refuses at open (not Fjord's, locked, newer format, unwritable…): one line with the fix. */
export { DataDirError };

export type StorageSpec =
  | { engine: 'memory' }
  | { engine: 'file'; path: string }
  | { engine: 'postgres'; url: string; display: string };

const SUPPORTED = 'memory:, file:<path>, file://<path>, a plain path, or postgres://user:password@host:port/database';
const SCHEME_RE = /^([a-zA-Z][a-zA-Z0-9+.-]+):(.*)$/s;

/** Reads a storage setting; throws an Error naming the supported schemes for anything else. */
export function parseStorageSpec(spec: string): StorageSpec {
  if (spec === 'memory') return { engine: 'memory' };
  const m = SCHEME_RE.exec(spec);
  if (!m) {
    if (spec === '') throw new Error(`storage setting is empty; use ${SUPPORTED}`);
    return { engine: 'file', path: spec };
  }
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  if (scheme === 'memory') {
    if (rest !== '' && rest !== '//') throw new Error(`storage "${spec}": memory: takes no path`);
    return { engine: 'memory' };
  }
  if (scheme === 'file') {
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    if (path === '') throw new Error(`storage "${spec}": file: needs a path, e.g. file:./data`);
    return { engine: 'file', path };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!rest.startsWith('//')) throw new Error(`storage: a postgres URL starts ${scheme}://, e.g. ${scheme}://user:password@host:5432/database (the setting is not shown: it may hold a password)`);
    return { engine: 'postgres', url: spec, display: parsePgUrl(spec).display };
  }
  // Only the scheme is echoed: the rest of a URL may carry a password.
  throw new Error(`storage: unknown storage scheme "${scheme}:"; supported: ${SUPPORTED}`);
}

/**
 * The engine a setting names, not yet opened (`open()` loads or creates its data; the file engine
 * creates its folder then). Memory ignores `options` and `log`.
 */
export function createStorage(spec: string, options: StorageOptions, log?: StorageLogger): Storage {
  const parsed = parseStorageSpec(spec);
  switch (parsed.engine) {
    case 'memory':
      return new MemoryStorage();
    case 'file':
      return new FileStorage(parsed.path, options, log);
    case 'postgres':
      return new PostgresStorage(parsed.url, options, log);
  }
}
