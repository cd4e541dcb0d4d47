// The consumer: kafkajs' API (subscribe, run with eachMessage/eachBatch, commitOffsets, seek,
// pause, resume, stop, disconnect, on) plus an async iterator, `for await (const m of
// consumer.messages())`.
//
// Inside, one session per group generation (session.ts):
//  - a fetch loop per leader broker (fetcher.ts) keeps one Fetch in flight on its own connection
//    and puts the decoded messages in a bounded queue per partition (a partition is not fetched
//    again while its queue holds maxBytesPerPartition bytes: that is the backpressure);
//  - `partitionsConsumedConcurrently` workers (workers.ts) take batches from those queues and call
//    the handler, each partition's batches strictly in order;
//  - a heartbeat timer; a rebalance (or stop) ends the session: fetching stops, the workers finish
//    the batch in hand, resolved offsets are committed (offset-commits.ts), and the member joins
//    again (classic-protocol.ts or consumer-protocol.ts).
// Seeks and pauses bump a partition's epoch; queued batches of an older epoch are dropped.
import { ApiKey } from '../../protocol/apis.js';
import type { Cluster } from '../cluster.js';
import { FjordError, FjordNonRetriableError, FjordNotConnectedError, FjordNumberOfRetriesExceeded, isRetriable } from '../errors.js';
import { ConsumerEvents, Instrumentation, type InstrumentationEvent } from '../instrumentation.js';
import type { ClientLogger } from '../logger.js';
import { sleep } from '../retry.js';
import { roundRobin, type Assigner, type AssignerCluster } from './assigners.js';
import { ClassicGroupMember, RebalanceError, type JoinResult } from './classic-protocol.js';
import { ConsumerGroupMember } from './consumer-protocol.js';
import { Fetcher } from './fetcher.js';
import { HandOff } from './hand-off.js';
import { OffsetCommits } from './offset-commits.js';
import { rewind, tpKey, type PartitionState } from './partition-state.js';
import { createSession, type Session } from './session.js';
import type { ConsumerConfig, ConsumerRunConfig, ConsumerSubscribeTopics, EachMessagePayload, RunSettings, TopicPartitionOffset } from './types.js';
import { Workers } from './workers.js';
import type { ConsumerEventMap } from '../events.js';

export type {
  Batch, ConsumerConfig, ConsumerRunConfig, ConsumerSubscribeTopics, EachBatchPayload, EachMessagePayload, TopicPartitionOffset,
} from './types.js';

export class Consumer {
  readonly events = ConsumerEvents;
  private readonly instrumentation = new Instrumentation('consumer', ConsumerEvents);
  private readonly cluster: Cluster;
  /** Classic membership; also sends every commit and offset fetch (for consumer-protocol groups too). */
  private readonly group: ClassicGroupMember;
  private readonly groupId: string;
  /** No group: partitions come from assign(), nothing is committed. */
  private readonly standalone: boolean;
  private manualAssignment: Map<string, number[]> | null = null;
  private readonly sessionTimeout: number;
  private readonly rebalanceTimeout: number;
  private readonly heartbeatInterval: number;
  private readonly maxBytesPerPartition: number;
  private readonly allowAutoTopicCreation: boolean;
  private connected = false;
  private running = false;
  private subscriptions: { pattern: string | RegExp; fromBeginning: boolean }[] = [];
  private topics = new Map<string, { fromBeginning: boolean }>();
  private partitions = new Map<string, PartitionState>();
  private pausedTopics = new Set<string>();
  private pausedPartitions = new Set<string>();
  private pendingSeeks = new Map<string, number>();
  private session: Session | null = null;
  private runConfig: RunSettings | null = null;
  private runLoop: Promise<void> | null = null;
  private lastHeartbeat = 0;
  private handOff: HandOff<EachMessagePayload> | null = null;
  private readonly assigners: Assigner[];
  /** The assignment of the last generation joined (reported as owned when joining again). */
  private lastAssignment = new Map<string, number[]>();
  private joining = false;
  /** Set while running with the consumer protocol (KIP-848). */
  private consumerGroup: ConsumerGroupMember | null = null;
  private readonly fetcher: Fetcher;
  private readonly workers: Workers;
  private readonly commits: OffsetCommits;

