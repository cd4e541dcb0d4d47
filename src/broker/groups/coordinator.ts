// The group coordinator as the broker and the handlers see it: one class, one method per request.
// It routes each call to the part that implements it and owns start/stop:
//
//   classic-protocol.ts   JoinGroup, SyncGroup, Heartbeat, LeaveGroup, DescribeGroups (state: classic-group.ts)
//   consumer-protocol.ts  ConsumerGroupHeartbeat, ConsumerGroupDescribe (KIP-848; state: consumer-group.ts)
//   offsets.ts            OffsetCommit, OffsetFetch, OffsetDelete, offset retention, group removal
//   txn-offsets.ts        offsets committed in transactions, pending until the transaction ends
//   runtime.ts            what they share: the groups, timers, writes to __consumer_offsets (offsets-store.ts)
//
// ListGroups and DeleteGroups, which span both protocols, are answered here.
import { ErrorCode } from '../../protocol/generated/errors.js';
import type { GroupState, JoinGroupResult, SyncGroupResult } from './classic-group.js';
import { ClassicProtocol, type DescribedGroup, type HeartbeatParams, type JoinGroupParams, type LeaveGroupResult, type LeavingMember, type SyncGroupParams } from './classic-protocol.js';
import type { ConsumerGroupStateName } from './consumer-group.js';
import { ConsumerProtocol, type ConsumerGroupDescribed, type ConsumerGroupHeartbeatParams, type ConsumerGroupHeartbeatResult } from './consumer-protocol.js';
import { OffsetManager, type OffsetCommitParams, type OffsetDeleteResult, type OffsetFetchResult, type PartitionErrors } from './offsets.js';
import { GroupRuntime, type Group, type GroupCoordinatorOptions } from './runtime.js';
import { TxnOffsets, type TxnOffset } from './txn-offsets.js';

export type { GroupState, JoinGroupResult, ProtocolEntry, SyncGroupResult } from './classic-group.js';
export type { DescribedGroup, HeartbeatParams, JoinGroupParams, LeaveGroupResult, LeavingMember, SyncGroupParams } from './classic-protocol.js';
export type { ConsumerGroupDescribed, ConsumerGroupHeartbeatParams, ConsumerGroupHeartbeatResult } from './consumer-protocol.js';
export { MAX_OFFSET_METADATA_LENGTH } from './offsets.js';
export type { FetchedOffset, OffsetCommitParams, OffsetDeleteResult, OffsetFetchResult, PartitionErrors } from './offsets.js';
export type { GroupCoordinatorOptions } from './runtime.js';
export type { TxnOffset } from './txn-offsets.js';

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  groupState: GroupState | ConsumerGroupStateName;
  groupType: string;
}

export class GroupCoordinator {
  private readonly rt: GroupRuntime;
  private readonly classic: ClassicProtocol;
  private readonly consumer: ConsumerProtocol;
  private readonly offsets: OffsetManager;
  private readonly txnOffsets: TxnOffsets;

  constructor(readonly options: GroupCoordinatorOptions) {
    this.rt = new GroupRuntime(options);
    this.classic = new ClassicProtocol(this.rt);
    this.consumer = new ConsumerProtocol(this.rt);
    this.txnOffsets = new TxnOffsets(this.rt);
    this.offsets = new OffsetManager(this.rt, this.classic, this.txnOffsets);
  }

  /** Replays the offsets log into memory; call after storage.open(). */
  async start(): Promise<void> {
    if (this.rt.active) return;
    await this.rt.open();
    this.classic.startSessions();
    this.offsets.scheduleRetentionCheck();
    this.rt.maybeCompact();
  }

  /** Clears every timer, answers parked requests with NOT_COORDINATOR and waits for pending writes. */
  async stop(): Promise<void> {
    if (!this.rt.active) return;
    await this.rt.close(() => this.classic.abortWaiting());
    this.txnOffsets.clear();
  }

  // Classic groups
  joinGroup(p: JoinGroupParams): Promise<JoinGroupResult> {
    return this.classic.joinGroup(p);
  }
  syncGroup(p: SyncGroupParams): Promise<SyncGroupResult> {
    return this.classic.syncGroup(p);
  }
  heartbeat(p: HeartbeatParams): number {
    return this.classic.heartbeat(p);
  }
  /** LeaveGroup; a member with an empty member id is looked up by its group instance id (admin removal). */
  leaveGroup(groupId: string, leaving: LeavingMember[]): LeaveGroupResult {
    return this.classic.leaveGroup(groupId, leaving);
  }
  describeGroups(groupIds: string[]): DescribedGroup[] {
    return this.classic.describeGroups(groupIds);
  }

