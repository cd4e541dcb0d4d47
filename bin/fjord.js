#!/usr/bin/env node
// The package's command: runs the bundled CLI (built by `npm run build`, which install runs).
import '../dist/fjord.mjs';
