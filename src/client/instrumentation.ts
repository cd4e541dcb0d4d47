// Instrumentation events with kafkajs' names: `producer.connect`, `consumer.group_join`,
// `consumer.network.request_timeout`, ... `on(name, listener)` returns a function that removes the
// listener; listeners receive { id, type, timestamp, payload }. A throwing listener is ignored.
import { FjordNonRetriableError } from './errors.js';

export interface InstrumentationEvent<T = Record<string, unknown>> {
  id: number;
  type: string;
  timestamp: number;
  payload: T;
}
/** A listener as stored: each was registered for one event name, whose payload it reads. */
export type Listener = (event: InstrumentationEvent<unknown>) => void;

const network = <P extends string>(prefix: P) => ({
  REQUEST: `${prefix}.network.request` as const,
  REQUEST_TIMEOUT: `${prefix}.network.request_timeout` as const,
  REQUEST_QUEUE_SIZE: `${prefix}.network.request_queue_size` as const,
});

export const ProducerEvents = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  ...network('producer'),
} as const;

export const ConsumerEvents = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH: 'consumer.fetch',
  FETCH_START: 'consumer.fetch_start',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  ...network('consumer'),
} as const;

export const AdminEvents = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  ...network('admin'),
} as const;

/** What the network layer reports; each client maps it to its own prefixed name. */
export type NetworkEvent = 'request' | 'request_timeout' | 'request_queue_size';
export type NetworkEmitter = (event: NetworkEvent, payload: Record<string, unknown>) => void;

let nextId = 0;

export class Instrumentation {
  private listeners = new Map<string, Set<Listener>>();
  private readonly known: Set<string>;

  constructor(private readonly prefix: string, events: Record<string, string>) {
    this.known = new Set(Object.values(events));
  }

  /**
   * `listener` reads the event type of `type` (ProducerEventMap & co. in kafkajs-names.ts say which);
   * nothing here checks that emit() is given that payload, so it is taken on trust: the one cast.
   */
  on<E extends InstrumentationEvent<unknown>>(type: string, typedListener: (event: E) => void): () => void {
    const listener = typedListener as Listener;
    if (!this.known.has(type)) {
      throw new FjordNonRetriableError(`Event name should be one of ${[...this.known].join(', ')}, not "${type}"`);
    }
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => { set!.delete(listener); };
  }

  has(type: string): boolean {
    return (this.listeners.get(type)?.size ?? 0) > 0;
  }

  emit(type: string, payload: Record<string, unknown> = {}): void {
    const set = this.listeners.get(type);
    if (!set || set.size === 0) return;
    const event: InstrumentationEvent = { id: nextId++, type, timestamp: Date.now(), payload };
    for (const l of [...set]) {
      try {
        l(event);
      } catch {
        // a listener's failure must not break the client
      }
    }
  }

  /** The emitter connections use for network events. */
  readonly network: NetworkEmitter = (event, payload) => this.emit(`${this.prefix}.network.${event}`, payload);

  removeAll(): void {
    this.listeners.clear();
  }
}
