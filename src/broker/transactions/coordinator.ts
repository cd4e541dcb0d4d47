// The transaction coordinator: per transactional id its producer id and epoch, timeout, state and
// the partitions and groups of its current transaction; the API handlers (InitProducerId with a
// transactional id, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn,
// DescribeTransactions, ListTransactions) and Produce's check call it.
//
// States as Kafka's TransactionState (without PrepareEpochFence, which is folded into the abort):
//
//   Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn──▶ PrepareCommit ──markers──▶ CompleteCommit
//                                          │                PrepareAbort  ──markers──▶ CompleteAbort
//                                          └─ timeout / InitProducerId of a new producer: epoch + 1, PrepareAbort
//   Complete* ──AddPartitions/AddOffsets──▶ Ongoing (the next transaction);  any but Prepare* ──InitProducerId──▶ Empty (epoch + 1)
//
// Durability (invariant 10's twin): every state change is a record in `__transaction_state`
// (state-store.ts), appended with sync *before* memory changes and before anything acts on it.
// EndTxn: PrepareX persisted → a COMMIT/ABORT marker into every partition of the transaction (sync)
// and the group offsets completed → CompleteX persisted → answer. A start completes every
// transaction found in Prepare* before requests are served; Ongoing ones keep their deadline.
//
// Requests for one transactional id run one at a time (a promise chain per id), so a state is
// never changed by two requests at once; others see the result of the previous one.
//
// Test-only fault injection: FJORD_TEST_CRASH_AT=txn-after-prepare kills the process (SIGKILL)
// right after a PrepareCommit/PrepareAbort record is on disk and before any marker is written.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { TxnMarker } from '../../protocol/records.js';
import { StorageError, TxnMarkerEpochError, type Storage } from '../../storage/types.js';
import { MAX_OFFSET_METADATA_LENGTH, type GroupCoordinator, type TxnOffset } from '../groups/coordinator.js';
import type { Logger } from '../logger.js';
import type { ProducerIdManager } from '../producer-ids.js';
import { produceProblem, type TxnFollower } from './follower.js';
import { TXN_LOG, TXN_STATES, TxnStateStore, type TxnRecord, type TxnStateName } from './state-store.js';

export { TXN_STATES, type TxnStateName } from './state-store.js';

/** Epochs are int16; an id whose epoch cannot be bumped any more gets a new producer id. */
const MAX_EPOCH = 32767;
const CRASH_AT_ENV = 'FJORD_TEST_CRASH_AT';

export interface TransactionCoordinatorOptions {
  storage: Storage;
  logger: Logger;
  groups: GroupCoordinator;
  producerIds: ProducerIdManager;
  /** transaction.max.timeout.ms */
  maxTimeoutMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms */
  abortCheckIntervalMs: number;
  /**
   * Writes a marker into a partition, resolving once it is stored or not needed (cluster mode: the
   * partition's leader writes it, whichever broker that is). Default: `writeTxnMarker` on this
   * broker's partition, which is the leader of everything on one node.
   */
  writeMarker?: (topic: string, partition: number, marker: TxnMarker) => Promise<void>;
  /** Cluster mode: the view of `__transaction_state` Produce checks against on a broker that does not coordinate. */
  follower?: TxnFollower;
}

export interface InitResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface TopicPartitions {
  name: string;
  partitions: number[];
}

export interface PartitionResults {
  name: string;
  results: { partition: number; errorCode: number }[];
}

export interface DescribedTxn {
  errorCode: number;
  transactionalId: string;
  state: string;
  timeoutMs: number;
  startTimeMs: number;
  producerId: number;
  producerEpoch: number;
  topics: { topic: string; partitions: number[] }[];
}

export interface TxnOffsetCommitInput {
  transactionalId: string;
  groupId: string;
  producerId: number;
  producerEpoch: number;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: { name: string; partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[] }[];
}

/**
 * PRODUCER_FENCED exists from some version of each API on; older versions get INVALID_PRODUCER_EPOCH.
 * `firstVersion` is the version that introduced it (AddPartitionsToTxn, AddOffsetsToTxn and EndTxn 2,
 * InitProducerId 4).
 */
