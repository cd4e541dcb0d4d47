// What every broker store kept in an internal log shares (`__consumer_offsets`,
// `__transaction_state`, SCRAM credentials, ACLs, client quotas): records whose key and value are
// UTF-8 JSON, appended durably in uncompressed batches, and read back from the log start at start-up.
// In cluster mode the SCRAM, ACL and quota stores also follow their logs while running: each keeps
// the next offset it has applied and reads on from there at every cluster poll (`catchUp`), since
// only the broker leading the internal logs appends to them.
// Each store keeps its own record format (documented in its header) and its own in-memory state.
import { Attr, BATCH_HEADER_SIZE, decodeRecords, encodeBatch, iterateBatches, validateBatches } from '../protocol/records.js';
import type { PartitionLog, Storage } from '../storage/types.js';
import type { Logger } from './logger.js';

/** Bytes asked for per read while replaying. */
const READ_BYTES = 4 * 1024 * 1024;

export interface InternalRecord {
  key: Buffer;
  /** null: a tombstone. */
  value: Buffer | null;
}

/**
 * Appends the records with {sync: true} (on stable storage when it resolves), `perBatch` records
 * per uncompressed batch (default: all in one). Resolves with the offset of the first record;
 * record i is at that offset + i.
 */
export async function appendDurably(log: PartitionLog, records: readonly InternalRecord[], perBatch = records.length): Promise<number> {
  if (records.length === 0) throw new Error(`assertion: empty append to ${log.topic}`);
  const timestamp = Date.now();
  const batches: Buffer[] = [];
  for (let i = 0; i < records.length; i += perBatch) {
    batches.push(encodeBatch({ records: records.slice(i, i + perBatch).map((r) => ({ ...r, timestamp })) }));
  }
  const bytes = batches.length === 1 ? batches[0] : Buffer.concat(batches);
  return (await log.append(bytes, validateBatches(bytes), { sync: true })).baseOffset;
}

/**
 * Calls `visit` for every record from `from` (never before the log start) to the log's
 * end, in order, and resolves with the offset after the last one read: the `from` of the next call,
 * so a store follows a log another broker appends to (cluster mode) by calling this again. Control
 * batches are passed over; compressed batches (never written by a store) and records before `from`
 * (a batch may begin before it) are reported through `skipped` or left out.
 */
export async function replayInternalLogFrom(
  log: PartitionLog,
  from: number,
  visit: (key: Buffer | null, value: Buffer | null, offset: number) => void,
  skipped: (reason: string, offset: number) => void,
): Promise<number> {
  const start = Math.max(from, log.logStartOffset());
  const end = log.logEndOffset();
  let next = start;
  while (next < end) {
    const { chunks } = await log.read(next, READ_BYTES, true);
    if (chunks.length === 0) break;
    const before = next;
    for (const chunk of chunks) {
      for (const { header, bytes } of iterateBatches(chunk)) {
        const after = header.baseOffset + header.lastOffsetDelta + 1;
        if (after <= next) continue;
        next = after;
        if (header.attributes & Attr.CONTROL) continue;
        if (header.attributes & Attr.COMPRESSION_MASK) {
          skipped('compressed batch (never written by the broker)', header.baseOffset);
          continue;
        }
        for (const rec of decodeRecords(header, bytes.subarray(BATCH_HEADER_SIZE))) {
          if (rec.offset < start) continue;
          visit(rec.key, rec.value, rec.offset);
        }
      }
    }
    if (next === before) break; // no whole batch came back: nothing more to read
  }
  return next;
}

/** The whole log, from its start (replayInternalLogFrom from 0). */
export async function replayInternalLog(
  log: PartitionLog,
  visit: (key: Buffer | null, value: Buffer | null, offset: number) => void,
  skipped: (reason: string, offset: number) => void,
): Promise<void> {
  await replayInternalLogFrom(log, 0, visit, skipped);
}

/** Applies one record to a store's state; a record it cannot read goes to `skipped`. */
export type ApplyRecord = (key: Buffer | null, value: Buffer | null, offset: number, skipped: (reason: string, offset: number) => void) => void;

/**
 * The internal log a store (SCRAM credentials, ACLs, client quotas) keeps its state in, and the
 * one order in which it is used: `open` replays it from the start, `catchUp` applies what another
 * broker appended since (cluster mode), `write` appends durably and then applies the change. They
 * run one at a time in call order, so the log and the store's state always agree, and `next` (the
 * offset after the last record applied) moves past the store's own writes, so none is applied twice.
 */
export class FollowedLog {
  private log: PartitionLog | null = null;
  /** The offset after the last record applied. */
  private next = 0;
  private chain: Promise<unknown> = Promise.resolve();

  /** `what` names the store in errors ("the ACL store is not open"). */
  constructor(private readonly name: string, private readonly what: string, private readonly apply: ApplyRecord, private readonly logger: Logger) {}

  /** Opens the log and replays it (after storage opened). */
  async open(storage: Storage): Promise<void> {
    const log = await storage.internalLog(this.name);
    this.next = await this.replay(log, 0);
    this.log = log;
  }

  /** Applies what was appended to the log since (by the broker leading it, in cluster mode). */
  catchUp(): Promise<void> {
    return this.serially(async () => {
      if (this.log) this.next = await this.replay(this.log, this.next);
    });
  }

  /** Appends `records` durably (one batch), then runs `applied`, which changes the store's state to match. */
  write(records: readonly InternalRecord[], applied: () => void): Promise<void> {
    return this.serially(async () => {
      const log = this.log;
      if (!log) throw new Error(`the ${this.what} is not open`);
      if (records.length > 0) this.next = Math.max(this.next, (await appendDurably(log, records)) + records.length);
      applied();
    });
  }

  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private replay(log: PartitionLog, from: number): Promise<number> {
    const skipped = (reason: string, offset: number) => this.logger.warn(`${this.name}: skipped a ${reason} at offset ${offset}`);
    return replayInternalLogFrom(log, from, (key, value, offset) => this.apply(key, value, offset, skipped), skipped);
  }
}

/** A record's key and value parsed as JSON (value null for a tombstone), or why it cannot be. */
export function parseJsonRecord(key: Buffer | null, value: Buffer | null): { key: unknown; value: unknown } | string {
  if (key === null) return 'record without key';
  try {
    return { key: JSON.parse(key.toString('utf8')), value: value === null ? null : JSON.parse(value.toString('utf8')) };
  } catch {
    return 'record that is not JSON';
  }
}
