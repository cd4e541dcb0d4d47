// generated/types.ts against its sources: the drift check (which also covers messages.ts and
// errors.ts, and passes when ../shared is absent), and agreement with the codec's tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_SCHEMAS } from '../../src/protocol/generated/messages.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const typesText = readFileSync(join(root, 'src', 'protocol', 'generated', 'types.ts'), 'utf8');

test('the committed generated files match ../shared/kafka-protocol (npm run gen -- --check)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'gen-protocol.ts'), '--check'], {
    cwd: root, encoding: 'utf8',
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

/** Field names of one generated interface, in order. */
function interfaceFields(name: string): string[] {
  const body = typesText.match(new RegExp(`^export interface ${name} \\{\\n([\\s\\S]*?)^\\}`, 'm'));
  assert.ok(body, `types.ts has no interface ${name}`);
  return [...body[1].matchAll(/^ {2}(\w+)\??: /gm)].map((m) => m[1]);
}

test('every API in the codec tables has request/response interfaces with the same top-level fields', () => {
  for (const api of API_SCHEMAS) {
    assert.deepEqual(interfaceFields(`${api.name}Request`), api.request.fields.map((f) => f.name), `${api.name}Request`);
    assert.deepEqual(interfaceFields(`${api.name}Response`), api.response.fields.map((f) => f.name), `${api.name}Response`);
    assert.match(
      typesText,
      new RegExp(`^ {2}${api.apiKey}: \\{ request: ${api.name}Request; response: ${api.name}Response \\};$`, 'm'),
      `ApiMessageTypes entry for ${api.name}`,
    );
  }
});
