// The fuzzer's cases: for every API and version the broker serves, a valid request built from the
// generated schema tables with small random values, then mutated (bit flips, inserted/deleted
// bytes, truncation, length fields made huge or negative, lying frame sizes, duplicated frames,
// a wrong API key or version), plus pure noise. Every case comes from (seed, case number) alone,
// so one case can be rebuilt and printed without replaying the run.
import { apiSchema } from '../../src/protocol/apis.js';
import { compile } from '../../src/protocol/codec.js';
import { writeRequestHeader } from '../../src/protocol/header.js';
import { Writer } from '../../src/protocol/primitives.js';
import { encodeBatch, encodeBatchCompressedSync } from '../../src/protocol/records.js';
import { encodeMessage } from '../../src/protocol/legacy.js';
import { inRange, type FieldSchema } from '../../src/protocol/schema.js';

export interface ServedRange { apiKey: number; minVersion: number; maxVersion: number }

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0; }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** 0 ≤ n < max */
  int(max: number): number { return max <= 1 ? 0 : this.u32() % max; }
  range(lo: number, hi: number): number { return lo + this.int(hi - lo + 1); }
  chance(p: number): boolean { return this.u32() / 0x1_0000_0000 < p; }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]!; }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** The seed of one case: a mix of the run's seed and the case number. */
