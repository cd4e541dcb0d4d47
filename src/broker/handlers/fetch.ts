// Fetch v0–17. v4+ serve stored batches as they are (no per-record work); v0–3 get them converted
// into an uncompressed legacy message set (magic 0 for v0–1, magic 1 for v2–3; see
// protocol/legacy.ts), whose size is what counts against the limits. Long-polls until minBytes
// are available or maxWaitMs passes. maxBytes caps the response and partitionMaxBytes each
// partition, except that the first partition with data always returns at least one whole batch
// (or message) so that one larger than the limits still makes progress. The broker's
// fetch.max.bytes caps maxBytes whatever the client asks (v0–2, which have no maxBytes, included).
// v13+ names topics by id. Kafka's internal topics Metadata lists (the coordinators' logs) are
// served as Kafka serves them, by name and, from v13, by the id Metadata gives them (their records
// are Fjord's own JSON).
// zstd (KIP-110) needs Fetch v10+: v4–9, which pass batches on as stored, get
// UNSUPPORTED_COMPRESSION_TYPE for a partition of a topic with compression.type=zstd, KIP-110's
// rule as Kafka up to 3.9 applied it (Kafka 4.1 dropped it with down-conversion). A zstd batch a
// producer sent to another topic is served (a v4–9 client may well read it). v0–3 are converted
// to legacy messages, decompressed, so they read zstd batches too.
// Fetch sessions (v7+) are not kept: sessionId 0 tells clients to send full requests.
// Transactions (v4+): every answer carries the partition's last stable offset. read_committed
// (isolationLevel 1) gets whole batches that start below the LSO only, with the aborted
// transactions of the returned range (null for read_uncommitted, as Kafka answers); its long poll
// wakes when an LSO moves (a marker, or an append with nothing open), not on every append.
import { ApiKey } from '../../protocol/apis.js';
import { ZERO_UUID } from '../../protocol/codec.js';
import { batchesToMessageSet } from '../../protocol/legacy.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type {
  FetchRequest, FetchResponse, FetchResponseFetchableTopicResponse, FetchResponsePartitionData,
} from '../../protocol/generated/types.js';
import { readBatchHeader } from '../../protocol/records.js';
import { CorruptDataError, StorageError, type PartitionLog, type TopicMeta } from '../../storage/types.js';
import { authorize } from '../auth/acls.js';
import { leadsHere } from '../cluster/view.js';
import { clusterCatchUp, partitionNeedsCatchUp } from '../cluster/catch-up.js';
import { defineHandler, type BrokerServices, type RequestContext } from '../handler.js';
import { internalTopicInfos, internalTopicLog, isInternalTopic } from '../topics.js';

interface Wanted {
  topicKey: { topic: string; topicId: string };
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  log: PartitionLog | undefined;
  /** The answer when there is no such partition (`log` undefined). */
  unknownError: number;
  /** The topic's compression.type is zstd. */
  zstdTopic: boolean;
}

