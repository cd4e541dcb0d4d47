// Helpers for tests of Fjord's own client: a Kafka instance for a running broker.
import { Kafka, logLevel } from '../../src/client/index.js';

export function fjordFor(broker: { address: string }, clientId = 'fjord-client-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.address],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 8 },
  });
}
