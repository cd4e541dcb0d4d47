// Compression codecs of Kafka record batches and legacy wrapper messages (attributes bits 0–2):
// 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
//
// - gzip: node:zlib.
// - snappy: the `snappy` package (napi-rs, prebuilt binaries). Decompression accepts both raw
//   snappy and the xerial framing written by Java's snappy-java and kafka-node:
//   0x82 "SNAPPY" 0x00 | int32 version | int32 compatible version | (int32 length, raw block)*.
//   Compression writes raw snappy, which every client reads.
// - lz4: the LZ4 *frame* format (magic 0x184D2204), through `lz4-napi` (lz4_flex). Kafka's first
//   LZ4 implementation (message format v0) computed the frame header checksum over the magic
//   number too; such frames are repaired before decoding.
// - zstd: `@mongodb-js/zstd` 1.x (napi-rs, prebuilt binaries). It has no synchronous API, so zstd
//   is only available through the async functions (legacy message sets never carry zstd anyway).
//
// The native modules are loaded on first use, so a broker on a platform without one of the
// binaries still starts and serves everything that does not need that codec.
import { createRequire } from 'node:module';

export const Codec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CodecId = number;

export const CODEC_NAMES: Record<number, string> = { 0: 'none', 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

/** UNSUPPORTED_COMPRESSION_TYPE, as a number to keep this file standalone. */
const UNSUPPORTED_COMPRESSION_TYPE = 76;
/** CORRUPT_MESSAGE. */
const CORRUPT_MESSAGE = 2;

/** Decompressed data larger than this is refused (a guard against decompression bombs). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/** An unknown codec id, or a codec this build cannot run (missing native module, no sync zstd). */
export class UnsupportedCompressionError extends Error {
  override name = 'UnsupportedCompressionError';
  readonly errorCode = UNSUPPORTED_COMPRESSION_TYPE;
  constructor(readonly codec: number, detail?: string) {
    super(detail ?? `unsupported compression codec ${codec}`);
  }
}

/** Compressed bytes that do not decode (bad data, wrong framing, too large when decompressed). */
export class CompressionError extends Error {
  override name = 'CompressionError';
  readonly errorCode = CORRUPT_MESSAGE;
  constructor(readonly codec: number, message: string) {
    super(`${CODEC_NAMES[codec] ?? codec}: ${message}`);
  }
}

/** Compressed bytes that would decompress to more than the caller's limit. */
export class DecompressedTooLargeError extends CompressionError {
  override name = 'DecompressedTooLargeError';
  constructor(codec: number, limit: number, size?: number) {
    super(codec, `${size === undefined ? 'output' : `${size} bytes`} exceeds the ${limit}-byte decompression limit`);
  }
}

export interface DecompressOptions {
  /** Refuse output larger than this many bytes (default DEFAULT_MAX_DECOMPRESSED_BYTES). */
  maxBytes?: number;
}

// ---------------------------------------------------------------------------------------------
// Lazily loaded native modules.

const require = createRequire(import.meta.url);
type SnappyModule = typeof import('snappy');
type Lz4Module = typeof import('lz4-napi');
type ZstdModule = typeof import('@mongodb-js/zstd');
const loaded = new Map<string, unknown>();

function load<T>(name: string, codec: number): T {
  let mod = loaded.get(name);
  if (mod === undefined) {
    try {
      mod = require(name);
    } catch (err) {
      throw new UnsupportedCompressionError(codec, `${CODEC_NAMES[codec]} needs the ${name} package, which did not load: ${(err as Error).message}`);
    }
    loaded.set(name, mod);
  }
  return mod as T;
}
const snappyLib = () => load<SnappyModule>('snappy', Codec.snappy);
const lz4Lib = () => load<Lz4Module>('lz4-napi', Codec.lz4);
const zstdLib = () => load<ZstdModule>('@mongodb-js/zstd', Codec.zstd);
// Even node:zlib is loaded on first use: it is a measurable part of a broker's start-up.
let zlibModule: typeof import('node:zlib') | undefined;
const zlib = () => (zlibModule ??= require('node:zlib') as typeof import('node:zlib'));

/** True when `codec` is one of the ids Kafka defines (0–4). */
export function isKnownCodec(codec: number): boolean {
  return Number.isInteger(codec) && codec >= 0 && codec <= 4;
}

// ---------------------------------------------------------------------------------------------
// Snappy framing.

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;

export function isXerialSnappy(buf: Buffer): boolean {
  return buf.length >= XERIAL_HEADER_SIZE && buf.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

/** The uncompressed length a raw snappy block declares in its uvarint preamble. */
function snappyDeclaredLength(block: Buffer): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i];
    result += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return result;
    mul *= 128;
  }
  throw new CompressionError(Codec.snappy, 'bad block preamble');
}

