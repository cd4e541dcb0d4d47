// Drives a real broker (a `fjord server` child process) with the cases of cases.ts over many
// parallel connections, and watches it from outside: its process (exit = crash), its RSS
// (/proc/<pid>/status), a probe connection that asks ApiVersions every 50 ms (the slowest answer is
// the longest event-loop stall seen from outside), and a control client whose acknowledged
// produces (acks=-1, before and after the run) must still be readable at the end.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { RawConnection } from '../raw-client.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { decodeBatchRecordsSync, encodeBatch, iterateBatches } from '../../src/protocol/records.js';
import { FUZZ_TOPICS, makeCase, type FuzzCase, type ServedRange } from './cases.js';

export interface FuzzOptions {
  port: number;
  pid: number;
  /** Resolves when the broker process exits. */
  exited: Promise<unknown>;
  apis: readonly ServedRange[];
  seed: number;
  cases: number;
  /** First case number (to replay a stretch of a run). Default 0. */
  firstCase?: number;
  connections?: number;
  /** A case whose sentinel is not answered in this time is abandoned (its connection closed). */
  caseTimeoutMs?: number;
  /** No probe answer for this long is a hang. */
  hangMs?: number;
  /** Stop starting cases after this long (the run then reports the cases it got through). */
  maxDurationMs?: number;
  onProgress?: (r: FuzzReport) => void;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  durationMs: number;
  /** Cases after which the broker still answered on the same connection. */
  answered: number;
  /** Cases after which the broker closed the connection. */
  closed: number;
  /** Cases that got neither an answer nor a close within the case timeout (long polls, pending joins, ...). */
  timedOut: number;
  timedOutExamples: string[];
  startRssKiB: number;
  /** VmHWM: the broker's peak resident set over its life. */
  peakRssKiB: number;
  endRssKiB: number;
  longestStallMs: number;
  probes: number;
  crashes: string[];
}

const SENTINEL_BASE = 0x40000000;

function sentinel(correlationId: number): Buffer {
  // ApiVersions v0: size, api key 18, version 0, correlation id, null client id; no body.
  const b = Buffer.alloc(14);
  b.writeInt32BE(10, 0);
  b.writeInt16BE(ApiKey.ApiVersions, 4);
  b.writeInt16BE(0, 6);
  b.writeInt32BE(correlationId, 8);
  b.writeInt16BE(-1, 12);
  return b;
}

type Outcome = 'answered' | 'closed' | 'timeout';

/** One fuzzing connection: counts frames back, resolves when a chosen correlation id comes back. */
class FuzzConnection {
  /** Bytes of the next response's size and correlation id received so far (fewer than 8). */
  private head: Buffer = Buffer.alloc(0);
  /** Bytes of the current response still to pass over, and its correlation id until it has passed. */
  private bodyLeft = 0;
  private frameId: number | null = null;
  private waiting: { id: number; done: (o: Outcome) => void } | null = null;
  isClosed = false;
  private readonly closedWaiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.isClosed = true;
      this.waiting?.done('closed');
      this.waiting = null;
      for (const w of this.closedWaiters.splice(0)) w();
    });
  }

  static open(port: number): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: '127.0.0.1' }, () => { s.off('error', reject); resolve(new FuzzConnection(s)); });
      s.once('error', reject);
    });
  }

  // Responses are passed over as they stream in, keeping only their first 8 bytes (size and
  // correlation id): concatenating whole responses cost quadratic time once Fetch answers grew to
  // tens of MiB, and slowed a long run from 2,000 to under 100 cases/s.
  private onData(d: Buffer): void {
    let at = 0;
    while (at < d.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, d.length - at);
        this.bodyLeft -= n;
        at += n;
      } else {
        const take = d.subarray(at, at + 8 - this.head.length);
        at += take.length;
        this.head = this.head.length ? Buffer.concat([this.head, take]) : Buffer.from(take);
        if (this.head.length < 8) break;
        this.bodyLeft = Math.max(0, this.head.readInt32BE(0) - 4);
        this.frameId = this.head.readInt32BE(4);
        this.head = Buffer.alloc(0);
      }
      if (this.bodyLeft === 0 && this.frameId !== null) {
        const id = this.frameId;
        this.frameId = null;
        if (this.waiting && this.waiting.id === id) { const w = this.waiting; this.waiting = null; w.done('answered'); }
      }
    }
  }

  /** Writes a sentinel request with `id` and waits for its answer, the close, or the timeout. */
  ask(id: number, timeoutMs: number): Promise<Outcome> {
    if (this.isClosed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiting = null; resolve('timeout'); }, timeoutMs);
      this.waiting = { id, done: (o) => { clearTimeout(timer); resolve(o); } };
      this.socket.write(sentinel(id));
    });
  }

  closed(timeoutMs: number): Promise<boolean> {
    if (this.isClosed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.closedWaiters.push(() => { clearTimeout(timer); resolve(true); });
    });
  }

  destroy(): void { this.socket.destroy(); }
}

