// Log compaction for the file engine (cleanup.policy=compact): keeps the latest record of every
// key, our own code after Kafka's model (docs/compaction.md).
//
// One pass over one partition:
//   1. The cleanable section: the segments before the active one, wholly below the last stable
//      offset, and (min.compaction.lag.ms) whose newest record is old enough. Its part at or past
//      the partition's checkpoint (`cleaner-offset-checkpoint`) is dirty; the pass runs when
//      dirty bytes / cleanable bytes reach min.cleanable.dirty.ratio, or when the first dirty
//      segment is older than max.compaction.lag.ms.
//   2. An offset map (key hash → last offset) is filled from the dirty section, in a buffer of at
//      most log.cleaner.dedupe.buffer.size bytes (24 bytes a key). When it is full, the map covers
//      a prefix [checkpoint, mapEnd): records at or past mapEnd are all kept this pass.
//   3. The cleanable segments that start below mapEnd are rewritten, in groups of at most
//      segment.bytes, each into one new segment with the group's first base: a record is kept
//      when its key has no later offset in the map; tombstones (null value) go once their segment
//      was last written more than delete.retention.ms ago; records without a key go; records of
//      aborted transactions go; control batches stay; the last batch of every producer stays (as
//      a header with no records when nothing in it survives) so producer state replays the same.
//      A batch keeps its baseOffset and lastOffsetDelta (offsets of survivors never change; gaps
//      appear, as in Kafka); it is copied as stored when all its records stay, else rewritten
//      (recompressed with its own codec, CRC recomputed).
//   4. The swap (crash-safe, DESIGN invariant 31): <base>.log.cleaned is written and fsynced, then
//      renamed to <base>.<end>.swap (the commit point: <end> is the base of the segment after the
//      group) and the folder fsynced; then the old segments of [base, end) are deleted (with
//      file.delete.delay.ms > 0: renamed to *.deleted, the first one's <base>.log included, and
//      deleted after the delay, as retention does), the swap is renamed to <base>.log, the folder
//      fsynced and the indexes written. recoverCleaning() at open deletes any .cleaned file (a pass
//      that did not commit: the old segments are whole) and finishes any .swap (sets what is left
//      of [base, end) aside as *.deleted, which open then deletes, and renames the swap into
//      place), so a crash at any moment leaves either the old segments or the new one, never a mix.
// Reads and writes of the pass go through a Throttle (log.cleaner.io.max.bytes.per.second).
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, readdir, rename, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { compress } from '../../protocol/compression.js';
import { readVarint, readVarlong, type ByteCursor } from '../../protocol/primitives.js';
import { Attr, BATCH_HEADER_SIZE, batchCodec, batchRecordsSection, iterateBatches, writeBatchHeader, type BatchHeader } from '../../protocol/records.js';
import { fsyncDir, isNotFound, readAt, readOptional, unlinkQuiet, writeAllAt, writeFileAtomic } from './io.js';
import type { CleanResult, CompactionSettings } from '../types.js';
import { INDEX_RE, SEGMENT_RE, Segment, segmentName } from './segment.js';

const CLEANED_RE = /^(\d{20})\.log\.cleaned$/;
const SWAP_RE = /^(\d{20})\.(\d{20})\.swap$/;
export const CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
/** Bytes per offset-map entry: a 16-byte MD5 of the key and its offset as a float64. */
const ENTRY_BYTES = 24;
const LOAD_FACTOR = 0.9;
/** Read size while walking a segment. */
const READ_CHUNK = 1024 * 1024;
/** Written output is gathered to about this much per write. */
const WRITE_CHUNK = 1024 * 1024;

