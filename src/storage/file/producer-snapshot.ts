// producer-state.json: the producer table written at clean close, so the next open skips replaying
// batch headers. Parsed defensively: a malformed file is ignored and the log is replayed instead.
import type { ProducerEntry } from '../producer-state.js';
import { TxnState, type TxnSnapshot } from '../txn-state.js';

export interface ProducerSnapshot {
  endOffset: number;
  producers: [number, ProducerEntry][];
  /** Open transactions and aborted ranges at `endOffset`. */
  txns: TxnSnapshot;
}

function isProducerEntry(x: unknown): x is ProducerEntry {
  if (!x || typeof x !== 'object') return false;
  const e = x as { epoch?: unknown; batches?: unknown; lastTimestamp?: unknown; coordinatorEpoch?: unknown };
  return (
    typeof e.epoch === 'number' &&
    (e.coordinatorEpoch === undefined || typeof e.coordinatorEpoch === 'number') &&
    typeof e.lastTimestamp === 'number' &&
    Array.isArray(e.batches) &&
    e.batches.every(
      (b: unknown) =>
        !!b &&
        typeof b === 'object' &&
        ['firstSeq', 'lastSeq', 'baseOffset', 'lastOffset'].every((k) => typeof (b as Record<string, unknown>)[k] === 'number'),
    )
  );
}

export function parseSnapshot(text: string): ProducerSnapshot | null {
  const x: unknown = JSON.parse(text);
  if (!x || typeof x !== 'object') return null;
  const s = x as { endOffset?: unknown; producers?: unknown; txns?: unknown };
  if (typeof s.endOffset !== 'number' || !Array.isArray(s.producers)) return null;
  // Snapshots written before transactions existed have no `txns`: Fjord refused transactional
  // batches then, so there was nothing open and nothing aborted.
  const txns = s.txns === undefined ? { open: [], aborted: [] } : TxnState.parse(s.txns);
  if (!txns) return null;
  const rows: [number, ProducerEntry][] = [];
  for (const row of s.producers as unknown[]) {
    if (!Array.isArray(row) || row.length !== 2 || typeof row[0] !== 'number' || !isProducerEntry(row[1])) return null;
    rows.push([row[0], row[1]]);
  }
  return { endOffset: s.endOffset, producers: rows, txns };
}

export const cloneEntry = (e: ProducerEntry): ProducerEntry => ({
  epoch: e.epoch,
  lastTimestamp: e.lastTimestamp,
  ...(e.coordinatorEpoch === undefined ? {} : { coordinatorEpoch: e.coordinatorEpoch }),
  batches: e.batches.map((b) => ({ ...b })),
});
