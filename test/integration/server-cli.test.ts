// `fjord server` as a user starts it: both loopbacks by default, settings from flags and from
// environment variables, a clear error for bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { startServerProcess } from '../server-process.js';
import { tempDir } from '../helpers.js';
import { serverConfig } from '../../src/cli/app.js';

const canConnect = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host, port }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });

test('by default the server listens on 127.0.0.1 and ::1 and says where data lives', async () => {
  const dir = tempDir();
  try {
    const server = await startServerProcess(['--default-hosts', '--data-dir', dir.path]);
    assert.ok(await canConnect('127.0.0.1', server.port));
    const ipv6 = await new Promise<boolean>((resolve) => {
      const probe = net.createServer().listen({ host: '::1', port: 0 }, () => probe.close(() => resolve(true)));
      probe.on('error', () => resolve(false));
    });
    if (ipv6) assert.ok(await canConnect('::1', server.port), 'listening on ::1 too');
    assert.match(server.output(), new RegExp(`data in ${dir.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    server.child.kill('SIGINT');
    assert.equal((await server.exited).code, 0);
  } finally {
    dir.remove();
  }
});

test('flags and environment variables set the broker config; flags win', () => {
  const env = { FJORD_PORT: '19999', FJORD_DATA_DIR: 'memory', FJORD_PARTITIONS: '4', FJORD_AUTO_CREATE: 'off', FJORD_FLUSH: '250', FJORD_ADVERTISED_HOST: 'broker.local' };
  const fromEnv = serverConfig([], env);
  assert.notEqual(fromEnv, 'help');
  assert.deepEqual(
    fromEnv !== 'help' && [fromEnv.port, fromEnv.dataDir, fromEnv.defaultPartitions, fromEnv.autoCreateTopics, fromEnv.flush, fromEnv.advertisedHost],
    [19999, 'memory', 4, false, 250, 'broker.local'],
  );
  const flags = serverConfig(['--port', '9000', '--host', '0.0.0.0,::', '--advertised-port', '19092', '--flush', 'os'], env);
  assert.ok(flags !== 'help');
  assert.equal(flags.port, 9000);
  assert.deepEqual(flags.listenHosts, ['0.0.0.0', '::']);
  assert.equal(flags.advertisedPort, 19092);
  assert.equal(flags.flush, 'os');
  assert.throws(() => serverConfig(['--flush', 'sometimes'], {}), /--flush/);
  assert.throws(() => serverConfig(['--partitions', '0'], {}), /--partitions/);
  assert.throws(() => serverConfig(['--no-such-flag'], {}));
  assert.equal(serverConfig(['--help'], {}), 'help');
});

test('a bad flag exits 2 with a hint; a busy port exits 1 with a clear message', async () => {
  const run = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', ...args]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
  const bad = await run(['--port', 'nine']);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--port must be/);
  const blocker = net.createServer().listen({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as net.AddressInfo).port;
  const busy = await run(['--host', '127.0.0.1', '--port', String(port), '--data-dir', 'memory']);
  blocker.close();
  assert.equal(busy.code, 1);
  assert.match(busy.out, /already in use/);
  // A database that is not there (nothing listens on port 1): one line naming it, without the password.
  const planned = await run(['--storage', 'postgres://fjord:hunter2@127.0.0.1:1/fjord', '--port', '0']);
  assert.equal(planned.code, 1);
  assert.match(planned.out, /could not start: cannot connect to postgres:\/\/fjord:\*\*\*@127\.0\.0\.1:1\/fjord/);
  assert.doesNotMatch(planned.out, /hunter2/, 'a URL password is never echoed');
  assert.doesNotMatch(planned.out, /\n\s+at /, 'one line, no stack trace');
});

test('--data-dir file:<path> is the file engine in that folder', async () => {
  const dir = tempDir();
  try {
    const server = await startServerProcess(['--data-dir', `file:${dir.path}`]);
    assert.match(server.output(), new RegExp(`data in ${dir.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    server.child.kill('SIGINT');
    assert.equal((await server.exited).code, 0);
  } finally {
    dir.remove();
  }
});

test('fjord server --help is written from the settings table; an environment value is checked like a flag', async () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', ...args], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--port <n> +\(FJORD_PORT, default 9092\)/);
  assert.match(help.out, /--log-retention-hours <hours> +\(FJORD_LOG_RETENTION_HOURS, default 168\)/);
  assert.match(help.out, /--auto-create <on\|off> +\(FJORD_AUTO_CREATE, default on, Kafka: auto.create.topics.enable\)/);
  const bad = await run([], { FJORD_OFFSETS_RETENTION_MINUTES: '0' });
  assert.equal(bad.code, 2);
  assert.match(bad.out, /FJORD_OFFSETS_RETENTION_MINUTES must be an integer of at least 1, not "0"/);
});
