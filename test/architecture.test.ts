// Layers depend one way: protocol -> storage -> broker; protocol -> client -> cli.
// This test reads every import in src/ and fails on an import against that direction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fjordNodeFlags } from '../scripts/node-flags.mjs';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** For each layer, the layers it may import. */
const ALLOWED: Record<string, string[]> = {
  protocol: ['protocol'],
  storage: ['protocol', 'storage'],
  broker: ['protocol', 'storage', 'broker'],
  client: ['protocol', 'client'],
  cli: ['protocol', 'storage', 'broker', 'client', 'cli'],
  '.': ['protocol', 'storage', 'broker', 'client', 'cli', '.'],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

const layerOf = (file: string) => {
  const rel = relative(src, file).split('/');
  return rel.length === 1 ? '.' : rel[0];
};

test('imports follow the layer direction', () => {
  const violations: string[] = [];
  for (const file of files(src)) {
    const from = layerOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      const target = layerOf(resolve(dirname(file), m[1]));
      if (!(ALLOWED[from] ?? []).includes(target)) violations.push(`${relative(src, file)} imports ${m[1]} (${from} -> ${target})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the protocol layer does no I/O', () => {
  for (const file of files(join(src, 'protocol'))) {
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /from ['"]node:(fs|net|fs\/promises|child_process|http)['"]/, relative(src, file));
  }
});

test('the fjord command and npm start give node the same flags', () => {
  const root = join(src, '..');
  const flags = fjordNodeFlags(root);
  assert.ok(flags, 'bin/fjord.js starts with "#!/usr/bin/env -S node <flags>"');
  const start = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start as string;
  assert.equal(start, ['node', ...flags, 'dist/fjord.mjs', 'server'].join(' '));
});
