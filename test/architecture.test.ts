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
  // The web console talks to clusters through the client; only its mount point (mount.ts) meets the broker.
  console: ['protocol', 'client', 'console', 'broker'],
  cli: ['protocol', 'storage', 'broker', 'client', 'console', 'cli'],
  '.': ['protocol', 'storage', 'broker', 'client', 'console', 'cli', '.'],
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
      else if (from === 'console' && target === 'broker' && relative(src, file) !== 'console/mount.ts') violations.push(`${relative(src, file)} imports ${m[1]} (only console/mount.ts may meet the broker)`);
    }
  }
  assert.deepEqual(violations, []);
});

/** Every relative import of every file under src/ (type-only ones included), as resolved .ts paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files(src)) {
    const targets: string[] = [];
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
      targets.push(resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'));
    }
    graph.set(file, targets);
  }
  return graph;
}

/** The strongly connected components with more than one file (import loops), by Tarjan's algorithm. */
function importLoops(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(relative(src, w));
      } while (w !== v);
      if (component.length > 1) loops.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return loops;
}

test('no import loops anywhere in src/ (type-only imports count too)', () => {
  // The broker once imported the registry, which imported every handler, which imported the
  // broker: a 33-file loop. Handlers now get their services through the request context.
  assert.deepEqual(importLoops(importGraph()), []);
});

test('handlers never import the broker or the server', () => {
  for (const file of files(join(src, 'broker', 'handlers'))) {
    assert.doesNotMatch(readFileSync(file, 'utf8'), /from ['"]\.\.\/(broker|server|dispatch)\.js['"]/, relative(src, file));
  }
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

/** The code of a TypeScript file without its comments and string literals (so prose is not scanned). */
function codeOnly(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      out += text.slice(i, end < 0 ? text.length : end + 2).replace(/[^\n]/g, ' ');
      i = end < 0 ? text.length : end + 1;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      out += c + c;
      i = j;
    } else {
      out += c;
    }
  }
  return out;
}

test('no `any` in message handling: handlers, handler/registry, the codec, the generated types, the client and the CLI', () => {
  // No exceptions: requests and responses are RequestOf/ResponseOf (generated/types.ts), events
  // are typed by name (kafkajs-names.ts), and the codec's untyped `Message` is gone.
  const scanned = [
    ...files(join(src, 'broker', 'handlers')),
    join(src, 'broker', 'handler.ts'),
    join(src, 'broker', 'registry.ts'),
    join(src, 'protocol', 'codec.ts'),
    join(src, 'protocol', 'generated', 'types.ts'),
    ...files(join(src, 'client')),
    ...files(join(src, 'cli')),
    ...files(join(src, 'console')),
  ];
  const found: string[] = [];
  for (const file of scanned) {
    const lines = codeOnly(readFileSync(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      if (/\bany\b/.test(line)) found.push(`${relative(src, file)}:${i + 1}: ${line.trim()}`);
    });
    if (file.startsWith(join(src, 'broker', 'handlers'))) {
      assert.doesNotMatch(readFileSync(file, 'utf8'), /\btype Message\b|\bMessage\[\]/, `${relative(src, file)} uses the untyped Message`);
    }
  }
  assert.deepEqual(found, [], 'use the generated request/response types (RequestOf/ResponseOf, generated/types.ts) instead of any');
  assert.doesNotMatch(readFileSync(join(src, 'protocol', 'codec.ts'), 'utf8'), /\bexport type Message\b/, 'the untyped Message is gone; use RequestOf/ResponseOf');
});

test('every handler declares its return type (TypeScript checks returned fields only against a declared one)', () => {
  const missing: string[] = [];
  for (const file of files(join(src, 'broker', 'handlers'))) {
    for (const m of codeOnly(readFileSync(file, 'utf8')).matchAll(/\bhandle\(([^()]*)\)\s*([:{])/g)) {
      if (m[2] !== ':') missing.push(`${relative(src, file)}: handle(${m[1]})`);
    }
  }
  assert.deepEqual(missing, [], 'write `handle(ctx, req): XResponse` (or Promise<XResponse>)');
});
