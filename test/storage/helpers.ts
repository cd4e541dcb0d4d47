// Shared by the storage tests: batches, reads decoded to (offset, value), temp folders.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecords, encodeBatch, iterateBatches, validateBatches, type BatchInput } from '../../src/protocol/records.js';
import type { PartitionLog, ReadResult, Storage, StorageOptions } from '../../src/storage/types.js';

export const BIG = 64 * 1024 * 1024;

export function opts(o: Partial<StorageOptions> = {}): StorageOptions {
  return { flush: 'os', segmentBytes: 1 << 20, segmentMs: 3_600_000, indexIntervalBytes: 4096, ...o };
}

const made: string[] = [];
/** A fresh temp folder, removed when the test file ends. */
export const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'fjord-file-'));
  made.push(dir);
  return dir;
};
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function batch(values: string[], extra: Omit<BatchInput, 'records'> = {}, timestamp?: number): Buffer {
  return encodeBatch({ records: values.map((v) => ({ value: v, timestamp })), ...extra });
}

export function append(log: PartitionLog, buf: Buffer, sync = false) {
  return log.append(buf, validateBatches(buf), { sync });
}

export function records(r: ReadResult): { offset: number; value: string }[] {
  const out: { offset: number; value: string }[] = [];
  for (const { header, bytes } of iterateBatches(Buffer.concat(r.chunks))) {
    for (const rec of decodeRecords(header, bytes.subarray(61))) out.push({ offset: rec.offset, value: rec.value?.toString() ?? '' });
  }
  return out;
}

export function batchBases(r: ReadResult): number[] {
  return [...iterateBatches(Buffer.concat(r.chunks))].map((b) => b.header.baseOffset);
}

export function mustPartition(s: Storage, topic: string, p = 0): PartitionLog {
  const log = s.partition(topic, p);
  assert.ok(log, `partition ${topic}-${p}`);
  return log;
}
