// The consumer group protocol of KIP-848 (ConsumerGroupHeartbeat, ConsumerGroupDescribe). State,
// assignors and reconciliation live in consumer-group.ts; this file answers the requests and decides
// what the members' session and revocation timers do (the members hold them). There is no join/sync barrier: each member moves
// towards its target assignment on its own heartbeats.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '../../protocol/generated/errors.js';
import {
  compileRegex,
  CONSUMER_ASSIGNORS,
  ConsumerGroup,
  ConsumerMember,
  copyPartitions,
  JOIN_EPOCH,
  LEAVE_EPOCH,
  LEAVE_STATIC_EPOCH,
  samePartitions,
  type TopicInfo,
  type TopicPartitions,
} from './consumer-group.js';
import type { GroupRuntime } from './runtime.js';
import { DEFAULT_CONFIG } from '../settings.js';

export interface ConsumerGroupHeartbeatParams {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  /** -1 = unchanged. */
  rebalanceTimeoutMs: number;
  /** null = unchanged. */
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  /** Partitions the member owns, by topic id; null = unchanged. */
  topicPartitions: { topicId: string; partitions: number[] }[] | null;
  clientId: string;
  clientHost: string;
}

export interface ConsumerGroupHeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** null = unchanged since the last answer. */
  assignment: { topicId: string; topicName: string; partitions: number[] }[] | null;
}

