// Runs the `fjord` command line as a child process, asynchronously (a broker in the test process
// must keep running while the child talks to it).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { withBroker } from '../helpers.js';
import type { RunningBroker } from '../../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function fjord(args: string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fjord ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60000} ms\nstderr: ${Buffer.concat(err).toString()}`));
    }, options.timeoutMs ?? 60000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/**
 * One broker shared by every test of a CLI test file: started before the first test, stopped after
 * the last. `flags` is `--bootstrap-server <address>`, filled in when the broker is up, to spread
 * into `fjord` argument lists. A file's other top-level before() hooks may start before this one
 * has finished (node:test runs top-level hooks as they are registered): they await `ready`.
 */
export interface FileBroker {
  readonly broker: RunningBroker;
  readonly ready: Promise<RunningBroker>;
  readonly flags: string[];
}

export function brokerForFile(): FileBroker {
  let running: RunningBroker | undefined;
  const ready = withBrokerWhenAsked();
  const flags: string[] = [];
  before(async () => {
    running = await ready.start();
    flags.push('--bootstrap-server', running.address);
  });
  after(async () => { await running?.stop(); });
  return {
    get broker(): RunningBroker {
      assert.ok(running, 'the file broker is used before its before() hook ran');
      return running;
    },
    ready: ready.promise,
    flags,
  };
}

/** A broker promise that others can await before anyone has asked for the broker to start. */
function withBrokerWhenAsked(): { promise: Promise<RunningBroker>; start(): Promise<RunningBroker> } {
  let settle: { resolve(b: RunningBroker): void; reject(e: unknown): void } | undefined;
  const promise = new Promise<RunningBroker>((resolve, reject) => { settle = { resolve, reject }; });
  promise.catch(() => undefined); // the before() hook that starts it reports the failure
  return {
    promise,
    start: async () => {
      try {
        const broker = await withBroker();
        settle?.resolve(broker);
        return broker;
      } catch (e) {
        settle?.reject(e);
        throw e;
      }
    },
  };
}
