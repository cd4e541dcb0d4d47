// Transpiles src/**/*.ts to dist/**/*.js with esbuild, file by file (the package's modules), and
// bundles the command line into dist/fjord.mjs: one file loads much faster than ~70 modules, which
// is most of a broker's start-up time. Type checking is `npm run typecheck`.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

function listTs(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTs(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: listTs('src'),
  outdir: 'dist',
  outbase: 'src',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
});

// Native packages stay external (their prebuilt binaries are resolved at run time).
await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/fjord.mjs',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  external: ['@node-rs/crc32', 'snappy', 'lz4-napi', '@mongodb-js/zstd'],
  // Bundled CommonJS dependencies may call require(); give the ES module one.
  banner: { js: "import { createRequire as __fjordRequire } from 'node:module'; const require = __fjordRequire(import.meta.url);" },
});
