// Generates src/protocol/generated/messages.ts from Apache Kafka's message definitions in
// ../shared/kafka-protocol/message/*.json. Only structure is emitted (names, types, versions,
// defaults), never the prose. `--check` compares the committed file with a fresh generation.
//
//   npm run gen            # regenerate
//   npm run gen -- --check # exit 1 if the committed tables drifted from ../shared
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const specDir = join(root, '..', 'shared', 'kafka-protocol', 'message');
const errorsFile = join(root, '..', 'shared', 'kafka-protocol', 'errors.tsv');
const outFile = join(root, 'src', 'protocol', 'generated', 'messages.ts');
const errorsOut = join(root, 'src', 'protocol', 'generated', 'errors.ts');
const OPEN_MAX = 32767;

type Range = [number, number] | null;

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  fields?: RawField[];
}
interface RawMessage {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  listeners?: string[];
  fields: RawField[];
  commonStructs?: { name: string; versions: string; fields: RawField[] }[];
}

function parseRange(text: string | undefined): Range {
  if (text === undefined || text === 'none' || text === '') return null;
  if (text.endsWith('+')) return [Number(text.slice(0, -1)), OPEN_MAX];
  const dash = text.indexOf('-');
  if (dash >= 0) return [Number(text.slice(0, dash)), Number(text.slice(dash + 1))];
  return [Number(text), Number(text)];
}

function stripComments(text: string): string {
  // Only whole-line `//` comments and trailing ones outside strings occur in the spec files.
  return text
    .split('\n')
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === '"' && line[i - 1] !== '\\') inString = !inString;
        if (!inString && c === '/' && line[i + 1] === '/') return line.slice(0, i);
      }
      return line;
    })
    .join('\n');
}

const camel = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);
const PRIMITIVES = new Set([
  'bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'uuid', 'records',
]);

function defaultFor(type: string, raw: RawField['default']): unknown {
  if (raw === undefined) {
    if (type === 'bool') return false;
    if (type === 'string') return '';
    if (type === 'uuid') return null; // materialised as the zero uuid by the codec
    if (PRIMITIVES.has(type)) return ['bytes', 'records'].includes(type) ? null : 0;
    return null;
  }
  if (raw === 'null') return null;
  if (type === 'bool') return raw === true || raw === 'true';
  if (type === 'string') return String(raw);
  if (['int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64'].includes(type)) {
    const n = Number(raw);
    if (Number.isNaN(n)) throw new Error(`bad default ${raw} for ${type}`);
    return n;
  }
  return null;
}

function convertFields(fields: RawField[], common: Map<string, RawField[]>): unknown[] {
  return fields.map((f) => {
    const isArray = f.type.startsWith('[]');
    const elem = isArray ? f.type.slice(2) : f.type;
    const out: Record<string, unknown> = { name: camel(f.name) };
    const versions = parseRange(f.versions);
    out.versions = versions;
    const nullable = parseRange(f.nullableVersions);
    if (nullable) out.nullable = nullable;
    if (f.tag !== undefined) {
      out.tag = Number(f.tag);
      out.tagged = parseRange(f.taggedVersions) ?? versions;
    }
    if (PRIMITIVES.has(elem)) {
      out.type = isArray ? `[]${elem}` : elem;
      if (!isArray) {
        const d = defaultFor(elem, f.default);
        if (d !== null && d !== 0 && d !== '' && d !== false) out.default = d;
        else if (d === null && (f.default === 'null')) out.default = null;
      }
    } else {
      const sub = f.fields ?? common.get(elem);
      if (!sub) throw new Error(`unknown struct type ${elem}`);
      out.type = isArray ? '[]struct' : 'struct';
      out.fields = convertFields(sub, common);
    }
    return out;
  });
}

function generate(): { messages: string; errors: string } {
  const files = readdirSync(specDir).filter((f) => f.endsWith('.json')).sort();
  const apis = new Map<number, { name: string; request?: RawMessage; response?: RawMessage }>();
  for (const file of files) {
    const msg = JSON.parse(stripComments(readFileSync(join(specDir, file), 'utf8'))) as RawMessage;
    if (msg.apiKey === undefined || (msg.type !== 'request' && msg.type !== 'response')) continue;
    const entry = apis.get(msg.apiKey) ?? { name: msg.name.replace(/(Request|Response)$/, '') };
    entry[msg.type] = msg;
    apis.set(msg.apiKey, entry);
  }
  const lines: string[] = [
    '// GENERATED by scripts/gen-protocol.ts from ../shared/kafka-protocol/message/*.json. Do not edit.',
    '// Structure only (names, types, versions, defaults) of Apache Kafka\'s message definitions.',
    "import type { ApiSchema } from '../schema.js';",
    '',
    'export const API_SCHEMAS: readonly ApiSchema[] = [',
  ];
  for (const key of [...apis.keys()].sort((a, b) => a - b)) {
    const api = apis.get(key)!;
    if (!api.request || !api.response) continue;
    const body = (m: RawMessage) => {
      const common = new Map((m.commonStructs ?? []).map((s) => [s.name, s.fields]));
      return {
        validVersions: parseRange(m.validVersions),
        flexibleVersions: parseRange(m.flexibleVersions),
        fields: convertFields(m.fields, common),
      };
    };
    const entry = {
      apiKey: key,
      name: api.name,
      listeners: api.request.listeners ?? [],
      request: body(api.request),
      response: body(api.response),
    };
    lines.push(`  ${JSON.stringify(entry)},`);
  }
  lines.push('];', '');

  const errLines = [
    '// GENERATED by scripts/gen-protocol.ts from ../shared/kafka-protocol/errors.tsv. Do not edit.',
    'export const ErrorCode = {',
  ];
  const rows = readFileSync(errorsFile, 'utf8').trim().split('\n').slice(1).map((r) => r.split('\t'));
  for (const [code, name] of rows) errLines.push(`  ${name}: ${Number(code)},`);
  errLines.push('} as const;', '', '/** Codes that clients treat as retriable. */');
  const retriable = rows.filter((r) => r[2].trim() === 'true').map((r) => Number(r[0]));
  errLines.push(`export const RETRIABLE_CODES: ReadonlySet<number> = new Set([${retriable.join(', ')}]);`, '');
  return { messages: lines.join('\n'), errors: errLines.join('\n') };
}

if (!existsSync(specDir)) {
  console.error(`spec not found at ${specDir}; the committed tables are used as they are`);
  process.exit(process.argv.includes('--check') ? 0 : 1);
}
const out = generate();
if (process.argv.includes('--check')) {
  const same =
    existsSync(outFile) && readFileSync(outFile, 'utf8') === out.messages &&
    existsSync(errorsOut) && readFileSync(errorsOut, 'utf8') === out.errors;
  if (!same) {
    console.error('generated protocol tables differ from ../shared/kafka-protocol; run `npm run gen`');
    process.exit(1);
  }
  console.log('generated protocol tables match ../shared/kafka-protocol');
} else {
  writeFileSync(outFile, out.messages);
  writeFileSync(errorsOut, out.errors);
  console.log(`wrote ${outFile} and ${errorsOut}`);
}
