// A share consumer (KIP-932 share groups): `kafka.shareConsumer({ groupId })`. kafkajs has none, so
// the shape is Fjord's own, close to Kafka's KafkaShareConsumer:
//
//   const share = kafka.shareConsumer({ groupId: 'jobs' });
//   await share.connect();
//   await share.subscribe({ topics: ['jobs'] });
//   await share.run({ eachMessage: async ({ topic, partition, message, deliveryCount, acknowledge }) => { ... } });
//   ...
//   await share.disconnect();
//
// run() accepts each message whose handler returns and releases (hands back for another delivery)
// each one whose handler throws, unless the handler called acknowledge(type) itself ('ACCEPT',
// 'RELEASE' or 'REJECT'). poll() / acknowledge() / commit() do the same by hand. Acknowledgements
// travel on the next ShareFetch to the partition's leader, or in a ShareAcknowledge (commit(),
// disconnect()). Membership: ShareGroupHeartbeat with the client's own member id, every
// heartbeatIntervalMs the group coordinator gives; a fenced or unknown member joins again. One
// share session per leader: epoch 0 opens it, each request moves it on, a session error starts a new
// one (the records the old one held come back to the group after their lock runs out).
// Speaks the share APIs at v1 (Kafka 4.1's and Fjord's; v0 with a broker that has only that): a
// ShareFetch acquires at most MAX_RECORDS records. A broker without them: FjordUnsupportedError.
import { randomBytes } from 'node:crypto';
import { ApiKey } from '../protocol/apis.js';
import { ErrorCode } from '../protocol/generated/errors.js';
import type { ShareAcknowledgeRequestAcknowledgeTopic, ShareFetchRequestFetchTopic } from '../protocol/generated/types.js';
import type { Cluster } from './cluster.js';
import { FjordError, FjordProtocolError } from './errors.js';
import { Instrumentation } from './instrumentation.js';
import type { ClientLogger } from './logger.js';
import { decodeRecordSet, type KafkaMessage } from './record-codec.js';

export type ShareAcknowledgeType = 'ACCEPT' | 'RELEASE' | 'REJECT';
const ACK_CODES: Record<ShareAcknowledgeType, number> = { ACCEPT: 1, RELEASE: 2, REJECT: 3 };
/** ShareFetch v1 MaxRecords and BatchSize: records acquired per request at most (Kafka's max.poll.records default). */
const MAX_RECORDS = 500;
/** Heartbeat errors after which the group's coordinator is looked up again. */
const COORDINATOR_MOVED = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);

export interface ShareConsumerConfig {
  groupId: string;
  /** Longest a ShareFetch waits for records. Default 500 ms. */
  maxWaitTimeInMs?: number;
  /** Most bytes one ShareFetch answers with. Default 50 MiB. */
  maxBytes?: number;
}

export interface ShareMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** How often this record has been handed out to the group, this time included. */
  deliveryCount: number;
}

export interface ShareEachMessagePayload extends ShareMessage {
  /** Settles the message now (else run() accepts it when the handler returns, releases it when it throws). */
  acknowledge(type: ShareAcknowledgeType): void;
}

export interface ShareRunConfig {
  eachMessage(payload: ShareEachMessagePayload): Promise<void>;
}

interface PendingAcks {
  topicId: string;
  partition: number;
  /** offset → acknowledge type code */
  acks: Map<number, number>;
}

export class ShareConsumer {
  private readonly cluster: Cluster;
  private readonly instrumentation = new Instrumentation('share-consumer', {});
  /** Kafka's Uuid text form (22 base64url characters): Kafka 4.1 parses ShareFetch's member id as one. */
  readonly memberId = newMemberId();
  private memberEpoch = 0;
  private topics: string[] = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatIntervalMs = 5000;
  /** Share session epoch per leader node. */
  private sessions = new Map<number, number>();
  /** Acknowledgements not yet sent, per leader node, per `${topicId}:${partition}`. */
  private pending = new Map<number, Map<string, PendingAcks>>();
  /** Messages handed out and not yet acknowledged: `${topic}:${partition}:${offset}` → where to acknowledge. */
  private outstanding = new Map<string, { node: number; topicId: string; partition: number; offset: number }>();
  private running = false;
  private joined = false;

