// The transaction coordinator's durable state: one record per state change of a transactional
// id, in the internal log `__transaction_state` (Storage.internalLog), replayed on start (the
// last record of an id wins).
//
// Record format (format version 1). Key and value are UTF-8 JSON:
//
//   key   ["txn", <transactionalId>]
//   value {"v":1,
//          "producerId":<int64>, "producerEpoch":<int16>,
//          "lastProducerEpoch":<int16, -1 = none>   epoch before the last bump (a KIP-360 retry presents it),
//          "timeoutMs":<int32>, "state":"Empty"|"Ongoing"|"PrepareCommit"|"PrepareAbort"|
//                                       "CompleteCommit"|"CompleteAbort"|"Dead",
//          "partitions":[[<topic>,<partition>],...]       partitions of the current/last transaction,
//          "groups":[{"groupId":<string>,"offsets":[{"topic","partition","offset","leaderEpoch",
//                     "metadata","commitTimestamp"}]}]   AddOffsetsToTxn groups, TxnOffsetCommit offsets,
//          "startTimestamp":<ms, -1 = no transaction started>, "updateTimestamp":<ms>}
//   a null value (tombstone) forgets the id (not written yet: transactional-id expiration is not done).
//
// Records are uncompressed v2 batches with producerId -1; each state change is one append with
// {sync: true}, completed before the coordinator acts on it. Records of an unknown shape or another
// "v" are skipped with a warning on replay. The log is not compacted yet (issue 15): it grows by one
// small record per state change, and a start replays all of it.
import type { PartitionLog } from '../../storage/types.js';
import { appendDurably, parseJsonRecord, replayInternalLog } from '../internal-log.js';
import type { TxnOffset } from '../groups/coordinator.js';

export const TXN_LOG = '__transaction_state';
const FORMAT_VERSION = 1;

export const TXN_STATES = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead'] as const;
export type TxnStateName = (typeof TXN_STATES)[number];

export interface TxnGroup {
  groupId: string;
  offsets: TxnOffset[];
}

/** What one record says about a transactional id. */
export interface TxnRecord {
  producerId: number;
  producerEpoch: number;
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnStateName;
  partitions: [string, number][];
  groups: TxnGroup[];
  startTimestamp: number;
  updateTimestamp: number;
}

export function encodeTxnRecord(transactionalId: string, r: TxnRecord): { key: Buffer; value: Buffer } {
  return {
    key: Buffer.from(JSON.stringify(['txn', transactionalId])),
    value: Buffer.from(JSON.stringify({ v: FORMAT_VERSION, ...r })),
  };
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function isOffset(o: unknown): o is TxnOffset {
  if (typeof o !== 'object' || o === null) return false;
  const x = o as Record<string, unknown>;
  return isStr(x.topic) && isInt(x.partition) && isInt(x.offset) && isInt(x.leaderEpoch) && isStr(x.metadata) && isInt(x.commitTimestamp);
}

/** One record decoded: the id and its state (null = tombstone), or the reason it was skipped. */
export function decodeTxnRecord(key: Buffer | null, value: Buffer | null): { id: string; record: TxnRecord | null } | string {
  const parsed = parseJsonRecord(key, value);
  if (typeof parsed === 'string') return parsed;
  const { key: k, value: v } = parsed;
  if (!Array.isArray(k) || k.length !== 2 || k[0] !== 'txn' || !isStr(k[1])) return 'record with an unknown key';
  if (v === null) return { id: k[1], record: null };
  if (typeof v !== 'object') return 'malformed transaction record';
  const x = v as Record<string, unknown>;
  if (x.v !== FORMAT_VERSION) return `record of format version ${String(x.v)}`;
  const state = TXN_STATES.find((s) => s === x.state);
  const partitions = x.partitions;
  const groups = x.groups;
  if (!state || !isInt(x.producerId) || !isInt(x.producerEpoch) || !isInt(x.lastProducerEpoch) || !isInt(x.timeoutMs) ||
      !isInt(x.startTimestamp) || !isInt(x.updateTimestamp) || !Array.isArray(partitions) || !Array.isArray(groups)) {
    return 'malformed transaction record';
  }
  const parts: [string, number][] = [];
  for (const p of partitions) {
    if (!Array.isArray(p) || p.length !== 2 || !isStr(p[0]) || !isInt(p[1])) return 'malformed transaction partition';
    parts.push([p[0], p[1]]);
  }
  const gs: TxnGroup[] = [];
  for (const g of groups) {
    if (typeof g !== 'object' || g === null) return 'malformed transaction group';
    const gx = g as Record<string, unknown>;
    if (!isStr(gx.groupId) || !Array.isArray(gx.offsets) || !gx.offsets.every(isOffset)) return 'malformed transaction group';
    gs.push({ groupId: gx.groupId, offsets: gx.offsets.map((o: TxnOffset) => ({ ...o })) });
  }
  return {
    id: k[1],
    record: {
      producerId: x.producerId, producerEpoch: x.producerEpoch, lastProducerEpoch: x.lastProducerEpoch, timeoutMs: x.timeoutMs,
      state, partitions: parts, groups: gs, startTimestamp: x.startTimestamp, updateTimestamp: x.updateTimestamp,
    },
  };
}

/** `__transaction_state` as a sequence of records. */
export class TxnStateStore {
  constructor(readonly log: PartitionLog) {}

  /** Appends one record and waits for it to be on stable storage. */
  async write(transactionalId: string, record: TxnRecord): Promise<void> {
    await appendDurably(this.log, [encodeTxnRecord(transactionalId, record)]);
  }

  /** Calls `visit` for every record from the log start to its end, in order; resolves with how many it visited. */
  async replay(visit: (id: string, record: TxnRecord | null) => void, skipped: (reason: string, offset: number) => void): Promise<number> {
    let count = 0;
    await replayInternalLog(this.log, (key, value, offset) => {
      const decoded = decodeTxnRecord(key, value);
      if (typeof decoded === 'string') skipped(decoded, offset);
      else {
        count++;
        visit(decoded.id, decoded.record);
      }
    }, skipped);
    return count;
  }
}
