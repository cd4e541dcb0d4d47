// The instrumentation events of kafkajs' clients: the payload of each, and the event of each name
// (what `on(name, listener)` hands the listener). Types only; the producer, consumer and admin use
// the maps to type their on(), and kafkajs-names.ts re-exports them under kafkajs' names.
import type { InstrumentationEvent } from './instrumentation.js';

/** What `on(...)` returns: call it to remove the listener. */
export type RemoveInstrumentationEventListener<T> = () => void;

export type ConnectEvent = InstrumentationEvent<null>;
export type DisconnectEvent = InstrumentationEvent<null>;
export type RequestEvent = InstrumentationEvent<{
  apiKey: number; apiName: string; apiVersion: number; broker: string; clientId: string; correlationId: number;
  createdAt: number; duration: number; pendingDuration: number; sentAt: number; size: number;
}>;
export type RequestTimeoutEvent = InstrumentationEvent<{
  apiKey: number; apiName: string; apiVersion: number; broker: string; clientId: string; correlationId: number;
  createdAt: number; pendingDuration: number; sentAt: number;
}>;
export type RequestQueueSizeEvent = InstrumentationEvent<{ broker: string; clientId: string; queueSize: number }>;

interface GroupMemberRef { groupId: string; memberId: string }
interface TopicOffsetsPayload { topic: string; partitions: { partition: string; offset: string }[] }
export interface IMemberAssignment { [topic: string]: number[] }
interface BatchProcessPayload {
  topic: string; partition: number; highWatermark: string; offsetLag: string; offsetLagLow: string;
  batchSize: number; firstOffset: string | null; lastOffset: string;
}

export type ConsumerHeartbeatEvent = InstrumentationEvent<GroupMemberRef & { groupGenerationId: number }>;
export type ConsumerCommitOffsetsEvent = InstrumentationEvent<GroupMemberRef & { groupGenerationId: number; topics: TopicOffsetsPayload[] }>;
export type ConsumerGroupJoinEvent = InstrumentationEvent<GroupMemberRef & {
  duration: number; isLeader: boolean; leaderId: string; groupProtocol: string; memberAssignment: IMemberAssignment;
}>;
export type ConsumerFetchStartEvent = InstrumentationEvent<{ nodeId: number }>;
export type ConsumerFetchEvent = InstrumentationEvent<{ numberOfBatches: number; duration: number; nodeId: number }>;
export type ConsumerStartBatchProcessEvent = InstrumentationEvent<BatchProcessPayload>;
export type ConsumerEndBatchProcessEvent = InstrumentationEvent<BatchProcessPayload & { duration: number }>;
export type ConsumerCrashEvent = InstrumentationEvent<{ error: Error; groupId: string; restart: boolean }>;
export type ConsumerRebalancingEvent = InstrumentationEvent<GroupMemberRef>;
export type ConsumerReceivedUnsubcribedTopicsEvent = InstrumentationEvent<GroupMemberRef & {
  generationId: number; assignedTopics: string[]; topicsSubscribed: string[]; topicsNotSubscribed: string[];
}>;

/** Instrumentation event of each event name: what `on(name, listener)` hands the listener. */
type NetworkEventMap<P extends string> = {
  [K in `${P}.network.request`]: RequestEvent } & {
  [K in `${P}.network.request_timeout`]: RequestTimeoutEvent } & {
  [K in `${P}.network.request_queue_size`]: RequestQueueSizeEvent };
export type ProducerEventMap = NetworkEventMap<'producer'> & {
  'producer.connect': ConnectEvent; 'producer.disconnect': DisconnectEvent;
};
export type AdminEventMap = NetworkEventMap<'admin'> & {
  'admin.connect': ConnectEvent; 'admin.disconnect': DisconnectEvent;
};
export type ConsumerEventMap = NetworkEventMap<'consumer'> & {
  'consumer.heartbeat': ConsumerHeartbeatEvent;
  'consumer.commit_offsets': ConsumerCommitOffsetsEvent;
  'consumer.group_join': ConsumerGroupJoinEvent;
  'consumer.fetch': ConsumerFetchEvent;
  'consumer.fetch_start': ConsumerFetchStartEvent;
  'consumer.start_batch_process': ConsumerStartBatchProcessEvent;
  'consumer.end_batch_process': ConsumerEndBatchProcessEvent;
  'consumer.connect': ConnectEvent;
  'consumer.disconnect': DisconnectEvent;
  'consumer.stop': InstrumentationEvent<null>;
  'consumer.crash': ConsumerCrashEvent;
  'consumer.rebalancing': ConsumerRebalancingEvent;
  'consumer.received_unsubscribed_topics': ConsumerReceivedUnsubcribedTopicsEvent;
};