function snappyBlock(block: Buffer, budget: number): Buffer {
  const declared = snappyDeclaredLength(block);
  if (declared > budget) throw new DecompressedTooLargeError(Codec.snappy, budget, declared);
  try {
    return snappyLib().uncompressSync(block) as Buffer;
  } catch (err) {
    if (err instanceof UnsupportedCompressionError) throw err;
    throw new CompressionError(Codec.snappy, (err as Error).message);
  }
}

function snappyDecompress(buf: Buffer, maxBytes: number): Buffer {
  if (!isXerialSnappy(buf)) return snappyBlock(buf, maxBytes);
  const parts: Buffer[] = [];
  let total = 0;
  let at = XERIAL_HEADER_SIZE;
  while (at < buf.length) {
    if (buf.length - at < 4) throw new CompressionError(Codec.snappy, 'truncated xerial block length');
    const len = buf.readInt32BE(at);
    at += 4;
    if (len < 0 || at + len > buf.length) throw new CompressionError(Codec.snappy, 'truncated xerial block');
    const part = snappyBlock(buf.subarray(at, at + len), maxBytes - total);
    parts.push(part);
    total += part.length;
    at += len;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
}

// ---------------------------------------------------------------------------------------------
// LZ4 frame header checksum (xxHash32), used to recognise and repair Kafka's legacy frames.

const P1 = 2654435761, P2 = 2246822519, P3 = 3266489917, P4 = 668265263, P5 = 374761393;
const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
const mul = (a: number, b: number) => Math.imul(a, b) >>> 0;

/** xxHash32 of `buf` with `seed`. */
export function xxh32(buf: Buffer, seed = 0): number {
  const len = buf.length;
  let p = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) >>> 0, v2 = (seed + P2) >>> 0, v3 = seed >>> 0, v4 = (seed - P1) >>> 0;
    const round = (acc: number, input: number) => mul(rotl((acc + mul(input, P2)) >>> 0, 13), P1);
    while (p <= len - 16) {
      v1 = round(v1, buf.readUInt32LE(p));
      v2 = round(v2, buf.readUInt32LE(p + 4));
      v3 = round(v3, buf.readUInt32LE(p + 8));
      v4 = round(v4, buf.readUInt32LE(p + 12));
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = (seed + P5) >>> 0;
  }
  h = (h + len) >>> 0;
  while (p + 4 <= len) {
    h = mul(rotl((h + mul(buf.readUInt32LE(p), P3)) >>> 0, 17), P4);
    p += 4;
  }
  while (p < len) {
    h = mul(rotl((h + mul(buf[p], P5)) >>> 0, 11), P1);
    p++;
  }
  h = mul(h ^ (h >>> 15), P2);
  h = mul(h ^ (h >>> 13), P3);
  return (h ^ (h >>> 16)) >>> 0;
}

const LZ4_MAGIC = 0x184d2204;

/**
 * Returns the frame unchanged when its header checksum is right, or a copy with the checksum
 * corrected when it was computed Kafka's legacy way (over the magic number too).
 */
export function repairLegacyLz4Header(frame: Buffer): Buffer {
  if (frame.length < 7 || frame.readUInt32LE(0) !== LZ4_MAGIC) return frame;
  const flg = frame[4];
  const descriptorEnd = 6 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
  if (frame.length <= descriptorEnd) return frame;
  const hc = frame[descriptorEnd];
  const proper = (xxh32(frame.subarray(4, descriptorEnd)) >>> 8) & 0xff;
  if (hc === proper) return frame;
  const legacy = (xxh32(frame.subarray(0, descriptorEnd)) >>> 8) & 0xff;
  if (hc !== legacy) return frame; // plainly corrupt: let the decoder say so
  const fixed = Buffer.from(frame);
  fixed[descriptorEnd] = proper;
  return fixed;
}

function lz4Decompress(buf: Buffer, maxBytes: number): Buffer {
  const bound = lz4FrameBound(buf);
  if (bound > maxBytes + BOUND_SLACK) throw new DecompressedTooLargeError(Codec.lz4, maxBytes, bound);
  let out: Buffer;
  try {
    out = lz4Lib().decompressFrameSync(repairLegacyLz4Header(buf));
  } catch (err) {
    if (err instanceof UnsupportedCompressionError) throw err;
    throw new CompressionError(Codec.lz4, (err as Error).message);
  }
  if (out.length > maxBytes) throw new DecompressedTooLargeError(Codec.lz4, maxBytes, out.length);
  return out;
}