  constructor(makeCluster: (emit: Instrumentation['network']) => Cluster, private readonly log: ClientLogger, private readonly config: ShareConsumerConfig) {
    if (!config?.groupId) throw new FjordError('shareConsumer needs a groupId', { retriable: false });
    this.cluster = makeCluster(this.instrumentation.network);
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  /** Adds topics to the subscription; the group sees it at the next heartbeat (now, once connected). */
  async subscribe({ topics }: { topics: string[] }): Promise<void> {
    for (const t of topics) if (!this.topics.includes(t)) this.topics.push(t);
    await this.cluster.ensureTopics(this.topics);
    await this.heartbeat(true);
  }

  private async coordinator(): Promise<number> {
    return this.cluster.findCoordinator(this.config.groupId, 0);
  }

  private schedule(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeat(false).catch((err: Error) => this.log.warn('share group heartbeat failed', { groupId: this.config.groupId, error: err.message }));
    }, this.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
  }

  /**
   * One heartbeat, retried (the client's retry settings) while the coordinator is not there yet:
   * a broker that has just created or is loading the group's coordinator log answers
   * NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE / COORDINATOR_LOAD_IN_PROGRESS (Kafka does on a
   * fresh cluster's first group), which the next attempt, at a coordinator looked up again, gets past.
   */
  private async heartbeat(full: boolean): Promise<void> {
    try {
      await this.cluster.retrier.run(() => this.heartbeatOnce(full));
    } catch (err) {
      this.schedule();
      throw err;
    }
  }

