// The console page's script and style. Two sources, picked by how Fjord runs:
// - from the built package (this module is JavaScript under dist/): the bundle `npm run build`
//   wrote to dist/console-ui/ (scripts/build.mjs), read once;
// - from source (this module is TypeScript, run by tsx: development and the tests): the front end
//   is bundled in memory with esbuild (a devDependency) on the first request, so a fresh clone
//   after `npm ci` serves the page of its own source with no build step, never a stale bundle.
// Either way nothing is fetched from the network at run time: the page works offline.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

const TYPES: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');

/** The esbuild options of the front-end bundle (scripts/build.mjs uses the same ones). */
export const UI_BUILD = { bundle: true, format: 'esm', target: 'es2020', minify: true, legalComments: 'none', logLevel: 'silent' } as const;

async function bundleFromSource(): Promise<Map<string, Buffer>> {
  // Not a literal specifier: the CLI bundle must not pull esbuild in (it is only there in development).
  const name = 'esbuild';
  const esbuild = (await import(name)) as typeof import('esbuild');
  const ui = join(here, 'ui');
  const result = await esbuild.build({ ...UI_BUILD, entryPoints: { app: join(ui, 'main.ts'), 'app-style': join(ui, 'style.css') }, outdir: '/console-ui', write: false });
  const out = new Map<string, Buffer>();
  for (const f of result.outputFiles) {
    const base = f.path.split('/').pop() ?? '';
    out.set(base === 'app-style.css' ? 'app.css' : base, Buffer.from(f.contents));
  }
  return out;
}

function readBuilt(): Map<string, Buffer> {
  // dist/fjord.mjs (the CLI bundle) sits beside console-ui/; dist/console/assets.js one level down.
  for (const dir of [join(here, 'console-ui'), join(here, '..', 'console-ui')]) {
    try {
      return new Map(Object.keys(TYPES).map((f) => [f, readFileSync(join(dir, f))]));
    } catch {
      // not here
    }
  }
  throw new Error(`no dist/console-ui/ bundle next to ${here}: run npm run build`);
}

export class ConsoleAssets {
  private files: Promise<Map<string, Buffer>> | null = null;

  /** The page: no inline script or style (the Content-Security-Policy allows neither). */
  html(version: string): string {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="fjord-version" content="${version.replace(/[^0-9A-Za-z.+-]/g, '')}">
<title>Fjord console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<div id="app"></div>
<noscript>The Fjord console needs JavaScript.</noscript>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;
  }

  async get(name: string): Promise<Asset | null> {
    const type = TYPES[name];
    if (!type) return null;
    this.files ??= fromSource ? bundleFromSource() : Promise.resolve().then(readBuilt);
    this.files.catch(() => (this.files = null));
    const body = (await this.files).get(name);
    return body ? { contentType: type, body } : null;
  }
}
