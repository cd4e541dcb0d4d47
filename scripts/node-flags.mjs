// The node flags the `fjord` command runs with: they live in the shebang of bin/fjord.js
// (`#!/usr/bin/env -S node <flags>`), and `npm start` repeats them. Read by the bench (to start
// Fjord as users do) and by test/architecture.test.ts (which checks the two agree).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The flags, or null when bin/fjord.js does not start with `#!/usr/bin/env -S node`. */
export function fjordNodeFlags(root) {
  const shebang = readFileSync(join(root, 'bin', 'fjord.js'), 'utf8').split('\n')[0];
  const m = /^#!\/usr\/bin\/env -S node ?(.*)$/.exec(shebang);
  return m ? m[1].split(' ').filter(Boolean) : null;
}
