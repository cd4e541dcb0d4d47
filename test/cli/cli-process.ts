// A `fjord` command line left running (consume until a signal), and a doc's shell lines run as a
// user would paste them: `fjord` on the PATH (a shim that execs the CLI), the broker address in
// place of localhost:9092.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from './cli-helpers.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');

export interface Running {
  child: ChildProcess;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<RunResult & { signal: NodeJS.Signals | null }>;
}

function watch(child: ChildProcess): Running {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString('utf8'); });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  const exited = new Promise<RunResult & { signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Starts `fjord <args>` and leaves it running. */
export function startFjord(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watch(child);
}

/** Waits until `check` holds, polling; fails with `what` after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A directory holding an executable `fjord` that runs this checkout's CLI. */
export function fjordShim(dir: string): string {
  const shim = join(dir, 'fjord');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" --import tsx "${main}" "$@"\n`);
  chmodSync(shim, 0o755);
  return dir;
}

/** A fenced code block's line (or whole block, for js) of a markdown file. */
export interface DocStep {
  where: string;
  lang: string;
  text: string;
}

/** The steps of a markdown file's ```sh and ```js blocks, in order (sh: one per line; js: the block). */
export function docSteps(file: string): DocStep[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const steps: DocStep[] = [];
  let lang: string | null = null;
  let block: string[] = [];
  let start = 0;
  lines.forEach((line, i) => {
    const fence = /^```(\w*)\s*$/.exec(line);
    if (fence && lang === null) {
      lang = fence[1];
      block = [];
      start = i + 2;
    } else if (fence) {
      if (lang === 'js') steps.push({ where: `${file}:${start}`, lang, text: block.join('\n') });
      lang = null;
    } else if (lang === 'sh' && line.trim() !== '') {
      steps.push({ where: `${file}:${i + 1}`, lang, text: line });
    } else if (lang !== null) {
      block.push(line);
    }
  });
  return steps;
}

/** Runs one shell line with `fjord` from `shimDir`, FJORD_BROKERS set and localhost:9092 swapped for `address`. */
export function runShellLine(line: string, shimDir: string, address: string): Running {
  const text = line.replaceAll('npx fjord', 'fjord').replaceAll('localhost:9092', address);
  // exec: a signal sent to the child reaches the command itself, not a shell around it.
  const script = text.includes('|') ? text : `exec ${text}`;
  const child = spawn('bash', ['-c', script], {
    cwd: root, env: { ...process.env, NO_COLOR: '1', FJORD_BROKERS: address, PATH: `${shimDir}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watch(child);
}

/** What happened to one doc step: run (with its result) or skipped (with the reason). */
export type StepOutcome = { step: DocStep; skipped: string } | { step: DocStep; result: RunResult & { signal: NodeJS.Signals | null } };

/** Why a step is not run, or null when it is. */
export function skipReason(step: DocStep, hasKcat: boolean): string | null {
  if (step.lang === 'js') return step.text.includes("from 'kafkajs'") ? null : 'not a program against the running broker';
  if (/^npm /.test(step.text)) return 'not a fjord line (npm start is the broker the test starts)';
  if (/^docker /.test(step.text)) return 'needs Docker and PostgreSQL';
  if (/\bfjord server\b/.test(step.text)) return 'starts a long-running broker; the fresh `fjord server` of the test stands in for it';
  if (/\bkcat\b/.test(step.text)) return hasKcat ? null : 'kcat is not installed';
  if (/\bfjord\b/.test(step.text)) return null;
  return 'neither a fjord nor a kcat line';
}

/**
 * Runs a doc's steps in order against the broker at `address`. A line documented with "Ctrl-C"
 * runs until it has printed something, then gets SIGINT, as a user would press it.
 */
export async function runDocSteps(steps: DocStep[], shimDir: string, address: string, hasKcat: boolean): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  for (const step of steps) {
    const skipped = skipReason(step, hasKcat);
    if (skipped !== null) {
      outcomes.push({ step, skipped });
      continue;
    }
    let running: Running;
    if (step.lang === 'js') {
      // The snippet as written; the harness only ends the process (the snippet keeps its connection).
      const code = `${step.text.replaceAll('localhost:9092', address)}\nprocess.exit(0);\n`;
      running = watch(spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
    } else {
      running = runShellLine(step.text, shimDir, address);
    }
    if (/Ctrl-C/.test(step.text)) {
      try {
        await until(() => running.stdout().length > 0 || running.child.exitCode !== null, `${step.where} to print something`);
      } catch (err) {
        running.child.kill('SIGKILL');
        throw err;
      }
      running.child.kill('SIGINT');
    }
    const timer = setTimeout(() => running.child.kill('SIGKILL'), 45000);
    const result = await running.exited;
    clearTimeout(timer);
    outcomes.push({ step, result });
  }
  return outcomes;
}