  // Consumer groups (KIP-848)
  /**
   * Sees which of Kafka's internal topics exist, for the subscriptions of consumer groups (they may
   * match them, as in Kafka): the ConsumerGroupHeartbeat handler awaits it before the heartbeat.
   */
  refreshTopics(): Promise<void> {
    return this.consumer.refreshTopics();
  }
  consumerGroupHeartbeat(p: ConsumerGroupHeartbeatParams): ConsumerGroupHeartbeatResult {
    return this.consumer.consumerGroupHeartbeat(p);
  }
  consumerGroupDescribe(groupIds: string[]): ConsumerGroupDescribed[] {
    return this.consumer.consumerGroupDescribe(groupIds);
  }

  // Committed offsets
  commitOffsets(p: OffsetCommitParams): Promise<PartitionErrors> {
    return this.offsets.commitOffsets(p);
  }
  /**
   * Committed offsets of a group; `topics` null = every committed partition. Partitions never
   * committed answer offset -1, metadata "", NONE.
   */
  fetchOffsets(
    groupId: string,
    topics: { name: string; partitionIndexes: number[] }[] | null,
    requireStable = false,
    member: { memberId: string | null; memberEpoch: number } = { memberId: null, memberEpoch: -1 },
  ): OffsetFetchResult {
    return this.offsets.fetchOffsets(groupId, topics, requireStable, member);
  }
  /** Offsets committed inside transactions (TxnOffsetCommit), pending until the transaction ends. */
  txnCommitMemberError(p: { groupId: string; generationId: number; memberId: string; groupInstanceId: string | null }): number {
    return this.offsets.checkTxnCommitMember(p);
  }
  holdTxnOffsets(groupId: string, producerId: number, offsets: readonly TxnOffset[]): void {
    this.txnOffsets.hold(groupId, producerId, offsets);
  }
  completeTxnOffsets(groupId: string, producerId: number, commit: boolean, offsets: readonly TxnOffset[]): Promise<void> {
    return this.txnOffsets.complete(groupId, producerId, commit, offsets);
  }
  /** OffsetDelete: removes committed offsets of partitions the group does not consume. */
  deleteOffsets(groupId: string, topics: { name: string; partitions: number[] }[]): Promise<OffsetDeleteResult> {
    return this.offsets.deleteOffsets(groupId, topics);
  }

  // Administration, across both protocols

  /** Groups, optionally filtered by state and type (case-insensitive): "classic" or "consumer" (KIP-848). */
  listGroups(statesFilter: string[] = [], typesFilter: string[] = []): { errorCode: number; groups: ListedGroup[] } {
    if (!this.rt.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const groups: ListedGroup[] = [];
    for (const g of this.rt.groups.values()) {
      const state = g.type === 'consumer' ? g.stateName() : g.state;
      if (states.size > 0 && !states.has(state.toLowerCase())) continue;
      if (types.size > 0 && !types.has(g.type)) continue;
      const protocolType = g.type === 'consumer' ? 'consumer' : g.protocolType ?? '';
      groups.push({ groupId: g.groupId, protocolType, groupState: state, groupType: g.type });
    }
    return { errorCode: ErrorCode.NONE, groups };
  }

  /** Deletes Empty groups with their offsets: GROUP_ID_NOT_FOUND for unknown ones, NON_EMPTY_GROUP for live ones. */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    const results = [...new Set(groupIds)].map((groupId) => ({ groupId, errorCode: ErrorCode.NONE as number }));
    const eligible: { g: Group; res: { errorCode: number } }[] = [];
    for (const res of results) {
      const g = this.rt.groups.get(res.groupId);
      if (!this.rt.active) res.errorCode = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      else if (!g) res.errorCode = ErrorCode.GROUP_ID_NOT_FOUND;
      else if (g.type === 'consumer' ? g.members.size > 0 : g.state !== 'Empty') res.errorCode = ErrorCode.NON_EMPTY_GROUP;
      else eligible.push({ g, res });
    }
    if (eligible.length > 0) {
      const code = await this.offsets.removeGroupsDurably(eligible.map((e) => e.g));
      for (const e of eligible) e.res.errorCode = code;
    }
    return results;
  }
}