/** What FilePartitionLog shows the cleaner (a snapshot; the segments list is never changed in place). */
export interface CleanerView {
  dir: string;
  label: string;
  /** Every segment, the active one last. */
  segments: readonly Segment[];
  startOffset: number;
  lastStable: number;
  indexInterval: number;
  newSegment(base: number): Segment;
  /** Whether the producer state keeps the batch of `producerId` ending at `lastOffset` (its header must survive). */
  producerKeeps(producerId: number, lastOffset: number): boolean;
  /** Whether the transactional batch of `producerId` at `offset` was aborted. */
  aborted(producerId: number, offset: number): boolean;
  /**
   * Replaces `old` (consecutive, still in the log) by `fresh`, whose file is the committed swap
   * file `swapPath` (see the protocol above). Resolves false when the log changed meanwhile
   * (retention deleted some of them): nothing was replaced and the swap file is removed.
   */
  replace(old: readonly Segment[], fresh: Segment, cleanedPath: string, swapPath: string, end: number): Promise<boolean>;
  log(level: 'info' | 'warn' | 'error', msg: string): void;
}

let crashTicks = 0;

/**
 * Test-only: FJORD_TEST_CRASH_AT=cleaner-<step> kills the process (SIGKILL) at that step;
 * FJORD_TEST_CRASH_AT=cleaner-tick-<n> at the n-th step of any kind since the process started
 * (every read of a segment chunk, every write of the cleaned file, and the named steps of the
 * swap count), so a test can kill a pass at a chosen moment instead of at a chosen time.
 */
