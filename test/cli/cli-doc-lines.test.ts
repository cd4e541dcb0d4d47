// docs/cli.md's opening example, run line by line and in order against a fresh `fjord server`,
// as written: the consume line documented with "Ctrl-C to stop" gets a SIGINT once it has printed
// and must exit 0; `fjord server` itself is skipped (the test's broker stands in for it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../helpers.js';
import { startServerProcess } from '../server-process.js';
import { docSteps, fjordShim, runDocSteps } from './cli-process.js';

test('docs/cli.md: every fjord line of its example works as written on a fresh broker', async (t) => {
  const dir = tempDir();
  const server = await startServerProcess(['--data-dir', dir.path]);
  try {
    const steps = docSteps('docs/cli.md');
    assert.ok(steps.length >= 6, 'docs/cli.md lost its example');
    const outcomes = await runDocSteps(steps, fjordShim(dir.path), server.address, false);
    for (const o of outcomes) {
      if ('skipped' in o) {
        t.diagnostic(`skipped ${o.step.where} (${o.skipped}): ${o.step.text}`);
        continue;
      }
      assert.equal(o.result.code, 0, `${o.step.where}: ${o.step.text}\nexit ${o.result.code ?? o.result.signal}\nstdout: ${o.result.stdout}\nstderr: ${o.result.stderr}`);
    }
    const interrupted = outcomes.find((o) => /Ctrl-C/.test(o.step.text));
    assert.ok(interrupted && 'result' in interrupted, 'the Ctrl-C line ran');
    assert.notEqual(interrupted.result.stdout, '', 'it printed the messages before the Ctrl-C');
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    dir.remove();
  }
});