/**
 * An upper bound of what an LZ4 frame (or frames back to back) decompresses to, read from the
 * block headers alone: a stored block yields its own size, a compressed one at most the frame's
 * block maximum size and at most 255 bytes per byte. lz4-napi has no output limit, so the bound
 * is checked (with BOUND_SLACK for the last block's allowance) before decoding.
 * Where the framing is cut short the count stops there (the decoder then reports the damage);
 * bytes that are no LZ4 frame at all throw CompressionError.
 */
export function lz4FrameBound(buf: Buffer): number {
  let at = 0;
  let bound = 0;
  while (at + 7 <= buf.length) {
    const magic = buf.readUInt32LE(at);
    if (magic >= 0x184d2a50 && magic <= 0x184d2a5f) { // skippable frame
      if (at + 8 > buf.length) return bound;
      at += 8 + buf.readUInt32LE(at + 4);
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new CompressionError(Codec.lz4, `no LZ4 frame at byte ${at}`);
    const flg = buf[at + 4];
    const bd = buf[at + 5];
    const blockMax = [0, 0, 0, 0, 65536, 262144, 1048576, 4194304][(bd >> 4) & 7];
    if (blockMax === 0) return bound;
    const blockChecksum = (flg & 0x10) !== 0;
    at += 7 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
    for (;;) {
      if (at + 4 > buf.length) return bound;
      const word = buf.readUInt32LE(at);
      at += 4;
      if (word === 0) break; // end mark
      const size = word & 0x7fffffff;
      // LZ4 turns one input byte into at most 255 output bytes (match lengths grow 255 per byte).
      bound += (word & 0x80000000) !== 0 ? size : Math.min(blockMax, size * 255 + 64);
      at += size + (blockChecksum ? 4 : 0);
    }
    if (flg & 0x04) at += 4; // content checksum
  }
  return bound;
}

const ZSTD_MAGIC = 0xfd2fb528;
/**
 * How far a block-header bound may pass the limit before the data is refused unread: the last
 * block's allowance (up to one block maximum) is rarely all used. The decoded length is checked
 * against the limit afterwards, so at most this much more is ever allocated.
 */
const BOUND_SLACK = 4 * 1024 * 1024;
const ZSTD_BLOCK_MAX = 128 * 1024;

/**
 * An upper bound of what zstd frames decompress to, read from the block headers alone: raw and
 * RLE blocks state their size, a compressed block yields at most 128 KiB (compressors fill every
 * block but the last). @mongodb-js/zstd has no output limit, and one RLE block of 4 bytes makes
 * 128 KiB, so the bound is checked (with BOUND_SLACK for the last block's allowance) first.
 * Bytes that are no zstd frame (older zstd formats included) throw CompressionError.
 */
export function zstdFrameBound(buf: Buffer): number {
  let at = 0;
  let bound = 0;
  while (at + 4 <= buf.length) {
    const magic = buf.readUInt32LE(at);
    if (magic >= 0x184d2a50 && magic <= 0x184d2a5f) { // skippable frame
      if (at + 8 > buf.length) return bound;
      at += 8 + buf.readUInt32LE(at + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new CompressionError(Codec.zstd, `no zstd frame at byte ${at}`);
    if (at + 5 > buf.length) return bound;
    const fhd = buf[at + 4];
    const singleSegment = (fhd & 0x20) !== 0;
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6];
    at += 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + fcsSize;
    for (;;) {
      if (at + 3 > buf.length) return bound;
      const header = buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16);
      at += 3;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 0) { bound += size; at += size; }
      else if (type === 1) { bound += size; at += 1; }
      else { bound += ZSTD_BLOCK_MAX; at += size; }
      if (header & 1) break; // last block
    }
    if (fhd & 0x04) at += 4; // content checksum
  }
  return bound;
}

// ---------------------------------------------------------------------------------------------
// Public API.

/** A zlib failure: past maxOutputLength (ERR_BUFFER_TOO_LARGE) or damaged data. */
function gzipError(err: Error & { code?: string }, maxBytes: number): CompressionError {
  return err.code === 'ERR_BUFFER_TOO_LARGE' ? new DecompressedTooLargeError(Codec.gzip, maxBytes) : new CompressionError(Codec.gzip, err.message);
}

function gunzip(buf: Buffer, maxBytes: number): Buffer {
  try {
    return zlib().gunzipSync(buf, { maxOutputLength: maxBytes });
  } catch (err) {
    throw gzipError(err as Error, maxBytes);
  }
}

