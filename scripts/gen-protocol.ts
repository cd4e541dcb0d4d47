// Generates src/protocol/generated/messages.ts (the codec's tables) and types.ts (TypeScript
// interfaces of every request and response) from Apache Kafka's message definitions in
// ../shared/kafka-protocol/message/*.json, with scripts/protocol-overlay.ts applied over them
// (versions that spec predates: the share APIs' v1), plus errors.ts from errors.tsv. Only
// structure is emitted (names, types, versions, defaults), never the prose. `--check` compares the
// committed files with a fresh generation.
//
//   npm run gen            # regenerate
//   npm run gen -- --check # exit 1 if the committed tables drifted from ../shared + the overlay
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOL_ADDITIONS, PROTOCOL_OVERLAY, type MessageOverlay } from './protocol-overlay.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const specDir = join(root, '..', 'shared', 'kafka-protocol', 'message');
const errorsFile = join(root, '..', 'shared', 'kafka-protocol', 'errors.tsv');
const outFile = join(root, 'src', 'protocol', 'generated', 'messages.ts');
const errorsOut = join(root, 'src', 'protocol', 'generated', 'errors.ts');
const typesOut = join(root, 'src', 'protocol', 'generated', 'types.ts');
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

/** Applies one overlay entry (protocol-overlay.ts) to a message as read from the spec. */
function applyOverlay(m: RawMessage, o: MessageOverlay): void {
  if (m.validVersions !== o.from) {
    throw new Error(`protocol-overlay.ts: ${m.name} has validVersions "${m.validVersions}" in ../shared, the overlay expects "${o.from}"; update or drop its entry`);
  }
  m.validVersions = o.validVersions;
  const siblings = (path: string): { list: RawField[]; index: number } => {
    const names = path.split('.');
    let list = m.fields;
    for (let i = 0; ; i++) {
      const index = list.findIndex((f) => f.name === names[i]);
      if (index < 0) throw new Error(`protocol-overlay.ts: ${m.name} has no field ${path}`);
      if (i === names.length - 1) return { list, index };
      const f = list[index];
      const elem = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
      const sub = f.fields ?? m.commonStructs?.find((s) => s.name === elem)?.fields;
      if (!sub) throw new Error(`protocol-overlay.ts: ${m.name}.${names.slice(0, i + 1).join('.')} has no fields`);
      list = sub;
    }
  };
  for (const c of o.change ?? []) {
    const { list, index } = siblings(c.path);
    if (c.versions !== undefined) list[index].versions = c.versions;
    if (c.nullableVersions !== undefined) list[index].nullableVersions = c.nullableVersions;
  }
  for (const a of o.add ?? []) {
    const { list, index } = siblings(a.after);
    if (list.some((f) => f.name === a.field.name)) throw new Error(`protocol-overlay.ts: ${m.name} already has ${a.field.name}`);
    list.splice(index + 1, 0, { ...a.field });
  }
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

// ---- TypeScript interfaces (types.ts) ----
//
// One interface per request/response and per struct type in it. A struct is named after the
// spec's struct type, prefixed with its message name unless the spec name already starts with it
// (`TopicProduceData` in ProduceRequest -> `ProduceRequestTopicProduceData`). A field is required
// when it exists in every version its struct can appear in (and is not tagged); otherwise it is
// optional and its doc comment gives its versions. Types follow what codec.ts decodes/accepts.

const formatRange = (r: Range): string =>
  r === null ? 'no version' : r[1] === OPEN_MAX ? `v${r[0]}+` : r[0] === r[1] ? `v${r[0]}` : `v${r[0]}-${r[1]}`;

function intersect(a: Range, b: Range): Range {
  if (!a || !b) return null;
  const lo = Math.max(a[0], b[0]);
  const hi = Math.min(a[1], b[1]);
  return lo <= hi ? [lo, hi] : null;
}

function union(a: Range, b: Range): Range {
  if (!a) return b;
  if (!b) return a;
  return [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
}

const covers = (outer: Range, inner: Range): boolean =>
  !!outer && !!inner && outer[0] <= inner[0] && outer[1] >= inner[1];

const PRIMITIVE_TS: Record<string, string> = {
  bool: 'boolean', int8: 'number', int16: 'number', uint16: 'number', int32: 'number', uint32: 'number',
  int64: 'number', float64: 'number', string: 'string', uuid: 'string', bytes: 'Buffer',
};

interface StructDef {
  name: string;
  fields: RawField[];
  /** Union of the version ranges of every place the struct appears. */
  context: Range;
}

/** The struct interfaces of one message, in the order they are first met. */
function collectStructs(m: RawMessage, taken: Set<string>): Map<string, StructDef> {
  const common = new Map((m.commonStructs ?? []).map((s) => [s.name, s.fields]));
  const structs = new Map<string, StructDef>();
  const qualify = (specName: string) => (specName.startsWith(m.name) ? specName : m.name + specName);
  const walk = (fields: RawField[], context: Range) => {
    for (const f of fields) {
      const elem = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
      if (PRIMITIVES.has(elem)) continue;
      const sub = f.fields ?? common.get(elem);
      if (!sub) throw new Error(`unknown struct type ${elem} in ${m.name}`);
      const present = intersect(parseRange(f.versions), context);
      const name = qualify(elem);
      const seen = structs.get(name);
      if (seen && seen.fields !== sub) throw new Error(`two different structs named ${name}`);
      if (!seen && taken.has(name)) throw new Error(`interface name ${name} is used twice`);
      taken.add(name);
      structs.set(name, { name, fields: sub, context: union(seen?.context ?? null, present) });
      walk(sub, present);
    }
  };
  walk(m.fields, parseRange(m.validVersions));
  return structs;
}

function interfaceLines(name: string, fields: RawField[], context: Range, structName: (elem: string) => string): string[] {
  const out = [`export interface ${name} {`];
  for (const f of fields) {
    const isArray = f.type.startsWith('[]');
    const elem = isArray ? f.type.slice(2) : f.type;
    const versions = parseRange(f.versions);
    const present = intersect(versions, context);
    const tagged = f.tag !== undefined;
    const nullable = intersect(parseRange(f.nullableVersions), present ?? versions);
    let type: string;
    if (elem === 'records') type = 'Buffer | Buffer[] | null'; // nullable at every version
    else {
      const base = PRIMITIVES.has(elem) ? PRIMITIVE_TS[elem] : structName(elem);
      type = (isArray ? `${base}[]` : base) + (nullable ? ' | null' : '');
    }
    const optional = tagged || !covers(versions, context);
    // Where the field is absent (or a tagged one was not sent) the decoder fills in null for a
    // struct or bytes field (codec.ts fallbackFor), so the type says so.
    if (optional && !isArray && (elem === 'bytes' || !PRIMITIVES.has(elem)) && !type.endsWith(' | null')) type += ' | null';
    const notes: string[] = [];
    if (optional) notes.push(formatRange(versions));
    if (tagged) notes.push(`tagged ${f.tag}`);
    if (nullable && elem !== 'records' && !covers(nullable, present)) notes.push(`null ${formatRange(nullable)}`);
    if (notes.length) out.push(`  /** ${notes.join(', ')} */`);
    out.push(`  ${camel(f.name)}${optional ? '?' : ''}: ${type};`);
  }
  out.push('}');
  return out;
}

function generateTypes(apis: Map<number, { name: string; request?: RawMessage; response?: RawMessage }>): string {
  const lines: string[] = [
    '// GENERATED by scripts/gen-protocol.ts from ../shared/kafka-protocol/message/*.json and',
    '// scripts/protocol-overlay.ts. Do not edit.',
    '// The shape of every request and response as codec.ts decodes and encodes it: camelCased field',
    '// names; int64 as number; uuid as a dashed string; bytes as Buffer; records as Buffer, or a list',
    '// of Buffers written back to back (decoding always gives one Buffer or null). A field that not',
    '// every version has, or a tagged one, is optional: decoding fills it with its default (null for',
    '// a struct or bytes field, which the type includes), and encoding writes the default for it.',
    '',
  ];
  const taken = new Set<string>();
  const map: string[] = [];
  for (const key of [...apis.keys()].sort((a, b) => a - b)) {
    const api = apis.get(key)!;
    if (!api.request || !api.response) continue;
    for (const m of [api.request, api.response]) {
      if (taken.has(m.name)) throw new Error(`interface name ${m.name} is used twice`);
      taken.add(m.name);
      const structs = collectStructs(m, taken);
      const structName = (elem: string) => (elem.startsWith(m.name) ? elem : m.name + elem);
      lines.push(...interfaceLines(m.name, m.fields, parseRange(m.validVersions), structName), '');
      for (const s of structs.values()) lines.push(...interfaceLines(s.name, s.fields, s.context, structName), '');
    }
    map.push(`  ${key}: { request: ${api.request.name}; response: ${api.response.name} };`);
  }
  lines.push(
    '/** Request and response type of every API, by API key. */',
    'export interface ApiMessageTypes {',
    ...map,
    '}',
    '',
    'export type ApiKeyNumber = keyof ApiMessageTypes;',
    'export type RequestOf<K extends ApiKeyNumber> = ApiMessageTypes[K][\'request\'];',
    'export type ResponseOf<K extends ApiKeyNumber> = ApiMessageTypes[K][\'response\'];',
    '',
  );
  return lines.join('\n');
}

function generate(): { messages: string; errors: string; types: string } {
  const files = readdirSync(specDir).filter((f) => f.endsWith('.json')).sort();
  const apis = new Map<number, { name: string; request?: RawMessage; response?: RawMessage }>();
  const overlaid = new Set<string>();
  for (const file of files) {
    const msg = JSON.parse(stripComments(readFileSync(join(specDir, file), 'utf8'))) as RawMessage;
    if (msg.apiKey === undefined || (msg.type !== 'request' && msg.type !== 'response')) continue;
    const overlay = PROTOCOL_OVERLAY[msg.name];
    if (overlay) {
      applyOverlay(msg, overlay);
      overlaid.add(msg.name);
    }
    const entry = apis.get(msg.apiKey) ?? { name: msg.name.replace(/(Request|Response)$/, '') };
    entry[msg.type] = msg;
    apis.set(msg.apiKey, entry);
  }
  const unused = Object.keys(PROTOCOL_OVERLAY).filter((name) => !overlaid.has(name));
  if (unused.length > 0) throw new Error(`protocol-overlay.ts: no message named ${unused.join(', ')} in ../shared`);
  for (const added of PROTOCOL_ADDITIONS) {
    const entry = apis.get(added.apiKey) ?? { name: added.name.replace(/(Request|Response)$/, '') };
    if (entry[added.type]) throw new Error(`protocol-overlay.ts: ../shared already has ${entry[added.type]!.name} (API ${added.apiKey}); drop the addition of ${added.name}`);
    entry[added.type] = structuredClone(added) as RawMessage;
    apis.set(added.apiKey, entry);
  }
  const lines: string[] = [
    '// GENERATED by scripts/gen-protocol.ts from ../shared/kafka-protocol/message/*.json and',
    '// scripts/protocol-overlay.ts. Do not edit.',
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
  return { messages: lines.join('\n'), errors: errLines.join('\n'), types: generateTypes(apis) };
}

if (!existsSync(specDir)) {
  console.error(`spec not found at ${specDir}; the committed tables are used as they are`);
  process.exit(process.argv.includes('--check') ? 0 : 1);
}
const out = generate();
if (process.argv.includes('--check')) {
  const same =
    existsSync(outFile) && readFileSync(outFile, 'utf8') === out.messages &&
    existsSync(errorsOut) && readFileSync(errorsOut, 'utf8') === out.errors &&
    existsSync(typesOut) && readFileSync(typesOut, 'utf8') === out.types;
  if (!same) {
    console.error('generated protocol tables differ from ../shared/kafka-protocol + scripts/protocol-overlay.ts; run `npm run gen`');
    process.exit(1);
  }
  console.log('generated protocol tables match ../shared/kafka-protocol + scripts/protocol-overlay.ts');
} else {
  writeFileSync(outFile, out.messages);
  writeFileSync(errorsOut, out.errors);
  writeFileSync(typesOut, out.types);
  console.log(`wrote ${outFile}, ${errorsOut} and ${typesOut}`);
}
