// Cluster mode (docs/cluster.md): SCRAM credentials and ACLs changed on the broker leading the
// internal logs reach the other brokers while they run. Three `fjord server` processes on one
// throw-away PostgreSQL; a user and an ACL are created on the broker that takes the writes (A);
// the two others honour them within a few polls (a client authenticates there; an ACL-granted
// topic is described there), then refuse again after the user and the ACL are deleted on A.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgSkipReason, startPgServer } from '../pg-server.js';
import { fjord } from '../cli/cli-helpers.js';

const skip = pgSkipReason();
if (skip) console.log(`# postgres cluster security integration skipped: ${skip}`);
const pg = skip ? null : await startPgServer();
if (pg) after(() => pg.stop());

const servers: ServerProcess[] = [];
after(async () => {
  for (const s of servers) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
});

const ADMIN = ['--sasl-mechanism', 'SCRAM-SHA-256', '--sasl-username', 'admin', '--sasl-password', 'admin-secret'];
const carol = { mechanism: 'scram-sha-256' as const, username: 'carol', password: 'carol-secret' };

async function connects(address: string): Promise<boolean> {
  const admin = new Kafka({ brokers: [address], sasl: carol, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Whether carol may describe the topic, asking only the broker at `address`. */
async function describes(address: string, topic: string): Promise<boolean> {
  const admin = new Kafka({ brokers: [address], sasl: carol, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [topic] });
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Runs a `fjord` command against each broker in turn until one takes it (the one leading the internal logs). */
async function onWriter(addresses: string[], args: string[]): Promise<string> {
  let last = '';
  for (let round = 0; round < 20; round++) {
    for (const a of addresses) {
      const r = await fjord([...args, '--bootstrap-server', a, ...ADMIN]);
      if (r.code === 0) return a;
      last = `${r.stdout}${r.stderr}`;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no broker took ${args.join(' ')}: ${last}`);
}

describe('three fjord brokers on one PostgreSQL: SCRAM and ACL changes', skip ? { skip } : {}, () => {
  test('a user and an ACL created on one broker are honoured on the others, and revoked there too', async () => {
    assert.ok(pg);
    const url = `${pg.url}?schema=it_cluster_security`;
    const common = ['--storage', url, '--listeners', 'SASL_PLAINTEXT://127.0.0.1:0', '--sasl-enabled-mechanisms', 'SCRAM-SHA-256',
      '--connection-failed-authentication-delay-ms', '0', '--authorizer-class-name', 'fjord', '--super-users', 'User:admin'];
    // The first broker alone leads the internal logs and stores the admin; the others read it at start.
    servers.push(await startServerProcess([...common, '--node-id', '1', '--add-scram', 'SCRAM-SHA-256=[name=admin,password=admin-secret]']));
    servers.push(...await Promise.all([2, 3].map((n) => startServerProcess([...common, '--node-id', String(n)]))));
    const addresses = servers.map((s) => s.address);
    const topic = 'granted';
    const admin = new Kafka({ brokers: addresses, sasl: { mechanism: 'scram-sha-256', username: 'admin', password: 'admin-secret' }, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }] });
    await admin.disconnect();
    for (const a of addresses) await eventually(async () => !(await connects(a)), 10000, `carol unknown on ${a}`);

    const writer = await onWriter(addresses, ['users', 'add', 'carol', '--password', 'carol-secret', '--mechanism', 'SCRAM-SHA-256']);
    const others = addresses.filter((a) => a !== writer);
    // The others refuse changes with NOT_CONTROLLER, naming the broker that takes them (no closed connection).
    for (const a of others) {
      const r = await fjord(['users', 'add', 'dave', '--password', 'dave-secret', '--mechanism', 'SCRAM-SHA-256', '--bootstrap-server', a, ...ADMIN]);
      assert.notEqual(r.code, 0, `${a} took a SCRAM change it does not lead`);
      assert.match(`${r.stdout}${r.stderr}`, /send this change to broker \d+/);
    }
    for (const a of others) await eventually(() => connects(a), 5000, `carol authenticates on ${a}`);
    for (const a of addresses) assert.equal(await describes(a, topic), false, `no ACL: carol may not describe ${topic} on ${a}`);

    await onWriter(addresses, ['acls', 'add', '--allow-principal', 'User:carol', '--operation', 'Describe', '--topic', topic]);
    for (const a of addresses) await eventually(() => describes(a, topic), 5000, `the ACL lets carol describe ${topic} on ${a}`);

    await onWriter(addresses, ['acls', 'remove', '--topic', topic, '--allow-principal', 'User:carol', '--operation', 'Describe']);
    for (const a of addresses) await eventually(async () => !(await describes(a, topic)), 5000, `the removed ACL no longer lets carol describe on ${a}`);

    await onWriter(addresses, ['users', 'delete', 'carol']);
    for (const a of addresses) await eventually(async () => !(await connects(a)), 5000, `deleted carol is refused on ${a}`);
  });
});
