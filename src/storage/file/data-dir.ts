// The data directory is Fjord's, and only Fjord's: how the file engine claims a folder.
//
//   - creating it: each missing folder is made one at a time (Node's recursive mkdir spins for ever
//     when a special file system such as /proc answers ENOENT), and a file in the way is an error;
//   - the lock: `fjord.lock`, held for the life of the process (see DirLock);
//   - the format marker: meta.json's `format` and `formatVersion` (see catalog.ts), checked before
//     anything is written; a non-empty folder without one is not Fjord's and is refused.
//
// Every failure here is a DataDirError: one line saying what is wrong and how to fix it, which
// `fjord server` prints as is (no stack trace).
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { isNotFound, unlinkQuiet } from './io.js';

/** The data directory cannot be used as it is; the message names the problem and the fix. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

export const LOCK_FILE = 'fjord.lock';
const SPECIAL_FILE_SYSTEMS = ['/proc', '/sys', '/dev'];
const CHOOSE = 'choose another folder with --data-dir';

/** A file-system error met while claiming `dir`, as one line with the fix. */
export function dataDirError(dir: string, err: unknown): Error {
  if (err instanceof DataDirError) return err;
  const e = err as NodeJS.ErrnoException;
  const path = e?.path ?? dir;
  switch (e?.code) {
    case 'EACCES':
    case 'EPERM':
      return new DataDirError(`no permission to write in ${dir} (${e.code}): let the user running Fjord write there (chown/chmod), or ${CHOOSE}`);
    case 'EROFS':
      return new DataDirError(`${dir} is on a read-only file system: ${CHOOSE}`);
    case 'ENOTDIR':
      return new DataDirError(`a part of ${path} is a file, not a folder: move the file away, or ${CHOOSE}`);
    case 'ENOSPC':
      return new DataDirError(`no space left on the device holding ${dir}: free some space, or ${CHOOSE}`);
    case 'ELOOP':
    case 'ENAMETOOLONG':
    case 'EINVAL':
      return new DataDirError(`cannot use ${path} as the data dir (${e.code}): ${CHOOSE}`);
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

/** Makes `dir` and its missing parents one level at a time; a file in the way is refused. */
export async function ensureDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  const special = SPECIAL_FILE_SYSTEMS.find((s) => abs === s || abs.startsWith(s + sep));
  if (special) throw new DataDirError(`${abs} is under ${special}, a special file system that cannot hold data: ${CHOOSE}`);
  const missing: string[] = [];
  for (let cur = abs; ; ) {
    try {
      const st = await stat(cur);
      if (!st.isDirectory()) {
        throw new DataDirError(cur === abs ? `${abs} is a file, not a folder: ${CHOOSE}` : `${cur} is a file, not a folder, so ${abs} cannot be made: ${CHOOSE}`);
      }
      break;
    } catch (err) {
      // ENOTDIR: a file further up; walk on up to name it.
      if (!isNotFound(err) && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw dataDirError(abs, err);
      missing.unshift(cur);
      const parent = dirname(cur);
      if (parent === cur) throw new DataDirError(`cannot make ${abs}: no part of the path exists`);
      cur = parent;
    }
  }
  for (const d of missing) {
    try {
      await mkdir(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(d)).isDirectory()) continue; // made meanwhile
      // ENOENT for a folder whose parent exists: a file system that holds no folders of ours.
      if (code === 'ENOENT') throw new DataDirError(`cannot make ${d}: its file system does not allow it (ENOENT): ${CHOOSE}`);
      if (code === 'EACCES' || code === 'EPERM') {
        throw new DataDirError(`no permission to make ${d} in ${dirname(d)} (${code}): create it for the user running Fjord, or ${CHOOSE}`);
      }
      throw dataDirError(d, err);
    }
  }
}

interface LockOwner {
  pid: number;
  host: string;
  /** When the owner started (ISO time), for people reading the file. */
  startedAt: string;
  /** Linux: the owner's start time in clock ticks since boot (/proc/<pid>/stat), to notice a reused pid. */
  procStart: string | null;
  /** Tells this process's lock apart from another lock by the same pid. */
  token: string;
}

function parseOwner(text: string): LockOwner | null {
  try {
    const x: unknown = JSON.parse(text);
    if (!x || typeof x !== 'object') return null;
    const o = x as Record<string, unknown>;
    if (!Number.isSafeInteger(o.pid) || typeof o.host !== 'string' || typeof o.token !== 'string') return null;
    return {
      pid: o.pid as number,
      host: o.host,
      startedAt: typeof o.startedAt === 'string' ? o.startedAt : '?',
      procStart: typeof o.procStart === 'string' ? o.procStart : null,
      token: o.token,
    };
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces); null off Linux. */
function procStartOf(pid: number | 'self'): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(owner: LockOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: a process we may not signal exists.
  }
  if (owner.procStart === null) return true;
  const now = procStartOf(owner.pid);
  return now === null || now === owner.procStart; // another start time: the pid was reused
}

/**
 * Puts the finished owner record at `path` unless something is there (EEXIST). A file system
 * without hard links (EPERM/ENOTSUP from link) gets an exclusive create instead: still exclusive,
 * but a crash between create and write can leave an empty lock, which is then refused with the fix.
 */
async function linkOrCreate(tmp: string, path: string, me: LockOwner): Promise<void> {
  try {
    await link(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    const fh = await open(path, 'wx');
    try {
      await fh.writeFile(JSON.stringify(me, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

/** Locks this process holds, released by the exit hook if the process ends without closing. */
const held = new Map<string, string>(); // lock path -> token
let exitHookInstalled = false;
function releaseAllSync(): void {
  for (const [path, token] of held) {
    try {
      if (parseOwner(readFileSync(path, 'utf8'))?.token === token) unlinkSync(path);
    } catch {
      // gone already, or unreadable: nothing of ours to remove
    }
  }
  held.clear();
}

/**
 * An advisory lock on a data dir: the file `fjord.lock` holding the owner's pid, host, start time
 * and a random token. Node has no flock, so:
 *
 * - Taking it is atomic: the owner record is written (and fsynced) to a temp file, then hard-linked
 *   to `fjord.lock`; link fails if the name exists, so of two brokers starting together one wins
 *   and the file is never seen half-written.
 * - A lock whose process is alive (same host) is refused with a message naming that process. The
 *   pid's start time (Linux) tells a reused pid from the owner, so a stale lock is not honoured
 *   after a reboot either.
 * - A lock whose process is dead (a kill -9, a crash, a power cut) is taken over: re-read, removed
 *   only if unchanged, then taken as above. Two brokers taking over the same stale lock within
 *   that microsecond window could both remove and relink; on one machine that needs two starts
 *   racing on a crashed broker's folder at the same instant, and the loser then fails its own
 *   link (EEXIST) unless it removed the winner's lock in between — an accepted, documented gap.
 * - A lock from another host (a shared network folder) cannot be checked and is refused; the
 *   message says to delete the file if that broker is gone.
 *
 * Released by close and, if the process ends without closing, by an exit hook.
 */
export class DirLock {
  private token: string | null = null;
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, LOCK_FILE);
  }

  /** Takes the lock; returns who held it before if that owner was gone (for a log line), else null. */
  async acquire(): Promise<string | null> {
    const me: LockOwner = {
      pid: process.pid,
      host: hostname(),
      startedAt: new Date(Date.now() - process.uptime() * 1000).toISOString(),
      procStart: procStartOf('self'),
      token: randomBytes(12).toString('hex'),
    };
    const tmp = `${this.path}.${process.pid}.${me.token}.tmp`;
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(JSON.stringify(me, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    let tookOver: string | null = null;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await linkOrCreate(tmp, this.path, me);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
        }
        tookOver = (await this.removeIfStale(me)) ?? tookOver;
      }
    } finally {
      await unlinkQuiet(tmp);
    }
    this.token = me.token;
    held.set(this.path, me.token);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', releaseAllSync);
    }
    return tookOver;
  }

  /** Throws naming the owner if the lock is alive; removes it if its owner is gone (and says whose it was). */
  private async removeIfStale(me: LockOwner): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (isNotFound(err)) return null; // released meanwhile
      throw err;
    }
    const owner = parseOwner(text);
    if (!owner) {
      throw new DataDirError(`${this.dir} has a lock file Fjord cannot read (${this.path}): if no Fjord is using this folder, delete that file`);
    }
    const who = `pid ${owner.pid} on ${owner.host}, started ${owner.startedAt}`;
    if (owner.host !== me.host) {
      throw new DataDirError(`${this.dir} is in use by Fjord ${who} (another host): stop that broker, or delete ${this.path} if it is gone`);
    }
    if (isAlive(owner)) {
      const self = owner.pid === process.pid ? ' (this process: the folder is already open here)' : '';
      throw new DataDirError(`${this.dir} is in use by Fjord ${who}${self}: stop that broker first, or ${CHOOSE}`);
    }
    // The owner is gone. Remove its lock only if it is still that lock.
    const again = await readFile(this.path, 'utf8').catch(() => null);
    if (again !== text) return null;
    await unlinkQuiet(this.path);
    return who;
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    const token = this.token;
    if (token === null) return;
    this.token = null;
    held.delete(this.path);
    try {
      if (parseOwner(await readFile(this.path, 'utf8'))?.token === token) await unlink(this.path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

const LOCK_TMP_RE = /^fjord\.lock\.(\d+)\.[0-9a-f]+\.tmp$/;
/** Temp files of our atomic writes in the data dir's top level: `meta.json.<pid>.<n>.tmp`, `topics.json...`. */
const META_TMP_RE = /^(?:meta|topics)\.json\.\d+\.\d+\.tmp$/;

/** Names in a data dir that Fjord writes around its marker: the lock, and temp files of its own. */
export function isOwnScratch(name: string): boolean {
  return name === LOCK_FILE || LOCK_TMP_RE.test(name) || META_TMP_RE.test(name);
}

/** Our temp files that no running process is writing (call while holding the lock). */
export function isLeftoverScratch(name: string): boolean {
  if (META_TMP_RE.test(name)) return true;
  const m = LOCK_TMP_RE.exec(name);
  if (!m) return false;
  try {
    process.kill(Number(m[1]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
