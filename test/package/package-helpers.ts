// Helpers of the package tests: run a command and fail with its output, run the repo's own tsc.
import { execFile, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs `command` in `cwd` and returns its stdout; throws with stdout and stderr when it fails. */
export function run(command: string, args: string[], cwd: string, timeoutMs = 90_000): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
    throw new Error(`${command} ${args.join(' ')} failed (${why})\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** The repo's TypeScript compiler (the version the package is built with). */
export function tsc(args: string[], cwd: string): string {
  return run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), ...args], cwd);
}

/** Like run(), without blocking this process (for a child that talks to a broker running here). */
export function runAsync(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 90_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed (${error.message})\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}
