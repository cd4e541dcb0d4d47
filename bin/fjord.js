#!/usr/bin/env node
// The package's command: runs the compiled CLI (built by `npm run build`, run on install).
import '../dist/cli/main.js';
