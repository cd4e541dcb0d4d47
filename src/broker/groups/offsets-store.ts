// The group coordinator's durable state: committed offsets and group metadata, written as records
// to the internal log `__consumer_offsets` (Storage.internalLog) and rebuilt by replay on start.
//
// Record format (format version 1). Key and value are UTF-8 JSON; a null value is a tombstone that
// deletes the key. On replay the last record of a key wins.
//
//   committed offset   key   ["offset", <group>, <topic>, <partition>]
//                      value {"v":1,"offset":<int64>,"leaderEpoch":<int32, -1 = none>,
//                             "metadata":<string>,"commitTimestamp":<ms>}
//   group metadata     key   ["group", <group>]
//                      value {"v":1,"protocolType":<string|null>,"generation":<int32>,
//                             "protocol":<string|null>,"leader":<string|null>,"stateTimestamp":<ms>,
//                             "members":[{"memberId","groupInstanceId":<string|null>,"clientId",
//                               "clientHost","rebalanceTimeoutMs","sessionTimeoutMs",
//                               "subscription":<base64: metadata of the chosen protocol>,
//                               "assignment":<base64>}]}
//
// Records are uncompressed v2 batches with producerId -1; each coordinator write is one append with
// {sync: true}. Keys of an unknown shape and values with "v" other than 1 are skipped on replay, so a
// later format can add record types. The log is compacted by rewriting the live records (see
// GroupRuntime.maybeCompact in runtime.ts) and deleting everything before them.
import type { PartitionLog } from '../../storage/types.js';
import { appendDurably, parseJsonRecord, replayInternalLog } from '../internal-log.js';

export const OFFSETS_LOG = '__consumer_offsets';
const FORMAT_VERSION = 1;
/** Records per batch when writing many at once (compaction, group deletion). */
const RECORDS_PER_BATCH = 500;

export interface OffsetValue {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

export interface MemberValue {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupValue {
  protocolType: string | null;
  generation: number;
  protocol: string | null;
  leader: string | null;
  stateTimestamp: number;
  members: MemberValue[];
}

export type LogEntry =
  | { type: 'offset'; group: string; topic: string; partition: number; value: OffsetValue | null }
  | { type: 'group'; group: string; value: GroupValue | null };

export function encodeEntry(e: LogEntry): { key: Buffer; value: Buffer | null } {
  if (e.type === 'offset') {
    const key = Buffer.from(JSON.stringify(['offset', e.group, e.topic, e.partition]));
    if (e.value === null) return { key, value: null };
    const v = e.value;
    return {
      key,
      value: Buffer.from(JSON.stringify({ v: FORMAT_VERSION, offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp })),
    };
  }
  const key = Buffer.from(JSON.stringify(['group', e.group]));
  if (e.value === null) return { key, value: null };
  const g = e.value;
  return {
    key,
    value: Buffer.from(JSON.stringify({
      v: FORMAT_VERSION,
      protocolType: g.protocolType,
      generation: g.generation,
      protocol: g.protocol,
      leader: g.leader,
      stateTimestamp: g.stateTimestamp,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: m.subscription.toString('base64'),
        assignment: m.assignment.toString('base64'),
      })),
    })),
  };
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** Decodes one record, or returns a reason it was skipped. */
export function decodeEntry(key: Buffer | null, value: Buffer | null): LogEntry | string {
  const parsed = parseJsonRecord(key, value);
  if (typeof parsed === 'string') return parsed;
  const k = parsed.key;
  const v: any = parsed.value;
  if (!Array.isArray(k) || !isStr(k[1])) return 'record with an unknown key';
  if (v !== null && (typeof v !== 'object' || v.v !== FORMAT_VERSION)) return `record of format version ${v?.v}`;
  if (k[0] === 'offset' && k.length === 4 && isStr(k[2]) && isInt(k[3])) {
    const base = { type: 'offset' as const, group: k[1], topic: k[2], partition: k[3] };
    if (v === null) return { ...base, value: null };
    if (!isInt(v.offset) || !isInt(v.leaderEpoch) || !isStr(v.metadata) || !isInt(v.commitTimestamp)) return 'malformed offset record';
    return { ...base, value: { offset: v.offset, leaderEpoch: v.leaderEpoch, metadata: v.metadata, commitTimestamp: v.commitTimestamp } };
  }
  if (k[0] === 'group' && k.length === 2) {
    if (v === null) return { type: 'group', group: k[1], value: null };
    if (!isStrOrNull(v.protocolType) || !isInt(v.generation) || !isStrOrNull(v.protocol) || !isStrOrNull(v.leader) || !isInt(v.stateTimestamp) || !Array.isArray(v.members)) {
      return 'malformed group record';
    }
    const members: MemberValue[] = [];
    for (const m of v.members) {
      if (!m || !isStr(m.memberId) || !isStrOrNull(m.groupInstanceId) || !isStr(m.clientId) || !isStr(m.clientHost) ||
          !isInt(m.rebalanceTimeoutMs) || !isInt(m.sessionTimeoutMs) || !isStr(m.subscription) || !isStr(m.assignment)) {
        return 'malformed group member';
      }
      members.push({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: Buffer.from(m.subscription, 'base64'),
        assignment: Buffer.from(m.assignment, 'base64'),
      });
    }
    return {
      type: 'group',
      group: k[1],
      value: { protocolType: v.protocolType, generation: v.generation, protocol: v.protocol, leader: v.leader, stateTimestamp: v.stateTimestamp, members },
    };
  }
  return 'record with an unknown key';
}

/** The internal log seen as a sequence of LogEntry records. */
export class OffsetsStore {
  constructor(readonly log: PartitionLog) {}

  /** Appends the entries durably; resolves with the log offset of the first one (entry i is at base + i). */
  append(entries: LogEntry[]): Promise<number> {
    return appendDurably(this.log, entries.map(encodeEntry), RECORDS_PER_BATCH);
  }

  /** Calls `visit` for every record from the log start to its end, in order. */
  replay(visit: (entry: LogEntry, offset: number) => void, skipped: (reason: string, offset: number) => void): Promise<void> {
    return replayInternalLog(this.log, (key, value, offset) => {
      const entry = decodeEntry(key, value);
      if (typeof entry === 'string') skipped(entry, offset);
      else visit(entry, offset);
    }, skipped);
  }

  /** Records in the log (live or superseded). */
  size(): number {
    return this.log.logEndOffset() - this.log.logStartOffset();
  }

  endOffset(): number {
    return this.log.logEndOffset();
  }

  deleteBefore(offset: number): Promise<number> {
    return this.log.deleteBefore(offset);
  }
}
