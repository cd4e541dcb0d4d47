// Kill -9 at the swap steps of a cleaning pass when file.delete.delay.ms > 0 (the old segments
// are renamed *.deleted, the first one's <base>.log before the swap takes its name), through the
// real `fjord server`, as compaction-crash.test.ts does without the delay (same method: data
// written by a quiet server, the kill placed by FJORD_TEST_CRASH_AT=cleaner-<step>).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { crashHarness } from './compaction-helpers.js';

test('file.delete.delay.ms: kill -9 at the swap steps never loses a key\'s latest value; set-aside files go at the next start', { timeout: 300000 }, async () => {
  const h = await crashHarness('crashy', /log cleaner: crashy-0:/, [{ name: 'file.delete.delay.ms', value: '600000' }]);
  try {
    for (const step of ['after-swap', 'after-unlink', 'after-rename']) await h.crashRound(`cleaner-${step}`, false);
    // The server that finished the last interrupted pass deleted what earlier ones set aside.
    assert.deepEqual(readdirSync(h.part).filter((n) => n.endsWith('.deleted')), []);
  } finally {
    await h.close();
  }
});
