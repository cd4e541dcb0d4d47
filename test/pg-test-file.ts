// What every test file on PostgreSQL sets up the same way: its throw-away database server, the
// `fjord server` processes it starts (killed after the file), and a probe of partition leaders.
import { after } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { pgSkipReason, startPgServer, type PgServer } from './pg-server.js';
import type { ServerProcess } from './server-process.js';

/**
 * A throw-away PostgreSQL for this test file, stopped after it. When it cannot run here, `skip`
 * holds the reason (printed as `# <what> skipped: ...`) and `pg` is null.
 */
export async function pgForTestFile(what: string): Promise<{ skip: string | false; pg: PgServer | null }> {
  const skip = pgSkipReason();
  if (skip) console.log(`# ${what} skipped: ${skip}`);
  const pg = skip ? null : await startPgServer();
  if (pg) after(() => pg.stop());
  return { skip, pg };
}

/** Kills (SIGKILL) every server in `servers` once the file's tests are done. */
export function killServersAfterFile(servers: () => Iterable<ServerProcess>): void {
  after(async () => {
    for (const s of servers()) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
  });
}

/** The leaders of a topic's partitions, in partition order, as the broker at `address` says ([] when it cannot answer). */
export async function leadersAt(address: string, topic: string): Promise<number[]> {
  const admin = new Kafka({ clientId: 'leaders-probe', brokers: [address], logLevel: logLevel.NOTHING, retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 5 } }).admin();
  try {
    await admin.connect();
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return md.topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => p.leader);
  } catch {
    return [];
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