function heartbeatError(errorCode: number, errorMessage: string | null): ConsumerGroupHeartbeatResult {
  return { errorCode, errorMessage, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
}

/** Every owned partition is in `assigned`. */
function isSubset(owned: TopicPartitions, assigned: TopicPartitions): boolean {
  for (const [topic, parts] of owned) for (const p of parts) if (!assigned.get(topic)?.has(p)) return false;
  return true;
}

type DescribedTopicPartitions = { topicId: string; topicName: string; partitions: number[] }[];

export interface ConsumerGroupDescribed {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: {
    memberId: string;
    instanceId: string | null;
    rackId: string | null;
    memberEpoch: number;
    clientId: string;
    clientHost: string;
    subscribedTopicNames: string[];
    subscribedTopicRegex: string | null;
    assignment: { topicPartitions: DescribedTopicPartitions };
    targetAssignment: { topicPartitions: DescribedTopicPartitions };
  }[];
}

export class ConsumerProtocol {
  constructor(private readonly rt: GroupRuntime) {}

  private consumerHeartbeatIntervalMs(): number {
    return this.rt.options.consumerHeartbeatIntervalMs ?? DEFAULT_CONFIG.groupConsumerHeartbeatIntervalMs;
  }

  private consumerSessionTimeoutMs(): number {
    return this.rt.options.consumerSessionTimeoutMs ?? DEFAULT_CONFIG.groupConsumerSessionTimeoutMs;
  }

  /** Sees which internal topics exist (subscriptions may match them, as in Kafka). */
  refreshTopics(): Promise<void> {
    return this.rt.refreshInternalTopics();
  }

  private topicInfos(): TopicInfo[] {
    return this.rt.groupTopics();
  }

  /** Request-level checks of ConsumerGroupHeartbeat (Kafka's rules); an error result or null. */
  private checkConsumerHeartbeat(p: ConsumerGroupHeartbeatParams): ConsumerGroupHeartbeatResult | null {
    const invalid = (message: string) => heartbeatError(ErrorCode.INVALID_REQUEST, message);
    if (p.groupId === '') return invalid('GroupId can\'t be empty.');
    if (p.instanceId === '') return invalid('InstanceId can\'t be empty.');
    if (p.rackId === '') return invalid('RackId can\'t be empty.');
    if (p.memberEpoch > 0 || p.memberEpoch === LEAVE_EPOCH) {
      if (p.memberId === '') return invalid('MemberId can\'t be empty.');
    } else if (p.memberEpoch === JOIN_EPOCH) {
      if (p.rebalanceTimeoutMs === -1) return invalid('RebalanceTimeoutMs must be provided in first request.');
      if (p.topicPartitions === null || p.topicPartitions.length > 0) return invalid('TopicPartitions must be empty when (re-)joining.');
      const names = p.subscribedTopicNames !== null && p.subscribedTopicNames.length > 0;
      if (!names && !p.subscribedTopicRegex) return invalid('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    } else if (p.memberEpoch === LEAVE_STATIC_EPOCH) {
      if (p.memberId === '') return invalid('MemberId can\'t be empty.');
      if (p.instanceId === null) return invalid('InstanceId can\'t be null.');
    } else {
      return invalid('MemberEpoch is invalid.');
    }
    if (p.serverAssignor !== null && !(CONSUMER_ASSIGNORS as readonly string[]).includes(p.serverAssignor)) {
      return heartbeatError(ErrorCode.UNSUPPORTED_ASSIGNOR, `ServerAssignor ${p.serverAssignor} is not supported. Supported assignors: ${CONSUMER_ASSIGNORS.join(', ')}.`);
    }
    if (p.subscribedTopicRegex && compileRegex(p.subscribedTopicRegex) === null) {
      return heartbeatError(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex ${p.subscribedTopicRegex} is not a valid regular expression.`);
    }
    return null;
  }

  /**
   * The group a heartbeat applies to: an existing consumer group; on a join (epoch 0) a new one, or
   * an Empty classic group converted (its offsets are kept). A classic group with members is not a
   * consumer group (GROUP_ID_NOT_FOUND, as Kafka with online migration off).
   */
  private consumerGroupFor(p: ConsumerGroupHeartbeatParams): ConsumerGroup | ConsumerGroupHeartbeatResult {
    const g = this.rt.groups.get(p.groupId);
    if (g?.type === 'consumer') return g;
    if (g !== undefined && !g.isUnused()) return heartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${p.groupId} is not a consumer group.`);
    if (p.memberEpoch !== JOIN_EPOCH) {
      // Unknown here (e.g. consumer-group membership does not survive a broker restart): the member rejoins.
      return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`);
    }
    g?.cancelPhaseTimers(this.rt);
    // Its offsets and metadata record are the id's and stay; the classic generation is carried along.
    const created = ConsumerGroup.replacing(p.groupId, g);
    this.rt.groups.set(p.groupId, created);
    this.rt.logger.info(`group ${p.groupId}: created as a consumer (KIP-848) group`);
    return created;
  }

  consumerGroupHeartbeat(p: ConsumerGroupHeartbeatParams): ConsumerGroupHeartbeatResult {
    if (!this.rt.active) return heartbeatError(ErrorCode.COORDINATOR_NOT_AVAILABLE, null);
    const bad = this.checkConsumerHeartbeat(p);
    if (bad) return bad;
    const found = this.consumerGroupFor(p);
    if (!(found instanceof ConsumerGroup)) return found;
    const g = found;
    if (p.memberEpoch === LEAVE_EPOCH || p.memberEpoch === LEAVE_STATIC_EPOCH) return this.consumerLeave(g, p);

    // Find or create the member.
    let m: ConsumerMember | undefined;
    let isNew = false;
    if (p.memberEpoch === JOIN_EPOCH) {
      const memberId = p.memberId !== '' ? p.memberId : randomUUID();
      if (p.instanceId !== null) {
        const currentId = g.staticMembers.get(p.instanceId);
        const current = currentId === undefined ? undefined : g.members.get(currentId);
        if (current && current.memberId !== memberId) {
          if (current.memberEpoch !== LEAVE_STATIC_EPOCH) {
            return heartbeatError(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${memberId} with instance id ${p.instanceId} cannot join the group because the instance id is owned by ${current.memberId}.`);
          }
          m = this.replaceStaticConsumerMember(g, current, memberId);
        }
      }
      if (!m) {
        m = g.members.get(memberId);
        if (m) {
          g.resetMember(m);
        } else {
          m = new ConsumerMember(memberId);
          isNew = true;
        }
      }
    } else {
      m = g.members.get(p.memberId);
      if (!m) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`);
      if (p.instanceId !== null && g.staticMembers.get(p.instanceId) !== m.memberId) {
        return heartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${p.memberId} with instance id ${p.instanceId} was fenced by another member.`);
      }
      const owned = p.topicPartitions === null ? null : this.ownedByName(p.topicPartitions);
      if (p.memberEpoch > m.memberEpoch) {
        return heartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `The member epoch ${p.memberEpoch} is greater than the coordinator's ${m.memberEpoch}. The member must abandon all its partitions and rejoin.`);
      }
      if (p.memberEpoch < m.memberEpoch && (p.memberEpoch !== m.previousMemberEpoch || owned === null || !isSubset(owned, m.assigned))) {
        return heartbeatError(ErrorCode.FENCED_MEMBER_EPOCH, `The member epoch ${p.memberEpoch} is smaller than the coordinator's ${m.memberEpoch}. The member must abandon all its partitions and rejoin.`);
      }
    }

    // Update what the request carries (null = unchanged).
    const subscriptionChanged = m.update(p) || isNew;
    if (isNew) {
      g.addMember(m);
      this.rt.logger.info(`group ${g.groupId}: consumer member ${m.memberId}${m.instanceId ? ` (instance ${m.instanceId})` : ''} joined`);
    }

    // Bump the group epoch when the assignment's inputs changed, and compute the new target.
    this.maybeBumpConsumerGroup(g, subscriptionChanged ? `member ${m.memberId} joined or changed its subscription` : null);

    // Move the member towards its target.
    const assignedBefore = copyPartitions(m.assigned);
    const owned = p.topicPartitions === null ? null : this.ownedByName(p.topicPartitions);
    g.reconcileMember(m, p.memberEpoch === JOIN_EPOCH ? new Map() : owned);
    this.scheduleConsumerSession(g, m);
    this.scheduleRevocationTimeout(g, m);

    const full = p.memberEpoch === JOIN_EPOCH || (p.rebalanceTimeoutMs !== -1 && p.subscribedTopicNames !== null && p.topicPartitions !== null);
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      heartbeatIntervalMs: this.consumerHeartbeatIntervalMs(),
      assignment: full || !samePartitions(assignedBefore, m.assigned) ? this.withTopicIds(m.assigned) : null,
    };
  }

  /** Owned partitions reported by topic id → by topic name (unknown ids are dropped). */
  private ownedByName(tps: { topicId: string; partitions: number[] }[]): TopicPartitions {
    const byId = new Map(this.rt.groupTopics().map((t) => [t.topicId, t.name]));
    const out: TopicPartitions = new Map();
    for (const tp of tps) {
      const name = byId.get(tp.topicId);
      if (name === undefined) continue;
      out.set(name, new Set([...(out.get(name) ?? []), ...tp.partitions]));
    }
    return out;
  }

  private withTopicIds(tp: TopicPartitions): { topicId: string; topicName: string; partitions: number[] }[] {
    const out = [];
    for (const [name, parts] of [...tp].sort((a, b) => a[0].localeCompare(b[0]))) {
      const meta = this.rt.groupTopic(name);
      if (!meta || parts.size === 0) continue;
      out.push({ topicId: meta.topicId, topicName: name, partitions: [...parts].sort((a, b) => a - b) });
    }
    return out;
  }

  /**
   * Bumps the group epoch when `reason` is given or the subscribed topics' metadata changed (a topic
   * created, deleted or grown), then recomputes the target assignment if it is behind.
   */
  private maybeBumpConsumerGroup(g: ConsumerGroup, reason: string | null): void {
    const topics = g.subscribedTopics(this.topicInfos());
    if (g.updateSubscriptionMetadata(topics)) reason ??= 'subscribed topic metadata changed';
    if (reason !== null) {
      g.bumpGroupEpoch();
      this.rt.logger.info(`group ${g.groupId}: epoch ${g.groupEpoch}: ${reason}`);
    }
    g.updateTargetAssignment(topics);
  }

  private scheduleConsumerSession(g: ConsumerGroup, m: ConsumerMember): void {
    m.armSessionTimer(this.rt, this.consumerSessionTimeoutMs(), () => {
      if (this.rt.groups.get(g.groupId) !== g || g.members.get(m.memberId) !== m) return;
      this.rt.logger.info(`group ${g.groupId}: consumer member ${m.memberId} session expired, removing it`);
      this.removeConsumerMember(g, m, 'session expired');
    });
  }

  /** A member that has partitions to revoke gets its rebalance timeout to do so, or is fenced. */
  private scheduleRevocationTimeout(g: ConsumerGroup, m: ConsumerMember): void {
    m.armRevocationTimer(this.rt, () => {
      if (this.rt.groups.get(g.groupId) !== g || g.members.get(m.memberId) !== m) return;
      this.rt.logger.info(`group ${g.groupId}: consumer member ${m.memberId} did not revoke its partitions within ${m.rebalanceTimeoutMs} ms, removing it`);
      this.removeConsumerMember(g, m, 'revocation timed out');
    });
  }

  private removeConsumerMember(g: ConsumerGroup, m: ConsumerMember, reason: string): void {
    m.cancelTimers(this.rt);
    g.removeMember(m);
    this.maybeBumpConsumerGroup(g, `member ${m.memberId} left (${reason})`);
  }

  /** A static member came back under a new member id: it takes over the old member's place. */
  private replaceStaticConsumerMember(g: ConsumerGroup, old: ConsumerMember, memberId: string): ConsumerMember {
    old.cancelTimers(this.rt);
    const m = g.replaceStaticMember(old, memberId);
    this.rt.logger.info(`group ${g.groupId}: static member ${m.instanceId} rejoined as ${memberId} (was ${old.memberId})`);
    return m;
  }

  private consumerLeave(g: ConsumerGroup, p: ConsumerGroupHeartbeatParams): ConsumerGroupHeartbeatResult {
    let m: ConsumerMember | undefined;
    if (p.instanceId !== null) {
      const id = g.staticMembers.get(p.instanceId);
      m = id === undefined ? undefined : g.members.get(id);
      if (!m) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${p.instanceId} is unknown.`);
      if (m.memberId !== p.memberId) return heartbeatError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${p.memberId} with instance id ${p.instanceId} was fenced by member ${m.memberId}.`);
    } else {
      m = g.members.get(p.memberId);
      if (!m) return heartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${p.memberId} is not a member of group ${p.groupId}.`);
    }
    if (p.memberEpoch === LEAVE_STATIC_EPOCH) {
      // A static member that will be back: it keeps its partitions until its session expires.
      m.leaveTemporarily();
      this.scheduleConsumerSession(g, m);
      this.rt.logger.info(`group ${g.groupId}: static member ${m.instanceId} (${m.memberId}) left temporarily`);
    } else {
      this.rt.logger.info(`group ${g.groupId}: consumer member ${m.memberId} left`);
      this.removeConsumerMember(g, m, 'left the group');
    }
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: m.memberId, memberEpoch: p.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  consumerGroupDescribe(groupIds: string[]): ConsumerGroupDescribed[] {
    return groupIds.map((groupId) => {
      const blank = { groupId, errorMessage: null as string | null, groupState: '', groupEpoch: -1, assignmentEpoch: -1, assignorName: '', members: [] };
      if (!this.rt.active) return { ...blank, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
      if (groupId === '') return { ...blank, errorCode: ErrorCode.INVALID_GROUP_ID, errorMessage: 'GroupId can\'t be empty.' };
      const g = this.rt.groups.get(groupId);
      if (g?.type !== 'consumer') {
        return { ...blank, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: g ? `Group ${groupId} is not a consumer group.` : `Group ${groupId} not found.` };
      }
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        groupId,
        groupState: g.stateName(),
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignorName: g.preferredAssignor(),
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: { topicPartitions: this.withTopicIds(m.assigned) },
          targetAssignment: { topicPartitions: this.withTopicIds(g.target.get(m.memberId) ?? new Map()) },
        })),
      };
    });
  }
}
