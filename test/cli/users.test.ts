// `fjord users` through the real CLI against `fjord server` (file engine) with SASL required:
// the first user from --add-scram, users added/listed/deleted over the protocol, credentials that
// survive a restart (and are stored salted: the password is nowhere in the data dir), and the
// clients (Fjord's, kcat, confluent-kafka-python) logging in with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from '../../src/client/index.js';
import { tempDir } from '../helpers.js';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { fjord } from './cli-helpers.js';

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGTERM');
  await server.exited;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const has = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

test('fjord users add / list / delete over SASL; credentials persist across a restart, salted', async (t) => {
  const dir = tempDir();
  const serverArgs = ['--data-dir', dir.path, '--listeners', 'SASL_PLAINTEXT://127.0.0.1:0', '--sasl-enabled-mechanisms', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512', '--connection-failed-authentication-delay-ms', '0'];
  let server = await startServerProcess([...serverArgs, '--add-scram', 'SCRAM-SHA-512=[name=admin,password=admin-secret]']);
  try {
    const auth = ['--bootstrap-server', server.address, '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'admin', '--sasl-password', 'admin-secret'];
    // Without credentials the CLI cannot talk to the broker at all.
    const refused = await fjord(['users', 'list', '--bootstrap-server', server.address]);
    assert.notEqual(refused.code, 0);
    const wrong = await fjord(['users', 'list', '--bootstrap-server', server.address, '--sasl-mechanism', 'PLAIN', '--sasl-username', 'admin', '--sasl-password', 'nope']);
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /Authentication failed/);

    const add = await fjord(['users', 'add', 'alice', '--password', 'alice-secret', '--mechanism', 'SCRAM-SHA-256,SCRAM-SHA-512', '--iterations', '8192', ...auth]);
    assert.equal(add.code, 0, add.stderr);
    const addBob = await fjord(['users', 'add', 'bob', '--password-file', '-', ...auth], { input: 'bob-secret\n' });
    assert.equal(addBob.code, 0, addBob.stderr);
    const list = await fjord(['users', 'list', '--json', ...auth]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), [
      { user: 'admin', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
      { user: 'alice', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }, { mechanism: 'SCRAM-SHA-512', iterations: 8192 }] },
      { user: 'bob', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] },
    ]);
    const del = await fjord(['users', 'delete', 'alice', '--mechanism', 'SCRAM-SHA-512', ...auth]);
    assert.equal(del.code, 0, del.stderr);
    const missing = await fjord(['users', 'delete', 'nobody', ...auth]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
    const table = await fjord(['users', 'list', ...auth]);
    assert.match(table.stdout, /^USER\s+MECHANISM\s+ITERATIONS\nadmin\s+SCRAM-SHA-512\s+4096\nalice\s+SCRAM-SHA-256\s+8192\nbob\s+SCRAM-SHA-256\s+4096\n$/);

    // Restart (the flag again: admin's credential is kept, not reset).
    await stop(server);
    server = await startServerProcess([...serverArgs, '--add-scram', 'SCRAM-SHA-512=[name=admin,password=changed]']);
    assert.match(server.output(), /credential of admin already exists; kept/);
    const after = await fjord(['users', 'list', '--json', '--bootstrap-server', server.address, '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'admin', '--sasl-password', 'admin-secret']);
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(JSON.parse(after.stdout).map((u: { user: string }) => u.user), ['admin', 'alice', 'bob']);
    for (const sasl of [
      { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' },
      { mechanism: 'plain', username: 'bob', password: 'bob-secret' },
    ] as const) {
      const admin = new Kafka({ brokers: [server.address], sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: `t-${sasl.username}` }] });
      await admin.disconnect();
    }
    // alice's SHA-512 credential was deleted.
    await assert.rejects(new Kafka({ brokers: [server.address], sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' }, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin().connect());

    // kcat with SASL_PLAINTEXT SCRAM-SHA-512 (skipped where kcat is not installed).
    if (has('kcat', ['-V'])) {
      const [host, port] = server.address.split(':');
      const common = ['-b', `${host}:${port}`, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=admin', '-X', 'sasl.password=admin-secret'];
      execFileSync('kcat', [...common, '-P', '-t', 'kcat-sasl'], { input: 'one\ntwo\n', timeout: 30000 });
      const got = execFileSync('kcat', [...common, '-C', '-t', 'kcat-sasl', '-o', 'beginning', '-e', '-q'], { timeout: 30000 }).toString();
      assert.deepEqual(got.trim().split('\n'), ['one', 'two']);
      const bad = spawnSync('kcat', ['-b', `${host}:${port}`, '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=admin', '-X', 'sasl.password=wrong', '-L', '-m', '5'], { timeout: 30000 });
      assert.notEqual(bad.status, 0);
    } else {
      t.diagnostic('kcat is not installed: its SASL_PLAINTEXT SCRAM-SHA-512 check was skipped');
    }
    // confluent-kafka-python with SCRAM-SHA-256 (skipped where it is not installed).
    if (has('python3', ['-c', 'import confluent_kafka'])) {
      const script = `
import sys
from confluent_kafka import Producer, Consumer
conf = {'bootstrap.servers': sys.argv[1], 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.username': 'alice', 'sasl.password': 'alice-secret'}
p = Producer(conf)
p.produce('py-sasl', b'hello')
assert p.flush(20) == 0
c = Consumer(dict(conf, **{'group.id': 'py', 'auto.offset.reset': 'earliest'}))
c.subscribe(['py-sasl'])
for _ in range(60):
    m = c.poll(1.0)
    if m is not None and m.error() is None:
        print(m.value().decode())
        break
c.close()
`;
      const got = execFileSync('python3', ['-c', script, server.address], { timeout: 90000 }).toString();
      assert.equal(got.trim(), 'hello');
    } else {
      t.diagnostic('confluent-kafka-python is not installed: its SCRAM-SHA-256 check was skipped');
    }

    // Stored salted and hashed: no password appears in any file of the data dir.
    await stop(server);
    const all = filesUnder(dir.path).map((f) => readFileSync(f).toString('latin1')).join('\n');
    assert.ok(all.includes('storedKey'), 'the credential log is in the data dir');
    for (const secret of ['admin-secret', 'alice-secret', 'bob-secret']) assert.ok(!all.includes(secret), secret);
  } finally {
    if (server.child.exitCode === null) await stop(server);
    dir.remove();
  }
});

test('fjord server --add-scram: malformed values are refused at start with a one-line reason', async () => {
  for (const [value, reason] of [
    ['SCRAM-SHA-1=[name=a,password=b]', /unsupported SCRAM mechanism SCRAM-SHA-1/],
    ['SCRAM-SHA-256=[password=b]', /needs name=/],
    ['SCRAM-SHA-256=[name=a,password=b,iterations=100]', /iterations must be an integer from 4096 to 16384/],
    ['alice:secret', /takes MECHANISM=\[name=...,password=...\]/],
  ] as const) {
    const r = await fjord(['server', '--data-dir', 'memory', '--port', '0', '--add-scram', value]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, reason);
  }
  const bad = await fjord(['server', '--data-dir', 'memory', '--port', '0', '--sasl-enabled-mechanisms', 'GSSAPI']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--sasl-enabled-mechanisms must be a comma-separated list of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER/);
  // OAUTHBEARER without keys (or the unsecured mode) is refused in one line.
  const keyless = await fjord(['server', '--data-dir', 'memory', '--port', '0', '--sasl-enabled-mechanisms', 'OAUTHBEARER']);
  assert.equal(keyless.code, 2, keyless.stderr);
  assert.match(keyless.stderr, /^fjord server: OAUTHBEARER is enabled without keys to check tokens: .*\n$/);
});
