// createStorage / parseStorageSpec: one setting picks the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorage, parseStorageSpec } from '../../src/storage/engines.js';
import { DEFAULT_STORAGE_OPTIONS } from '../../src/storage/types.js';

test('memory, file: and plain paths pick their engines', () => {
  assert.deepEqual(parseStorageSpec('memory'), { engine: 'memory' });
  assert.deepEqual(parseStorageSpec('memory:'), { engine: 'memory' });
  assert.deepEqual(parseStorageSpec('memory://'), { engine: 'memory' });
  assert.deepEqual(parseStorageSpec('file:./data'), { engine: 'file', path: './data' });
  assert.deepEqual(parseStorageSpec('file:/var/fjord'), { engine: 'file', path: '/var/fjord' });
  assert.deepEqual(parseStorageSpec('file:///var/fjord'), { engine: 'file', path: '/var/fjord' });
  assert.deepEqual(parseStorageSpec('file://data'), { engine: 'file', path: 'data' });
  assert.deepEqual(parseStorageSpec('FILE:data'), { engine: 'file', path: 'data' });
  assert.deepEqual(parseStorageSpec('./data'), { engine: 'file', path: './data' });
  assert.deepEqual(parseStorageSpec('/tmp/x:y'), { engine: 'file', path: '/tmp/x:y' });
  assert.deepEqual(parseStorageSpec('data'), { engine: 'file', path: 'data' });
  assert.deepEqual(parseStorageSpec('C:\\fjord'), { engine: 'file', path: 'C:\\fjord' }, 'a drive letter is not a scheme');
});

test('unknown and not-yet-supported schemes throw an error naming the supported ones', () => {
  assert.throws(() => parseStorageSpec('foo:bar'), /unknown storage scheme "foo:".*supported: memory:, file:<path>/);
  assert.throws(() => parseStorageSpec('postgres://u:secret@localhost/db'), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.match(err.message, /postgres engine is not supported yet; supported: memory:/);
    assert.doesNotMatch(err.message, /secret/, 'the URL (and its password) is not echoed');
    return true;
  });
  assert.throws(() => parseStorageSpec('memory:/x'), /memory: takes no path/);
  assert.throws(() => parseStorageSpec('file:'), /file: needs a path/);
  assert.throws(() => parseStorageSpec(''), /empty/);
  assert.throws(() => createStorage('foo:', DEFAULT_STORAGE_OPTIONS), /supported/);
});

test('createStorage returns an unopened engine; the file engine makes its folder at open', async () => {
  assert.equal(createStorage('memory', DEFAULT_STORAGE_OPTIONS).kind, 'memory');
  const base = mkdtempSync(join(tmpdir(), 'fjord-engines-'));
  try {
    for (const spec of [join(base, 'a', 'b'), `file:${join(base, 'c')}`, `file://${join(base, 'd')}`]) {
      const s = createStorage(spec, { ...DEFAULT_STORAGE_OPTIONS, flush: 'os' });
      assert.equal(s.kind, 'file');
      const dir = spec.replace(/^file:(\/\/)?/, '');
      assert.ok(!existsSync(dir), 'nothing is created before open');
      await s.open();
      assert.ok(existsSync(join(dir, 'meta.json')));
      await s.close();
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
