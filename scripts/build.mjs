// Builds Fjord with esbuild: src/**/*.ts are transpiled file by file into dist/ (the package's
// modules), and the command line is bundled into dist/fjord.mjs — one file loads much faster than
// ~70 modules, which was most of a broker's start-up time. Type checking is `npm run typecheck`.
// The benchmark harness reuses buildInto() to build a private copy.
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Builds `srcDir` into `outDir`; returns the path of the bundled command line. */
export async function buildInto(srcDir, outDir) {
  rmSync(outDir, { recursive: true, force: true });
  const common = { format: 'esm', platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };
  await build({ ...common, entryPoints: listTs(srcDir), outdir: outDir, outbase: srcDir });
  const bundle = join(outDir, 'fjord.mjs');
  await build({
    ...common,
    entryPoints: [join(srcDir, 'cli', 'main.ts')],
    outfile: bundle,
    bundle: true,
    // Native packages stay external: their prebuilt binaries are resolved at run time.
    external: ['@node-rs/crc32', 'snappy', 'lz4-napi', '@mongodb-js/zstd'],
    // Bundled CommonJS dependencies may call require(); give the ES module one.
    banner: { js: "import { createRequire as __fjordRequire } from 'node:module'; const require = __fjordRequire(import.meta.url);" },
  });
  return bundle;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  await buildInto('src', 'dist');
}
