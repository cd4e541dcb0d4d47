// UpdateFeatures v0–2 over real TCP with raw requests. The expected answers are Kafka 4.1's where
// Kafka and Fjord are at the same levels (probed against a one-node Kafka 4.1: unknown feature, out of
// range, same level, downgrade without a downgrade type, unknown upgrade type, the wrapper message,
// the "NONE" messages of v0–1 results), and Fjord's own refusal of a change it cannot make.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { RawConnection, type Message } from '../raw-client.js';
import { withBroker } from '../helpers.js';

const UPGRADE = 1, SAFE_DOWNGRADE = 2, UNSAFE_DOWNGRADE = 3;
const WRAP = 'The update failed for all features since the following feature had an error: ';

test('UpdateFeatures: same level succeeds (validateOnly or not), everything else refused with Kafka\'s codes and words', async () => {
  const broker = await withBroker();
  try {
    const c = await RawConnection.connect(broker.port);
    let id = 1;
    const versions = await c.request(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' }, id++);
    assert.deepEqual(versions.apiKeys.filter((a: { apiKey: number }) => a.apiKey === 57).map((a: { minVersion: number; maxVersion: number }) => [a.minVersion, a.maxVersion]), [[0, 2]]);
    const finalized = new Map<string, number>(versions.finalizedFeatures.map((f: { name: string; maxVersionLevel: number }) => [f.name, f.maxVersionLevel]));
    const mv = finalized.get('metadata.version')!;
    const send = (version: number, updates: [string, number, number?][], validateOnly = false) => c.request(57, version, {
      timeoutMs: 5000, validateOnly,
      featureUpdates: updates.map(([feature, maxVersionLevel, upgradeType]) => ({ feature, maxVersionLevel, allowDowngrade: upgradeType !== undefined && upgradeType !== UPGRADE, upgradeType: upgradeType ?? UPGRADE })),
    }, id++);
    const refused = (res: Message, message: string) => {
      assert.equal(res.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
      assert.equal(res.errorMessage, WRAP + message);
      if (res.results) assert.deepEqual(res.results, []);
    };
    for (const v of [0, 1, 2]) {
      // the levels in effect: success, each update listed (v0–1) with Kafka's "NONE" message
      const same = await send(v, [['metadata.version', mv], ['group.version', 1], ['transaction.version', finalized.get('transaction.version') ?? 0]], v % 2 === 1);
      assert.equal(same.errorCode, ErrorCode.NONE);
      assert.equal(same.errorMessage, null);
      if (v < 2) assert.deepEqual(same.results.map((r: { feature: string; errorCode: number; errorMessage: string }) => [r.feature, r.errorCode, r.errorMessage]),
        [['metadata.version', 0, 'NONE'], ['group.version', 0, 'NONE'], ['transaction.version', 0, 'NONE']]);
      // one bad update sinks the batch
      refused(await send(v, [['sarama.unsupported.feature', 1], ['group.version', 1]]), 'Invalid update version 1 for feature sarama.unsupported.feature. Local controller 1 does not support this feature.');
      refused(await send(v, [['sarama.unsupported.feature', 0]]), 'Invalid update version 0 for feature sarama.unsupported.feature. Feature sarama.unsupported.feature not found.');
      refused(await send(v, [['group.version', 99]], true), 'Invalid update version 99 for feature group.version. Local controller 1 only supports versions 0-1');
      refused(await send(v, [['metadata.version', mv + 1]]), `Invalid update version ${mv + 1} for feature metadata.version. Local controller 1 only supports versions 7-${mv}`);
      refused(await send(v, [['group.version', -1]]), 'Invalid update version -1 for feature group.version. A feature version cannot be less than 0.');
      refused(await send(v, [['group.version', 0]]), 'Invalid update version 0 for feature group.version. Can\'t downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.');
    }
    // v0 has no upgrade type: allowDowngrade does not make a downgrade (Kafka 4.1 answers the same)
    refused(await send(0, [['group.version', 0, SAFE_DOWNGRADE]]), 'Invalid update version 0 for feature group.version. Can\'t downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.');
    refused(await send(1, [['group.version', 1, 9]]), 'Invalid update version 1 for feature group.version. The controller does not support the given upgrade type.');
    // a downgrade Kafka could make: Fjord cannot (its features are what the build does)
    for (const type of [SAFE_DOWNGRADE, UNSAFE_DOWNGRADE]) {
      refused(await send(2, [['group.version', 0, type]], true), 'Invalid update version 0 for feature group.version. Fjord runs group.version at level 1 only: what this build does, not a level it can change.');
      refused(await send(1, [['metadata.version', mv - 1, type]]), `Invalid update version ${mv - 1} for feature metadata.version. Fjord runs metadata.version at level ${mv} only: what this build does, not a level it can change.`);
    }
    // and the first failing feature by name is the one named
    refused(await send(2, [['zz.unknown', 1], ['group.version', 99]]), 'Invalid update version 99 for feature group.version. Local controller 1 only supports versions 0-1');
    // nothing moved
    const after = await c.request(18, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' }, id++);
    assert.deepEqual(after.finalizedFeatures, versions.finalizedFeatures);
    c.socket.destroy();
  } finally {
    await broker.stop();
  }
});