export function caseSeed(seed: number, caseNo: number): number {
  let h = (seed ^ Math.imul(caseNo + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// Small pools, so that requests meet each other's topics, groups and members.
export const FUZZ_TOPICS = ['fz-a', 'fz-b', 'fz-c', 'fz-d'];
const GROUPS = ['fg-1', 'fg-2', 'fg-3'];
const CONFIG_NAMES = ['retention.ms', 'cleanup.policy', 'max.message.bytes', 'segment.bytes', 'retention.bytes',
  'message.timestamp.type', 'min.insync.replicas', 'compression.type', 'no.such.config', ''];
const CONFIG_VALUES = ['1000', '-1', '0', 'delete', 'compact', 'delete,compact', 'CreateTime', 'LogAppendTime',
  'gzip', 'abc', '', '99999999999999999999', '1048576'];
const INT32_EDGES = [-1, 0, 1, -2147483648, 2147483647, 65536, -100, 1 << 30];
const INT64_EDGES = [-1, -2, 0, 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 40];

function str(rng: Rng): string {
  const n = rng.int(12);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.pick([rng.range(0x61, 0x7a), rng.range(0x20, 0x7e), rng.range(0x80, 0x3ff)]));
  return s;
}

function uuid(rng: Rng): string {
  if (rng.chance(0.6)) return '00000000-0000-0000-0000-000000000000';
  const h = rng.bytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A string field, by what its name (and its parent's) says it holds. */
function stringFor(rng: Rng, name: string, parent: string): string {
  if (rng.chance(0.05)) return str(rng);
  if (/config/i.test(parent) && name === 'name') return rng.pick(CONFIG_NAMES);
  if (/config/i.test(parent) && name === 'value') return rng.pick(CONFIG_VALUES);
  if (/topic/i.test(name) || /topic/i.test(parent) || name === 'resourceName') return rng.pick(FUZZ_TOPICS);
  if (/group|key$/i.test(name)) return rng.pick(GROUPS);
  if (/memberId/i.test(name)) return rng.chance(0.5) ? '' : `m-${rng.int(3)}`;
  if (/protocolType/i.test(name)) return 'consumer';
  if (/protocol|assignor|name/i.test(name)) return rng.pick(['range', 'roundrobin', 'uniform', 'x']);
  return str(rng);
}

function intFor(rng: Rng, name: string, type: string): number {
  const [lo, hi] = type === 'int8' ? [-128, 127] : type === 'int16' ? [-32768, 32767] : type === 'uint16' ? [0, 65535]
    : type === 'uint32' ? [0, 4294967295] : [-2147483648, 2147483647];
  let v: number;
  if (rng.chance(0.1)) v = type === 'int64' ? rng.pick(INT64_EDGES) : rng.pick(INT32_EDGES);
  else if (/^acks$/.test(name)) v = rng.pick([-1, 0, 1]);
  else if (/maxWaitMs|TimeoutMs$|timeout/i.test(name)) v = rng.range(0, 50);
  else if (/sessionTimeoutMs/i.test(name)) v = rng.pick([6000, 10000, 100]);
  else if (/partition|index|count|numPartitions/i.test(name)) v = rng.range(0, 3);
  else if (/replicationFactor/i.test(name)) v = rng.pick([1, -1]);
  else if (/offset/i.test(name)) v = rng.pick([0, 1, 5, -1, -2]);
  else if (/maxBytes|minBytes/i.test(name)) v = rng.pick([0, 1, 1024, 1048576]);
  else if (/epoch|generation/i.test(name)) v = rng.range(-1, 2);
  else if (/producerId/i.test(name)) v = rng.range(-1, 3);
  else if (/timestamp/i.test(name)) v = rng.pick([-1, -2, 0, Date.now()]);
  else v = rng.range(0, 3);
  if (type === 'int64') return v;
  return Math.min(hi, Math.max(lo, v));
}

function recordsFor(rng: Rng, produceVersion: number): Buffer | null {
  if (rng.chance(0.05)) return null;
  const n = rng.range(1, 3);
  if (produceVersion <= 2) {
    const magic = produceVersion === 2 ? 1 : 0;
    return Buffer.concat(Array.from({ length: n }, (_, i) =>
      encodeMessage({ offset: i, magic, timestamp: Date.now(), key: rng.chance(0.5) ? rng.bytes(rng.int(8)) : null, value: rng.bytes(rng.int(32)) })));
  }
  const records = Array.from({ length: n }, () => ({
    key: rng.chance(0.5) ? rng.bytes(rng.int(8)) : null,
    value: rng.chance(0.1) ? null : rng.bytes(rng.int(64)),
    headers: rng.chance(0.3) ? [{ key: 'h', value: rng.bytes(rng.int(4)) }] : undefined,
  }));
  const idempotent = rng.chance(0.2);
  const batch = { records, producerId: idempotent ? rng.range(0, 3) : -1, producerEpoch: idempotent ? 0 : -1, baseSequence: idempotent ? rng.range(0, 4) : -1 };
  const codec = rng.pick([0, 0, 0, 1, 2, 3]);
  return codec === 0 ? encodeBatch(batch) : encodeBatchCompressedSync(batch, codec);
}

type Value = unknown;

function valueFor(rng: Rng, f: FieldSchema, version: number, parent: string, apiKey: number): Value {
  const nullable = inRange(f.nullable, version);
  if (nullable && rng.chance(0.08)) return null;
  if (f.type === 'struct') return structFor(rng, f.fields ?? [], version, f.name, apiKey);
  if (f.type.startsWith('[]')) {
    const n = rng.chance(0.7) ? rng.range(1, 2) : rng.pick([0, 3]);
    const elem = f.type.slice(2);
    return Array.from({ length: n }, () => elem === 'struct'
      ? structFor(rng, f.fields ?? [], version, f.name, apiKey)
      : primitiveFor(rng, elem, f.name, parent, version, apiKey));
  }
  return primitiveFor(rng, f.type, f.name, parent, version, apiKey);
}

function primitiveFor(rng: Rng, type: string, name: string, parent: string, version: number, apiKey: number): Value {
  switch (type) {
    case 'bool': return rng.chance(0.5);
    case 'string': return stringFor(rng, name, parent);
    case 'uuid': return uuid(rng);
    case 'bytes': return rng.bytes(rng.int(16));
    case 'records': return apiKey === 0 ? recordsFor(rng, version) : rng.bytes(rng.int(32));
    case 'float64': return rng.pick([0, 1.5, -1, 1e300]);
    default: return intFor(rng, name, type);
  }
}

function structFor(rng: Rng, fields: readonly FieldSchema[], version: number, parent: string, apiKey: number): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    out[f.name] = valueFor(rng, f, version, parent, apiKey);
  }
  return out;
}

/** A whole request frame (4-byte size prefix included) of `apiKey` at `version`, valid for the schema. */
export function validRequest(rng: Rng, apiKey: number, version: number, correlationId: number): Buffer {
  const schema = apiSchema(apiKey)!;
  const body = structFor(rng, schema.request.fields, version, '', apiKey);
  const w = new Writer();
  writeRequestHeader(w, { apiKey, apiVersion: version, correlationId, clientId: rng.chance(0.9) ? 'fuzz' : null });
  compile(schema.request, version).encode(w, body);
  return sized(w.finish());
}

function sized(payload: Buffer): Buffer {
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

export interface FuzzCase {
  /** What was done, for reports: `Metadata v9 bitflip`. */
  label: string;
  /** The bytes written, in the chunks they are written in. */
  chunks: Buffer[];
  /** Half-close the connection after writing (the frame promises more bytes than it has). */
  endAfter: boolean;
}

const MUTATIONS = ['none', 'bitflip', 'overwrite', 'insert', 'delete', 'truncate', 'length', 'frame-size', 'duplicate',
  'version', 'api-key', 'splice', 'split', 'noise'] as const;

/** Writes a hostile length-ish value at `at` (int32, int16 or a long varint). */
function hostileLength(rng: Rng, b: Buffer, at: number): void {
  const kind = rng.int(4);
  if (kind === 0 && at + 4 <= b.length) b.writeInt32BE(rng.pick([-1, -2, 0x7fffffff, 0x10000000, -0x80000000]), at);
  else if (kind === 1 && at + 2 <= b.length) b.writeInt16BE(rng.pick([-1, -2, 0x7fff, -0x8000]), at);
  else if (kind === 2) { for (let i = 0; i < 5 && at + i < b.length; i++) b[at + i] = i < 4 ? 0xff : 0x0f; }
  else b[at] = rng.pick([0x00, 0xff, 0x7f, 0x80]);
}

function rebuild(payload: Buffer): Buffer { return sized(payload); }

/** Builds case `caseNo` of the run seeded `seed`. */
export function makeCase(seed: number, caseNo: number, apis: readonly ServedRange[]): FuzzCase {
  const rng = new Rng(caseSeed(seed, caseNo));
  const api = rng.pick(apis);
  const version = rng.range(api.minVersion, api.maxVersion);
  const name = apiSchema(api.apiKey)!.name;
  const frame = validRequest(rng, api.apiKey, version, rng.u32() | 0);
  const body = frame.subarray(4);
  const mutation = rng.chance(0.2) ? 'none' : rng.pick(MUTATIONS);
  const label = `${name} v${version} ${mutation}`;
  const one = (b: Buffer): FuzzCase => ({ label, chunks: [b], endAfter: false });
  switch (mutation) {
    case 'none': return one(frame);
    case 'bitflip': {
      const b = Buffer.from(body);
      for (let i = rng.range(1, 4); i > 0; i--) { const at = rng.int(b.length); b[at]! ^= 1 << rng.int(8); }
      return one(rebuild(b));
    }
    case 'overwrite': {
      const b = Buffer.from(body);
      for (let i = rng.range(1, 3); i > 0; i--) b[rng.int(b.length)] = rng.pick([0x00, 0xff, 0x7f, 0x80, rng.int(256)]);
      return one(rebuild(b));
    }
    case 'insert': {
      const at = rng.int(body.length + 1);
      return one(rebuild(Buffer.concat([body.subarray(0, at), rng.bytes(rng.range(1, 8)), body.subarray(at)])));
    }
    case 'delete': {
      const at = rng.int(body.length);
      return one(rebuild(Buffer.concat([body.subarray(0, at), body.subarray(at + rng.range(1, 8))])));
    }
    case 'truncate': return one(rebuild(body.subarray(0, rng.int(body.length))));
    case 'length': {
      const b = Buffer.from(body);
      // Offset 8 is the client id's length; past the header, anything may be a length.
      hostileLength(rng, b, rng.chance(0.2) ? 8 : rng.int(b.length));
      return one(rebuild(b));
    }
    case 'frame-size': {
      const b = Buffer.from(frame);
      const lie = rng.pick(['bigger', 'smaller', 'negative', 'huge', 'zero'] as const);
      const size = lie === 'bigger' ? body.length + rng.range(1, 1000) : lie === 'smaller' ? rng.int(body.length)
        : lie === 'negative' ? -rng.range(1, 0x7fffffff) : lie === 'huge' ? rng.range(0x7000000, 0x7fffffff) : 0;
      b.writeInt32BE(size, 0);
      return { label: `${label}(${lie})`, chunks: [b], endAfter: lie === 'bigger' || lie === 'smaller' };
    }
    case 'duplicate': {
      const copies = rng.range(2, 5);
      return { label, chunks: [Buffer.concat(Array.from({ length: copies }, () => frame))], endAfter: false };
    }
    case 'version': {
      const b = Buffer.from(frame);
      b.writeInt16BE(rng.pick([-1, api.maxVersion + 1, api.minVersion - 1, 0x7fff, rng.int(20)]), 6);
      return one(b);
    }
    case 'api-key': {
      const b = Buffer.from(frame);
      b.writeInt16BE(rng.chance(0.7) ? rng.pick(apis).apiKey : rng.pick([-1, 999, 0x7fff, rng.int(80)]), 4);
      return one(b);
    }
    case 'splice': {
      const other = rng.pick(apis);
      const second = validRequest(rng, other.apiKey, rng.range(other.minVersion, other.maxVersion), 7).subarray(4);
      const cut = 8 + rng.int(Math.max(1, body.length - 8));
      return one(rebuild(Buffer.concat([body.subarray(0, cut), second.subarray(Math.min(second.length, cut))])));
    }
    case 'split': {
      // A valid frame in pieces, some of them one byte long: framing across reads.
      const chunks: Buffer[] = [];
      for (let at = 0; at < frame.length;) { const n = rng.chance(0.5) ? 1 : rng.range(1, 64); chunks.push(frame.subarray(at, at + n)); at += n; }
      return { label, chunks, endAfter: false };
    }
    case 'noise': {
      const n = rng.int(600);
      const b = rng.bytes(n + 4);
      const wellSized = rng.chance(0.7);
      if (wellSized) b.writeInt32BE(n, 0); // a well-sized frame of garbage
      return { label: `noise(${n})`, chunks: [b], endAfter: !wellSized };
    }
  }
}