function rssKiB(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

export const CONTROL_TOPIC = 'fuzz-control-topic';

/** Creates the fuzz topics and the control topic (a few partitions each). */
export async function prepareTopics(port: number): Promise<void> {
  const c = await RawConnection.connect(port);
  try {
    const topics = [...FUZZ_TOPICS, CONTROL_TOPIC].map((name) => ({ name, numPartitions: name === CONTROL_TOPIC ? 1 : 2, replicationFactor: 1, assignments: [], configs: [] }));
    await c.request(ApiKey.CreateTopics, 4, { topics, timeoutMs: 5000, validateOnly: false });
  } finally { c.close(); }
}

/** Produces one record with acks=-1 to the control topic; throws unless it is acknowledged. */
export async function controlProduce(port: number, value: string): Promise<number> {
  const c = await RawConnection.connect(port);
  try {
    const records = encodeBatch({ records: [{ value: Buffer.from(value) }] });
    const res = await c.request(ApiKey.Produce, 8, { transactionalId: null, acks: -1, timeoutMs: 10000, topicData: [{ name: CONTROL_TOPIC, partitionData: [{ index: 0, records }] }] });
    const p = res.responses[0].partitionResponses[0];
    if (p.errorCode !== 0) throw new Error(`control produce answered error ${p.errorCode}`);
    return p.baseOffset as number;
  } finally { c.close(); }
}

/** Every value in the control topic, read from offset 0. */
export async function controlValues(port: number): Promise<string[]> {
  const c = await RawConnection.connect(port);
  try {
    const res = await c.request(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 16 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: CONTROL_TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 16 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const p = res.responses[0].partitions[0];
    if (p.errorCode !== 0) throw new Error(`control fetch answered error ${p.errorCode}`);
    const values: string[] = [];
    for (const { header, bytes } of iterateBatches(p.records ?? Buffer.alloc(0))) {
      for (const r of decodeBatchRecordsSync(bytes, header)) values.push(r.value?.toString() ?? '');
    }
    return values;
  } finally { c.close(); }
}

/** ApiVersions and Metadata on a fresh connection; throws if either fails. */
export async function healthCheck(port: number): Promise<void> {
  const c = await RawConnection.connect(port);
  try {
    const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'fuzz-health', clientSoftwareVersion: '1' });
    if (versions.errorCode !== 0) throw new Error(`ApiVersions answered error ${versions.errorCode}`);
    const meta = await c.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    if (!Array.isArray(meta.brokers) || meta.brokers.length !== 1) throw new Error('Metadata lists no broker');
  } finally { c.close(); }
}

