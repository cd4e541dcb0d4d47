// DescribeConfigs v3+ with includeDocumentation: each config Fjord knows carries its documentation
// (the settings table's description) and its type; without the flag documentation stays null, as in
// Kafka 4.1. sarama's TestFuncAdminDescribeConfig asks for it on the broker resource.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawConnection } from '../raw-client.js';
import { withBroker } from '../helpers.js';
import { BROKER_SETTINGS, topicSetting } from '../../src/broker/settings.js';

interface Entry { name: string; configType: number; documentation: string | null }

test('DescribeConfigs includeDocumentation: broker and topic configs carry their documentation, only when asked', async () => {
  const broker = await withBroker({ nodeId: 1 });
  try {
    const c = await RawConnection.connect(broker.port);
    await c.request(19, 4, { topics: [{ name: 'docs', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    const ask = (includeDocumentation: boolean, id: number) => c.request(32, 4, {
      resources: [{ resourceType: 4, resourceName: '1', configurationKeys: null }, { resourceType: 2, resourceName: 'docs', configurationKeys: ['retention.ms'] }],
      includeSynonyms: true, includeDocumentation,
    }, id);
    const documented = await ask(true, 2);
    const brokerConfigs = documented.results[0].configs as Entry[];
    assert.ok(brokerConfigs.length > 0);
    const backoff = brokerConfigs.find((e) => e.name === 'log.cleaner.backoff.ms')!;
    assert.equal(backoff.documentation, BROKER_SETTINGS.logCleanerBackoffMs.description);
    assert.equal(backoff.configType, 5); // LONG
    assert.ok(brokerConfigs.every((e) => typeof e.documentation === 'string' && e.documentation !== ''), 'every broker config documented');
    const retention = (documented.results[1].configs as Entry[])[0];
    assert.equal(retention.documentation, topicSetting('retention.ms')!.description);
    const plain = await ask(false, 3);
    assert.ok([...plain.results[0].configs, ...plain.results[1].configs].every((e: Entry) => e.documentation === null));
    c.socket.destroy();
  } finally {
    await broker.stop();
  }
});
