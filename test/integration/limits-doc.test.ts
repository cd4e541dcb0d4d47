// docs/limits.md gives each limit that is a constant (not a setting) with its name, file and value.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { MAX_IN_FLIGHT, MAX_UNSENT_BYTES, SHUTDOWN_GRACE_MS } from '../../src/broker/server.js';
import { DECOMPRESSION_FACTOR, REQUEST_DECOMPRESSION_LIMIT } from '../../src/broker/handlers/produce.js';
import { FAILURE_WINDOW_MS, MAX_TRACKED_ADDRESSES } from '../../src/broker/auth/sasl.js';

test('docs/limits.md names every limit constant with its file and value', () => {
  const doc = readFileSync(new URL('../../docs/limits.md', import.meta.url), 'utf8');
  const rows: [string, string, string][] = [
    ['MAX_IN_FLIGHT', 'src/broker/server.ts', `| ${MAX_IN_FLIGHT} |`],
    ['MAX_UNSENT_BYTES', 'src/broker/server.ts', `| ${MAX_UNSENT_BYTES} (`],
    ['SHUTDOWN_GRACE_MS', 'src/broker/server.ts', `| ${SHUTDOWN_GRACE_MS} ms |`],
    ['DECOMPRESSION_FACTOR', 'src/broker/handlers/produce.ts', `| ${DECOMPRESSION_FACTOR} × \`max.message.bytes\``],
    ['REQUEST_DECOMPRESSION_LIMIT', 'src/broker/handlers/produce.ts', `| ${REQUEST_DECOMPRESSION_LIMIT} (`],
    ['FAILURE_WINDOW_MS', 'src/broker/auth/sasl.ts', `| ${FAILURE_WINDOW_MS} ms |`],
    ['MAX_TRACKED_ADDRESSES', 'src/broker/auth/sasl.ts', `| ${MAX_TRACKED_ADDRESSES} |`],
  ];
  for (const [name, file, value] of rows) {
    const row = doc.split('\n').find((line) => line.startsWith('|') && line.includes(`\`${name}\``));
    assert.ok(row, `no row for ${name}`);
    assert.ok(row.includes(`\`${file}\``), `${name}: row does not name ${file}`);
    assert.ok(row.includes(value), `${name}: row does not give ${value}`);
    assert.ok(row.trim().split('|').at(-2)!.trim().length > 0, `${name}: row does not say what happens past it`);
  }
});