  constructor(makeCluster: (emit: Instrumentation['network']) => Cluster, private readonly log: ClientLogger, private readonly config: ConsumerConfig) {
    if (!config || (config.groupId !== undefined && (typeof config.groupId !== 'string' || config.groupId === ''))) {
      throw new FjordNonRetriableError('Consumer groupId must be a non-empty string');
    }
    this.standalone = config.groupId === undefined;
    this.groupId = config.groupId ?? '';
    this.cluster = makeCluster(this.instrumentation.network);
    this.sessionTimeout = config.sessionTimeout ?? 30000;
    this.rebalanceTimeout = config.rebalanceTimeout ?? 60000;
    this.heartbeatInterval = config.heartbeatInterval ?? 3000;
    this.maxBytesPerPartition = config.maxBytesPerPartition ?? 1048576;
    this.allowAutoTopicCreation = config.allowAutoTopicCreation ?? true;
    const assignerCluster: AssignerCluster = {
      findTopicPartitionMetadata: (topic) => this.cluster.topic(topic)?.partitions ?? [],
    };
    const factories = config.partitionAssigners?.length ? config.partitionAssigners : [roundRobin];
    const assigners = factories.map((f) => f({ cluster: assignerCluster, groupId: this.groupId, logger: log }));
    this.assigners = assigners;
    this.group = new ClassicGroupMember(this.cluster, {
      groupId: this.groupId, sessionTimeout: this.sessionTimeout, rebalanceTimeout: this.rebalanceTimeout,
      groupInstanceId: config.groupInstanceId ?? null, assigners,
    }, log);
    this.fetcher = new Fetcher(this.cluster, this.instrumentation, log, this.partitions, {
      isPaused: (topic, partition) => this.isPaused(topic, partition),
      fromBeginning: (topic) => this.topics.get(topic)?.fromBeginning ?? false,
    }, {
      maxWait: config.maxWaitTimeInMs ?? 5000, minBytes: config.minBytes ?? 1, maxBytes: config.maxBytes ?? 10485760,
      maxBytesPerPartition: this.maxBytesPerPartition, readCommitted: !config.readUncommitted, rackId: config.rackId ?? '',
    });
    this.commits = new OffsetCommits(this.group, this.instrumentation, this.partitions, this.groupId, this.standalone);
    this.workers = new Workers(this.cluster, this.instrumentation, log, this.groupId, this.partitions, this.commits, {
      isRunning: () => this.running,
      isPaused: (topic, partition) => this.isPaused(topic, partition),
      pause: (topicPartitions) => this.pause(topicPartitions),
      resume: (topicPartitions) => this.resume(topicPartitions),
      heartbeatIfDue: () => this.heartbeatIfDue(),
      commitOffsets: (offsets) => this.commitOffsets(offsets),
    });
  }

  /** Listens to an instrumentation event (`this.events`); returns the function that removes it. */
  on<E extends keyof ConsumerEventMap>(event: E, listener: (e: ConsumerEventMap[E]) => void): () => void;
  /** An event name not known to the types (throws unless it is one of `this.events`). */
  on(event: string, listener: (e: InstrumentationEvent<unknown>) => void): () => void;
  on(event: string, listener: (e: never) => void): () => void {
    return this.instrumentation.on(event, listener);
  }

  logger(): ClientLogger {
    return this.log;
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
    this.connected = true;
    this.instrumentation.emit(ConsumerEvents.CONNECT);
  }

  async disconnect(): Promise<void> {
    try {
      await this.stop();
    } finally {
      await this.cluster.disconnect();
      this.connected = false;
      this.instrumentation.emit(ConsumerEvents.DISCONNECT);
    }
  }

