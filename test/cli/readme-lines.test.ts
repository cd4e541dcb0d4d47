// README.md's own lines, run as written and in order against a fresh `fjord server`: the kafkajs
// snippet, the kcat lines and every `npx fjord` line of "The fjord command" must each succeed.
// Lines that start brokers (npm start, the PostgreSQL cluster) are skipped with the reason: the
// test's broker stands in for them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../helpers.js';
import { startServerProcess } from '../server-process.js';
import { docSteps, fjordShim, runDocSteps } from './cli-process.js';

const hasKcat = spawnSync('kcat', ['-V']).status === 0;

test('README.md: every kafkajs, kcat and fjord line works as written on a fresh broker', async (t) => {
  const dir = tempDir();
  const server = await startServerProcess(['--data-dir', dir.path]);
  try {
    const steps = docSteps('README.md');
    assert.ok(steps.filter((s) => /\bnpx fjord (topics|produce|consume|groups)\b/.test(s.text)).length >= 4, 'README lost its fjord lines');
    const outcomes = await runDocSteps(steps, fjordShim(dir.path), server.address, hasKcat);
    for (const o of outcomes) {
      if ('skipped' in o) {
        t.diagnostic(`skipped ${o.step.where} (${o.skipped}): ${o.step.text.split('\n')[0]}`);
        continue;
      }
      assert.equal(o.result.code, 0, `${o.step.where}: ${o.step.text}\nexit ${o.result.code ?? o.result.signal}\nstdout: ${o.result.stdout}\nstderr: ${o.result.stderr}`);
    }
    const ran = outcomes.filter((o) => 'result' in o).map((o) => o.step.text);
    assert.ok(ran.some((l) => /fjord groups describe/.test(l)), 'the groups describe line ran');
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    dir.remove();
  }
});
