// Cluster mode on PostgreSQL (docs/cluster.md): this broker's membership and its view of leadership.
//
//   start   register in fjord_brokers (the given --node-id, waiting out a previous incarnation's lease,
//           or -1: the lowest free id), run a leader assignment, then poll once: the partitions the
//           database names this broker leader of load their state, the rest follow.
//   every clusterHeartbeatMs   renew the lease (re-register if it was lost)
//   every clusterPollMs        try the leader assignment (one broker at a time, advisory lock), then
//                              read membership, leadership and catalog changes, then let the
//                              followers of the internal logs (SCRAM, ACLs, quotas) apply what
//                              their leader appended (`follow`); transaction markers other
//                              brokers' coordinators asked of partitions led here are written
//                              (also at once on their NOTIFY: storage.ts `writeMarker`)
//   stop    delete the row and reassign at once, so the others take over without waiting for the lease
//
// The group and transaction coordinators run on the broker that leads the internal logs: started
// (replaying them from the database) when this broker gets them, stopped when it loses them.
import { randomUUID } from 'node:crypto';
import type { PostgresStorage } from '../../storage/postgres/index.js';
import type { BrokerConfig } from '../config.js';
import type { ListenerInfo } from '../listeners.js';
import type { Logger } from '../logger.js';
import type { ClusterMember, ClusterView } from './view.js';

/** The internal logs the coordinators replay; their leader runs them (the other internal logs follow it). */
export const COORDINATOR_LOGS = ['__consumer_offsets', '__transaction_state'] as const;

export interface Coordinators {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export class PgCluster implements ClusterView {
  readonly multiNode = true;
  nodeId: number;
  private readonly incarnation = randomUUID();
  private live: ClusterMember[] = [];
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  /** Polls and refreshes run one at a time, in this chain. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Coordinator start/stop, in their own chain (a coordinator start may itself change the catalog). */
  private coordinatorChain: Promise<unknown> = Promise.resolve();
  private coordinating = false;
  private stopped = false;
  private lastPollError = '';
  /** Internal logs whose stores follow them at each poll, and how they catch up. */
  private followed: { logs: readonly string[]; catchUp: () => Promise<void> } | null = null;
  private topicsQueued: Promise<void> | null = null;
  private leadersQueued: Promise<void> | null = null;

  constructor(
    private readonly storage: PostgresStorage,
    private readonly config: BrokerConfig,
    private readonly logger: Logger,
    private readonly listeners: readonly ListenerInfo[],
    private readonly coordinators: Coordinators,
  ) {
    this.nodeId = config.nodeId;
    if (config.clusterLeaseMs <= config.clusterHeartbeatMs) {
      throw new Error(`cluster-lease-ms (${config.clusterLeaseMs}) must be longer than cluster-heartbeat-ms (${config.clusterHeartbeatMs})`);
    }
    // Catalog changes made here (CreateTopics...) assign leaders at once and wait for this view.
    storage.enableCluster(() => this.refresh());
  }

  private myListeners(): ClusterMember['listeners'] {
    return this.listeners.map((l) => ({ name: l.name, host: l.advertisedHost, port: l.advertisedPort }));
  }

  /** Registers, takes leadership and starts the timers; call after storage.open(). */
  async start(): Promise<void> {
    const given = this.config.nodeId;
    const deadline = Date.now() + this.config.clusterLeaseMs + 2 * this.config.clusterHeartbeatMs;
    let waited = false;
    for (;;) {
      const id = await this.storage.registerBroker(given, this.incarnation, this.myListeners(), this.config.rack ?? null, this.config.clusterLeaseMs);
      if (id !== null) {
        this.nodeId = id;
        break;
      }
      // Usually this broker's own previous incarnation (killed): its lease runs out within clusterLeaseMs.
      if (Date.now() > deadline) {
        throw new Error(`node id ${given} is held by a live broker of this database (its lease keeps being renewed); give each broker its own --node-id, or --node-id -1`);
      }
      if (!waited) this.logger.info(`cluster: node id ${given} is still leased (a previous run of this broker?); waiting for the lease to run out`);
      waited = true;
      await new Promise((r) => setTimeout(r, 250));
    }
    this.logger.info(`cluster: registered as node ${this.nodeId} (lease ${this.config.clusterLeaseMs} ms, heartbeat ${this.config.clusterHeartbeatMs} ms)`);
    await this.refresh();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.config.clusterHeartbeatMs);
    this.heartbeatTimer.unref();
    this.pollTimer = setInterval(() => void this.tick(), this.config.clusterPollMs);
    this.pollTimer.unref();
    // The coordinators, if this broker got the internal logs: before the first request is served.
    await this.coordinatorChain;
  }

  /**
   * At every poll, after leadership is read: the internal logs `logs` learn their end from the
   * database and `catchUp` applies the records past what their stores applied (cluster mode's
   * follow of SCRAM credentials, ACLs and quotas, written only where the internal logs are led).
   */
  follow(logs: readonly string[], catchUp: () => Promise<void>): void {
    this.followed = { logs, catchUp };
  }

  /** Assigns leaders now (waiting for the lock) and reads the result: after a catalog change or at start. */
  refresh(): Promise<void> {
    return this.serial(async () => {
      await this.storage.rebalance(true);
      await this.poll();
    });
  }