function resolve(ctx: RequestContext, req: FetchRequest, internal: ReadonlyMap<string, InternalLog>): { topicKey: Wanted['topicKey']; parts: Wanted[] }[] {
  const { storage } = ctx.services;
  const byId = ctx.version >= 13;
  return req.topics.map((t) => {
    // The decoder fills the field a version lacks with its default ("" / the zero uuid).
    const name = t.topic ?? '';
    const id = t.topicId ?? ZERO_UUID;
    const meta: TopicMeta | undefined = byId ? storage.topics().find((x) => x.topicId === id) : storage.topic(name);
    const internalTopic = meta ? undefined : internal.get(byId ? id : name);
    const topicKey = { topic: meta?.name ?? internalTopic?.name ?? name, topicId: meta?.topicId ?? id };
    // READ on the topic (Kafka checks it before existence; an unknown id stays UNKNOWN_TOPIC_ID).
    const denied = (meta !== undefined || internalTopic !== undefined || !byId) && !authorize(ctx, 'READ', 'TOPIC', topicKey.topic);
    const zstdTopic = meta !== undefined && ctx.services.topics.configValue(meta, 'compression.type') === 'zstd';
    const internalLog = !denied ? internalTopic?.log : undefined;
    const parts = t.partitions.map((p): Wanted => {
      const found = meta && !denied ? storage.partition(meta.name, p.partition) : p.partition === 0 ? internalLog : undefined;
      // Only the leader serves a partition (no follower fetching): elsewhere NOT_LEADER_OR_FOLLOWER.
      const leads = found === internalLog ? ctx.services.cluster.coordinatorId() === ctx.services.cluster.nodeId : found !== undefined && leadsHere(ctx.services.cluster, found.topic, p.partition);
      const notLeader = found !== undefined && !leads;
      const log = notLeader ? undefined : found;
      const unknownTopic = byId && !meta && !internalTopic;
      return {
        topicKey, partition: p.partition, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes, log, zstdTopic,
        unknownError: notLeader ? ErrorCode.NOT_LEADER_OR_FOLLOWER : denied ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : unknownTopic ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      };
    });
    return { topicKey, parts };
  });
}

/** Whether a partition the Fetch names (by topic name, or an id this broker does not know) needs the cluster catch-up. */
function fetchNeedsCatchUp(ctx: RequestContext, req: FetchRequest): boolean {
  const { storage } = ctx.services;
  return req.topics.some((t) => {
    const name = ctx.version >= 13 ? storage.topics().find((x) => x.topicId === t.topicId)?.name : t.topic ?? '';
    return name === undefined || t.partitions.some((p) => partitionNeedsCatchUp(ctx.services, name, p.partition));
  });
}

const p0 = (partitions: readonly { partition: number }[]) => partitions.some((p) => p.partition === 0);

/** An internal topic a Fetch names, and the coordinator's log behind its one partition. */
interface InternalLog { name: string; log: PartitionLog }

/**
 * The logs of the internal topics a request names, by name (v0–12) or by the id Metadata gives
 * them (v13+): Fetch serves them as Kafka does (a KIP-848 group whose regex matches one is
 * assigned it and fetches it by id).
 */
async function internalLogs(ctx: RequestContext, req: FetchRequest): Promise<Map<string, InternalLog>> {
  const out = new Map<string, InternalLog>();
  const { storage } = ctx.services;
  if (ctx.version >= 13) {
    const wanted = req.topics.filter((t) => p0(t.partitions) && !storage.topics().some((x) => x.topicId === t.topicId));
    if (wanted.length === 0) return out;
    const infos = await internalTopicInfos(storage);
    for (const t of wanted) {
      const info = infos.find((i) => i.topicId === t.topicId);
      const log = info && (await internalTopicLog(storage, info.name, 0));
      if (info && log) out.set(info.topicId, { name: info.name, log });
    }
    return out;
  }
  for (const t of req.topics) {
    const name = t.topic ?? '';
    if (isInternalTopic(name) && !out.has(name) && p0(t.partitions)) {
      const log = await internalTopicLog(storage, name, 0);
      if (log) out.set(name, { name, log });
    }
  }
  return out;
}

/** Down-converts read chunks for Fetch v0–3: whole messages up to `limit` bytes (at least one with `minOne`). */
type Convert = (chunks: Buffer[], fetchOffset: number, limit: number, minOne: boolean) => Promise<Buffer>;

/**
 * The whole batches of `chunks` that start below `lso` (read_committed), their size, and the
 * offset after the last one kept (`fetchOffset` when none is).
 */
function belowStable(chunks: Buffer[], lso: number, fetchOffset: number): { chunks: Buffer[]; bytes: number; next: number } {
  const kept: Buffer[] = [];
  let bytes = 0;
  let next = fetchOffset;
  for (const chunk of chunks) {
    let at = 0;
    while (at < chunk.length) {
      const h = readBatchHeader(chunk, at);
      if (h.baseOffset >= lso) break;
      at += h.size;
      next = h.baseOffset + h.lastOffsetDelta + 1;
    }
    if (at > 0) kept.push(at === chunk.length ? chunk : chunk.subarray(0, at));
    bytes += at;
    if (at < chunk.length) break;
  }
  return { chunks: kept, bytes, next };
}

