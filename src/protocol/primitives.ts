// Byte-level reader and writer for Kafka's primitive types. No I/O here.

export class DecodeError extends Error {
  override name = 'DecodeError';
}

const TWO_32 = 4294967296;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

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

  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.buf[this.need(1)];
      if (shift < 28) result |= (b & 0x7f) << shift;
      else result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new DecodeError('uvarint too long');
    }
  }
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }
  /** zigzag varlong as a JS number (exact within ±2^53). */
  varlong(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; ; i++) {
      if (i >= 10) throw new DecodeError('varlong too long');
      const b = this.buf[this.need(1)];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) break;
      mul *= 128;
    }
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

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
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }
  varint(v: number): this { return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0); }
  varlong(v: number): this { return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1); }

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
