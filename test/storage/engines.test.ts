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

test('postgres:// and postgresql:// URLs pick the postgres engine; messages never show the password', () => {
  assert.deepEqual(parseStorageSpec('postgres://u:secret@localhost:5432/db'), { engine: 'postgres', url: 'postgres://u:secret@localhost:5432/db', display: 'postgres://u:***@localhost:5432/db' });
  assert.equal(parseStorageSpec('postgresql://db.example/fjord?schema=c1').engine, 'postgres');
  assert.equal(parseStorageSpec('POSTGRES://h/d').engine, 'postgres');
  assert.equal(createStorage('postgres://u:secret@localhost/db', DEFAULT_STORAGE_OPTIONS).kind, 'postgres');
  for (const bad of ['postgres:u:secret@host/db', 'postgres://u:secret@host/db?schema=a;drop', 'postgres://u:secret@[bad/db']) {
    assert.throws(() => parseStorageSpec(bad), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.doesNotMatch(err.message, /secret/, `${bad}: the password is not echoed`);
      return true;
    });
  }
});

test('unknown schemes throw an error naming the supported ones', () => {
  assert.throws(() => parseStorageSpec('foo:bar'), /unknown storage scheme "foo:".*supported: memory:, file:<path>.*postgres:\/\//);
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