/**
 * `noZstd`: the fetch version passes batches on as stored and predates zstd (v4–9), so a partition
 * of a topic with compression.type=zstd answers UNSUPPORTED_COMPRESSION_TYPE (with -1 marks and no records, as Kafka answers it).
 */
async function readAll(
  services: BrokerServices, groups: ReturnType<typeof resolve>, maxBytes: number, committed: boolean, convert?: Convert, noZstd = false,
): Promise<{ responses: FetchResponseFetchableTopicResponse[]; bytes: number; lsos: Map<PartitionLog, number> }> {
  const lsos = new Map<PartitionLog, number>();
  let budget = maxBytes;
  let bytes = 0;
  const responses: FetchResponseFetchableTopicResponse[] = [];
  for (const g of groups) {
    const partitions: FetchResponsePartitionData[] = [];
    for (const w of g.parts) {
      const base = { partitionIndex: w.partition, preferredReadReplica: -1, abortedTransactions: committed ? [] : null };
      if (!w.log) {
        partitions.push({ ...base, errorCode: w.unknownError, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: [] });
        continue;
      }
      if (noZstd && w.zstdTopic) {
        partitions.push({ ...base, errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: [] });
        continue;
      }
      const start = w.log.logStartOffset();
      const end = w.log.logEndOffset();
      const lso = w.log.lastStableOffset();
      lsos.set(w.log, lso);
      const marks = { highWatermark: end, lastStableOffset: lso, logStartOffset: start };
      // What this reader may see: read_committed stops at the LSO.
      const visibleEnd = committed ? lso : end;
      if (w.fetchOffset < start || w.fetchOffset > end) {
        partitions.push({ ...base, ...marks, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, records: [] });
        continue;
      }
      let records: Buffer[] = [];
      let aborted: { producerId: number; firstOffset: number }[] | null = committed ? [] : null;
      if (w.fetchOffset < visibleEnd && budget > 0) {
        const limit = Math.min(w.partitionMaxBytes, budget);
        let r: Awaited<ReturnType<PartitionLog['read']>>;
        try {
          r = await w.log.read(w.fetchOffset, limit, bytes === 0);
        } catch (err) {
          if (!(err instanceof StorageError)) throw err;
          // Damaged stored bytes at the fetch offset (the log reported them once, not per fetch).
          if (err instanceof CorruptDataError) {
            partitions.push({ ...base, ...marks, errorCode: ErrorCode.CORRUPT_MESSAGE, records: [] });
            continue;
          }
          // Deleted while we read (DeleteTopics closed the log): the partition is gone. Anything
          // else is the disk's fault: this partition fails, the rest of the request is served.
          const gone = services.storage.partition(g.topicKey.topic, w.partition) !== w.log;
          if (!gone) services.logger.warn(`fetch ${g.topicKey.topic}-${w.partition} at ${w.fetchOffset}: ${err.message}`);
          partitions.push({ ...base, ...marks, errorCode: gone ? w.unknownError : ErrorCode.KAFKA_STORAGE_ERROR, records: [] });
          continue;
        }
        if (committed) {
          const kept = belowStable(r.chunks, lso, w.fetchOffset);
          r = { chunks: kept.chunks, bytes: kept.bytes };
          if (kept.next > w.fetchOffset) aborted = w.log.abortedTransactions(w.fetchOffset, kept.next);
        }
        if (convert) {
          let set: Buffer;
          try {
            set = r.chunks.length ? await convert(r.chunks, w.fetchOffset, limit, bytes === 0) : Buffer.alloc(0);
          } catch (err) {
            // A batch that cannot be decompressed or decoded: this partition fails, the rest is served.
            const code = (err as { errorCode?: unknown }).errorCode;
            partitions.push({ ...base, ...marks, errorCode: typeof code === 'number' ? code : ErrorCode.CORRUPT_MESSAGE, records: [] });
            continue;
          }
          records = set.length ? [set] : [];
          bytes += set.length;
          budget -= set.length;
        } else {
          records = r.chunks;
          bytes += r.bytes;
          budget -= r.bytes;
        }
      }
      partitions.push({ ...base, ...marks, abortedTransactions: aborted, errorCode: ErrorCode.NONE, records });
    }
    responses.push({ topic: g.topicKey.topic, topicId: g.topicKey.topicId, partitions });
  }
  return { responses, bytes, lsos };
}