export function fencedFor(errorCode: number, version: number, firstVersion: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < firstVersion ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}

const partitionKey = (topic: string, partition: number) => `${topic}\0${partition}`;
const isPrepare = (s: TxnStateName) => s === 'PrepareCommit' || s === 'PrepareAbort';

/** A storage failure is NOT_COORDINATOR to the client (it looks the coordinator up again and retries). */
function writeError(err: unknown): number {
  return err instanceof StorageError ? ErrorCode.NOT_COORDINATOR : ErrorCode.UNKNOWN_SERVER_ERROR;
}

export class TransactionCoordinator {
  /** transactional id → its last persisted record. */
  private readonly txns = new Map<string, TxnRecord>();
  /** producer id → transactional id (the current producer id of each). */
  private readonly byProducer = new Map<number, string>();
  /** transactional id → the tail of its request chain. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private store: TxnStateStore | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly crashAt = process.env[CRASH_AT_ENV] ?? '';
  /** Between start() and stop(); requests outside it get COORDINATOR_LOAD_IN_PROGRESS / NOT_AVAILABLE. */
  active = false;
  private loading = false;

  constructor(private readonly options: TransactionCoordinatorOptions) {}

  private get logger(): Logger {
    return this.options.logger;
  }

  /** Replays `__transaction_state`, completes transactions left in Prepare*, starts the timeout sweep. Call after groups start. */
  async start(): Promise<void> {
    if (this.active) return;
    this.loading = true;
    const store = new TxnStateStore(await this.options.storage.internalLog(TXN_LOG));
    this.store = store;
    const records = await store.replay(
      (id, record) => {
        if (record === null) this.txns.delete(id);
        else this.txns.set(id, record);
      },
      (reason, offset) => this.logger.warn(`${TXN_LOG}: skipped ${reason} at offset ${offset}`),
    );
    for (const [id, r] of this.txns) {
      this.byProducer.set(r.producerId, id);
      if (r.state === 'Ongoing' || isPrepare(r.state)) {
        for (const g of r.groups) this.options.groups.holdTxnOffsets(g.groupId, r.producerId, g.offsets);
      }
    }
    if (records > 0) this.logger.info(`transaction coordinator loaded ${this.txns.size} transactional id(s) from ${records} record(s) of ${TXN_LOG}`);
    for (const [id, r] of this.txns) {
      if (isPrepare(r.state)) {
        this.logger.info(`transaction ${id}: completing ${r.state} found at start`);
        await this.complete(id).catch((err) => this.logger.warn(`transaction ${id}: completion failed, retried later: ${(err as Error).message}`));
      }
    }
    this.loading = false;
    this.active = true;
    this.scheduleSweep();
  }

  /** Stops the sweep and waits for the requests in progress. */
  async stop(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
    this.txns.clear();
    this.byProducer.clear();
  }

  private unavailable(): number {
    return this.loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.COORDINATOR_NOT_AVAILABLE;
  }

