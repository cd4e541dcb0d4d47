// Round trip of every request and response of every version in the generated tables: a message
// filled with non-default values is encoded, decoded and encoded again, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_SCHEMAS } from '../../src/protocol/generated/messages.js';
import { compile, isFlexible } from '../../src/protocol/codec.js';
import { Reader, Writer, DecodeError } from '../../src/protocol/primitives.js';
import { inRange, type FieldSchema, type MessageSchema } from '../../src/protocol/schema.js';
import { readRequestHeader, writeRequestHeader } from '../../src/protocol/header.js';

let seed = 1;
const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);

function sample(type: string): unknown {
  switch (type) {
    case 'bool': return true;
    case 'int8': return (next() % 200) - 100;
    case 'int16': return (next() % 60000) - 30000;
    case 'uint16': return next() % 65535;
    case 'int32': return next() - 1000;
    case 'uint32': return next();
    case 'int64': return next() * 1024 + 7;
    case 'float64': return 1.5;
    case 'string': return `s${next() % 1000}`;
    case 'bytes': return Buffer.from([1, 2, 3]);
    case 'records': return Buffer.from([9, 8, 7, 6]);
    case 'uuid': return '0123abcd-4567-89ef-0123-456789abcdef';
    default: throw new Error(type);
  }
}

function fill(fields: readonly FieldSchema[], version: number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) continue;
    if (f.type === 'struct') out[f.name] = fill(f.fields!, version, depth + 1);
    else if (f.type === '[]struct') out[f.name] = depth > 4 ? [] : [fill(f.fields!, version, depth + 1), fill(f.fields!, version, depth + 1)];
    else if (f.type.startsWith('[]')) out[f.name] = [sample(f.type.slice(2)), sample(f.type.slice(2))];
    else out[f.name] = sample(f.type);
  }
  return out;
}

function roundTrip(schema: MessageSchema, version: number, label: string) {
  const codec = compile(schema, version);
  const msg = fill(schema.fields, version);
  const w1 = new Writer();
  codec.encode(w1, msg);
  const bytes = w1.finish();
  const r = new Reader(bytes);
  const decoded = codec.decode(r);
  assert.equal(r.remaining, 0, `${label}: decoder left ${r.remaining} bytes`);
  const w2 = new Writer();
  codec.encode(w2, decoded);
  assert.deepEqual(w2.finish(), bytes, `${label}: re-encoding differs`);
  for (const [k, v] of Object.entries(msg)) {
    if (Buffer.isBuffer(v)) assert.deepEqual(Buffer.from(decoded[k] as Buffer), v, `${label}.${k}`);
  }
}

test('every version of every API round-trips', () => {
  let count = 0;
  for (const api of API_SCHEMAS) {
    const [min, max] = api.request.validVersions!;
    for (let v = min; v <= max; v++) {
      roundTrip(api.request, v, `${api.name} request v${v}`);
      roundTrip(api.response, v, `${api.name} response v${v}`);
      count += 2;
    }
  }
  assert.ok(count > 500, `only ${count} messages checked`);
});

test('tagged fields: unknown tags are skipped, known ones decoded', () => {
  const api = API_SCHEMAS.find((a) => a.name === 'ApiVersions')!;
  const codec = compile(api.response, 3);
  const w = new Writer();
  codec.encode(w, { errorCode: 0, apiKeys: [], throttleTimeMs: 5, finalizedFeaturesEpoch: 42 });
  const bytes = w.finish();
  const decoded = codec.decode(new Reader(bytes));
  assert.equal(decoded.finalizedFeaturesEpoch, 42);
  assert.equal(decoded.zkMigrationReady, false);
  // Splice an unknown tag (99) into the tagged section: the count goes 1 -> 2.
  const tail = bytes.subarray(bytes.length - 11); // count(1) + tag 1: tag(1) len(1) int64(8)
  assert.equal(tail[0], 1);
  const patched = Buffer.concat([bytes.subarray(0, bytes.length - 11), Buffer.from([2, 99, 2, 0xaa, 0xbb]), tail.subarray(1)]);
  const again = codec.decode(new Reader(patched));
  assert.equal(again.finalizedFeaturesEpoch, 42);
});

