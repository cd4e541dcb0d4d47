// A real `fjord server` for the console tests, with its HTTP listener (and so the console) on a free port.
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
