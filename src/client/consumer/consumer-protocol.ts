// Membership in a group with the consumer protocol (Kafka's group.protocol=consumer, KIP-848): the
// coordinator computes the assignment; the member only heartbeats (ConsumerGroupHeartbeat) with its
// subscription and the partitions it owns, and takes what the answers assign. There is no
// group-wide barrier: a member that must give partitions up stops them, commits, and reports the
// smaller set; the coordinator hands them to their new owner after that.
//
// This class runs the heartbeat loop and turns answers into three kinds of news for the consumer:
// a new assignment (by topic name), the loss of every partition (fenced: the member epoch is
// stale, nothing can be committed), or a fatal error.
import { randomBytes } from 'node:crypto';
import type { ConsumerGroupHeartbeatResponseAssignment } from '../../protocol/generated/types.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { Cluster } from '../cluster.js';
import { FjordNonRetriableError, FjordProtocolError, FjordUnsupportedError } from '../errors.js';
import type { ClientLogger } from '../logger.js';
import { sleep } from '../retry.js';
import type { JoinResult } from './classic-protocol.js';

export const CONSUMER_GROUP_HEARTBEAT = 68;

export interface ConsumerGroupOptions {
  groupId: string;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeout: number;
  serverAssignor: string | null;
}

type News = { kind: 'assignment'; result: JoinResult } | { kind: 'lost' } | { kind: 'fatal'; error: Error };

