#!/usr/bin/env -S node --initial-old-space-size=256
// The package's command: runs the bundled CLI (built by `npm run build`, which install runs).
//
// Why the V8 flag: V8 counts Buffer memory (record batches) towards the old generation's
// allocation limit, which it sizes from the small JS heap (~10 MB), so a broker moving hundreds
// of MiB/s ran a full mark-compact every ~40 ms (up to half its CPU). A 256 MB initial limit, like
// a JVM's -Xms, lets garbage batches go in a few GCs per second. `npm start` passes the same flag
// (test/architecture.test.ts checks they agree); docs/performance.md has the numbers.
import '../dist/fjord.mjs';
