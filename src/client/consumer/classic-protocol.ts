// Membership of one consumer in a classic group (Kafka's group.protocol=classic: JoinGroup/SyncGroup):
// join with the assigners' protocols, run the chosen assigner when leader, sync, heartbeat, leave.
// Commits and offset fetches go through this class for both protocols (see `membership`).
import { ApiKey } from '../../protocol/apis.js';
import type { ApiKeyNumber, JoinGroupResponseMember, RequestOf, ResponseOf } from '../../protocol/generated/types.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { Cluster } from '../cluster.js';
import { FjordError, FjordNonRetriableError, FjordProtocolError } from '../errors.js';
import type { ClientLogger } from '../logger.js';
import { MemberAssignment, MemberMetadata, type Assigner } from './assigners.js';

export interface ClassicGroupOptions {
  groupId: string;
  sessionTimeout: number;
  rebalanceTimeout: number;
  groupInstanceId: string | null;
  assigners: Assigner[];
}

export interface JoinResult {
  assignment: Map<string, number[]>;
  isLeader: boolean;
  leaderId: string;
  memberId: string;
  generationId: number;
  groupProtocol: string;
  duration: number;
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
}

/** Codes after which this member must join again. */
export const REJOIN_CODES: ReadonlySet<number> = new Set([
  ErrorCode.REBALANCE_IN_PROGRESS, ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID,
]);
const COORDINATOR_CODES: ReadonlySet<number> = new Set([
  ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/** A coordinator answer saying the member has to rejoin (retriable at the consumer level). */
export class RebalanceError extends FjordProtocolError {
  override name = 'FjordRebalanceError';
}

export class ClassicGroupMember {
  memberId = '';
  generationId = -1;
  /** Set by abortJoin(): a join in progress gives up. */
  private aborted = false;
  /** For KIP-848 groups: where commits read the member id and epoch from. */
  membership: (() => { memberId: string; generationId: number }) | null = null;
  leaderId = '';
  protocolName: string | null = null;

  constructor(private readonly cluster: Cluster, private readonly options: ClassicGroupOptions, private readonly log: ClientLogger) {}

  get groupId(): string {
    return this.options.groupId;
  }

  private async coordinator(): Promise<number> {
    return this.cluster.findCoordinator(this.options.groupId);
  }

  /** Sends `body` to the coordinator; coordinator errors (also in `errorCode`) refresh the lookup. */
  private async send<K extends ApiKeyNumber>(apiKey: K, body: RequestOf<K>, timeout?: number): Promise<ResponseOf<K>> {
    const node = await this.coordinator();
    try {
      const conn = await this.cluster.connection(node, 'coordinator');
      const res = await conn.request(apiKey, body, timeout ? { timeout } : undefined);
      if ('errorCode' in res && typeof res.errorCode === 'number' && COORDINATOR_CODES.has(res.errorCode)) this.cluster.forgetCoordinator(this.options.groupId);
      return res;
    } catch (err) {
      this.cluster.forgetCoordinator(this.options.groupId);
      throw err;
    }
  }

  /**
   * Joins (or rejoins) the group subscribed to `topics`; resolves with this member's assignment.
   * `owned` is what the member held in the previous generation (for sticky assignors).
   */
  async join(topics: string[], owned: Map<string, number[]> = new Map(), reason: string | null = null): Promise<JoinResult> {
    const started = Date.now();
    const { groupId, sessionTimeout, rebalanceTimeout, groupInstanceId, assigners } = this.options;
    this.aborted = false;
    return this.cluster.retrier.run(async (bail) => {
      for (let round = 0; round < 20; round++) {
        if (this.aborted) bail(new FjordNonRetriableError('the consumer stopped while joining its group'));
        const join = await this.send(ApiKey.JoinGroup, {
          groupId,
          sessionTimeoutMs: sessionTimeout,
          rebalanceTimeoutMs: rebalanceTimeout,
          memberId: this.memberId,
          groupInstanceId,
          protocolType: 'consumer',
          protocols: assigners.map((a) => a.protocol({
            topics,
            ownedPartitions: [...owned].map(([topic, partitions]) => ({ topic, partitions })),
            generationId: this.generationId,
          })),
          reason,
        }, rebalanceTimeout + 5000);
        if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
          this.memberId = join.memberId;
          continue;
        }
        if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          this.memberId = '';
          continue;
        }
        if (join.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
        if (join.errorCode !== 0) {
          const err = new FjordProtocolError(join.errorCode, `JoinGroup ${groupId}`);
          if (!err.retriable) bail(err);
          throw err;
        }
        // Nullable (v7+) only for failed joins: a joined group has chosen its protocol.
        if (join.protocolName === null) return bail(new FjordError(`JoinGroup ${groupId} succeeded without choosing a protocol`, { retriable: false }));
        const protocolName = join.protocolName;
        this.memberId = join.memberId;
        this.generationId = join.generationId;
        this.leaderId = join.leader;
        this.protocolName = protocolName;
        const isLeader = join.leader === join.memberId;
        let assignments: { memberId: string; assignment: Buffer }[] = [];
        if (isLeader && !join.skipAssignment) assignments = await this.assign(protocolName, join.members);
        const sync = await this.send(ApiKey.SyncGroup, {
          groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId,
          protocolType: 'consumer',
          protocolName,
          assignments,
        }, rebalanceTimeout + 5000);
        if (REJOIN_CODES.has(sync.errorCode)) {
          if (sync.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
          continue;
        }
        if (sync.errorCode !== 0) {
          const err = new FjordProtocolError(sync.errorCode, `SyncGroup ${groupId}`);
          if (!err.retriable) bail(err);
          throw err;
        }
        const decoded = MemberAssignment.decode(sync.assignment);
        const assignment = new Map<string, number[]>();
        if (decoded) for (const [topic, partitions] of Object.entries(decoded.assignment)) assignment.set(topic, [...partitions].sort((a, b) => a - b));
        return {
          assignment, isLeader, leaderId: this.leaderId, memberId: this.memberId, generationId: this.generationId,
          groupProtocol: protocolName, duration: Date.now() - started,
        };
      }
      throw new FjordError(`group ${groupId} kept rebalancing while joining`);
    });
  }

  private async assign(protocolName: string, members: JoinGroupResponseMember[]): Promise<{ memberId: string; assignment: Buffer }[]> {
    const assigner = this.options.assigners.find((a) => a.name === protocolName);
    if (!assigner) throw new FjordNonRetriableError(`the group chose assigner "${protocolName}", which this consumer does not have`);
    const topics = new Set<string>();
    for (const m of members) {
      try {
        for (const t of MemberMetadata.decode(m.metadata).topics) topics.add(t);
      } catch {
        this.log.warn('a member sent unreadable subscription metadata', { memberId: m.memberId });
      }
    }
    if (topics.size) await this.cluster.ensureTopics(topics);
    const plan = await assigner.assign({
      members: members.map((m) => ({ memberId: m.memberId, memberMetadata: m.metadata })),
      topics: [...topics],
    });
    return plan.map((p) => ({ memberId: p.memberId, assignment: p.memberAssignment }));
  }

  /** One heartbeat. Throws RebalanceError when the member must rejoin. */
  async heartbeat(): Promise<void> {
    const res = await this.send(ApiKey.Heartbeat, {
      groupId: this.options.groupId, generationId: this.generationId, memberId: this.memberId, groupInstanceId: this.options.groupInstanceId,
    });
    if (res.errorCode === 0) return;
    if (REJOIN_CODES.has(res.errorCode)) {
      if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      throw new RebalanceError(res.errorCode, `group ${this.options.groupId}`);
    }
    throw new FjordProtocolError(res.errorCode, `Heartbeat ${this.options.groupId}`);
  }

  /** Commits offsets with this member's generation (or as a simple commit when not joined). */
  async commit(offsets: OffsetToCommit[]): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push(o);
    }
    await this.cluster.retrier.run(async (bail) => {
      const who = this.membership?.() ?? { memberId: this.memberId, generationId: this.generationId };
      const res = await this.send(ApiKey.OffsetCommit, {
        groupId: this.options.groupId,
        generationIdOrMemberEpoch: who.generationId,
        memberId: who.memberId,
        groupInstanceId: this.options.groupInstanceId,
        retentionTimeMs: -1,
        topics: [...byTopic].map(([name, list]) => ({
          name,
          partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: o.metadata ?? null })),
        })),
      });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode === 0) continue;
          if (REJOIN_CODES.has(p.errorCode) || p.errorCode === ErrorCode.FENCED_MEMBER_EPOCH) bail(new RebalanceError(p.errorCode, `commit to ${t.name}/${p.partitionIndex}`));
          // KIP-848: the epoch moved on since the commit was made; try again with the new one.
          if (p.errorCode === ErrorCode.STALE_MEMBER_EPOCH) throw new FjordError(`stale member epoch committing ${t.name}/${p.partitionIndex}`, { retriable: true });
          throw new FjordProtocolError(p.errorCode, `commit to ${t.name}/${p.partitionIndex}`);
        }
      }
    });
  }

  /** Committed offsets of the given partitions (-1 where nothing is committed). */
  async fetchOffsets(partitions: Map<string, number[]>): Promise<Map<string, Map<number, number>>> {
    const res = await this.cluster.retrier.run(async () => {
      const r = await this.send(ApiKey.OffsetFetch, {
        groupId: this.options.groupId,
        topics: [...partitions].map(([name, list]) => ({ name, partitionIndexes: list })),
        requireStable: false,
      });
      if (r.errorCode) throw new FjordProtocolError(r.errorCode, `OffsetFetch ${this.options.groupId}`);
      return r;
    });
    const out = new Map<string, Map<number, number>>();
    for (const t of res.topics ?? []) { // v0-7 (this client's range) always has topics
      const m = new Map<number, number>();
      for (const p of t.partitions) {
        if (p.errorCode !== 0 && p.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new FjordProtocolError(p.errorCode, `OffsetFetch ${t.name}/${p.partitionIndex}`);
        m.set(p.partitionIndex, p.committedOffset);
      }
      out.set(t.name, m);
    }
    return out;
  }

  /**
   * Makes a join in progress give up at once (the consumer is stopping): a JoinGroup can wait for
   * the other members for up to the rebalance timeout, so its connection is closed.
   */
  abortJoin(): void {
    this.aborted = true;
    void this.cluster.closePool('coordinator');
  }

  /** Leaves the group (best effort). */
  async leave(): Promise<void> {
    if (!this.memberId) return;
    try {
      await this.send(ApiKey.LeaveGroup, {
        groupId: this.options.groupId,
        memberId: this.memberId,
        members: [{ memberId: this.memberId, groupInstanceId: this.options.groupInstanceId, reason: 'the consumer is stopping' }],
      }, 5000);
    } catch (err) {
      this.log.debug(`leaving the group failed: ${(err as Error).message}`);
    }
    this.memberId = '';
    this.generationId = -1;
  }
}
