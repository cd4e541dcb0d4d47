// DescribeLogDirs v0–4 (Admin.describeLogDirs, kafka-log-dirs). One log dir: the file engine's data
// dir (its absolute path; total and usable bytes from statfs of its file system, v4+), or, for an
// engine with no directory, its kind ("memory:", "postgres:") with -1 for the byte counts, Kafka's
// "unknown". Each partition's size is the sum of its segments' bytes (PartitionLog.segmentSizes;
// 0 where an engine cannot say); offsetLag is 0 and isFutureKey false (no replica is ever moving
// between dirs). topics null = every partition; partitions not here are left out, as Kafka does.
// Authorization: DESCRIBE on the cluster; without it Kafka answers CLUSTER_AUTHORIZATION_FAILED
// (v3+, top level) and no results.
import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ApiKey } from '../../protocol/apis.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { DescribeLogDirsResponse, DescribeLogDirsResponseDescribeLogDirsTopic } from '../../protocol/generated/types.js';
import { parseStorageSpec } from '../../storage/engines.js';
import type { PartitionLog } from '../../storage/types.js';
import { authorize } from '../auth/acls.js';
import { defineHandler, type RequestContext } from '../handler.js';

/** The one log dir: an absolute path for the file engine, else the engine's kind. */
export function logDirOf(ctx: RequestContext): { path: string; isDirectory: boolean } {
  const { config, storage } = ctx.services;
  if (storage.kind === 'file') {
    const spec = parseStorageSpec(config.storage ?? config.dataDir);
    if (spec.engine === 'file') return { path: resolve(spec.path), isDirectory: true };
  }
  return { path: `${storage.kind}:`, isDirectory: false };
}

const sizeOf = (log: PartitionLog) => log.segmentSizes?.().reduce((n, s) => n + s.bytes, 0) ?? 0;

export const describeLogDirsHandler = defineHandler({
  apiKey: ApiKey.DescribeLogDirs,
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, req): Promise<DescribeLogDirsResponse> {
    if (!authorize(ctx, 'DESCRIBE', 'CLUSTER')) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const { storage } = ctx.services;
    const wanted = req.topics === null
      ? storage.topics().map((t) => ({ topic: t.name, partitions: Array.from({ length: t.partitionCount }, (_, p) => p) }))
      : req.topics;
    const byTopic = new Map<string, DescribeLogDirsResponseDescribeLogDirsTopic>();
    for (const w of wanted) {
      for (const p of w.partitions) {
        const log = storage.topic(w.topic) ? storage.partition(w.topic, p) : undefined;
        if (!log) continue;
        let t = byTopic.get(w.topic);
        if (!t) byTopic.set(w.topic, t = { name: w.topic, partitions: [] });
        if (t.partitions.some((x) => x.partitionIndex === p)) continue;
        t.partitions.push({ partitionIndex: p, partitionSize: sizeOf(log), offsetLag: 0, isFutureKey: false });
      }
    }
    const dir = logDirOf(ctx);
    let totalBytes = -1;
    let usableBytes = -1;
    let errorCode: number = ErrorCode.NONE;
    if (dir.isDirectory) {
      try {
        const fs = await statfs(dir.path);
        totalBytes = fs.blocks * fs.bsize;
        usableBytes = fs.bavail * fs.bsize;
      } catch {
        // Kafka reports a dir it cannot read as offline: KAFKA_STORAGE_ERROR for that dir.
        errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      }
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode, logDir: dir.path, topics: [...byTopic.values()], totalBytes, usableBytes }],
    };
  },
});
