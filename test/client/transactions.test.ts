// Fjord's client transactions against a real Fjord broker over TCP; the same scenarios run against
// Apache Kafka in test/conformance/fjord-client-apache-kafka.test.ts.
import { test, before, after } from 'node:test';
import type { RunningBroker } from '../../src/index.js';
import { withBroker } from '../helpers.js';
import { fjordFor } from './client-helpers.js';
import { commitAndAbort, offsetsAgainstPlainCommits, zombieFencing } from './transaction-scenarios.js';

let broker: RunningBroker;
before(async () => {
  broker = await withBroker();
});
after(async () => {
  await broker.stop();
});

test('transactions: commit, abort, offsets in the transaction, empty transaction', async () => {
  await commitAndAbort(fjordFor(broker));
});

test('transactions: a second producer with the same transactional id fences the first', async () => {
  await zombieFencing(fjordFor(broker));
});

test('transactions: offsets against plain commits, and a group deleted during the transaction', async () => {
  await offsetsAgainstPlainCommits(fjordFor(broker));
});
