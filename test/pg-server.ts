// A throw-away PostgreSQL server for tests: initdb in a temp folder (as the `postgres` user when the
// tests run as root, since PostgreSQL refuses to run as root), a free loopback port, unix sockets in
// the temp folder, fsync on, a password for the test user (so URLs carry one, as real ones do).
//
//   const pg = await startPgServer();        // null when no PostgreSQL binaries are installed
//   pg.url                                    // postgres://fjord:<password>@127.0.0.1:<port>/fjord
//   await pg.crash(); await pg.start();       // immediate shutdown (no checkpoint), then start again
//   await pg.stop();                          // stops the server and removes the folder
//
// Binaries are looked for in /usr/lib/postgresql/<newest>/bin, then on PATH (`initdb`, `pg_ctl`).
// Debian: `apt-get install postgresql` (what .ci/run does). `pgSkipReason()` says why a suite skips.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface PgServer {
  /** Connection URL with user, password, host, port and database. */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Starts the server again after crash() or a stop without removal. */
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: every backend killed, no checkpoint (crash recovery at the next start). */
  crash(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

function findBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const p = which.stdout.trim();
  if (which.status === 0 && p) {
    const dir = p.slice(0, p.lastIndexOf('/'));
    if (existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

const BIN = findBinDir();
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Why PostgreSQL tests cannot run here, or false when they can. */
export function pgSkipReason(): string | false {
  if (!BIN) return 'PostgreSQL binaries (initdb, pg_ctl) not found; install them (Debian: apt-get install postgresql) to run the PostgreSQL tests';
  if (asRoot && spawnSync('id', ['-u', 'postgres']).status !== 0) return 'running as root and there is no `postgres` user to run PostgreSQL as';
  return false;
}

/** Runs a PostgreSQL binary, as `postgres` when we are root. */
function run(bin: string, args: string[]): void {
  const file = join(BIN ?? '', bin);
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const live = new Set<PgServer>();
process.once('exit', () => {
  for (const s of live) {
    try { run('pg_ctl', ['stop', '-D', join(s.dir, 'data'), '-m', 'immediate', '-w']); } catch { /* already down */ }
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** Starts a fresh server; null (nothing started) when pgSkipReason() gives a reason. */
export async function startPgServer(): Promise<PgServer | null> {
  if (pgSkipReason()) return null;
  const dir = mkdtempSync(join(tmpdir(), 'fjord-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  writeFileSync(join(dir, 'pw'), password);
  if (asRoot) {
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    chownSync(join(dir, 'pw'), Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
  }
  chmodSync(dir, 0o700);
  run('initdb', ['-D', data, '-U', 'fjord', `--pwfile=${join(dir, 'pw')}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-instructions']);
  rmSync(join(dir, 'pw'));
  let port = 0;
  const server: PgServer = {
    get url() { return `postgres://fjord:${password}@127.0.0.1:${port}/fjord`; },
    get port() { return port; },
    dir,
    async start() {
      const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 -c shared_buffers=64MB`;
      run('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', opts]);
    },
    async crash() {
      run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
    },
    async stop() {
      live.delete(server);
      try { run('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w']); } catch { /* not running */ }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await server.start();
      break;
    } catch (err) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  live.add(server);
  // The database the URL names.
  run('createdb', ['-h', dir, '-p', String(port), '-U', 'fjord', 'fjord']);
  return server;
}