  async subscribe(subscription: ConsumerSubscribeTopics): Promise<void> {
    if (!this.connected) throw new FjordNotConnectedError('The consumer is not connected: call consumer.connect() first');
    if (this.running) throw new FjordNonRetriableError('Cannot subscribe to topics while the consumer is running');
    if (this.standalone) throw new FjordNonRetriableError('A consumer without a groupId reads the partitions given to assign(), it cannot subscribe');
    const { topic, topics, fromBeginning = false } = subscription;
    const list = topics ?? (topic !== undefined ? [topic] : []);
    if (list.length === 0) throw new FjordNonRetriableError('Missing required argument "topics"');
    for (const t of list) {
      if (typeof t !== 'string' && !(t instanceof RegExp)) throw new FjordNonRetriableError(`Invalid topic ${t} (${typeof t}), the topic name has to be a String or a RegExp`);
      this.subscriptions.push({ pattern: t, fromBeginning });
    }
    const hasRegex = list.some((t) => t instanceof RegExp);
    if (hasRegex) await this.cluster.retrier.run(() => this.cluster.refreshMetadata('all'));
    const known = hasRegex ? this.cluster.knownTopics() : [];
    for (const t of list) {
      if (typeof t === 'string') this.topics.set(t, { fromBeginning });
      else for (const name of known) if (t.test(name)) this.topics.set(name, { fromBeginning });
    }
    const names = [...this.topics.keys()];
    if (names.length) await this.cluster.ensureTopics(names, this.allowAutoTopicCreation);
  }

  /**
   * Fjord extension, for a consumer created without a groupId: read these partitions directly,
   * starting at `offset` (a number, 'earliest' or 'latest'; default latest). No group is joined and
   * nothing is committed.
   */
  async assign(partitions: { topic: string; partition: number; offset?: string | number }[]): Promise<void> {
    if (!this.standalone) throw new FjordNonRetriableError('assign() is for consumers without a groupId; a group consumer uses subscribe()');
    if (!this.connected) throw new FjordNotConnectedError('The consumer is not connected: call consumer.connect() first');
    if (this.running) throw new FjordNonRetriableError('Cannot assign partitions while the consumer is running');
    const topics = [...new Set(partitions.map((p) => p.topic))];
    await this.cluster.ensureTopics(topics, false);
    const assignment = new Map<string, number[]>();
    for (const p of partitions) {
      const meta = this.cluster.topic(p.topic)!;
      if (!meta.partitions.some((x) => x.partitionId === p.partition)) {
        throw new FjordNonRetriableError(`partition ${p.partition} does not exist in topic "${p.topic}" (it has ${meta.partitions.length})`);
      }
      let list = assignment.get(p.topic);
      if (!list) assignment.set(p.topic, (list = []));
      if (!list.includes(p.partition)) list.push(p.partition);
      const o = p.offset === undefined || p.offset === 'latest' ? -1 : p.offset === 'earliest' ? -2 : Number(p.offset);
      if (!Number.isInteger(o) || o < -2) throw new FjordNonRetriableError(`Invalid offset "${p.offset}" for ${p.topic}/${p.partition}`);
      this.pendingSeeks.set(tpKey(p.topic, p.partition), o);
      this.topics.set(p.topic, { fromBeginning: false });
    }
    this.manualAssignment = assignment;
  }

  /** Starts consuming; resolves once the consumer has joined its group. */
  async run(config: ConsumerRunConfig = {}): Promise<void> {
    if (!this.connected) throw new FjordNotConnectedError('The consumer is not connected: call consumer.connect() first');
    if (this.running) throw new FjordNonRetriableError('The consumer is already running');
    if (!config.eachBatch && !config.eachMessage) throw new FjordNonRetriableError('Consumer run requires eachMessage or eachBatch');
    if (this.topics.size === 0) {
      throw new FjordNonRetriableError(this.standalone ? 'No partitions assigned: call assign() first' : 'The consumer is not subscribed to any topic: call subscribe() first');
    }
    this.runConfig = {
      autoCommit: config.autoCommit ?? true,
      autoCommitInterval: config.autoCommitInterval ?? null,
      autoCommitThreshold: config.autoCommitThreshold ?? null,
      eachBatchAutoResolve: config.eachBatchAutoResolve ?? true,
      partitionsConsumedConcurrently: Math.max(1, config.partitionsConsumedConcurrently ?? 1),
      eachBatch: config.eachBatch,
      eachMessage: config.eachMessage,
    };
    if (this.config.groupProtocol !== undefined && this.config.groupProtocol !== 'classic' && this.config.groupProtocol !== 'consumer') {
      throw new FjordNonRetriableError(`groupProtocol must be 'classic' or 'consumer', not "${this.config.groupProtocol}"`);
    }
    if (this.config.groupProtocol === 'consumer' && !this.standalone) {
      const member = new ConsumerGroupMember(this.cluster, {
        groupId: this.groupId, instanceId: this.config.groupInstanceId ?? null, rackId: this.config.rackId ?? null,
        rebalanceTimeout: this.rebalanceTimeout, serverAssignor: this.config.groupRemoteAssignor ?? null,
      }, this.log, [...this.topics.keys()]);
      this.consumerGroup = member;
      this.group.membership = () => ({ memberId: member.memberId, generationId: member.epoch });
      member.start();
    }
    this.running = true;
    let joined!: () => void;
    let failed!: (e: Error) => void;
    const firstJoin = new Promise<void>((res, rej) => { joined = res; failed = rej; });
    this.runLoop = this.loop(joined, failed);
    await firstJoin;
  }

