// The data directory is Fjord's, and only Fjord's — through `fjord server` as a user types it:
// a folder Fjord did not make is refused and left as it was, unknown entries in its own folder are
// reported and kept, one broker per folder (a lock), a format marker checked at start, and every
// way a folder can be unusable is one line with the fix and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../server-process.js';
import { kafkaFor, tempDir } from '../helpers.js';

/** `fjord server` that is expected to fail: its exit code and everything it printed. */
function runServer(args: string[], options: SpawnOptions = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'server', '--host', '127.0.0.1', '--port', '0', ...args], options);
    let out = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (out += d));
    // A broker that hangs (the old endless mkdir under /proc) fails the test instead of blocking it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The failure is one line that says the fix: no stack trace, a non-zero exit. */
function assertOneLineRefusal(r: { code: number | null; out: string }, pattern: RegExp): void {
  assert.notEqual(r.code, null, `the server did not exit by itself:\n${r.out}`);
  assert.notEqual(r.code, 0, r.out);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 1, `one line:\n${r.out}`);
  assert.match(lines[0], / ERROR could not start: /);
  assert.match(lines[0], pattern);
}

/** Every path and file content under `dir`, to show nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) {
        out[`${r}/`] = '';
        walk(join(d, ent.name), r);
      } else out[r] = readFileSync(join(d, ent.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
}

async function stop(server: ServerProcess): Promise<void> {
  server.child.kill('SIGINT');
  assert.equal((await server.exited).code, 0, server.output());
}

test('a non-empty folder Fjord did not make is refused and left exactly as it was', async () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir.path, 'orders-0'));
    writeFileSync(join(dir.path, 'orders-0', 'ledger.csv'), 'a,b\n');
    mkdirSync(join(dir.path, 'photos-2023'));
    writeFileSync(join(dir.path, 'notes.tmp'), 'mine');
    const before = snapshot(dir.path);
    const r = await runServer(['--data-dir', dir.path]);
    assertOneLineRefusal(r, /is not empty \(notes\.tmp, orders-0, photos-2023\) and has no Fjord meta\.json.*choose another folder with --data-dir/);
    assert.deepEqual(snapshot(dir.path), before, 'nothing added, nothing removed');
  } finally {
    dir.remove();
  }
});

test('in its own folder, entries Fjord did not write are reported and kept; a topic is not created over one', async () => {
  const dir = tempDir();
  try {
    let server = await startServerProcess(['--data-dir', dir.path]);
    await stop(server);
    mkdirSync(join(dir.path, 'orders-0'));
    writeFileSync(join(dir.path, 'orders-0', 'ledger.csv'), 'a,b\n');
    mkdirSync(join(dir.path, 'photos-2023'));
    writeFileSync(join(dir.path, 'notes.tmp'), 'mine');
    server = await startServerProcess(['--data-dir', dir.path, '--auto-create', 'off']);
    assert.match(server.output(), /WARN .* holds 3 entries Fjord did not write, left alone: notes\.tmp, orders-0, photos-2023/);
    const admin = kafkaFor(server).admin();
    await admin.connect();
    try {
      // Creating "orders" would need the folder orders-0: refused, not deleted.
      await assert.rejects(admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }], waitForLeaders: false }));
      assert.ok(!(await admin.listTopics()).includes('orders'));
      await admin.createTopics({ topics: [{ topic: 'invoices', numPartitions: 1 }], waitForLeaders: false });
      await admin.deleteTopics({ topics: ['invoices'] });
    } finally {
      await admin.disconnect();
    }
    await stop(server);
    assert.equal(readFileSync(join(dir.path, 'orders-0', 'ledger.csv'), 'utf8'), 'a,b\n');
    assert.ok(statSync(join(dir.path, 'photos-2023')).isDirectory());
    assert.equal(readFileSync(join(dir.path, 'notes.tmp'), 'utf8'), 'mine');
  } finally {
    dir.remove();
  }
});

test('one broker per folder: a second exits at once naming the first; a dead one\'s lock is taken over', async () => {
  const dir = tempDir();
  try {
    const first = await startServerProcess(['--data-dir', dir.path]);
    const producer = kafkaFor(first).producer();
    await producer.connect();
    await producer.send({ topic: 'kept', messages: [{ value: 'one' }] });
    await producer.disconnect();

    const second = await runServer(['--data-dir', dir.path]);
    assertOneLineRefusal(second, new RegExp(`is in use by Fjord pid ${first.child.pid} on .*: stop that broker first`));

    // The first goes on serving, with its data.
    const consumer = kafkaFor(first).consumer({ groupId: 'g' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'kept', fromBeginning: true });
    const seen = await new Promise<string>((resolve) => void consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) }));
    assert.equal(seen, 'one');
    await consumer.disconnect();

    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(existsSync(join(dir.path, 'fjord.lock')), 'a killed broker leaves its lock');
    const next = await startServerProcess(['--data-dir', dir.path]);
    assert.match(next.output(), new RegExp(`took over the lock of .* from Fjord pid ${first.child.pid} .*no longer running`));
    await stop(next);
    assert.ok(!existsSync(join(dir.path, 'fjord.lock')), 'released at stop');
  } finally {
    dir.remove();
  }
});

test('a broker that cannot bind its port touches no data', async () => {
  const blocker = net.createServer().listen({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => blocker.once('listening', r));
  const port = String((blocker.address() as net.AddressInfo).port);
  const dir = tempDir();
  try {
    const fresh = join(dir.path, 'new');
    const r = await runServer(['--port', port, '--data-dir', fresh]);
    assert.equal(r.code, 1);
    assert.match(r.out, /already in use/);
    assert.ok(!existsSync(fresh), 'the data folder was not even made');

    // An existing folder of the previous Fjord (no format marker): not upgraded, not locked.
    const old = join(dir.path, 'old');
    mkdirSync(old);
    writeFileSync(join(old, 'meta.json'), JSON.stringify({ version: 1, clusterId: 'Ab3dEf6hIj9kLm2oPq5sTu', producerIdHighWater: 1000 }, null, 2));
    writeFileSync(join(old, 'topics.json'), JSON.stringify({ version: 1, topics: [] }, null, 2));
    const before = snapshot(old);
    const r2 = await runServer(['--port', port, '--data-dir', old]);
    assert.equal(r2.code, 1);
    assert.deepEqual(snapshot(old), before);
  } finally {
    blocker.close();
    dir.remove();
  }
});

test('a format marker and cluster id are written at creation and checked at start; old folders are upgraded', async () => {
  const dir = tempDir();
  try {
    const data = join(dir.path, 'data');
    let server = await startServerProcess(['--data-dir', data]);
    const producer = kafkaFor(server).producer();
    await producer.connect();
    await producer.send({ topic: 'history', messages: [{ value: 'before the marker' }] });
    await producer.disconnect();
    await stop(server);
    const meta = JSON.parse(readFileSync(join(data, 'meta.json'), 'utf8')) as { format: string; formatVersion: number; clusterId: string; producerIdHighWater: number };
    assert.equal(meta.format, 'fjord');
    assert.equal(meta.formatVersion, 1);
    assert.match(meta.clusterId, /^[A-Za-z0-9_-]{22}$/);

    // The previous Fjord's meta.json (no marker) still opens, keeps its data and cluster id, and gets the marker.
    const legacy = { version: 1, clusterId: meta.clusterId, producerIdHighWater: meta.producerIdHighWater };
    writeFileSync(join(data, 'meta.json'), JSON.stringify(legacy, null, 2));
    server = await startServerProcess(['--data-dir', data]);
    assert.match(server.output(), /added the format marker \(data format 1\)/);
    const admin = kafkaFor(server).admin();
    await admin.connect();
    assert.equal((await admin.describeCluster()).clusterId, meta.clusterId);
    const offsets = await admin.fetchTopicOffsets('history');
    assert.equal(offsets[0].high, '1');
    await admin.disconnect();
    await stop(server);
    const upgraded = JSON.parse(readFileSync(join(data, 'meta.json'), 'utf8')) as typeof meta;
    assert.deepEqual([upgraded.format, upgraded.formatVersion, upgraded.clusterId], ['fjord', 1, meta.clusterId]);

    // A newer format, another program's meta.json, a damaged cluster id: refused, untouched.
    const cases: [object | string, RegExp][] = [
      [{ ...upgraded, formatVersion: 2 }, /holds data format 2, written by a newer Fjord; this Fjord reads format 1: run the newer Fjord/],
      [{ name: 'photo-indexer', version: '3.1' }, /meta\.json is not Fjord's \(no format marker\).*choose another folder/],
      [{ ...upgraded, format: 'somedb' }, /meta\.json is not Fjord's \(format "somedb"\)/],
      ['{ not json', /meta\.json is not JSON/],
      [{ ...upgraded, clusterId: '' }, /malformed clusterId/],
    ];
    for (const [content, pattern] of cases) {
      writeFileSync(join(data, 'meta.json'), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      const before = snapshot(data);
      assertOneLineRefusal(await runServer(['--data-dir', data]), pattern);
      assert.deepEqual(snapshot(data), before, 'nothing touched');
    }
  } finally {
    dir.remove();
  }
});

test('an unusable folder is one line with the fix and a non-zero exit, never a stack trace or a hang', async () => {
  const dir = tempDir();
  try {
    const file = join(dir.path, 'a-file');
    writeFileSync(file, 'x');
    assertOneLineRefusal(await runServer(['--data-dir', file]), /a-file is a file, not a folder: choose another folder with --data-dir/);
    assertOneLineRefusal(await runServer(['--data-dir', join(file, 'data')]), /a-file is a file, not a folder, so .*a-file\/data cannot be made/);
    assertOneLineRefusal(await runServer(['--data-dir', '/proc/fjord-data']), /\/proc\/fjord-data is under \/proc, a special file system that cannot hold data: choose another folder/);
    assertOneLineRefusal(await runServer(['--data-dir', 'file:/proc/self/fjord']), /under \/proc/);

    // Unwritable: root writes anywhere, so as root the broker runs as nobody.
    const locked = join(dir.path, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    chmodSync(dir.path, 0o755);
    const asUser: SpawnOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    // As nobody, node itself must be reachable (not so for a node kept under /root, e.g. npx's).
    const canRun = spawnSync(process.execPath, ['--version'], asUser).error === undefined;
    if (canRun) {
      assertOneLineRefusal(await runServer(['--data-dir', locked], asUser), /no permission to write in .*locked \(EACCES\): let the user running Fjord write there/);
      assertOneLineRefusal(await runServer(['--data-dir', join(locked, 'sub')], asUser), /no permission to make .*locked\/sub in .*locked/);
      assert.deepEqual(readdirSync(locked), []);
    } else {
      console.log(`# skipped the unwritable-folder case: user nobody cannot run ${process.execPath}`);
    }
  } finally {
    dir.remove();
  }
});
