// Schema-driven codec: compiles one (message schema, version) pair into a decoder and an encoder,
// once, and caches them. Versions are data: there is no per-version code anywhere.
//
// JS shape of a message: an object whose keys are the camelCased field names of the spec.
// int64 values are JS numbers; `records` are Buffer | Buffer[] | null; uuids are dashed strings.
// generated/types.ts describes each API's messages in exactly this shape (RequestOf/ResponseOf);
// the codec itself works on untyped field maps, as it is driven by the tables at run time.
import { DecodeError, Reader, Writer } from './primitives.js';
import { inRange, type FieldSchema, type MessageSchema } from './schema.js';

/** A decoded message before it is given its API's type: field values by camelCased name. */
export type DecodedMessage = { [field: string]: unknown };

type Decode = (r: Reader) => unknown;
/** `v` is whatever the caller put in the field; the generated types say what that is. */
type Encode = (w: Writer, v: unknown) => void;

const asNumber = (v: unknown): number => (v === undefined || v === null ? 0 : (v as number));
const asString = (v: unknown, fallback: string | null): string | null => (v === undefined || v === null ? fallback : (v as string));

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export interface CompiledMessage {
  decode(r: Reader): DecodedMessage;
  /** `msg` is a message of the schema's API, e.g. a RequestOf<K> or ResponseOf<K>. */
  encode(w: Writer, msg: object): void;
}

interface CompiledField {
  name: string;
  present: boolean;
  tag?: number; // set when the field lives in the tagged-field section at this version
  decode: Decode;
  encode: Encode;
  fallback: () => unknown; // value used when the field is absent at this version or not sent
  isDefault: (v: unknown) => boolean; // tagged fields equal to their default are not written
}

function primitive(type: string, flexible: boolean, nullable: boolean, where: string): { decode: Decode; encode: Encode } {
  switch (type) {
    case 'bool': return { decode: (r) => r.bool(), encode: (w, v) => w.bool(!!v) };
    case 'int8': return { decode: (r) => r.int8(), encode: (w, v) => w.int8(asNumber(v)) };
    case 'int16': return { decode: (r) => r.int16(), encode: (w, v) => w.int16(asNumber(v)) };
    case 'uint16': return { decode: (r) => r.uint16(), encode: (w, v) => w.uint16(asNumber(v)) };
    case 'int32': return { decode: (r) => r.int32(), encode: (w, v) => w.int32(asNumber(v)) };
    case 'uint32': return { decode: (r) => r.uint32(), encode: (w, v) => w.uint32(asNumber(v)) };
    case 'int64': return { decode: (r) => r.int64(), encode: (w, v) => w.int64(asNumber(v)) };
    case 'float64': return { decode: (r) => r.float64(), encode: (w, v) => w.float64(asNumber(v)) };
    case 'uuid': return { decode: (r) => r.uuid(), encode: (w, v) => w.uuid(asString(v, ZERO_UUID) ?? ZERO_UUID) };
    case 'string': {
      const check = (s: string | null) => {
        if (s === null && !nullable) throw new DecodeError(`null for non-nullable string ${where}`);
        return s;
      };
      return flexible
        ? { decode: (r) => check(r.compactString()), encode: (w, v) => w.compactString(asString(v, nullable ? null : '')) }
        : { decode: (r) => check(r.string()), encode: (w, v) => w.string(asString(v, nullable ? null : '')) };
    }
    case 'bytes': {
      const empty = Buffer.alloc(0);
      // A null sent for a non-nullable bytes field is read as empty bytes (old clients send it for
      // empty group metadata), so a non-nullable field is always a Buffer, as its type says.
      const check = (b: Buffer | null) => (b === null && !nullable ? empty : b);
      const value = (v: unknown) => (v === undefined || v === null ? (nullable ? null : empty) : (v as Buffer));
      return flexible
        ? { decode: (r) => check(r.compactBytes()), encode: (w, v) => w.compactBytes(value(v)) }
        : { decode: (r) => check(r.bytes()), encode: (w, v) => w.bytes(value(v)) };
    }
    case 'records': {
      // Record data is passed through as bytes; a list of buffers is written back to back without copying.
      // Null is written as null where the field is nullable, else as no bytes (ShareFetch v1+).
      const encode: Encode = (w, v) => {
        if (v === null || v === undefined) {
          const length = nullable ? -1 : 0;
          if (flexible) w.uvarint(length + 1); else w.int32(length);
          return;
        }
        const parts = Array.isArray(v) ? (v as Buffer[]) : [v as Buffer];
        let total = 0;
        for (const p of parts) total += p.length;
        if (flexible) w.uvarint(total + 1); else w.int32(total);
        for (const p of parts) w.raw(p);
      };
      return { decode: (r) => (flexible ? r.compactBytes() : r.bytes()), encode };
    }
    default:
      throw new Error(`unknown primitive type ${type} at ${where}`);
  }
}

function fallbackFor(f: FieldSchema): () => unknown {
  if (f.type.startsWith('[]')) return () => [];
  if (f.type === 'struct') return () => null;
  if ('default' in f) {
    const d = f.default;
    return () => d;
  }
  switch (f.type) {
    case 'bool': return () => false;
    case 'string': return () => '';
    case 'bytes': case 'records': return () => null;
    case 'uuid': return () => ZERO_UUID;
    default: return () => 0;
  }
}