  private async heartbeatOnce(full: boolean): Promise<void> {
    const node = await this.coordinator();
    const joining = this.memberEpoch === 0;
    const res = await this.cluster.request(node, ApiKey.ShareGroupHeartbeat, {
      groupId: this.config.groupId, memberId: this.memberId, memberEpoch: this.memberEpoch, rackId: null,
      subscribedTopicNames: joining || full ? [...this.topics] : null,
    });
    if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || res.errorCode === ErrorCode.FENCED_MEMBER_EPOCH) {
      this.log.info('share group member fenced: joining again', { groupId: this.config.groupId, error: res.errorMessage });
      this.memberEpoch = 0;
      this.sessions.clear();
      return this.heartbeatOnce(true);
    }
    if (COORDINATOR_MOVED.has(res.errorCode)) this.cluster.forgetCoordinator(this.config.groupId, 0);
    if (res.errorCode !== ErrorCode.NONE) throw new FjordProtocolError(res.errorCode, res.errorMessage);
    this.memberEpoch = res.memberEpoch;
    this.heartbeatIntervalMs = Math.max(100, res.heartbeatIntervalMs);
    this.joined = true;
    this.schedule();
  }

  /** The partitions of the subscribed topics, grouped by leader node. */
  private async partitionsByLeader(): Promise<Map<number, { topic: string; topicId: string; partition: number }[]>> {
    await this.cluster.ensureTopics(this.topics);
    const out = new Map<number, { topic: string; topicId: string; partition: number }[]>();
    const ids = new Map(this.cluster.knownTopicIds().map(([id, name]) => [name, id]));
    for (const topic of this.topics) {
      const meta = this.cluster.topic(topic);
      const topicId = ids.get(topic);
      if (!meta || !topicId) continue;
      for (const p of meta.partitions) {
        const leader = this.cluster.leaderOf(topic, p.partitionId);
        if (leader < 0) continue;
        const list = out.get(leader) ?? [];
        list.push({ topic, topicId, partition: p.partitionId });
        out.set(leader, list);
      }
    }
    return out;
  }

  private nextEpoch(node: number): number {
    return this.sessions.get(node) ?? 0;
  }

  private advance(node: number, sent: number): void {
    this.sessions.set(node, sent === -1 ? 0 : sent >= 2147483647 ? 1 : sent + 1);
  }

  private takePending(node: number): Map<string, PendingAcks> {
    const p = this.pending.get(node) ?? new Map<string, PendingAcks>();
    this.pending.delete(node);
    return p;
  }

  /** One ShareFetch per leader (carrying the acknowledgements waiting for it); the records acquired. */
  async poll(): Promise<ShareMessage[]> {
    if (!this.joined) throw new FjordError('subscribe() before poll()', { retriable: false });
    const byLeader = await this.partitionsByLeader();
    const names = new Map(this.cluster.knownTopicIds());
    const results = await Promise.all([...byLeader].map(async ([node, parts]) => {
      const acks = this.takePending(node);
      const epoch = this.nextEpoch(node);
      // A new session cannot carry acknowledgements: they go in a ShareAcknowledge first... which
      // needs a session. So they wait until the session is open (records time out otherwise).
      const sendAcks = epoch !== 0;
      if (!sendAcks && acks.size > 0) this.log.warn('acknowledgements dropped: no share session', { groupId: this.config.groupId });
      const topics = new Map<string, ShareFetchRequestFetchTopic>();
      for (const p of parts) {
        const t = topics.get(p.topicId) ?? { topicId: p.topicId, partitions: [] };
        const mine = sendAcks ? acks.get(`${p.topicId}:${p.partition}`) : undefined;
        t.partitions.push({ partitionIndex: p.partition, partitionMaxBytes: 1024 * 1024, acknowledgementBatches: mine ? batchesOf(mine.acks) : [] });
        topics.set(p.topicId, t);
      }
      const res = await this.cluster.request(node, ApiKey.ShareFetch, {
        groupId: this.config.groupId, memberId: this.memberId, shareSessionEpoch: epoch,
        maxWaitMs: this.config.maxWaitTimeInMs ?? 500, minBytes: 1, maxBytes: this.config.maxBytes ?? 50 * 1024 * 1024,
        maxRecords: MAX_RECORDS, batchSize: MAX_RECORDS, // v1 (PartitionMaxBytes is v0's)
        topics: [...topics.values()], forgottenTopicsData: [],
      }, { pool: 'fetch' });
      if (res.errorCode === ErrorCode.SHARE_SESSION_NOT_FOUND || res.errorCode === ErrorCode.INVALID_SHARE_SESSION_EPOCH) {
        this.sessions.delete(node);
        return [];
      }
      if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.memberEpoch = 0;
        await this.heartbeat(true);
        this.sessions.delete(node);
        return [];
      }
      if (res.errorCode !== ErrorCode.NONE) throw new FjordProtocolError(res.errorCode, res.errorMessage);
      this.advance(node, epoch);
      const out: ShareMessage[] = [];
      for (const t of res.responses) {
        const topic = names.get(t.topicId);
        if (!topic) continue;
        for (const p of t.partitions) {
          if (p.acknowledgeErrorCode !== ErrorCode.NONE) {
            this.log.warn('acknowledgement refused', { topic, partition: p.partitionIndex, error: p.acknowledgeErrorMessage ?? String(p.acknowledgeErrorCode) });
          }
          // Kafka 4.1 answers a partition whose share-partition its group coordinator has not
          // initialized yet (a member that just joined) with a partition error: tried again next poll.
          if (p.errorCode !== ErrorCode.NONE) this.log.debug('share fetch partition error', { topic, partition: p.partitionIndex, error: p.errorMessage ?? String(p.errorCode) });
          if (p.acquiredRecords.length === 0 || !p.records) continue;
          const records = Array.isArray(p.records) ? Buffer.concat(p.records) : p.records;
          const { messages } = await decodeRecordSet(records);
          for (const m of messages) {
            const offset = Number(m.offset);
            const range = p.acquiredRecords.find((a) => offset >= Number(a.firstOffset) && offset <= Number(a.lastOffset));
            if (!range) continue;
            this.outstanding.set(`${topic}:${p.partitionIndex}:${offset}`, { node, topicId: t.topicId, partition: p.partitionIndex, offset });
            out.push({ topic, partition: p.partitionIndex, message: m, deliveryCount: range.deliveryCount });
          }
        }
      }
      return out;
    }));
    return results.flat();
  }

  /** Settles one polled message; it is sent with the next poll() or commit(). */
  acknowledge(m: { topic: string; partition: number; message: { offset: string } }, type: ShareAcknowledgeType = 'ACCEPT'): void {
    const key = `${m.topic}:${m.partition}:${m.message.offset}`;
    const o = this.outstanding.get(key);
    if (!o) throw new FjordError(`${key} is not a message this consumer holds`, { retriable: false });
    this.outstanding.delete(key);
    const node = this.pending.get(o.node) ?? new Map<string, PendingAcks>();
    this.pending.set(o.node, node);
    const pk = `${o.topicId}:${o.partition}`;
    const entry = node.get(pk) ?? { topicId: o.topicId, partition: o.partition, acks: new Map<number, number>() };
    entry.acks.set(o.offset, ACK_CODES[type]);
    node.set(pk, entry);
  }

  /** Sends the acknowledgements waiting (ShareAcknowledge per leader); `close` also ends the sessions. */
  async commit(close = false): Promise<void> {
    const nodes = new Set([...this.pending.keys(), ...(close ? this.sessions.keys() : [])]);
    await Promise.all([...nodes].map(async (node) => {
      const epoch = this.nextEpoch(node);
      const acks = this.takePending(node);
      if (epoch === 0) return; // no session: nothing can be acknowledged there
      const topics = new Map<string, ShareAcknowledgeRequestAcknowledgeTopic>();
      for (const a of acks.values()) {
        const t = topics.get(a.topicId) ?? { topicId: a.topicId, partitions: [] };
        t.partitions.push({ partitionIndex: a.partition, acknowledgementBatches: batchesOf(a.acks) });
        topics.set(a.topicId, t);
      }
      const sent = close ? -1 : epoch;
      const res = await this.cluster.request(node, ApiKey.ShareAcknowledge, {
        groupId: this.config.groupId, memberId: this.memberId, shareSessionEpoch: sent, topics: [...topics.values()],
      });
      if (res.errorCode !== ErrorCode.NONE) {
        this.sessions.delete(node);
        throw new FjordProtocolError(res.errorCode, res.errorMessage);
      }
      this.advance(node, sent);
      for (const t of res.responses) for (const p of t.partitions) {
        if (p.errorCode !== ErrorCode.NONE) this.log.warn('acknowledgement refused', { partition: p.partitionIndex, error: p.errorMessage ?? String(p.errorCode) });
      }
    }));
  }

  /** Polls until stop(): each message goes to eachMessage, then is accepted (or released when it threw). */
  async run({ eachMessage }: ShareRunConfig): Promise<void> {
    this.running = true;
    while (this.running) {
      const batch = await this.poll();
      for (const m of batch) {
        let settled = false;
        const acknowledge = (type: ShareAcknowledgeType) => {
          if (settled) return;
          settled = true;
          this.acknowledge(m, type);
        };
        try {
          await eachMessage({ ...m, acknowledge });
          acknowledge('ACCEPT');
        } catch (err) {
          this.log.error('eachMessage failed: the message is released', { topic: m.topic, partition: m.partition, offset: m.message.offset, error: (err as Error).message });
          acknowledge('RELEASE');
        }
      }
    }
  }

  /** Ends run() after the messages of the current poll are handled. */
  stop(): void {
    this.running = false;
  }

  /** Sends what is waiting, closes the share sessions, leaves the group and disconnects. */
  async disconnect(): Promise<void> {
    this.running = false;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    try {
      await this.commit(true);
      if (this.joined) {
        const node = await this.coordinator();
        await this.cluster.request(node, ApiKey.ShareGroupHeartbeat, {
          groupId: this.config.groupId, memberId: this.memberId, memberEpoch: -1, rackId: null, subscribedTopicNames: null,
        });
      }
    } finally {
      this.joined = false;
      this.memberEpoch = 0;
      this.sessions.clear();
      await this.cluster.disconnect();
    }
  }
}

/**
 * A member id as Kafka's Uuid.toString() writes one: 16 random bytes in base64url without padding,
 * never starting with '-' (Kafka's Uuid.randomUuid() avoids those). Kafka 4.1 decodes the member id
 * of ShareFetch / ShareAcknowledge as a Uuid and answers anything else (a hyphenated UUID, say)
 * with UNKNOWN_SERVER_ERROR.
 */
export function newMemberId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Acknowledgements (offset → type) as ascending batches of consecutive offsets, one type per offset. */
function batchesOf(acks: Map<number, number>): { firstOffset: number; lastOffset: number; acknowledgeTypes: number[] }[] {
  const offsets = [...acks.keys()].sort((a, b) => a - b);
  const out: { firstOffset: number; lastOffset: number; acknowledgeTypes: number[] }[] = [];
  for (const o of offsets) {
    const last = out[out.length - 1];
    if (last && last.lastOffset === o - 1) {
      last.lastOffset = o;
      last.acknowledgeTypes.push(acks.get(o)!);
    } else out.push({ firstOffset: o, lastOffset: o, acknowledgeTypes: [acks.get(o)!] });
  }
  return out;
}