function hasPartitionError(responses: FetchResponseFetchableTopicResponse[]): boolean {
  return responses.some((t) => t.partitions.some((p) => p.errorCode !== ErrorCode.NONE));
}

/**
 * Resolves when any of the logs gets new data, or after `ms`. With `stable` (read_committed: the
 * LSOs the last answer was built on), new data is what moves a log's last stable offset (appends
 * inside an open transaction do not).
 */
function waitForData(logs: PartitionLog[], ms: number, stable: Map<PartitionLog, number> | null): Promise<void> {
  return new Promise((done) => {
    const offs: (() => void)[] = [];
    const finish = () => {
      clearTimeout(timer);
      for (const off of offs) off();
      done();
    };
    const timer = setTimeout(finish, ms);
    timer.unref();
    for (const log of logs) {
      if (!stable) {
        offs.push(log.onAppend(finish));
        continue;
      }
      const lso = stable.get(log) ?? log.lastStableOffset();
      if (log.lastStableOffset() !== lso) {
        queueMicrotask(finish); // moved while the answer was read
        continue;
      }
      offs.push(log.onAppend(() => {
        if (log.lastStableOffset() !== lso) finish();
      }));
    }
  });
}

export const fetchHandler = defineHandler({
  apiKey: ApiKey.Fetch,
  minVersion: 0,
  maxVersion: 17,
  async handle(ctx, req): Promise<FetchResponse> {
    // v0-2 have no maxBytes: the decoder gives 0x7fffffff, its default.
    const asked = req.maxBytes !== undefined && req.maxBytes > 0 ? req.maxBytes : 0x7fffffff;
    const maxBytes = Math.min(asked, ctx.services.config.fetchMaxBytes);
    const internal = await internalLogs(ctx, req);
    // Cluster mode: a topic just created or moved through another broker is read from the database first.
    if (ctx.services.cluster.multiNode && fetchNeedsCatchUp(ctx, req)) await clusterCatchUp(ctx.services);
    let groups = resolve(ctx, req, internal);
    const magic = ctx.version <= 1 ? 0 : 1;
    const convert: Convert | undefined = ctx.version < 4
      ? (chunks, fetchOffset, limit, minOne) => batchesToMessageSet(chunks, magic, { fetchOffset, maxBytes: limit, minOneMessage: minOne })
      : undefined;
    // v0-3 have no isolation level: the decoder gives 0 (read_uncommitted).
    const committed = (req.isolationLevel ?? 0) === 1;
    const noZstd = ctx.version >= 4 && ctx.version < 10;
    let result = await readAll(ctx.services, groups, maxBytes, committed, convert, noZstd);
    const deadline = Date.now() + Math.max(0, req.maxWaitMs);
    const logs = groups.flatMap((g) => g.parts.flatMap((p) => (p.log ? [p.log] : [])));
    // Like Kafka, answer at once when a partition has an error (e.g. OFFSET_OUT_OF_RANGE): waiting
    // cannot fix it, and clients that send a huge maxWaitMs (kafka-go's Conn) would hang.
    while (result.bytes < Math.max(1, req.minBytes) && logs.length > 0 && !hasPartitionError(result.responses)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await waitForData(logs, left, committed ? result.lsos : null);
      groups = resolve(ctx, req, internal); // a topic may have been deleted (or re-created) meanwhile
      result = await readAll(ctx.services, groups, maxBytes, committed, convert, noZstd);
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses: result.responses };
  },
});
