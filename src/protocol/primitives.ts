// Byte-level reader and writer for Kafka's primitive types. No I/O here.

export class DecodeError extends Error {
  override name = 'DecodeError';
}

const TWO_32 = 4294967296;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

// ---------------------------------------------------------------------------------------------
// Varints, the one implementation: Reader/Writer below and the record codec (records.ts) use
// these. varint = zigzag int32 (at most 5 bytes), varlong = zigzag int64 as a JS number (exact
// within ±2^52, which covers timestamp deltas), uvarint = unsigned int32.

/** A read position in `buf` that reads must not pass `end`. A Reader is one. */
export interface ByteCursor {
  readonly buf: Buffer;
  offset: number;
  readonly end: number;
}

export const zigzag32 = (n: number): number => ((n << 1) ^ (n >> 31)) >>> 0;
export const zigzag64 = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);

export function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  v = Math.floor(v / 0x800000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 128);
  }
  return n;
}
export const varintSize = (n: number): number => uvarintSize(zigzag32(n));
export const varlongSize = (n: number): number => uvarintSize(zigzag64(n));

/** Writes `v` (0 ≤ v < 2^53) at `at` and returns the position after it. The caller makes room. */
export function writeUVarint(b: Buffer, at: number, v: number): number {
  while (v >= 0x80) {
    b[at++] = (v & 0x7f) | 0x80;
    v = v >= 0x100000000 ? Math.floor(v / 128) : v >>> 7;
  }
  b[at++] = v;
  return at;
}
export const writeVarint = (b: Buffer, at: number, n: number): number => writeUVarint(b, at, zigzag32(n));
export const writeVarlong = (b: Buffer, at: number, n: number): number => writeUVarint(b, at, zigzag64(n));

/** Reads an unsigned varint of at most 5 bytes (Kafka's limit), moving `c.offset` past it. */
export function readUVarint(c: ByteCursor): number {
  const buf = c.buf;
  const end = c.end;
  let at = c.offset;
  let result = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= end) throw new DecodeError(`varint past the end at ${at}`);
    if (shift > 28) throw new DecodeError(`varint longer than 5 bytes at ${c.offset}`);
    const b = buf[at++];
    if (shift < 28) result |= (b & 0x7f) << shift;
    else result += (b & 0x7f) * 0x10000000;
    if ((b & 0x80) === 0) {
      c.offset = at;
      return result >>> 0;
    }
  }
}

export function readVarint(c: ByteCursor): number {
  // One-byte fast path: most lengths, deltas and counts are small.
  const at = c.offset;
  if (at < c.end) {
    const b = c.buf[at];
    if (b < 0x80) {
      c.offset = at + 1;
      return (b >>> 1) ^ -(b & 1);
    }
  }
  const u = readUVarint(c);
  return (u >>> 1) ^ -(u & 1);
}

/** Reads a zigzag varlong of at most 10 bytes. */
export function readVarlong(c: ByteCursor): number {
  const buf = c.buf;
  const end = c.end;
  let at = c.offset;
  let result = 0;
  let mul = 1;
  for (let i = 0; ; i++) {
    if (at >= end) throw new DecodeError(`varlong past the end at ${at}`);
    if (i >= 10) throw new DecodeError(`varlong longer than 10 bytes at ${c.offset}`);
    const b = buf[at++];
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) break;
    mul *= 128;
  }
  c.offset = at;
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}