const COORDINATOR_CODES: ReadonlySet<number> = new Set([
  ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

const sameAssignment = (a: Map<string, number[]>, b: Map<string, number[]>) =>
  a.size === b.size && [...a].every(([t, ps]) => {
    const other = b.get(t);
    return !!other && other.length === ps.length && ps.every((p, i) => other[i] === p);
  });

/** A member id as Kafka's Uuid prints it (22 characters of URL-safe base64). */
const newMemberId = () => randomBytes(16).toString('base64url');

export class ConsumerGroupMember {
  memberId = newMemberId();
  epoch = 0;
  private interval = 3000;
  private owned = new Map<string, number[]>();
  /** The last assignment handed to the consumer. */
  private delivered: Map<string, number[]> | null = null;
  private news: News[] = [];
  private waiter: (() => void) | null = null;
  private newsListeners: (() => void)[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private joinedAt = Date.now();

  constructor(private readonly cluster: Cluster, private readonly options: ConsumerGroupOptions, private readonly log: ClientLogger, private topics: string[]) {}

  /** Starts heartbeating (joining with epoch 0). */
  start(): void {
    this.stopped = false;
    this.joinedAt = Date.now();
    this.loop ??= this.run().finally(() => { this.loop = null; });
  }

  /** Waits for the next piece of news. */
  async next(): Promise<News> {
    while (this.news.length === 0) await new Promise<void>((r) => { this.waiter = r; });
    // Only the newest assignment matters; losses and fatal errors come first.
    const urgent = this.news.find((n) => n.kind !== 'assignment');
    if (urgent) {
      this.news = this.news.filter((n) => n !== urgent);
      return urgent;
    }
    const last = this.news[this.news.length - 1];
    this.news = [];
    return last;
  }

  /** Resolves when there is news, without taking it. */
  async whenNews(): Promise<void> {
    while (this.news.length === 0) await new Promise<void>((r) => { this.newsListeners.push(r); });
  }

  /** Whether the news waiting includes the loss of every partition. */
  lostPending(): boolean {
    return this.news.some((n) => n.kind === 'lost');
  }

  private push(n: News): void {
    this.news.push(n);
    const w = this.waiter;
    this.waiter = null;
    w?.();
    const listeners = this.newsListeners;
    this.newsListeners = [];
    for (const l of listeners) l();
  }

  /** Hands the current assignment out again (after the consumer restarted from a crash). */
  redeliver(): void {
    if (this.delivered && !this.news.some((n) => n.kind === 'assignment')) {
      this.push({
        kind: 'assignment',
        result: { assignment: this.delivered, isLeader: false, leaderId: '', memberId: this.memberId, generationId: this.epoch, groupProtocol: this.options.serverAssignor ?? 'consumer', duration: 0 },
      });
    }
  }

  /** What the consumer now owns; reported in the next heartbeat, sent at once. */
  setOwned(owned: Map<string, number[]>): void {
    this.owned = new Map([...owned].map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)]));
    this.wake?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.heartbeat();
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        const e = err as Error;
        if (e instanceof FjordNonRetriableError || (e instanceof FjordProtocolError && !e.retriable && !COORDINATOR_CODES.has(e.code))) {
          this.push({ kind: 'fatal', error: e });
          return;
        }
        failures++;
        this.log.warn(`heartbeat failed: ${e.message}`, { groupId: this.options.groupId, attempt: failures });
        await sleep(this.cluster.retrier.delay(Math.min(failures - 1, 6)));
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.interval);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
      this.wake = null;
    }
  }

  private async topicNames(assignment: ConsumerGroupHeartbeatResponseAssignment): Promise<Map<string, number[]>> {
    const list = assignment.topicPartitions;
    const byId = () => new Map(this.cluster.knownTopicIds());
    let ids = byId();
    if (list.some((t) => !ids.has(t.topicId))) {
      await this.cluster.refreshMetadata([...new Set([...this.topics])]);
      ids = byId();
      if (list.some((t) => !ids.has(t.topicId))) {
        await this.cluster.refreshMetadata('all');
        ids = byId();
      }
    }
    const out = new Map<string, number[]>();
    for (const t of list) {
      const name = ids.get(t.topicId);
      if (!name) {
        this.log.warn(`assigned a topic id this client cannot name: ${t.topicId}`);
        continue;
      }
      out.set(name, [...t.partitions].sort((a, b) => a - b));
    }
    return out;
  }

  private async heartbeat(): Promise<void> {
    const node = await this.cluster.findCoordinator(this.options.groupId);
    const conn = await this.cluster.connection(node, 'coordinator');
    if (!conn.supports(CONSUMER_GROUP_HEARTBEAT)) {
      throw new FjordUnsupportedError(`${conn.broker} does not offer the consumer group protocol (KIP-848); use groupProtocol: 'classic'`);
    }
    const ids = new Map(this.cluster.knownTopicIds().map(([id, name]) => [name, id]));
    const owned = [...this.owned].filter(([t]) => ids.has(t)).map(([t, partitions]) => ({ topicId: ids.get(t)!, partitions }));
    // Full requests every time: the answer then always carries the assignment.
    const res = await conn.request(CONSUMER_GROUP_HEARTBEAT, {
      groupId: this.options.groupId,
      memberId: this.memberId,
      memberEpoch: this.epoch,
      instanceId: this.options.instanceId,
      rackId: this.options.rackId,
      rebalanceTimeoutMs: this.options.rebalanceTimeout,
      subscribedTopicNames: this.topics,
      subscribedTopicRegex: null,
      serverAssignor: this.options.serverAssignor,
      topicPartitions: owned,
    });
    const code = res.errorCode;
    if (code === ErrorCode.NONE) {
      if (res.memberId) this.memberId = res.memberId;
      this.epoch = res.memberEpoch;
      if (res.heartbeatIntervalMs > 0) this.interval = res.heartbeatIntervalMs;
      if (res.assignment) {
        const assignment = await this.topicNames(res.assignment);
        if (!this.delivered || !sameAssignment(assignment, this.delivered)) {
          this.delivered = assignment;
          this.push({
            kind: 'assignment',
            result: {
              assignment, isLeader: false, leaderId: '', memberId: this.memberId, generationId: this.epoch,
              groupProtocol: this.options.serverAssignor ?? 'consumer', duration: Date.now() - this.joinedAt,
            },
          });
        }
      }
      return;
    }
    if (COORDINATOR_CODES.has(code)) {
      this.cluster.forgetCoordinator(this.options.groupId);
      throw new FjordProtocolError(code, res.errorMessage);
    }
    if (code === ErrorCode.FENCED_MEMBER_EPOCH || code === ErrorCode.UNKNOWN_MEMBER_ID) {
      // Every partition is lost: join again from epoch 0.
      this.log.info(`member ${this.memberId} was fenced (${new FjordProtocolError(code).type}); joining again`, { groupId: this.options.groupId });
      if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = newMemberId();
      this.epoch = 0;
      this.owned = new Map();
      this.delivered = null;
      this.joinedAt = Date.now();
      this.push({ kind: 'lost' });
      return;
    }
    if (code === ErrorCode.UNRELEASED_INSTANCE_ID) throw new FjordProtocolError(code, res.errorMessage);
    throw new FjordNonRetriableError(`ConsumerGroupHeartbeat for group ${this.options.groupId}: ${new FjordProtocolError(code, res.errorMessage).message} (${new FjordProtocolError(code).type})`);
  }

  /** Leaves the group: epoch -1, or -2 for a static member (its partitions wait for it). */
  async leave(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.epoch <= 0 && !this.delivered) return;
    try {
      const node = await this.cluster.findCoordinator(this.options.groupId);
      const conn = await this.cluster.connection(node, 'coordinator');
      await conn.request(CONSUMER_GROUP_HEARTBEAT, {
        groupId: this.options.groupId, memberId: this.memberId, memberEpoch: this.options.instanceId ? -2 : -1,
        instanceId: this.options.instanceId, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null,
        subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null,
      }, { timeout: 5000 });
    } catch (err) {
      this.log.debug(`leaving the group failed: ${(err as Error).message}`);
    }
    this.epoch = 0;
    this.delivered = null;
    this.owned = new Map();
  }
}
