// kafkajs programs switch to Fjord by changing only their import. fixtures/kafkajs-program.ts is a
// kafkajs program using many of kafkajs' names (error classes, enums, logCreator, AssignerProtocol,
// PartitionAssigners, admin.describeConfigs); it must compile with tsc (strict) against kafkajs'
// own types, compile again with `from 'kafkajs'` changed to `from 'fjord'` (mapped to src/), and
// run with Fjord's client against a real Fjord broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO, runAsync, tsc } from './package-helpers.js';
import { tempDir, withBroker } from '../helpers.js';

const program = readFileSync(join(REPO, 'test', 'package', 'fixtures', 'kafkajs-program.ts'), 'utf8');
const KAFKAJS_IMPORT = "} from 'kafkajs';";

/** The program with its one kafkajs import pointed at `module`. */
function importing(module: string): string {
  assert.equal(program.split(KAFKAJS_IMPORT).length, 2, 'the program imports kafkajs exactly once');
  return program.replace(KAFKAJS_IMPORT, `} from '${module}';`);
}

test('a kafkajs program compiles against kafkajs and, with only its import changed, against Fjord, then runs on Fjord', async () => {
  const dir = tempDir('fjord-kafkajs-compat-');
  const broker = await withBroker();
  try {
    symlinkSync(join(REPO, 'node_modules'), join(dir.path, 'node_modules'), 'dir');
    writeFileSync(join(dir.path, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(dir.path, 'with-kafkajs.ts'), program);
    writeFileSync(join(dir.path, 'with-fjord.ts'), importing('fjord'));
    writeFileSync(join(dir.path, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
        skipLibCheck: true, types: ['node'], paths: { fjord: [join(REPO, 'src', 'index.ts')] },
      },
      files: ['with-kafkajs.ts', 'with-fjord.ts'],
    }));
    // One program holds both files: an error in either fails with its file name.
    tsc(['-p', 'tsconfig.json'], dir.path);

    writeFileSync(join(dir.path, 'run-fjord.ts'), importing(pathToFileURL(join(REPO, 'src', 'index.ts')).href));
    const stdout = await runAsync(process.execPath, ['--import', 'tsx', 'run-fjord.ts'], dir.path, { FJORD_BROKER: broker.address });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

    assert.equal(report.codecRegistered, true);
    assert.equal(report.retention, '3600000', 'describeConfigs shows the topic override');
    const sentTo = report.sentTo as string[];
    assert.ok(sentTo.length >= 1 && sentTo.every((t) => t.startsWith('orders-')), 'one RecordMetadata per partition written');
    assert.deepEqual(report.consumed, ['o-1:checkout', 'o-2:checkout', 'o-3:checkout', 'o-4:checkout']);
    assert.deepEqual(report.group, { protocol: 'TaggedRoundRobin', state: 'Stable', tags: ['audit'], assigned: [3] });
    assert.deepEqual(report.missingTopic, {
      name: 'KafkaJSNumberOfRetriesExceeded', isKafkaJSError: true, nonRetriable: true, retriesExceeded: true,
      connection: false, timeout: false, topicMetadata: true, protocolType: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    assert.deepEqual(report.badReplication, ['INVALID_REPLICATION_FACTOR']);
    assert.deepEqual(report.deleteGroups, ['no-such-group:GROUP_ID_NOT_FOUND']);
    assert.deepEqual(report.unreachable, {
      name: 'KafkaJSNumberOfRetriesExceeded', isKafkaJSError: true, nonRetriable: true, retriesExceeded: true,
      connection: true, timeout: false, topicMetadata: false, protocolType: '',
    });
    assert.deepEqual(report.logLine, { namespace: 'string', level: 4, label: 'INFO', timestamp: 'string', topic: true });
  } finally {
    await broker.stop();
    dir.remove();
  }
});
