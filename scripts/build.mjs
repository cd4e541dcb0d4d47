// Builds Fjord with esbuild: src/**/*.ts are transpiled file by file into dist/ (the package's
// modules), and the command line is bundled into dist/fjord.mjs — one file loads much faster than
// ~70 modules, which was most of a broker's start-up time. Then tsc writes the type declarations
// (dist/**/*.d.ts, what package.json's `types` points at); that takes ~10 s, so `--no-types`
// (used by `prestart`) skips it. Type checking is `npm run typecheck`.
// The web console's page (src/console/ui/, preact + htm) is bundled into dist/console-ui/app.js and
// app.css, which the console serves when Fjord runs from dist/ (from source, the console bundles
// the page itself in memory: src/console/assets.ts).
// The benchmark harness reuses buildInto() to build a private copy.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The browser's code is bundled on its own (buildConsoleUi), not transpiled for Node. */
const BROWSER_ONLY = join('console', 'ui');

function listTs(dir, root = dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && path === join(root, BROWSER_ONLY)) continue;
    if (entry.isDirectory()) out.push(...listTs(path, root));
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
    // Native packages stay external: their prebuilt binaries are resolved at run time. esbuild is
    // only imported by the console when it runs from source (never from the bundle).
    external: ['@node-rs/crc32', 'snappy', 'lz4-napi', '@mongodb-js/zstd', 'esbuild'],
    // Bundled CommonJS dependencies may call require(); give the ES module one.
    banner: { js: "import { createRequire as __fjordRequire } from 'node:module'; const require = __fjordRequire(import.meta.url);" },
  });
  await buildConsoleUi(srcDir, outDir);
  return bundle;
}

/** The console's page: src/console/ui/main.ts and style.css into <outDir>/console-ui/app.js and app.css (the options of src/console/assets.ts UI_BUILD). */
export async function buildConsoleUi(srcDir, outDir) {
  const ui = join(srcDir, BROWSER_ONLY);
  await build({
    bundle: true, format: 'esm', target: 'es2020', minify: true, legalComments: 'none', logLevel: 'warning',
    entryPoints: { app: join(ui, 'main.ts') },
    outdir: join(outDir, 'console-ui'),
  });
  await build({ bundle: true, minify: true, logLevel: 'warning', entryPoints: [join(ui, 'style.css')], outfile: join(outDir, 'console-ui', 'app.css') });
}

/** Writes the .d.ts files of src/ into dist/ with tsconfig.build.json; throws on a type error. */
export function emitDeclarations() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${result.status ?? result.signal})`);
  // The package's `types`: a build without it would ship an untyped package (TS7016 for users).
  if (!existsSync(join('dist', 'index.d.ts'))) throw new Error('tsc wrote no dist/index.d.ts');
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  await buildInto('src', 'dist');
  if (!process.argv.includes('--no-types')) emitDeclarations();
}