/** Sequential reader over one buffer. Every read checks bounds and throws DecodeError past the end. */
export class Reader {
  offset: number;
  constructor(readonly buf: Buffer, offset = 0, readonly end = buf.length) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): number {
    const at = this.offset;
    if (n < 0 || at + n > this.end) throw new DecodeError(`need ${n} bytes at ${at}, have ${this.end - at}`);
    this.offset = at + n;
    return at;
  }

  bool(): boolean { return this.buf[this.need(1)] !== 0; }
  int8(): number { return this.buf.readInt8(this.need(1)); }
  int16(): number { return this.buf.readInt16BE(this.need(2)); }
  uint16(): number { return this.buf.readUInt16BE(this.need(2)); }
  int32(): number { return this.buf.readInt32BE(this.need(4)); }
  uint32(): number { return this.buf.readUInt32BE(this.need(4)); }
  float64(): number { return this.buf.readDoubleBE(this.need(8)); }
  /** int64 as a JS number: exact within ±2^53, which covers offsets, timestamps and producer ids. */
  int64(): number {
    const at = this.need(8);
    return this.buf.readInt32BE(at) * TWO_32 + this.buf.readUInt32BE(at + 4);
  }

  uvarint(): number { return readUVarint(this); }
  varint(): number { return readVarint(this); }
  /** zigzag varlong as a JS number (exact within ±2^52). */
  varlong(): number { return readVarlong(this); }

  uuid(): string {
    const at = this.need(16);
    const hex = this.buf.toString('hex', at, at + 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  raw(n: number): Buffer {
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }

  string(): string | null {
    const len = this.int16();
    if (len < 0) return null;
    const at = this.need(len);
    return this.buf.toString('utf8', at, at + len);
  }
  compactString(): string | null {
    const len = this.uvarint() - 1;
    if (len < 0) return null;
    const at = this.need(len);
    return this.buf.toString('utf8', at, at + len);
  }
  bytes(): Buffer | null {
    const len = this.int32();
    return len < 0 ? null : this.raw(len);
  }
  compactBytes(): Buffer | null {
    const len = this.uvarint() - 1;
    return len < 0 ? null : this.raw(len);
  }
  /** Array length, -1 for null; checks the count against the bytes left so garbage cannot allocate. */
  arrayLength(compact: boolean): number {
    const n = compact ? this.uvarint() - 1 : this.int32();
    if (n > this.remaining) throw new DecodeError(`array of ${n} elements with ${this.remaining} bytes left`);
    return n;
  }
}

/**
 * Growable writer. Large byte payloads (record batches) are kept as separate chunks instead of being
 * copied, so a Fetch response can go to the socket as the stored bytes.
 */
export class Writer {
  private chunks: Buffer[] = [];
  private buf: Buffer;
  private pos = 0;
  private flushed = 0; // bytes of `buf` already moved into `chunks`
  private chunkBytes = 0; // total length of `chunks`

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.chunkBytes + this.pos - this.flushed;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const live = this.pos - this.flushed;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, live + n + 256));
    this.buf.copy(next, 0, this.flushed, this.pos);
    this.buf = next;
    this.pos = live;
    this.flushed = 0;
  }

  bool(v: boolean): this { this.ensure(1); this.buf[this.pos++] = v ? 1 : 0; return this; }
  int8(v: number): this { this.ensure(1); this.buf.writeInt8(v, this.pos); this.pos += 1; return this; }
  int16(v: number): this { this.ensure(2); this.buf.writeInt16BE(v, this.pos); this.pos += 2; return this; }
  uint16(v: number): this { this.ensure(2); this.buf.writeUInt16BE(v, this.pos); this.pos += 2; return this; }
  int32(v: number): this { this.ensure(4); this.buf.writeInt32BE(v, this.pos); this.pos += 4; return this; }
  uint32(v: number): this { this.ensure(4); this.buf.writeUInt32BE(v >>> 0, this.pos); this.pos += 4; return this; }
  float64(v: number): this { this.ensure(8); this.buf.writeDoubleBE(v, this.pos); this.pos += 8; return this; }
  int64(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
    return this;
  }
  uvarint(v: number): this {
    this.ensure(10);
    this.pos = writeUVarint(this.buf, this.pos, v);
    return this;
  }
  varint(v: number): this { return this.uvarint(zigzag32(v)); }
  varlong(v: number): this { return this.uvarint(zigzag64(v)); }

  uuid(v: string | null): this {
    const hex = (v ?? ZERO_UUID).replace(/-/g, '');
    if (hex.length !== 32) throw new Error(`bad uuid ${v}`);
    this.ensure(16);
    this.buf.write(hex, this.pos, 16, 'hex');
    this.pos += 16;
    return this;
  }

  raw(b: Buffer | Uint8Array): this {
    if (b.length >= 4096) {
      this.flushInto();
      const chunk = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      return this;
    }
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  private utf8(v: string, len: number): void {
    this.ensure(len);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
  }
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const len = Buffer.byteLength(v);
    if (len > 32767) throw new Error('string longer than 32767 bytes');
    this.int16(len);
    this.utf8(v, len);
    return this;
  }
  compactString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    const len = Buffer.byteLength(v);
    this.uvarint(len + 1);
    this.utf8(v, len);
    return this;
  }
  bytes(v: Buffer | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).raw(v);
  }
  compactBytes(v: Buffer | null): this {
    if (v === null) return this.uvarint(0);
    return this.uvarint(v.length + 1).raw(v);
  }

  private flushInto(): void {
    if (this.pos > this.flushed) {
      const part = this.buf.subarray(this.flushed, this.pos);
      this.chunks.push(part);
      this.chunkBytes += part.length;
      // Keep writing after the flushed part; the old bytes are referenced by `chunks`.
      this.buf = this.buf.subarray(this.pos);
      this.pos = 0;
      this.flushed = 0;
    }
  }

  /** All written bytes as a list of buffers (no copy of large payloads). */
  finishChunks(): Buffer[] {
    this.flushInto();
    const out = this.chunks;
    this.chunks = [];
    this.chunkBytes = 0;
    return out;
  }

  /** All written bytes as one buffer. */
  finish(): Buffer {
    if (this.chunks.length === 0) return this.buf.subarray(this.flushed, this.pos);
    const parts = this.finishChunks();
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}
