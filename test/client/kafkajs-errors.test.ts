// Fjord's client errors are kafkajs' classes: the hierarchy, names and fields kafkajs code reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fjord from '../../src/index.js';
import {
  FjordError, FjordProtocolError, FjordTopicMetadataError, KafkaJSAggregateError, KafkaJSDeleteGroupsError, KafkaJSError,
  KafkaJSLockTimeout, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSTimeout,
  KafkaJSTopicMetadataNotLoaded, KafkaJSMetadataNotLoaded, isKafkaJSError, isRebalancing,
} from '../../src/index.js';

test('every KafkaJS* error kafkajs exports at run time is exported as a KafkaJSError subclass', async () => {
  const kafkajs = (await import('kafkajs')).default as unknown as Record<string, unknown>;
  const names = Object.keys(kafkajs).filter((n) => n.startsWith('KafkaJS'));
  assert.ok(names.length >= 30, `kafkajs exports ${names.length} error classes`);
  const ours = fjord as unknown as Record<string, unknown>;
  for (const name of names) {
    const cls = ours[name];
    assert.equal(typeof cls, 'function', `${name} is exported`);
    assert.ok((cls as { prototype: unknown }).prototype instanceof KafkaJSError || cls === KafkaJSError, `${name} extends KafkaJSError`);
  }
});

test('protocol errors: a KafkaJSProtocolError is a KafkaJSError, with type, code and retriable from the code', () => {
  const e = new KafkaJSProtocolError(3, 'orders/0');
  assert.ok(e instanceof KafkaJSError && e instanceof Error);
  assert.equal(e.name, 'KafkaJSProtocolError');
  assert.equal(e.type, 'UNKNOWN_TOPIC_OR_PARTITION');
  assert.equal(e.code, 3);
  assert.equal(e.retriable, true);
  assert.match(e.message, /orders\/0/);
  assert.equal(FjordProtocolError, KafkaJSProtocolError, 'the Fjord name is the same class');
  assert.equal(FjordError, KafkaJSError);
  // kafkajs-style construction from a message
  const fromMessage = new KafkaJSProtocolError('broker said no');
  assert.equal(fromMessage.message, 'broker said no');
  assert.equal(fromMessage.type, 'UNKNOWN');
  assert.equal(fromMessage.retriable, true, 'kafkajs: retriable unless said otherwise');
  assert.equal(new KafkaJSProtocolError(Object.assign(new Error('no'), { retriable: false })).retriable, false);
  assert.equal(isRebalancing(new KafkaJSProtocolError(27)), true);
  // kafkajs' older names for five codes, which programs compare e.type with
  assert.equal(new KafkaJSProtocolError(6).type, 'NOT_LEADER_FOR_PARTITION');
  assert.equal(new KafkaJSProtocolError(15).type, 'GROUP_COORDINATOR_NOT_AVAILABLE');
  assert.equal(new KafkaJSProtocolError(16).type, 'NOT_COORDINATOR_FOR_GROUP');
  assert.equal(isRebalancing(new KafkaJSProtocolError(16)), true);
  assert.equal(isKafkaJSError(fromMessage), true);
});

test('retries exceeded wraps its cause; non-retriable classes say so', () => {
  const cause = new KafkaJSProtocolError(7);
  const e = new KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 1200 });
  assert.ok(e instanceof KafkaJSNonRetriableError && e instanceof KafkaJSError);
  assert.equal(e.name, 'KafkaJSNumberOfRetriesExceeded');
  assert.equal(e.cause, cause);
  assert.equal(e.retriable, false);
  assert.equal(e.retryCount, 5);
  assert.ok(new KafkaJSLockTimeout('lock') instanceof KafkaJSTimeout);
  assert.equal(new KafkaJSLockTimeout('lock').retriable, false);
});

test('Fjord-thrown topic metadata errors are KafkaJSTopicMetadataNotLoaded; deleteGroups errors keep both shapes', () => {
  const missing = new FjordTopicMetadataError('topic "x" does not exist', 'x', { retriable: false });
  assert.ok(missing instanceof KafkaJSTopicMetadataNotLoaded && missing instanceof KafkaJSMetadataNotLoaded);
  assert.equal(missing.topic, 'x');
  assert.equal(missing.retriable, false);
  const notFound = new KafkaJSProtocolError(69);
  const e = new KafkaJSDeleteGroupsError('Error deleting groups', [{ groupId: 'g', errorCode: 69, error: notFound }, { groupId: 'h', errorCode: 0 }]);
  assert.ok(e instanceof KafkaJSAggregateError && e instanceof KafkaJSError);
  assert.deepEqual(e.groups.map((g) => g.groupId), ['g', 'h']);
  assert.deepEqual(e.errors, [notFound]);
});