/**
 * Synchronous decompression for codecs 0–3 (zstd throws UnsupportedCompressionError: use
 * `decompress`). Throws CompressionError for data that does not decode.
 */
export function decompressSync(codec: number, buf: Buffer, options: DecompressOptions = {}): Buffer {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (maxBytes < 1 && codec !== Codec.none) throw new DecompressedTooLargeError(codec, maxBytes);
  switch (codec) {
    case Codec.none: return buf;
    case Codec.gzip: return gunzip(buf, maxBytes);
    case Codec.snappy: return snappyDecompress(buf, maxBytes);
    case Codec.lz4: return lz4Decompress(buf, maxBytes);
    case Codec.zstd: throw new UnsupportedCompressionError(codec, 'zstd has no synchronous decompression here');
    default: throw new UnsupportedCompressionError(codec);
  }
}

/** Synchronous compression for codecs 0–3 (zstd throws UnsupportedCompressionError: use `compress`). */
export function compressSync(codec: number, buf: Buffer): Buffer {
  switch (codec) {
    case Codec.none: return buf;
    case Codec.gzip: return zlib().gzipSync(buf);
    case Codec.snappy: return snappyLib().compressSync(buf);
    case Codec.lz4: return lz4Lib().compressFrameSync(buf);
    case Codec.zstd: throw new UnsupportedCompressionError(codec, 'zstd has no synchronous compression here');
    default: throw new UnsupportedCompressionError(codec);
  }
}

const gunzipAsync = (buf: Buffer, maxBytes: number) =>
  new Promise<Buffer>((resolve, reject) =>
    zlib().gunzip(buf, { maxOutputLength: maxBytes }, (err, out) => (err ? reject(gzipError(err, maxBytes)) : resolve(out))));
const gzipAsync = (buf: Buffer) =>
  new Promise<Buffer>((resolve, reject) => zlib().gzip(buf, (err, out) => (err ? reject(err) : resolve(out))));

/** Decompresses `buf` written with `codec`. Rejects with UnsupportedCompressionError or CompressionError. */
export async function decompress(codec: number, buf: Buffer, options: DecompressOptions = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (maxBytes < 1 && codec !== Codec.none) throw new DecompressedTooLargeError(codec, maxBytes);
  switch (codec) {
    case Codec.gzip: return gunzipAsync(buf, maxBytes);
    case Codec.snappy: {
      if (isXerialSnappy(buf)) return snappyDecompress(buf, maxBytes); // Java's framing: small blocks
      const declared = snappyDeclaredLength(buf);
      if (declared > maxBytes) throw new DecompressedTooLargeError(Codec.snappy, maxBytes, declared);
      try {
        return await snappyLib().uncompress(buf) as Buffer;
      } catch (err) {
        if (err instanceof UnsupportedCompressionError) throw err;
        throw new CompressionError(Codec.snappy, (err as Error).message);
      }
    }
    case Codec.lz4: {
      const bound = lz4FrameBound(buf);
      if (bound > maxBytes + BOUND_SLACK) throw new DecompressedTooLargeError(Codec.lz4, maxBytes, bound);
      let out: Buffer;
      try {
        out = await lz4Lib().decompressFrame(repairLegacyLz4Header(buf));
      } catch (err) {
        if (err instanceof UnsupportedCompressionError) throw err;
        throw new CompressionError(Codec.lz4, (err as Error).message);
      }
      if (out.length > maxBytes) throw new DecompressedTooLargeError(Codec.lz4, maxBytes, out.length);
      return out;
    }
    case Codec.zstd: {
      const bound = zstdFrameBound(buf);
      if (bound > maxBytes + BOUND_SLACK) throw new DecompressedTooLargeError(Codec.zstd, maxBytes, bound);
      let out: Buffer;
      try {
        out = await zstdLib().decompress(buf);
      } catch (err) {
        if (err instanceof UnsupportedCompressionError) throw err;
        throw new CompressionError(Codec.zstd, (err as Error).message);
      }
      if (out.length > maxBytes) throw new DecompressedTooLargeError(Codec.zstd, maxBytes, out.length);
      return out;
    }
    default: return decompressSync(codec, buf, options);
  }
}

/** Compresses `buf` with `codec` (gzip, snappy raw, lz4 frame, zstd level 3). */
export async function compress(codec: number, buf: Buffer): Promise<Buffer> {
  switch (codec) {
    case Codec.gzip: return gzipAsync(buf);
    case Codec.snappy: return snappyLib().compress(buf);
    case Codec.lz4: return lz4Lib().compressFrame(buf);
    case Codec.zstd: return zstdLib().compress(buf, 3);
    default: return compressSync(codec, buf);
  }
}