test('flexible versions use compact encodings', () => {
  const api = API_SCHEMAS.find((a) => a.name === 'Metadata')!;
  assert.equal(isFlexible(api.request, 8), false);
  assert.equal(isFlexible(api.request, 9), true);
  const w = new Writer();
  compile(api.request, 9).encode(w, { topics: null, allowAutoTopicCreation: true });
  // null compact array (0), three bools, no tags (0)
  assert.deepEqual([...w.finish()], [0, 1, 0, 0, 0]);
});

test('truncated and garbage bodies throw DecodeError, never allocate wildly', () => {
  for (const api of API_SCHEMAS) {
    const [, max] = api.request.validVersions!;
    const codec = compile(api.request, max);
    const w = new Writer();
    codec.encode(w, fill(api.request.fields, max));
    const bytes = w.finish();
    for (let cut = 0; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 7))) {
      try {
        codec.decode(new Reader(bytes.subarray(0, cut)));
      } catch (err) {
        assert.ok(err instanceof DecodeError, `${api.name}: ${(err as Error).message}`);
      }
    }
  }
  // A huge array count with a few bytes left is refused up front.
  const produce = API_SCHEMAS.find((a) => a.name === 'Produce')!;
  const garbage = Buffer.from([0xff, 0xff, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff]);
  assert.throws(() => compile(produce.request, 3).decode(new Reader(garbage)), DecodeError);
});

test('bytes: null for a non-nullable field reads as empty bytes (its type is Buffer), nullable stays null', () => {
  // SyncGroup v3 request: groupId, generationId, memberId, groupInstanceId (nullable), assignments[memberId, assignment].
  const syncGroup = API_SCHEMAS.find((a) => a.name === 'SyncGroup')!;
  const w = new Writer().string('g').int32(1).string('m').string(null).int32(1).string('m').int32(-1);
  const decoded = compile(syncGroup.request, 3).decode(new Reader(w.finish()));
  const [assignment] = decoded.assignments as { assignment: Buffer }[];
  assert.deepEqual(assignment.assignment, Buffer.alloc(0));
  // JoinGroup v7 response: a nullable protocolType stays null; omitted metadata bytes come back empty.
  const joinGroup = API_SCHEMAS.find((a) => a.name === 'JoinGroup')!;
  const out = new Writer();
  compile(joinGroup.response, 7).encode(out, { errorCode: 0, generationId: 1, protocolType: null, protocolName: null, leader: 'm', memberId: 'm', members: [{ memberId: 'm', groupInstanceId: null }] });
  const back = compile(joinGroup.response, 7).decode(new Reader(out.finish()));
  assert.equal(back.protocolType, null);
  assert.deepEqual((back.members as { metadata: Buffer }[])[0].metadata, Buffer.alloc(0));
});

test('request header v1 and v2 round-trip', () => {
  for (const [apiKey, apiVersion] of [[3, 1], [3, 12], [18, 3], [0, 9]]) {
    const w = new Writer();
    writeRequestHeader(w, { apiKey, apiVersion, correlationId: 77, clientId: 'cli' });
    const r = new Reader(w.finish());
    assert.deepEqual(readRequestHeader(r), { apiKey, apiVersion, correlationId: 77, clientId: 'cli' });
    assert.equal(r.remaining, 0);
  }
});

test('varints and int64 edge values', () => {
  const w = new Writer();
  const ints = [0, 1, -1, 63, -64, 64, 2147483647, -2147483648];
  const longs = [0, -1, 1, 2 ** 40, -(2 ** 40), 2 ** 52 - 1, -(2 ** 52)];
  for (const v of ints) w.varint(v);
  for (const v of longs) w.varlong(v);
  for (const v of longs) w.int64(v);
  const r = new Reader(w.finish());
  for (const v of ints) assert.equal(r.varint(), v);
  for (const v of longs) assert.equal(r.varlong(), v);
  for (const v of longs) assert.equal(r.int64(), v);
});
