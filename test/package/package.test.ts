// The package as users get it: `npm pack` (which runs the `prepare` build, type declarations
// included), install the tarball into a scratch TypeScript project, compile a program that uses the
// broker, admin, producer and consumer with `strict` on, and run it. A package whose `types` points
// at a missing file fails here with TS7016, before any user sees it.
//
// The build runs in a staging copy of the package so this test never rewrites the repo's dist/,
// which the CLI tests run from at the same time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, REPO, tsc } from './package-helpers.js';
import { tempDir } from '../helpers.js';

/** Copies what `npm pack` needs (and what the build reads) into `staging`. */
function stageRepo(staging: string): void {
  for (const entry of ['package.json', 'README.md', 'bin', 'src', 'scripts/build.mjs', 'tsconfig.json', 'tsconfig.build.json']) {
    cpSync(join(REPO, entry), join(staging, entry), { recursive: true });
  }
  // esbuild and typescript for the build; npm leaves a node_modules symlink out of the tarball.
  symlinkSync(join(REPO, 'node_modules'), join(staging, 'node_modules'), 'dir');
}

const PROGRAM = `import { Kafka, logLevel, startBroker, type EachMessagePayload, type RunningBroker } from 'fjord';

const running: RunningBroker = await startBroker();
const kafka = new Kafka({ clientId: 'packaged-app', brokers: [running.address], logLevel: logLevel.WARN });
const topic = 'greetings';
const groupId = 'packaged-group';

const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });

const producer = kafka.producer();
await producer.connect();
// @ts-expect-error a topic is a string: proves the declarations are read, not an implicit any
await producer.send({ topic: 42, messages: [] }).catch(() => undefined);
await producer.send({ topic, messages: [{ key: 'a', value: 'hello' }, { key: 'b', value: 'hej' }, { key: 'c', value: 'hallo' }] });

const consumer = kafka.consumer({ groupId });
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
const seen: string[] = [];
await new Promise<void>((resolve) => {
  void consumer.run({
    eachMessage: async ({ message, partition }: EachMessagePayload) => {
      seen.push(\`\${message.value?.toString() ?? ''}@\${partition >= 0 ? 'p' : '?'}\`);
      if (seen.length === 3) resolve();
    },
  });
});

const described = await admin.describeGroups([groupId]);
const group = described.groups[0];
console.log(JSON.stringify({ seen: seen.sort(), state: group.state, members: group.members.length, port: running.port }));

await consumer.disconnect();
await producer.disconnect();
await admin.disconnect();
await running.stop();
`;

test('npm pack ships declarations; a strict TypeScript program installs, compiles and runs against the tarball', async () => {
  const dir = tempDir('fjord-pack-');
  try {
    const staging = join(dir.path, 'fjord');
    stageRepo(staging);
    // Runs `prepare` (the full build, declarations included) exactly as publishing would.
    const packed = run('npm', ['pack', '--pack-destination', dir.path, '--json'], staging);
    const [{ filename, files }] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
    const shipped = new Set(files.map((f) => f.path));
    const manifest = JSON.parse(readFileSync(join(staging, 'package.json'), 'utf8')) as {
      types: string; exports: { '.': { types: string; default: string } };
    };
    for (const path of [manifest.types, manifest.exports['.'].types, manifest.exports['.'].default]) {
      assert.ok(shipped.has(path.replace(/^\.\//, '')), `${path} is in the tarball`);
    }
    // The web console's page, bundled at build time (the package has no esbuild to bundle it at run time).
    for (const path of ['dist/console-ui/app.js', 'dist/console-ui/app.css']) assert.ok(shipped.has(path), `${path} is in the tarball`);

    const app = join(dir.path, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'packaged-app', private: true, type: 'module' }));
    // Its dependencies come from the registry (or npm's cache, which `npm ci` filled).
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', join(dir.path, filename)], app);
    assert.ok(existsSync(join(app, 'node_modules', 'fjord', 'dist', 'index.d.ts')));

    writeFileSync(join(app, 'main.ts'), PROGRAM);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
        // Check the shipped .d.ts files too: a declaration that points at something unshipped fails.
        skipLibCheck: false,
        outDir: 'build', typeRoots: [join(REPO, 'node_modules', '@types')], types: ['node'],
      },
      files: ['main.ts'],
    }));
    tsc(['-p', 'tsconfig.json'], app);

    const output = run(process.execPath, [join(app, 'build', 'main.js')], app);
    const result = JSON.parse(output.trim().split('\n').at(-1)!) as { seen: string[]; state: string; members: number; port: number };
    assert.deepEqual(result.seen, ['hallo@p', 'hej@p', 'hello@p']);
    assert.equal(result.state, 'Stable');
    assert.equal(result.members, 1);
    assert.ok(result.port > 0);
    assert.ok(readdirSync(join(app, 'node_modules', 'fjord', 'dist')).includes('fjord.mjs'), 'the CLI bundle ships too');
  } finally {
    dir.remove();
  }
});