  /**
   * Messages as an async iterator. A message counts as processed (and its offset as resolved,
   * for auto-commit) when the next one is asked for or the loop is left; leaving the loop stops
   * the consumer. Fetching runs ahead only by a bounded amount (maxBytesPerPartition per
   * partition), so a slow loop slows fetching instead of filling memory.
   */
  messages(config: Omit<ConsumerRunConfig, 'eachBatch' | 'eachMessage' | 'partitionsConsumedConcurrently'> = {}): AsyncIterableIterator<EachMessagePayload> {
    const handOff = new HandOff<EachMessagePayload>();
    this.handOff = handOff;
    let started: Promise<void> | null = null;
    const start = () => (started ??= this.run({ ...config, eachMessage: (payload) => handOff.put(payload) }));
    const iterator: AsyncIterableIterator<EachMessagePayload> = {
      next: async () => {
        await start();
        return handOff.take();
      },
      return: async () => {
        handOff.close();
        await this.stop();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() { return iterator; },
    };
    return iterator;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.handOff?.close();
    this.session?.end('stop');
    if (this.joining) this.group.abortJoin();
    try {
      await this.runLoop;
    } catch {
      // reported through CRASH already
    }
    this.runLoop = null;
    if (this.consumerGroup) {
      await this.consumerGroup.leave();
      this.consumerGroup = null;
      this.group.membership = null;
    } else if (!this.config.groupInstanceId && !this.standalone) {
      await this.group.leave();
    }
    this.clearPartitions();
    this.instrumentation.emit(ConsumerEvents.STOP);
  }

  // --- the run loop -------------------------------------------------------------------------

  private async loop(joined: () => void, failed: (e: Error) => void): Promise<void> {
    try {
      await this.loopInner(joined, failed);
    } finally {
      // Stopped before the first join finished: run() resolves (a rejected run() has settled already).
      joined();
    }
  }

  private async loopInner(joined: () => void, failed: (e: Error) => void): Promise<void> {
    let first = true;
    let crashes = 0;
    while (this.running) {
      try {
        const topics = [...this.topics.keys()];
        let result: JoinResult;
        if (this.standalone) {
          result = { assignment: this.manualAssignment!, isLeader: false, leaderId: '', memberId: '', generationId: -1, groupProtocol: '', duration: 0 };
        } else if (this.consumerGroup) {
          const news = await this.consumerGroup.next();
          if (!this.running) break;
          if (news.kind === 'fatal') throw news.error;
          if (news.kind === 'lost') {
            this.clearPartitions();
            continue;
          }
          result = news.result;
          this.emitGroupJoin(result);
        } else {
          this.instrumentation.emit(ConsumerEvents.REBALANCING, { groupId: this.groupId, memberId: this.group.memberId });
          this.joining = true;
          try {
            result = await this.group.join(topics, this.lastAssignment);
          } finally {
            this.joining = false;
          }
          this.emitGroupJoin(result);
          const previous = this.lastAssignment;
          this.lastAssignment = result.assignment;
          // Cooperative protocol: having lost partitions, join again so they can move on.
          if (this.assigners.find((a) => a.name === result.groupProtocol)?.cooperative) {
            const lost = [...previous].some(([t, ps]) => ps.some((p) => !(result.assignment.get(t) ?? []).includes(p)));
            if (lost) continue;
          }
        }
        await this.applyAssignment(result);
        this.consumerGroup?.setOwned(new Map([...result.assignment].filter(([t]) => this.topics.has(t))));
        if (first) { first = false; joined(); }
        crashes = 0;
        const session = this.startSession(result.generationId);
        const why = await session.ended;
        // A fenced KIP-848 member cannot commit any more: its partitions are already someone else's.
        await this.endSession(session, !this.consumerGroup?.lostPending());
        if (why === 'crash' && session.error) throw session.error;
      } catch (err) {
        const error = err as Error;
        if (!this.running) break;
        if (first) {
          this.running = false;
          failed(error);
          return;
        }
        crashes++;
        const restart = await this.shouldRestart(error);
        this.log.error(`consumer crashed: ${error.message}`, { groupId: this.groupId, retriable: isRetriable(error), restart });
        this.instrumentation.emit(ConsumerEvents.CRASH, { error, groupId: this.groupId, restart });
        if (!restart) {
          this.running = false;
          if (this.consumerGroup) await this.consumerGroup.leave();
          else if (!this.standalone) await this.group.leave();
          this.instrumentation.emit(ConsumerEvents.STOP);
          return;
        }
        // kafkajs restarts after the failed retrier's last wait, else after initialRetryTime.
        const retryTime = (error as Error & { retryTime?: unknown }).retryTime;
        await sleep(typeof retryTime === 'number' && retryTime > 0 ? retryTime : this.cluster.retrier.delay(Math.min(crashes - 1, 8)));
        this.consumerGroup?.redeliver();
      }
    }
  }

  /**
   * kafkajs' rule: a crash restarts when it is NumberOfRetriesExceeded or its original cause is
   * retriable, and `retry.restartOnFailure` (when given) agrees; a hook that throws means restart.
   */
  private async shouldRestart(error: Error): Promise<boolean> {
    const hook = this.config.retry?.restartOnFailure;
    if (error instanceof RebalanceError) return true;
    let cause: Error = error;
    while (cause.cause instanceof Error) cause = cause.cause;
    if (!(error instanceof FjordNumberOfRetriesExceeded) && !isRetriable(cause)) return false;
    if (!hook) return true;
    try {
      return await hook(error);
    } catch (err) {
      this.log.error(`restartOnFailure threw (${(err as Error).message}); restarting`, { groupId: this.groupId });
      return true;
    }
  }

  private emitGroupJoin(r: JoinResult): void {
    const memberAssignment: Record<string, number[]> = {};
    for (const [t, p] of r.assignment) memberAssignment[t] = p;
    this.instrumentation.emit(ConsumerEvents.GROUP_JOIN, {
      duration: r.duration, groupId: this.groupId, isLeader: r.isLeader, leaderId: r.leaderId,
      groupProtocol: r.groupProtocol, memberId: r.memberId, memberAssignment,
    });
    const unsubscribed = [...r.assignment.keys()].filter((t) => !this.topics.has(t));
    if (unsubscribed.length) {
      this.instrumentation.emit(ConsumerEvents.RECEIVED_UNSUBSCRIBED_TOPICS, { groupId: this.groupId, generationId: r.generationId, memberId: r.memberId, assignedTopics: [...r.assignment.keys()], topicsSubscribed: [...this.topics.keys()], topicsNotSubscribed: unsubscribed });
    }
  }

  /** Sets the partitions' positions for a new assignment: seek > committed > reset policy. */
  private async applyAssignment(r: JoinResult): Promise<void> {
    const assignment = new Map([...r.assignment].filter(([t]) => this.topics.has(t)));
    this.clearPartitions();
    if (assignment.size === 0) return;
    await this.cluster.ensureTopics(assignment.keys());
    const committed = this.standalone ? new Map<string, Map<number, number>>() : await this.group.fetchOffsets(assignment);
    const resets: { topic: string; partition: number; earliest: boolean }[] = [];
    for (const [topic, list] of assignment) {
      for (const partition of list) {
        const key = tpKey(topic, partition);
        const seek = this.pendingSeeks.get(key);
        const c = committed.get(topic)?.get(partition) ?? -1;
        const state: PartitionState = {
          topic, partition, fetchOffset: -1, resolved: -1, start: -1, committed: c, epoch: 0, queue: [], queuedBytes: 0,
          highWatermark: -1, busy: false, notBefore: 0, failures: 0, partitionMaxBytes: this.maxBytesPerPartition, revoked: false,
        };
        this.partitions.set(key, state);
        if (seek !== undefined && seek >= 0) {
          this.pendingSeeks.delete(key);
          state.fetchOffset = seek;
          state.resolved = seek;
        } else if (seek !== undefined || c < 0) {
          this.pendingSeeks.delete(key);
          resets.push({ topic, partition, earliest: seek === -2 || (seek === undefined && this.topics.get(topic)!.fromBeginning) });
        } else {
          state.fetchOffset = c;
        }
      }
    }
    if (resets.length) {
      const offsets = await this.fetcher.listOffsets(resets.map((x) => ({ topic: x.topic, partition: x.partition, timestamp: x.earliest ? -2 : -1 })));
      for (const x of resets) {
        const s = this.partitions.get(tpKey(x.topic, x.partition))!;
        s.fetchOffset = offsets.get(tpKey(x.topic, x.partition)) ?? 0;
      }
    }
    for (const s of this.partitions.values()) s.start = s.fetchOffset;
  }

  // --- sessions -------------------------------------------------------------------------------

  private startSession(generationId: number): Session {
    const session = createSession(generationId);
    this.session = session;
    if (!this.running) session.end('stop');
    // Heartbeats (group members only).
    const beat = async () => {
      if (!session.active) return;
      try {
        await this.heartbeat();
      } catch (err) {
        if (err instanceof RebalanceError) {
          session.end('rejoin');
          return;
        }
        this.log.warn(`heartbeat failed: ${(err as Error).message}`, { groupId: this.groupId });
      }
      if (session.active) session.heartbeatTimer = setTimeout(beat, this.heartbeatInterval);
    };
    if (this.consumerGroup) void this.consumerGroup.whenNews().then(() => session.end('rejoin'));
    else if (!this.standalone) session.heartbeatTimer = setTimeout(beat, this.heartbeatInterval);
    // Fetchers, one per leader.
    const leaders = new Set<number>();
    for (const s of this.partitions.values()) leaders.add(this.cluster.leaderOf(s.topic, s.partition));
    for (const leader of leaders) session.fetchers.push(this.fetcher.fetchLoop(session, leader));
    // Workers.
    const runConfig = this.runConfig!;
    for (let i = 0; i < runConfig.partitionsConsumedConcurrently; i++) session.workers.push(this.workers.workerLoop(session, runConfig));
    return session;
  }

  private async endSession(session: Session, commit = true): Promise<void> {
    session.active = false;
    if (session.heartbeatTimer) clearTimeout(session.heartbeatTimer);
    session.wake();
    await Promise.all(session.workers);
    if (this.runConfig?.autoCommit && commit) {
      try {
        await this.commits.commitResolved(true);
      } catch (err) {
        this.log.warn(`could not commit offsets before rejoining: ${(err as Error).message}`, { groupId: this.groupId });
      }
    }
    // Fetch loops are not awaited: a long poll may still be out; its answer is dropped.
    for (const s of this.partitions.values()) {
      s.queue = [];
      s.queuedBytes = 0;
    }
  }

  /** For handlers' heartbeat(): skipped when one went out within heartbeatInterval. */
  private async heartbeatIfDue(): Promise<void> {
    if (Date.now() - this.lastHeartbeat < this.heartbeatInterval) return;
    await this.heartbeat();
  }

  private async heartbeat(): Promise<void> {
    if (this.standalone || this.consumerGroup) return;
    await this.group.heartbeat();
    this.lastHeartbeat = Date.now();
    this.instrumentation.emit(ConsumerEvents.HEARTBEAT, { groupId: this.groupId, memberId: this.group.memberId, groupGenerationId: this.group.generationId });
  }

  private isPaused(topic: string, partition: number): boolean {
    if (this.pausedTopics.size === 0 && this.pausedPartitions.size === 0) return false;
    return this.pausedTopics.has(topic) || this.pausedPartitions.has(tpKey(topic, partition));
  }

  private clearPartitions(): void {
    for (const s of this.partitions.values()) s.revoked = true;
    this.partitions.clear();
  }

  // --- public controls -----------------------------------------------------------------------

  /** Commits exactly the given offsets (the next offset to read, as kafkajs expects). */
  async commitOffsets(offsets: (TopicPartitionOffset & { metadata?: string | null })[]): Promise<void> {
    if (!this.connected) throw new FjordNotConnectedError('The consumer is not connected');
    if (this.standalone) throw new FjordNonRetriableError('A consumer without a groupId has no group to commit offsets to');
    const list = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: Number(o.offset), metadata: o.metadata ?? null }));
    for (const o of list) {
      if (!Number.isInteger(o.offset)) throw new FjordNonRetriableError(`Invalid offset "${o.offset}" for ${o.topic}/${o.partition}`);
    }
    await this.commits.commitExactly(list);
  }

  /** Moves a partition's position; takes effect before the next fetch (or when it is assigned). */
  seek({ topic, partition, offset }: TopicPartitionOffset): void {
    const o = Number(offset);
    if (!Number.isInteger(o) || o < -2) throw new FjordNonRetriableError(`Offset must not be a negative number, got "${offset}"`);
    const key = tpKey(topic, partition);
    const s = this.partitions.get(key);
    if (!s || o < 0) {
      this.pendingSeeks.set(key, o);
      if (s && o < 0) {
        void this.fetcher.listOffsets([{ topic, partition, timestamp: o }]).then((m) => {
          const v = m.get(key);
          if (v === undefined || this.partitions.get(key) !== s) return;
          this.pendingSeeks.delete(key);
          rewind(s, v);
          s.resolved = v;
          this.session?.wake();
        }).catch((err) => this.log.warn(`seek failed: ${(err as Error).message}`));
      }
      return;
    }
    rewind(s, o);
    s.resolved = o;
    this.session?.wake();
  }

  pause(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of topicPartitions) {
      if (!topic) throw new FjordNonRetriableError(`Invalid topic ${topic}`);
      if (!partitions) this.pausedTopics.add(topic);
      else for (const p of partitions) this.pausedPartitions.add(tpKey(topic, p));
    }
  }

  resume(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    for (const { topic, partitions } of topicPartitions) {
      if (!partitions) {
        this.pausedTopics.delete(topic);
        for (const k of [...this.pausedPartitions]) if (k.startsWith(`${topic}\u0000`)) this.pausedPartitions.delete(k);
      } else {
        for (const p of partitions) this.pausedPartitions.delete(tpKey(topic, p));
      }
    }
    this.session?.wake();
  }

  paused(): { topic: string; partitions: number[] }[] {
    const out = new Map<string, Set<number>>();
    for (const s of this.partitions.values()) {
      if (!this.isPaused(s.topic, s.partition)) continue;
      let set = out.get(s.topic);
      if (!set) out.set(s.topic, (set = new Set()));
      set.add(s.partition);
    }
    return [...out].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
  }

  /** The group's description from the coordinator. */
  async describeGroup(): Promise<{ groupId: string; members: unknown[]; protocol: string; protocolType: string; state: string; errorCode: number }> {
    const node = await this.cluster.findCoordinator(this.groupId);
    const res = await this.cluster.request(node, ApiKey.DescribeGroups, { groups: [this.groupId], includeAuthorizedOperations: false });
    const g = res.groups.find((x) => x.groupId === this.groupId);
    if (!g) throw new FjordError(`DescribeGroups did not describe group ${this.groupId}`);
    return { groupId: g.groupId, members: g.members, protocol: g.protocolData, protocolType: g.protocolType, state: g.groupState, errorCode: g.errorCode };
  }

  /**
   * Fjord extension: for each assigned partition, the next offset to be processed (after the last
   * message handled, or where consumption started) and the last high watermark seen.
   */
  positions(): { topic: string; partition: number; offset: number; highWatermark: number }[] {
    return [...this.partitions.values()].map((s) => ({
      topic: s.topic, partition: s.partition, offset: s.resolved >= 0 ? s.resolved : s.start, highWatermark: s.highWatermark,
    }));
  }

  /** Currently assigned partitions. */
  assignment(): { topic: string; partition: number }[] {
    return [...this.partitions.values()].map((s) => ({ topic: s.topic, partition: s.partition }));
  }
}