  /** Runs `fn` after every earlier request for `id` finished. */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(id) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(id, tail);
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id);
    });
    return run;
  }

  /** Writes the id's next record with sync; memory changes only once it is on disk. */
  private async persist(id: string, next: TxnRecord): Promise<void> {
    if (!this.store) throw new Error('transaction coordinator not started');
    await this.store.write(id, next);
    const before = this.txns.get(id);
    if (before && before.producerId !== next.producerId && this.byProducer.get(before.producerId) === id) this.byProducer.delete(before.producerId);
    this.txns.set(id, next);
    this.byProducer.set(next.producerId, id);
  }

  private crashPoint(name: string): void {
    if (this.crashAt === name) {
      this.logger.warn(`${CRASH_AT_ENV}=${name}: killing the process (test-only fault injection)`);
      process.kill(process.pid, 'SIGKILL');
    }
  }

  /**
   * Writes the markers of a transaction in Prepare*, completes its group offsets and persists
   * CompleteCommit/CompleteAbort. Safe to repeat (markers and offsets are idempotent).
   */
  private async complete(id: string): Promise<void> {
    const r = this.txns.get(id);
    if (!r || !isPrepare(r.state)) return;
    const commit = r.state === 'PrepareCommit';
    const marker: TxnMarker = { producerId: r.producerId, producerEpoch: r.producerEpoch, commit, coordinatorEpoch: 0 };
    const { storage, groups } = this.options;
    const write = this.options.writeMarker ?? (async (topic: string, partition: number, m: TxnMarker) => {
      await storage.partition(topic, partition)?.writeTxnMarker(m, { sync: true });
    });
    await Promise.all(r.partitions.map(async ([topic, partition]) => {
      if (!storage.partition(topic, partition)) return; // the topic was deleted: nothing left to mark
      try {
        await write(topic, partition, marker);
      } catch (err) {
        // A newer epoch of this producer id was written there (an idempotent InitProducerId that
        // presented it): Produce refuses this epoch's batches then, so nothing of ours is open to end.
        if (err instanceof TxnMarkerEpochError) {
          this.logger.warn(`transaction ${id}: no marker for ${topic}-${partition}: ${err.message}`);
          return;
        }
        if (storage.partition(topic, partition)) throw err;
      }
    }));
    for (const g of r.groups) await groups.completeTxnOffsets(g.groupId, r.producerId, commit, g.offsets);
    await this.persist(id, { ...r, state: commit ? 'CompleteCommit' : 'CompleteAbort', partitions: [], groups: [], updateTimestamp: Date.now() });
  }

  /**
   * Retries the completion of `id` as the next request of its chain (called from inside one): a
   * completion running beside the chain could persist its Complete* over a newer record.
   */
  private completeLater(id: string): void {
    void this.serial(id, () => this.complete(id)).catch((err) => this.logger.warn(`transaction ${id}: completion failed, retried later: ${(err as Error).message}`));
  }

  /** Ends the Ongoing transaction of `id` with an abort at epoch + 1, fencing the producer that had it. */
  private async fenceAndAbort(id: string, why: string): Promise<void> {
    const r = this.txns.get(id);
    if (!r || r.state !== 'Ongoing') return;
    const epoch = Math.min(r.producerEpoch + 1, MAX_EPOCH);
    this.logger.info(`transaction ${id}: aborting (${why}), producer ${r.producerId} epoch ${r.producerEpoch} -> ${epoch}`);
    await this.persist(id, { ...r, producerEpoch: epoch, lastProducerEpoch: r.producerEpoch, state: 'PrepareAbort', updateTimestamp: Date.now() });
    this.crashPoint('txn-after-prepare');
    await this.complete(id);
  }

  private scheduleSweep(): void {
    if (!this.active) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      this.sweep();
      this.scheduleSweep();
    }, this.options.abortCheckIntervalMs);
    this.sweepTimer.unref();
  }

  /** Aborts transactions open past their timeout; retries completions that failed. */
  sweep(): void {
    const now = Date.now();
    for (const [id, r] of this.txns) {
      const expired = r.state === 'Ongoing' && now - r.startTimestamp > r.timeoutMs;
      if (!expired && !isPrepare(r.state)) continue;
      void this.serial(id, async () => {
        const cur = this.txns.get(id);
        if (!this.active || !cur) return;
        if (cur.state === 'Ongoing' && Date.now() - cur.startTimestamp > cur.timeoutMs) await this.fenceAndAbort(id, `open longer than its timeout of ${cur.timeoutMs} ms`);
        else if (isPrepare(cur.state)) await this.complete(id);
      }).catch((err) => this.logger.warn(`transaction ${id}: ${(err as Error).message}`));
    }
  }

  // ---- InitProducerId ------------------------------------------------------------------------

  /** InitProducerId with a transactional id. `current`: the producer id and epoch a v3+ client presents (-1 = none). */
  initProducerId(id: string, timeoutMs: number, current: { producerId: number; producerEpoch: number }): Promise<InitResult> {
    const fail = (errorCode: number): InitResult => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (!this.active) return Promise.resolve(fail(this.unavailable()));
    if (timeoutMs <= 0 || timeoutMs > this.options.maxTimeoutMs) return Promise.resolve(fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT));
    return this.serial(id, async () => {
      try {
        const r = this.txns.get(id);
        const now = Date.now();
        if (!r) {
          const producerId = await this.options.producerIds.allocate();
          await this.persist(id, { producerId, producerEpoch: 0, lastProducerEpoch: -1, timeoutMs, state: 'Empty', partitions: [], groups: [], startTimestamp: -1, updateTimestamp: now });
          return { errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
        }
        if (current.producerId >= 0 && (current.producerId !== r.producerId || (current.producerEpoch !== r.producerEpoch && current.producerEpoch !== r.lastProducerEpoch))) {
          return fail(ErrorCode.PRODUCER_FENCED);
        }
        if (isPrepare(r.state)) {
          this.completeLater(id);
          return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        }
        if (r.state === 'Ongoing') await this.fenceAndAbort(id, 'a new producer initialized the transactional id');
        const after = this.txns.get(id)!;
        if (isPrepare(after.state)) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
        let producerId = after.producerId;
        let producerEpoch = after.producerEpoch + 1;
        // The epoch a KIP-360 retry may present next: the caller's own. A new producer (none
        // presented) leaves none, so the producer it fences cannot come back with its old epoch (as Kafka).
        let lastProducerEpoch = current.producerId >= 0 ? current.producerEpoch : -1;
        if (producerEpoch >= MAX_EPOCH) {
          producerId = await this.options.producerIds.allocate();
          producerEpoch = 0;
          lastProducerEpoch = -1;
        }
        await this.persist(id, { producerId, producerEpoch, lastProducerEpoch, timeoutMs, state: 'Empty', partitions: [], groups: [], startTimestamp: -1, updateTimestamp: Date.now() });
        return { errorCode: ErrorCode.NONE, producerId, producerEpoch };
      } catch (err) {
        this.logger.warn(`transaction ${id}: InitProducerId failed: ${(err as Error).message}`);
        return fail(writeError(err));
      }
    });
  }

  /** The checks every request of a producer in a transaction gets: NONE or the error. */
  private producerError(r: TxnRecord | undefined, producerId: number, producerEpoch: number): number {
    if (!r || r.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (r.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (isPrepare(r.state)) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (r.state === 'Dead') return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  /** The record of a transaction that starts now, or goes on. */
  private ongoing(r: TxnRecord): TxnRecord {
    const now = Date.now();
    return r.state === 'Ongoing'
      ? { ...r, partitions: [...r.partitions], groups: r.groups.map((g) => ({ groupId: g.groupId, offsets: [...g.offsets] })), updateTimestamp: now }
      : { ...r, state: 'Ongoing', partitions: [], groups: [], startTimestamp: now, updateTimestamp: now };
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn --------------------------------------------------

  /**
   * Adds partitions to the transaction (starting it when none is open). Partitions that do not exist
   * get UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as in Kafka.
   */
  addPartitions(id: string, producerId: number, producerEpoch: number, topics: TopicPartitions[]): Promise<PartitionResults[]> {
    const all = (code: number) => topics.map((t) => ({ name: t.name, results: t.partitions.map((partition) => ({ partition, errorCode: code })) }));
    if (!this.active) return Promise.resolve(all(this.unavailable()));
    if (id === '') return Promise.resolve(all(ErrorCode.INVALID_REQUEST));
    const { storage } = this.options;
    const missing = topics.some((t) => t.partitions.some((p) => !storage.partition(t.name, p)));
    if (missing) {
      return Promise.resolve(topics.map((t) => ({
        name: t.name,
        results: t.partitions.map((partition) => ({ partition, errorCode: storage.partition(t.name, partition) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })),
      })));
    }
    return this.serial(id, async () => {
      const r = this.txns.get(id);
      const code = this.producerError(r, producerId, producerEpoch);
      if (code !== ErrorCode.NONE || !r) return all(code);
      const next = this.ongoing(r);
      const have = new Set(next.partitions.map(([t, p]) => partitionKey(t, p)));
      let added = false;
      for (const t of topics) {
        for (const p of t.partitions) {
          if (have.has(partitionKey(t.name, p))) continue;
          have.add(partitionKey(t.name, p));
          next.partitions.push([t.name, p]);
          added = true;
        }
      }
      if (!added && r.state === 'Ongoing') return all(ErrorCode.NONE);
      try {
        await this.persist(id, next);
        return all(ErrorCode.NONE);
      } catch (err) {
        return all(writeError(err));
      }
    });
  }

  /** AddPartitionsToTxn v4+ verifyOnly: whether each partition is in the producer's open transaction. */
  verifyPartitions(id: string, producerId: number, producerEpoch: number, topics: TopicPartitions[]): PartitionResults[] {
    const r = this.txns.get(id);
    const code = !this.active ? this.unavailable() : this.producerError(r, producerId, producerEpoch);
    const inTxn = new Set(r?.state === 'Ongoing' ? r.partitions.map(([t, p]) => partitionKey(t, p)) : []);
    return topics.map((t) => ({
      name: t.name,
      results: t.partitions.map((partition) => ({
        partition,
        errorCode: code !== ErrorCode.NONE ? code : inTxn.has(partitionKey(t.name, partition)) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE,
      })),
    }));
  }

  /** AddOffsetsToTxn: the group's offsets (TxnOffsetCommit) become part of the transaction. */
  addOffsets(id: string, producerId: number, producerEpoch: number, groupId: string): Promise<number> {
    if (!this.active) return Promise.resolve(this.unavailable());
    if (id === '') return Promise.resolve(ErrorCode.INVALID_REQUEST);
    if (groupId === '') return Promise.resolve(ErrorCode.INVALID_GROUP_ID);
    return this.serial(id, async () => {
      const r = this.txns.get(id);
      const code = this.producerError(r, producerId, producerEpoch);
      if (code !== ErrorCode.NONE || !r) return code;
      if (r.state === 'Ongoing' && r.groups.some((g) => g.groupId === groupId)) return ErrorCode.NONE;
      const next = this.ongoing(r);
      next.groups.push({ groupId, offsets: [] });
      try {
        await this.persist(id, next);
        return ErrorCode.NONE;
      } catch (err) {
        return writeError(err);
      }
    });
  }

  // ---- TxnOffsetCommit -----------------------------------------------------------------------

  /** Offsets held in the transaction until it ends; persisted before the answer. */
  txnOffsetCommit(p: TxnOffsetCommitInput): Promise<PartitionResults[]> {
    const all = (code: number) => p.topics.map((t) => ({ name: t.name, results: t.partitions.map((x) => ({ partition: x.partitionIndex, errorCode: code })) }));
    if (!this.active) return Promise.resolve(all(this.unavailable()));
    if (p.groupId === '') return Promise.resolve(all(ErrorCode.INVALID_GROUP_ID));
    return this.serial(p.transactionalId, async () => {
      const r = this.txns.get(p.transactionalId);
      if (!r || r.producerId !== p.producerId) return all(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
      if (r.producerEpoch !== p.producerEpoch) return all(ErrorCode.INVALID_PRODUCER_EPOCH);
      if (r.state !== 'Ongoing' || !r.groups.some((g) => g.groupId === p.groupId)) return all(ErrorCode.INVALID_TXN_STATE);
      const member = this.options.groups.txnCommitMemberError(p);
      if (member !== ErrorCode.NONE) return all(member);
      const now = Date.now();
      const results = all(ErrorCode.NONE);
      const accepted: TxnOffset[] = [];
      p.topics.forEach((t, i) => {
        t.partitions.forEach((x, j) => {
          const res = results[i].results[j];
          const metadata = x.committedMetadata ?? '';
          if (!this.options.storage.partition(t.name, x.partitionIndex)) res.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          else if (metadata.length > MAX_OFFSET_METADATA_LENGTH) res.errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
          else accepted.push({ topic: t.name, partition: x.partitionIndex, offset: x.committedOffset, leaderEpoch: x.committedLeaderEpoch, metadata, commitTimestamp: now });
        });
      });
      if (accepted.length === 0) return results;
      const next = this.ongoing(r);
      const group = next.groups.find((g) => g.groupId === p.groupId)!;
      const replaced = new Set(accepted.map((o) => partitionKey(o.topic, o.partition)));
      group.offsets = [...group.offsets.filter((o) => !replaced.has(partitionKey(o.topic, o.partition))), ...accepted];
      try {
        await this.persist(p.transactionalId, next);
        this.options.groups.holdTxnOffsets(p.groupId, r.producerId, accepted);
        return results;
      } catch (err) {
        const code = writeError(err);
        for (const t of results) for (const x of t.results) if (x.errorCode === ErrorCode.NONE) x.errorCode = code;
        return results;
      }
    });
  }

  // ---- EndTxn --------------------------------------------------------------------------------

  /** Commits or aborts the open transaction; answers after the markers and the Complete* record are written. */
  endTxn(id: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    if (!this.active) return Promise.resolve(this.unavailable());
    if (id === '') return Promise.resolve(ErrorCode.INVALID_REQUEST);
    return this.serial(id, async () => {
      const r = this.txns.get(id);
      if (!r || r.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
      if (r.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
      switch (r.state) {
        case 'Ongoing':
          break;
        case 'CompleteCommit':
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE; // a retried commit succeeds
        case 'CompleteAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
        case 'PrepareCommit':
        case 'PrepareAbort':
          if ((r.state === 'PrepareCommit') !== commit) return ErrorCode.INVALID_TXN_STATE;
          this.completeLater(id);
          return ErrorCode.CONCURRENT_TRANSACTIONS;
        default: // Empty, Dead
          return ErrorCode.INVALID_TXN_STATE;
      }
      try {
        await this.persist(id, { ...r, state: commit ? 'PrepareCommit' : 'PrepareAbort', updateTimestamp: Date.now() });
      } catch (err) {
        return writeError(err);
      }
      this.crashPoint('txn-after-prepare');
      try {
        await this.complete(id);
      } catch (err) {
        // The outcome is decided and on disk; the sweep finishes it. Until then the id answers CONCURRENT_TRANSACTIONS.
        this.logger.warn(`transaction ${id}: completing ${commit ? 'commit' : 'abort'} failed, retried later: ${(err as Error).message}`);
      }
      return ErrorCode.NONE;
    });
  }

  // ---- WriteTxnMarkers from an administrator --------------------------------------------------

  /**
   * A WriteTxnMarkers request (kafka-transactions abort) for `producerId` on `partitions`. This
   * coordinator writes its own markers straight into storage, so such a request comes from outside.
   * Kafka's partition leader just appends the marker and the coordinator never hears of it; if the
   * coordinator still had the partition in an open transaction, that transaction would later commit
   * on its other partitions but not on this one. Fjord keeps a transaction whole instead: when a
   * partition is in the producer's open transaction here, the whole transaction is aborted through
   * the coordinator (epoch + 1, ABORT markers everywhere, its offsets dropped; the producer is
   * fenced, as by a timeout). A COMMIT marker for it is refused (INVALID_TXN_STATE: only EndTxn
   * commits), as is an older epoch (INVALID_PRODUCER_EPOCH).
   *
   * Returns an error code for each partition it took care of (key `topic\0partition`); the caller
   * writes the marker itself into the others: a producer this coordinator does not know, or a
   * partition outside its open transaction — the hanging transactions the tool is for.
   */
  adminMarker(producerId: number, producerEpoch: number, commit: boolean, partitions: [string, number][]): Promise<Map<string, number>> {
    if (!this.active) return Promise.resolve(new Map(partitions.map(([t, p]) => [partitionKey(t, p), this.unavailable()])));
    const id = this.byProducer.get(producerId);
    if (id === undefined) return Promise.resolve(new Map());
    return this.serial(id, async () => {
      const handled = new Map<string, number>();
      const r = this.txns.get(id);
      if (!r || r.producerId !== producerId || (r.state !== 'Ongoing' && !isPrepare(r.state))) return handled;
      const inTxn = new Set(r.partitions.map(([t, p]) => partitionKey(t, p)));
      const mine = partitions.map(([t, p]) => partitionKey(t, p)).filter((k) => inTxn.has(k));
      if (mine.length === 0) return handled;
      let code: number = producerEpoch < r.producerEpoch ? ErrorCode.INVALID_PRODUCER_EPOCH
        : isPrepare(r.state) ? ErrorCode.CONCURRENT_TRANSACTIONS
        : commit ? ErrorCode.INVALID_TXN_STATE
        : ErrorCode.NONE;
      if (code === ErrorCode.NONE) {
        try {
          await this.fenceAndAbort(id, `WriteTxnMarkers ABORT for ${mine.map((k) => k.replace('\0', '-')).join(', ')}`);
        } catch (err) {
          // Once PrepareAbort is on disk the outcome is decided and the sweep finishes the markers.
          if (this.txns.get(id)?.state !== 'PrepareAbort') code = writeError(err);
          this.logger.warn(`transaction ${id}: abort for WriteTxnMarkers: ${(err as Error).message}`);
        }
      }
      for (const k of mine) handled.set(k, code);
      return handled;
    });
  }

  // ---- Produce -------------------------------------------------------------------------------

  /** Produce's check of a transactional batch: null when the partition is in the producer's open transaction. */
  checkProduce(producerId: number, producerEpoch: number, topic: string, partition: number): { errorCode: number; message: string } | null {
    if (!this.active) {
      if (this.options.follower) return this.options.follower.check(producerId, producerEpoch, topic, partition);
      return { errorCode: ErrorCode.NOT_COORDINATOR, message: 'the transaction coordinator is not running' };
    }
    const id = this.byProducer.get(producerId);
    return produceProblem(id === undefined ? undefined : this.txns.get(id), producerId, producerEpoch, topic, partition);
  }

  /**
   * Called by Produce before `checkProduce` for a transactional batch: null when the check can run
   * now, or a promise to wait for first — cluster mode, on a broker that does not coordinate, when
   * the producer has no transaction open on the partition yet: its follower of
   * `__transaction_state` reads what the coordinator wrote since (AddPartitionsToTxn committed it
   * before it answered), so the first batch of every transaction on a partition is checked against
   * the coordinator's current state.
   */
  beforeProduceCheck(producerId: number, openHere: boolean): Promise<void> | null {
    if (this.active || !this.options.follower || openHere) return null;
    return this.options.follower.refresh();
  }

  // ---- DescribeTransactions / ListTransactions -----------------------------------------------

  describe(ids: string[]): DescribedTxn[] {
    return ids.map((id) => {
      const r = this.txns.get(id);
      const base = { transactionalId: id, state: '', timeoutMs: 0, startTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] };
      if (!this.active) return { ...base, errorCode: this.unavailable() };
      if (!r) return { ...base, errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND };
      const byTopic = new Map<string, number[]>();
      for (const [t, p] of r.partitions) {
        let list = byTopic.get(t);
        if (!list) byTopic.set(t, (list = []));
        list.push(p);
      }
      return {
        errorCode: ErrorCode.NONE, transactionalId: id, state: r.state, timeoutMs: r.timeoutMs, startTimeMs: r.startTimestamp,
        producerId: r.producerId, producerEpoch: r.producerEpoch,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) })),
      };
    });
  }

  /**
   * ListTransactions: state names as Kafka's (unknown ones reported back), producer ids, and with
   * `durationMs` ≥ 0 only transactions started at least that long ago.
   */
  list(states: string[], producerIds: number[], durationMs: number): { errorCode: number; unknownStates: string[]; txns: { transactionalId: string; producerId: number; state: string }[] } {
    if (!this.active) return { errorCode: this.unavailable(), unknownStates: [], txns: [] };
    const known = new Set<string>(TXN_STATES);
    const unknownStates = states.filter((s) => !known.has(s));
    const wanted = new Set(states.filter((s) => known.has(s)));
    const pids = new Set(producerIds);
    const now = Date.now();
    const txns: { transactionalId: string; producerId: number; state: string }[] = [];
    if (unknownStates.length > 0 && wanted.size === 0) return { errorCode: ErrorCode.NONE, unknownStates, txns };
    for (const [id, r] of this.txns) {
      if (wanted.size > 0 && !wanted.has(r.state)) continue;
      if (pids.size > 0 && !pids.has(r.producerId)) continue;
      if (durationMs >= 0 && (r.startTimestamp < 0 || now - r.startTimestamp < durationMs)) continue;
      txns.push({ transactionalId: id, producerId: r.producerId, state: r.state });
    }
    return { errorCode: ErrorCode.NONE, unknownStates, txns };
  }
}

