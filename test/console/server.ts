// A real `fjord server` for the console tests, with its HTTP listener (and so the console) on a free port.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { startServerProcess, type ServerProcess } from '../server-process.js';

/** A `fjord server` with its HTTP listener on a free port; `url` is the console's address. */
export async function startConsoleServer(args: string[]): Promise<{ server: ServerProcess; url: string; stop(): Promise<void> }> {
  const dir = tempDir('fjord-console-');
  const server = await startServerProcess(['--data-dir', dir.path, '--http-port', '0', '--group-initial-rebalance-delay-ms', '0', ...args]);
  const m = /web console at (http:\/\/[^\s/]+\/)/.exec(server.output());
  if (!m) {
    server.child.kill('SIGKILL');
    throw new Error(`no console address in the server's output:\n${server.output()}`);
  }
  return {
    server,
    url: m[1],
    stop: async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      dir.remove();
    },
  };
}

/** `fjord console` (the real CLI) with `args`; `url` is where it serves. */
export async function startFjordConsole(args: string[]): Promise<{ url: string; output(): string; stop(): Promise<void> }> {
  const root = join(import.meta.dirname, '..', '..');
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'console', '--http-port', '0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fjord console did not start:\n${out}`)), 20_000);
      void exited.then(() => reject(new Error(`fjord console exited:\n${out}`)));
      child.stdout.on('data', () => {
        const m = /at (http:\/\/\S+\/)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    return { url, output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
