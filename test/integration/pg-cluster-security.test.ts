// Cluster mode (docs/cluster.md): SCRAM credentials and ACLs changed on the broker leading the
// internal logs reach the other brokers while they run. Three `fjord server` processes on one
// throw-away PostgreSQL; every broker names the broker leading the internal logs (A) as the
// controller, so Fjord's CLI takes a change through any broker to A; a change sent straight to
// another broker is answered NOT_CONTROLLER naming A. A user and an ACL are created on A; the two
// others honour them within a few polls (a client authenticates there; an ACL-granted topic is
// described there), then refuse again after the user and the ACL are deleted on A.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { eventually } from '../helpers.js';
import { pgForTestFile, killServersAfterFile } from '../pg-test-file.js';
import { fjord } from '../cli/cli-helpers.js';
import { Connection } from '../../src/client/connection.js';
import { createClientLogger } from '../../src/client/logger.js';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';

const { skip, pg } = await pgForTestFile('postgres cluster security integration');

const servers: ServerProcess[] = [];
killServersAfterFile(() => servers);

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
    // The first broker (node 2, so that the lowest id is not the one taking the writes) alone leads
    // the internal logs and stores the admin; the others read it at start.
    servers.push(await startServerProcess([...common, '--node-id', '2', '--add-scram', 'SCRAM-SHA-256=[name=admin,password=admin-secret]']));
    servers.push(...await Promise.all([1, 3].map((n) => startServerProcess([...common, '--node-id', String(n)]))));
    const addressOf = new Map([[2, servers[0].address], [1, servers[1].address], [3, servers[2].address]]);
    const addresses = [1, 2, 3].map((n) => addressOf.get(n)!);
    const topic = 'granted';
    const admin = new Kafka({ brokers: addresses, sasl: { mechanism: 'scram-sha-256', username: 'admin', password: 'admin-secret' }, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic }] });
    await admin.disconnect();
    for (const a of addresses) await eventually(async () => !(await connects(a)), 10000, `carol unknown on ${a}`);

    // Every broker names the same controller: the broker that takes the writes.
    let controller = -1;
    await eventually(async () => {
      const seen = new Set<number>();
      for (const a of addresses) {
        const k = new Kafka({ brokers: [a], sasl: { mechanism: 'scram-sha-256', username: 'admin', password: 'admin-secret' }, logLevel: logLevel.NOTHING }).admin();
        await k.connect();
        seen.add((await k.describeCluster()).controller ?? -1);
        await k.disconnect();
      }
      controller = [...seen][0];
      return seen.size === 1 && controller > 0;
    }, 10000, 'one controller named by every broker');
    const writer = addressOf.get(controller)!;
    const others = addresses.filter((a) => a !== writer);
    await onWriter(addresses, ['users', 'add', 'carol', '--password', 'carol-secret', '--mechanism', 'SCRAM-SHA-256']);
    // Sent straight to another broker: NOT_CONTROLLER, naming the broker that takes it (no closed connection).
    for (const a of others) {
      const [host, port] = a.split(':');
      const c = new Connection({ host, port: Number(port), clientId: 'raw', connectionTimeout: 5000, requestTimeout: 10000, logger: createClientLogger(0),
        sasl: { mechanism: 'scram-sha-256', username: 'admin', password: 'admin-secret' } });
      await c.connect();
      const r = await c.request(ApiKey.CreateAcls, {
        creations: [{ resourceType: 2, resourceName: topic, resourcePatternType: 3, principal: 'User:dave', host: '*', operation: 3, permissionType: 3 }],
      });
      await c.close();
      assert.equal(r.results[0].errorCode, ErrorCode.NOT_CONTROLLER, `${a} took an ACL change it does not lead`);
      assert.match(r.results[0].errorMessage ?? '', new RegExp(`send this change to broker ${controller}`));
    }
    for (const a of others) await eventually(() => connects(a), 5000, `carol authenticates on ${a}`);
    for (const a of addresses) assert.equal(await describes(a, topic), false, `no ACL: carol may not describe ${topic} on ${a}`);

    // Through a broker that does not lead the internal logs: the CLI sends ACL changes to the controller.
    const cli = await fjord(['acls', 'add', '--allow-principal', 'User:carol', '--operation', 'Describe', '--topic', topic, '--bootstrap-server', others[0], ...ADMIN]);
    assert.equal(cli.code, 0, `${cli.stdout}${cli.stderr}`);
    for (const a of addresses) await eventually(() => describes(a, topic), 5000, `the ACL lets carol describe ${topic} on ${a}`);

    await onWriter(addresses, ['acls', 'remove', '--topic', topic, '--allow-principal', 'User:carol', '--operation', 'Describe']);
    for (const a of addresses) await eventually(async () => !(await describes(a, topic)), 5000, `the removed ACL no longer lets carol describe on ${a}`);

    await onWriter(addresses, ['users', 'delete', 'carol']);
    for (const a of addresses) await eventually(async () => !(await connects(a)), 5000, `deleted carol is refused on ${a}`);
  });
});
