// Runs `fjord server` as a child process (the real CLI), for restart and kill -9 tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  address: string;
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServerProcess(args: string[]): Promise<ServerProcess> {
  // Loopback IPv4 unless the caller picks hosts (or passes --default-hosts to test the default).
  // Named listeners replace --host/--port (the port reported is the first listener's).
  const named = args.includes('--listeners');
  const hostArgs = named || args.includes('--host') || args.includes('--default-hosts') ? [] : ['--host', '127.0.0.1'];
  const portArgs = named ? [] : ['--port', '0'];
  const rest = args.filter((a) => a !== '--default-hosts');
  // Text log lines (tests match them) and no HTTP listener (port 9080 is one per machine) unless asked.
  const logArgs = args.includes('--log-format') ? [] : ['--log-format', 'text'];
  const httpArgs = args.includes('--http-port') ? [] : ['--http-port', 'none'];
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'server', ...hostArgs, ...portArgs, ...logArgs, ...httpArgs, ...rest], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20000);
    // Stops looking once found: matching the whole, ever-growing output on every chunk made a long
    // fuzz run's driver spend most of its CPU here.
    const check = () => {
      const m = /listening on .*? port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then(() => { clearTimeout(timer); reject(new Error(`server exited before listening:\n${out}`)); });
  });
  return { child, port, address: `127.0.0.1:${port}`, output: () => out, exited };
}
