// Runs every test/**/*.test.ts file with Node's own test runner (TypeScript through tsx).
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/, excluding slow suites)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const SLOW_DIRS = new Set(['conformance', 'bench', 'soak', 'eos']);

function collect(path, top) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  const out = [];
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (top && entry.isDirectory() && SLOW_DIRS.has(entry.name)) continue;
    out.push(...collect(join(path, entry.name), top));
  }
  return out.sort();
}

const args = process.argv.slice(2);
const roots = args.length ? args : ['test'];
const files = roots.flatMap((r) => collect(r, args.length === 0));
if (files.length === 0) {
  console.error('no test files found under', roots.join(' '));
  process.exit(1);
}
// Brokers that tests start as `fjord server` children write text lines (tests match them; piped
// stderr would otherwise mean JSON) and open no HTTP listener (its default port, 9080, is one per
// machine and tests run in parallel); a test that wants either passes the flag, which wins.
const env = { FJORD_LOG_FORMAT: 'text', FJORD_HTTP_PORT: 'none', ...process.env };
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=120000', ...files],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