export function crashPoint(step: string): void {
  const at = process.env.FJORD_TEST_CRASH_AT;
  if (!at?.startsWith('cleaner-')) return;
  crashTicks++;
  if (at === `cleaner-${step}` || at === `cleaner-tick-${crashTicks}`) {
    process.stderr.write(`FJORD_TEST_CRASH_AT=${at}: killing the process (test-only fault injection)\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

/** Reads with at most `bytesPerSecond` on average (Infinity: no wait). */
export class Throttle {
  private start = Date.now();
  private bytes = 0;
  constructor(private readonly bytesPerSecond: number) {}
  async take(n: number): Promise<void> {
    if (!Number.isFinite(this.bytesPerSecond)) return;
    this.bytes += n;
    const due = this.start + (this.bytes / this.bytesPerSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, Math.min(wait, 10_000)));
    if (Date.now() - this.start > 60_000) {
      this.start = Date.now();
      this.bytes = 0;
    }
  }
}

/**
 * Key hash → offset in one fixed buffer (open addressing, linear probing). Its memory is the
 * buffer and nothing else; put() refuses a new key once LOAD_FACTOR of the slots are taken.
 */
export class OffsetMap {
  private readonly buf: Buffer;
  private readonly slots: number;
  private readonly limit: number;
  private used = 0;

  constructor(bytes: number) {
    this.slots = Math.max(1, Math.floor(bytes / ENTRY_BYTES));
    this.limit = Math.max(1, Math.floor(this.slots * LOAD_FACTOR));
    this.buf = Buffer.alloc(this.slots * ENTRY_BYTES);
  }

  static hash(key: Buffer): Buffer {
    return createHash('md5').update(key).digest();
  }

  get size(): number {
    return this.used;
  }

  /** Where `hash` is, or the empty slot it would go to. */
  private slotOf(hash: Buffer): number {
    let i = hash.readUInt32LE(0) % this.slots;
    for (;;) {
      const at = i * ENTRY_BYTES;
      if (this.buf.readDoubleLE(at + 16) === 0 || this.buf.compare(hash, 0, 16, at, at + 16) === 0) return i;
      i = (i + 1) % this.slots;
    }
  }

  /** Records `offset` for the key; false when the key is new and the map is full. */
  put(hash: Buffer, offset: number): boolean {
    const at = this.slotOf(hash) * ENTRY_BYTES;
    if (this.buf.readDoubleLE(at + 16) === 0) {
      if (this.used >= this.limit) return false;
      this.used++;
      hash.copy(this.buf, at, 0, 16);
    }
    this.buf.writeDoubleLE(offset + 1, at + 16); // 0 marks an empty slot
    return true;
  }

  /** The last offset recorded for the key, or -1. */
  get(hash: Buffer): number {
    const at = this.slotOf(hash) * ENTRY_BYTES;
    return this.buf.readDoubleLE(at + 16) - 1;
  }
}

/** One record's place in its records section and what the cleaner looks at. */
interface RecordSpan {
  start: number;
  end: number;
  offset: number;
  key: Buffer | null;
  tombstone: boolean;
}

/** Walks the records of an uncompressed records section (Kafka's record v2 layout). */
function* recordSpans(h: BatchHeader, section: Buffer): Generator<RecordSpan> {
  const c: ByteCursor & { end: number } = { buf: section, offset: 0, end: section.length };
  for (let i = 0; i < h.recordCount; i++) {
    c.end = section.length;
    const start = c.offset;
    const length = readVarint(c);
    if (length < 1 || length > section.length - c.offset) throw new Error(`record length ${length} past the records section`);
    const end = c.offset + length;
    c.end = end;
    c.offset++; // attributes
    readVarlong(c); // timestamp delta
    const offset = h.baseOffset + readVarint(c);
    const keyLength = readVarint(c);
    const key = keyLength < 0 ? null : section.subarray(c.offset, c.offset + keyLength);
    if (keyLength > 0) c.offset += keyLength;
    const valueLength = readVarint(c);
    yield { start, end, offset, key, tombstone: valueLength < 0 };
    c.offset = end;
  }
}

/** The whole batches of the segment's written bytes, in order, read through the throttle. */
async function* batchesOf(seg: Segment, throttle: Throttle): AsyncGenerator<{ h: BatchHeader; bytes: Buffer }> {
  const size = seg.writtenSize;
  let pos = 0;
  while (pos < size) {
    const want = Math.min(READ_CHUNK, size - pos);
    const chunk = await seg.use((fh) => readAt(fh, pos, want));
    crashPoint('read');
    await throttle.take(chunk.length);
    let used = 0;
    for (const { header, bytes } of iterateBatches(chunk)) {
      yield { h: header, bytes };
      used += header.size;
    }
    if (used === 0) {
      // One batch larger than the chunk: read it whole.
      const first = iterateBatchSize(chunk);
      if (first <= 0 || pos + first > size) throw new Error(`segment ${seg.logPath}: bad batch at ${pos}`);
      const whole = await seg.use((fh) => readAt(fh, pos, first));
      await throttle.take(whole.length);
      for (const { header, bytes } of iterateBatches(whole)) yield { h: header, bytes };
      used = first;
    }
    pos += used;
  }
}

function iterateBatchSize(chunk: Buffer): number {
  return chunk.length >= 12 ? chunk.readInt32BE(8) + 12 : -1;
}

const ignoreNotFound = (err: unknown): void => { if (!isNotFound(err)) throw err; };

/** Finishes or undoes a cleaning pass a crash interrupted (see the protocol at the top). Runs before a partition opens. */
export async function recoverCleaning(dir: string, log: (level: 'warn', msg: string) => void): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  let changed = false;
  for (const n of names) {
    if (CLEANED_RE.test(n)) {
      await unlinkQuiet(join(dir, n));
      log('warn', `${dir}: removed ${n}, a cleaning pass interrupted before it committed (the old segments are whole)`);
      changed = true;
    }
  }
  for (const n of names) {
    const m = SWAP_RE.exec(n);
    if (!m) continue;
    const base = Number(m[1]);
    const end = Number(m[2]);
    for (const other of names) {
      const s = SEGMENT_RE.exec(other) ?? INDEX_RE.exec(other);
      if (!s) continue;
      const b = Number(s[1]);
      // Set aside as the live swap does (the open that called us deletes *.deleted files next).
      if ((b > base && b < end) || (b === base && other !== `${m[1]}.log`)) await rename(join(dir, other), join(dir, `${other}.deleted`)).catch(ignoreNotFound);
    }
    await rename(join(dir, n), join(dir, `${m[1]}.log`));
    log('warn', `${dir}: finished a cleaning pass interrupted after it committed (segment ${m[1]} replaces [${base}, ${end}))`);
    changed = true;
  }
  if (changed) await fsyncDir(dir);
}

/** The cleaner's checkpoint of a partition (records below it were deduplicated), 0 when none. */
export async function readCheckpoint(dir: string): Promise<number> {
  const b = await readOptional(join(dir, CHECKPOINT_FILE));
  const v = b === null ? 0 : Number(b.toString('utf8').trim());
  return Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/**
 * One cleaning pass over one partition; null when nothing is due (see the steps at the top).
 * Throws when a segment went away under it (retention) or on an I/O error; the log is unchanged then.
 */
export async function cleanPartition(view: CleanerView, s: CompactionSettings): Promise<CleanResult | null> {
  const segs = view.segments;
  const firstDirty = Math.max(await readCheckpoint(view.dir), view.startOffset);
  // The cleanable section: a prefix of the segments before the active one.
  const cleanable: Segment[] = [];
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i];
    if (!seg.finished || seg.writtenEnd > view.lastStable) break;
    if (s.minCompactionLagMs > 0 && seg.maxTimestamp > s.now - s.minCompactionLagMs) break;
    cleanable.push(seg);
  }
  const dirty = cleanable.filter((g) => g.writtenEnd > firstDirty);
  if (dirty.length === 0) return null;
  const total = cleanable.reduce((n, g) => n + g.writtenSize, 0);
  const dirtyBytes = dirty.reduce((n, g) => n + g.writtenSize, 0);
  const overdue = Number.isFinite(s.maxCompactionLagMs) && dirty[0].maxTimestamp >= 0 && dirty[0].maxTimestamp <= s.now - s.maxCompactionLagMs;
  if (total === 0 || (dirtyBytes / total < s.minCleanableDirtyRatio && !overdue)) return null;

  const throttle = new Throttle(s.ioBytesPerSecond);
  // The map: sized for the dirty records, within the configured buffer.
  let dirtyRecords = 0;
  for (const g of dirty) dirtyRecords += g.writtenEnd - Math.max(g.base, firstDirty);
  const map = new OffsetMap(Math.min(s.dedupeBufferBytes, Math.ceil((dirtyRecords + 1) / LOAD_FACTOR + 1) * ENTRY_BYTES));
  let mapEnd = dirty[dirty.length - 1].writtenEnd;
  fill: for (const g of dirty) {
    for await (const { h, bytes } of batchesOf(g, throttle)) {
      if (s.stopping?.()) throw new Error('cleaning stopped');
      if (h.baseOffset + h.lastOffsetDelta < firstDirty) continue;
      if (h.attributes & Attr.CONTROL) continue;
      if (h.attributes & Attr.TRANSACTIONAL && view.aborted(h.producerId, h.baseOffset)) continue;
      const section = await batchRecordsSection(bytes, h);
      for (const r of recordSpans(h, section)) {
        if (r.key === null || r.offset < firstDirty) continue;
        if (!map.put(OffsetMap.hash(r.key), r.offset)) {
          mapEnd = h.baseOffset;
          break fill;
        }
      }
    }
  }
  if (mapEnd <= firstDirty) {
    view.log('warn', `${view.label}: log.cleaner.dedupe.buffer.size (${s.dedupeBufferBytes} bytes) holds no whole batch of keys; not cleaned`);
    return null;
  }

  const toClean = cleanable.filter((g) => g.base < mapEnd);
  const result: CleanResult = { segmentsIn: toClean.length, segmentsOut: 0, bytesIn: 0, bytesOut: 0, recordsIn: 0, recordsOut: 0, cleanedTo: mapEnd };
  // Groups of consecutive segments, each at most segment.bytes of input (at least one segment).
  const groups: Segment[][] = [];
  for (const g of toClean) {
    const last = groups[groups.length - 1];
    if (last && last.reduce((n, x) => n + x.writtenSize, 0) + g.writtenSize <= s.segmentBytes) last.push(g);
    else groups.push([g]);
  }
  for (const group of groups) {
    const end = segs[segs.indexOf(group[group.length - 1]) + 1].base;
    const ok = await cleanGroup(view, group, end, map, mapEnd, s, throttle, result);
    if (!ok) return null; // the log changed under us: try again next time
  }
  crashPoint('before-checkpoint');
  await writeFileAtomic(join(view.dir, CHECKPOINT_FILE), `${mapEnd}\n`);
  return result;
}

async function cleanGroup(view: CleanerView, group: Segment[], end: number, map: OffsetMap, mapEnd: number, s: CompactionSettings, throttle: Throttle, result: CleanResult): Promise<boolean> {
  const base = group[0].base;
  const cleanedPath = join(view.dir, `${segmentName(base)}.log.cleaned`);
  const swapPath = join(view.dir, `${segmentName(base)}.${segmentName(end)}.swap`);
  const fresh = view.newSegment(base);
  let newest = 0;
  const fh: FileHandle = await open(cleanedPath, 'w');
  try {
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      await writeAllAt(fh, pending, size - pendingBytes);
      crashPoint('write');
      await throttle.take(pendingBytes);
      pending = [];
      pendingBytes = 0;
    };
    for (const seg of group) {
      const mtime = (await stat(seg.logPath)).mtimeMs;
      newest = Math.max(newest, mtime);
      const dropTombstones = mtime <= s.now - s.deleteRetentionMs;
      for await (const { h, bytes } of batchesOf(seg, throttle)) {
        if (s.stopping?.()) throw new Error('cleaning stopped');
        result.bytesIn += h.size;
        result.recordsIn += h.recordCount;
        const out = await cleanBatch(view, h, bytes, map, mapEnd, dropTombstones);
        if (!out) continue;
        const oh = out === bytes ? h : { ...h, size: out.length, recordCount: out.readInt32BE(57) };
        fresh.note(size, oh);
        result.recordsOut += oh.recordCount;
        pending.push(out);
        pendingBytes += out.length;
        size += out.length;
        if (pendingBytes >= WRITE_CHUNK) await flush();
      }
    }
    await flush();
    await fh.sync();
    fresh.writtenSize = fresh.assignedSize = size;
    fresh.writtenEnd = fresh.assignedEnd = end;
    fresh.sealTimeIndex();
    result.bytesOut += size;
  } finally {
    await fh.close();
  }
  // The cleaned file keeps the newest modification time of what it replaces (the tombstone clock).
  if (newest > 0) await utimes(cleanedPath, new Date(), new Date(newest));
  crashPoint('after-cleaned');
  const replaced = await view.replace(group, fresh, cleanedPath, swapPath, end);
  if (replaced) result.segmentsOut++;
  return replaced;
}

/**
 * The batch as it goes into the cleaned segment: the same bytes when every record stays, a
 * rewritten batch when some go, an empty batch (header only) when none stay but it is its
 * producer's last, null to drop it.
 */
async function cleanBatch(view: CleanerView, h: BatchHeader, bytes: Buffer, map: OffsetMap, mapEnd: number, dropTombstones: boolean): Promise<Buffer | null> {
  if (h.attributes & Attr.CONTROL) return bytes;
  const last = h.producerId >= 0 && view.producerKeeps(h.producerId, h.baseOffset + h.lastOffsetDelta);
  const aborted = (h.attributes & Attr.TRANSACTIONAL) !== 0 && view.aborted(h.producerId, h.baseOffset);
  const section = await batchRecordsSection(bytes, h);
  const kept: RecordSpan[] = [];
  let n = 0;
  if (!aborted) {
    for (const r of recordSpans(h, section)) {
      n++;
      if (r.key === null) continue; // a compacted topic keeps no record without a key
      if (r.offset < mapEnd) {
        const latest = map.get(OffsetMap.hash(r.key));
        if (latest > r.offset) continue;
        if (r.tombstone && dropTombstones) continue;
      }
      kept.push(r);
    }
  }
  if (!aborted && kept.length === n && n === h.recordCount) return bytes;
  if (kept.length === 0 && !last) return null;
  let body: Buffer = Buffer.concat(kept.map((r) => section.subarray(r.start, r.end)));
  const codec = batchCodec(h);
  let attributes = h.attributes;
  if (kept.length === 0) attributes &= ~Attr.COMPRESSION_MASK;
  else if (codec !== 0) body = await compress(codec, body);
  const out = Buffer.alloc(BATCH_HEADER_SIZE + body.length);
  body.copy(out, BATCH_HEADER_SIZE);
  writeBatchHeader(out, { ...h, attributes, recordCount: kept.length });
  return out;
}