function compileField(f: FieldSchema, version: number, flexible: boolean, path: string): CompiledField {
  const where = `${path}.${f.name}`;
  const present = inRange(f.versions, version);
  const tagged = flexible && f.tag !== undefined && inRange(f.tagged, version);
  const nullable = inRange(f.nullable, version);
  const fallback = fallbackFor(f);
  let decode: Decode;
  let encode: Encode;
  if (f.type === 'struct' || f.type === '[]struct') {
    const inner = compileFields(f.fields ?? [], version, flexible, where);
    if (f.type === 'struct' && nullable) {
      // A nullable struct is preceded by an int8: -1 for null, 1 when present.
      decode = (r) => (r.int8() < 0 ? null : inner.decode(r));
      encode = (w, v) => (v === null || v === undefined ? void w.int8(-1) : void inner.encode(w.int8(1), v as object));
    } else if (f.type === 'struct') {
      decode = (r) => inner.decode(r);
      encode = (w, v) => inner.encode(w, (v ?? {}) as object);
    } else {
      ({ decode, encode } = arrayOf(inner.decode, (w, v) => inner.encode(w, (v ?? {}) as object), flexible, nullable, where));
    }
  } else if (f.type.startsWith('[]')) {
    const elem = primitive(f.type.slice(2), flexible, false, where);
    ({ decode, encode } = arrayOf(elem.decode, elem.encode, flexible, nullable, where));
  } else {
    ({ decode, encode } = primitive(f.type, flexible, nullable, where));
  }
  const fb = fallback();
  const isDefault = (v: unknown) =>
    v === undefined || v === fb || (Array.isArray(v) && v.length === 0 && Array.isArray(fb));
  return { name: f.name, present, tag: tagged ? f.tag : undefined, decode, encode, fallback, isDefault };
}

function arrayOf(decodeElem: Decode, encodeElem: Encode, flexible: boolean, nullable: boolean, where: string) {
  const decode: Decode = (r) => {
    const n = r.arrayLength(flexible);
    if (n < 0) {
      if (!nullable) throw new DecodeError(`null for non-nullable array ${where}`);
      return null;
    }
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = decodeElem(r);
    return out;
  };
  const encode: Encode = (w, v) => {
    if (v === null && nullable) {
      if (flexible) w.uvarint(0); else w.int32(-1);
      return;
    }
    const list = v === null || v === undefined ? [] : (v as readonly unknown[]);
    if (flexible) w.uvarint(list.length + 1); else w.int32(list.length);
    for (let i = 0; i < list.length; i++) encodeElem(w, list[i]);
  };
  return { decode, encode };
}

function compileFields(fields: readonly FieldSchema[], version: number, flexible: boolean, path: string) {
  const all = fields.map((f) => compileField(f, version, flexible, path));
  const regular = all.filter((f) => f.present && f.tag === undefined);
  const tagged = all.filter((f) => f.present && f.tag !== undefined).sort((a, b) => a.tag! - b.tag!);
  const absent = all.filter((f) => !f.present || f.tag !== undefined);
  const byTag = new Map(tagged.map((f) => [f.tag!, f]));

  const decode = (r: Reader): DecodedMessage => {
    const out: DecodedMessage = {};
    for (const f of absent) out[f.name] = f.fallback();
    for (const f of regular) out[f.name] = f.decode(r);
    if (flexible) {
      const count = r.uvarint();
      for (let i = 0; i < count; i++) {
        const tag = r.uvarint();
        const size = r.uvarint();
        const field = byTag.get(tag);
        if (!field) {
          r.raw(size); // unknown tagged field: skip
          continue;
        }
        const body = new Reader(r.buf, r.offset, r.offset + size);
        if (body.end > r.end) throw new DecodeError(`tagged field ${tag} overruns its struct`);
        out[field.name] = field.decode(body);
        r.offset += size;
      }
    }
    return out;
  };

  const encode = (w: Writer, message: object): void => {
    const msg = message as DecodedMessage; // read by field name, as the tables list them
    for (const f of regular) f.encode(w, msg[f.name] === undefined ? f.fallback() : msg[f.name]);
    if (!flexible) return;
    const toWrite = tagged.filter((f) => !f.isDefault(msg[f.name]));
    w.uvarint(toWrite.length);
    for (const f of toWrite) {
      const body = new Writer(64);
      f.encode(body, msg[f.name]);
      const bytes = body.finish();
      w.uvarint(f.tag!).uvarint(bytes.length).raw(bytes);
    }
  };
  return { decode, encode };
}

const cache = new WeakMap<MessageSchema, Map<number, CompiledMessage>>();

/** The decoder/encoder for `schema` at `version`, compiled on first use. */
export function compile(schema: MessageSchema, version: number): CompiledMessage {
  let byVersion = cache.get(schema);
  if (!byVersion) cache.set(schema, (byVersion = new Map()));
  let compiled = byVersion.get(version);
  if (!compiled) {
    const flexible = inRange(schema.flexibleVersions, version);
    compiled = compileFields(schema.fields, version, flexible, 'message');
    byVersion.set(version, compiled);
  }
  return compiled;
}

export function isFlexible(schema: MessageSchema, version: number): boolean {
  return inRange(schema.flexibleVersions, version);
}
