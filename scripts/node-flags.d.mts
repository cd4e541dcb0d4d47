// Types of scripts/node-flags.mjs, for the TypeScript tests that import it.
/** The flags, or null when bin/fjord.js does not start with `#!/usr/bin/env -S node`. */
export function fjordNodeFlags(root: string): string[] | null;
