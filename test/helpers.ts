// Shared test helpers: start a real broker on a free port and make kafkajs clients for it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../src/index.js';

export async function withBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  return startBroker({ logLevel: 'silent', groupInitialRebalanceDelayMs: 0, ...options });
}

export function tempDir(prefix = 'fjord-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function kafkaFor(broker: { address: string }, clientId = 'fjord-test'): Kafka {
  return new Kafka({
    clientId,
    brokers: [broker.address],
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 50, retries: 8 },
  });
}

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 15000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

let topicCounter = 0;
export const uniqueTopic = (base = 'topic') => `${base}-${process.pid}-${Date.now().toString(36)}-${topicCounter++}`;