/** Runs the cases; resolves with the report (crashes listed, never thrown). */
export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const connections = o.connections ?? 8;
  const caseTimeoutMs = o.caseTimeoutMs ?? 1000;
  const hangMs = o.hangMs ?? 20000;
  const first = o.firstCase ?? 0;
  const maxDurationMs = o.maxDurationMs ?? Infinity;
  const start = performance.now();
  const report: FuzzReport = {
    seed: o.seed, cases: 0, durationMs: 0, answered: 0, closed: 0, timedOut: 0, timedOutExamples: [],
    startRssKiB: rssKiB(o.pid).rss, peakRssKiB: 0, endRssKiB: 0, longestStallMs: 0, probes: 0, crashes: [],
  };
  let stop = false;
  const inFlight = new Map<number, string>(); // worker → case being run
  let finished = false;
  let processExited = false;
  const symptoms: string[] = [];
  let inFlightAtFirst = '';
  const crash = (what: string) => {
    if (finished) return;
    if (!symptoms.length) inFlightAtFirst = [...inFlight.values()].join('; ') || 'none';
    if (!symptoms.includes(what) && symptoms.length < 5) symptoms.push(what);
    stop = true;
  };
  const exitSeen = o.exited.then(() => { processExited = true; crash('the broker process exited'); });

  // The probe: ApiVersions every 50 ms on its own connection; the slowest answer is the stall.
  const probe = (async () => {
    const conn = await FuzzConnection.open(o.port);
    let id = 1;
    while (!stop) {
      const t0 = performance.now();
      const outcome = await conn.ask(id++, hangMs);
      const took = performance.now() - t0;
      if (stop) break;
      if (outcome === 'timeout') { crash(`no answer to the probe for ${hangMs} ms (a hang)`); break; }
      if (outcome === 'closed') { crash('the broker closed the probe connection'); break; }
      report.probes++;
      report.longestStallMs = Math.max(report.longestStallMs, took);
      await new Promise((r) => setTimeout(r, 50));
    }
    conn.destroy();
  })().catch((e: unknown) => crash(`probe failed: ${String(e)}`));

  const rssTimer = setInterval(() => { report.peakRssKiB = Math.max(report.peakRssKiB, rssKiB(o.pid).hwm); }, 250);
  const progressTimer = o.onProgress ? setInterval(() => { report.durationMs = performance.now() - start; o.onProgress!(report); }, 2000) : undefined;

  let next = first;
  const end = first + o.cases;
  let sentinelId = SENTINEL_BASE;
  const worker = async (w: number) => {
    let conn: FuzzConnection | null = null;
    while (!stop && next < end && performance.now() - start < maxDurationMs) {
      const caseNo = next++;
      const c: FuzzCase = makeCase(o.seed, caseNo, o.apis);
      inFlight.set(w, `#${caseNo} ${c.label}`);
      if (!conn || conn.isClosed) {
        try { conn = await FuzzConnection.open(o.port); } catch (e) { crash(`cannot connect: ${String(e)}`); break; }
      }
      for (let i = 0; i < c.chunks.length; i++) {
        conn.socket.write(c.chunks[i]!);
        if (i + 1 < c.chunks.length) await new Promise((r) => setImmediate(r));
      }
      let outcome: Outcome;
      if (c.endAfter) {
        conn.socket.end();
        outcome = (await conn.closed(caseTimeoutMs)) ? 'closed' : 'timeout';
      } else {
        sentinelId = sentinelId >= 0x7ffffff0 ? SENTINEL_BASE : sentinelId + 1;
        outcome = await conn.ask(sentinelId, caseTimeoutMs);
      }
      report.cases++;
      if (outcome === 'answered') report.answered++;
      else if (outcome === 'closed') report.closed++;
      else {
        report.timedOut++;
        if (report.timedOutExamples.length < 10) report.timedOutExamples.push(`#${caseNo} ${c.label}`);
      }
      if (outcome !== 'answered') { conn.destroy(); conn = null; }
      inFlight.delete(w);
    }
    conn?.destroy();
  };
  await Promise.all(Array.from({ length: connections }, (_, w) => worker(w)));
  stop = true;
  await probe;
  if (symptoms.length) {
    // A dead broker shows first as a refused connection or a closed probe: give its exit a moment
    // to be seen, and name it first.
    await Promise.race([exitSeen, new Promise((r) => setTimeout(r, 1000))]);
    const ordered = processExited ? ['the broker process exited', ...symptoms.filter((x) => x !== 'the broker process exited')] : symptoms;
    report.crashes.push(`${ordered.join('; then ')} (seed ${o.seed}; cases in flight at the first sign: ${inFlightAtFirst})`);
  }
  finished = true;
  clearInterval(rssTimer);
  if (progressTimer) clearInterval(progressTimer);
  report.durationMs = performance.now() - start;
  const mem = rssKiB(o.pid);
  report.peakRssKiB = Math.max(report.peakRssKiB, mem.hwm);
  report.endRssKiB = mem.rss;
  return report;
}

/** The whole check: topics, a control produce, the run, then health and the control data. */
export async function fuzzBroker(o: FuzzOptions): Promise<FuzzReport> {
  await prepareTopics(o.port);
  const before = `before-${o.seed}`;
  await controlProduce(o.port, before);
  const report = await runFuzz(o);
  if (report.crashes.length) return report;
  try {
    await healthCheck(o.port);
    const after = `after-${o.seed}`;
    await controlProduce(o.port, after);
    const values = await controlValues(o.port);
    for (const v of [before, after]) if (!values.includes(v)) report.crashes.push(`acknowledged control record "${v}" is missing (control topic holds ${values.length} records)`);
  } catch (e) {
    report.crashes.push(`health check after the run failed: ${String(e)}`);
  }
  return report;
}

export function formatReport(r: FuzzReport): string {
  const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;
  return [
    `seed ${r.seed}: ${r.cases} cases in ${(r.durationMs / 1000).toFixed(1)} s (${Math.round(r.cases / (r.durationMs / 1000))} cases/s)`,
    `  broker answered and kept the connection: ${r.answered}, closed it: ${r.closed}, no answer within the case timeout: ${r.timedOut}`,
    `  crashes: ${r.crashes.length}${r.crashes.map((c) => `\n    ${c}`).join('')}`,
    `  broker RSS: ${mib(r.startRssKiB)} at start, peak ${mib(r.peakRssKiB)}, ${mib(r.endRssKiB)} at the end`,
    `  longest event-loop stall seen by the probe: ${r.longestStallMs.toFixed(0)} ms (${r.probes} probes)`,
    ...(r.timedOutExamples.length ? [`  unanswered examples: ${r.timedOutExamples.join(', ')}`] : []),
  ].join('\n');
}