  /**
   * Topics another broker created (or grew, or deleted) since the last poll: one query for the
   * catalog version, a reload when it moved. Coalesced: callers while one runs share the next one.
   */
  catchUpTopics(): Promise<void> {
    this.topicsQueued ??= this.serial(async () => {
      this.topicsQueued = null;
      // The database away: the caller answers from what this broker knows (the poll reports it).
      await this.storage.catchUpCatalog().catch(() => undefined);
    });
    return this.topicsQueued;
  }

  /**
   * A poll now (catalog, members, leaders; partitions named led here are loaded): a topic created
   * through another broker is produced to here before this broker's next timed poll. Coalesced
   * like catchUpTopics; the database away: the caller answers from what this broker knows.
   */
  catchUpLeaders(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.leadersQueued ??= this.serial(async () => {
      this.leadersQueued = null;
      await this.poll().catch(() => undefined);
    });
    return this.leadersQueued;
  }

  /** The database did not answer the last poll: the broker cannot take over, follow or verify leadership. */
  unavailableReason(): string | null {
    return this.lastPollError === '' ? null : `the database did not answer the last cluster poll: ${this.lastPollError}`;
  }

  private tick(): void {
    if (this.stopped) return;
    void this.serial(async () => {
      try {
        const moved = await this.storage.rebalance(false);
        if (moved > 0) this.logger.info(`cluster: moved the leadership of ${moved} partition(s)`);
        await this.poll();
        // Markers other coordinators asked of partitions this broker leads (also any just taken over).
        await this.storage.serveMarkerRequests();
        if (this.followed) {
          await this.storage.followInternalLogs(this.followed.logs);
          await this.followed.catchUp();
        }
        this.lastPollError = '';
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (msg !== this.lastPollError) this.logger.warn(`cluster: reading membership and leaders failed: ${msg}`);
        this.lastPollError = msg;
      }
    });
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async poll(): Promise<void> {
    const rows = await this.storage.pollCluster();
    this.live = rows.map((r) => ({ nodeId: r.nodeId, rack: r.rack, listeners: r.listeners }));
    const want = !this.stopped && this.storage.leadsInternalLogs(COORDINATOR_LOGS);
    if (want !== this.coordinating) {
      this.coordinating = want;
      this.coordinatorChain = this.coordinatorChain.then(async () => {
        try {
          if (want) {
            this.logger.info(`cluster: node ${this.nodeId} leads the internal logs: starting the group and transaction coordinators`);
            await this.coordinators.start();
          } else {
            this.logger.info(`cluster: node ${this.nodeId} no longer leads the internal logs: stopping the coordinators`);
            await this.coordinators.stop();
          }
        } catch (err) {
          this.logger.error(`cluster: ${want ? 'starting' : 'stopping'} the coordinators failed: ${err instanceof Error ? err.message : String(err)}`);
          // Tried again at the next poll.
          this.coordinating = !want;
          if (want) await this.coordinators.stop().catch(() => undefined);
        }
      });
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.stopped) return;
    try {
      if (await this.storage.heartbeat(this.nodeId, this.incarnation, this.config.clusterLeaseMs)) return;
      // The lease ran out (a long pause, the database away): the partitions have moved; join again.
      this.logger.warn(`cluster: node ${this.nodeId}'s lease ran out; registering again`);
      const id = await this.storage.registerBroker(this.nodeId, this.incarnation, this.myListeners(), this.config.rack ?? null, this.config.clusterLeaseMs);
      if (id === null) this.logger.error(`cluster: node id ${this.nodeId} is held by another live broker; this broker leads nothing until it is free`);
    } catch (err) {
      this.logger.warn(`cluster: lease renewal failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Leaves the cluster: no more leases, the row deleted and leaders reassigned now. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.chain;
    await this.coordinatorChain;
    try {
      await this.storage.deregister(this.nodeId, this.incarnation);
      await this.storage.rebalance(true);
    } catch (err) {
      this.logger.warn(`cluster: leaving cleanly failed (the others take over when the lease runs out): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  members(): readonly ClusterMember[] {
    if (this.live.some((m) => m.nodeId === this.nodeId)) return this.live;
    // Between a lost lease and the next registration this broker still answers as itself.
    return [...this.live, { nodeId: this.nodeId, rack: this.config.rack ?? null, listeners: this.myListeners() }].sort((a, b) => a.nodeId - b.nodeId);
  }

  /**
   * The broker leading the internal logs: it takes the SCRAM, ACL and quota changes (the cluster's
   * metadata writes), so clients that send those to the controller (Fjord's admin and CLI,
   * kafkajs) reach it first time. While nobody leads them, the lowest live id.
   */
  controllerId(): number {
    return this.coordinatorId() ?? this.members()[0].nodeId;
  }

  leader(topic: string, partition: number): { nodeId: number; epoch: number } | null {
    const l = this.storage.leaderOf(topic, partition);
    if (!l || l.nodeId === null) return null;
    // A leader whose lease ran out is gone (its partitions move at the next assignment).
    if (l.nodeId !== this.nodeId && !this.live.some((m) => m.nodeId === l.nodeId)) return null;
    return { nodeId: l.nodeId, epoch: l.epoch };
  }

  coordinatorId(): number | null {
    const n = this.storage.internalLeader(COORDINATOR_LOGS);
    if (n === null) return null;
    return n === this.nodeId || this.live.some((m) => m.nodeId === n) ? n : null;
  }
}
