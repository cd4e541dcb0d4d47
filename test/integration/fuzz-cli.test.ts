// `npm run fuzz -- --help` prints the usage and exits 0; an unknown option gets one line, the usage
// and exit code 2 (not a parseArgs stack trace). Neither starts a broker.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const script = fileURLToPath(new URL('../../scripts/fuzz/run.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', timeout: 60_000 });

test('fuzz runner: --help prints the usage, a bad option is one line and exit 2', () => {
  for (const flag of ['--help', '-h']) {
    const r = run(flag);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: npm run fuzz -- \[options\]/);
    for (const option of ['--cases', '--seed', '--minutes', '--connections', '--first-case', '--case-timeout-ms', '--show-case']) assert.ok(r.stdout.includes(option), option);
    assert.doesNotMatch(r.stdout, /fuzzing broker/);
  }
  const bad = run('--bogus');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^Unknown option '--bogus'/);
  assert.doesNotMatch(bad.stderr, /ERR_PARSE_ARGS|    at /);
});
