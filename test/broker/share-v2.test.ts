// ShareFetch / ShareAcknowledge v2 (Kafka 4.2: ShareAcquireMode, IsRenewAck and the Renew
// acknowledge type, KIP-1206 / KIP-1222) against a real broker over TCP with raw requests: a Renew
// keeps records acquired past their first lock, a renewing ShareFetch acquires nothing, and the
// refusals (Renew before v2, a renewing fetch asking for records, an unknown acquire mode, renewing
// what the member does not hold).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKey } from '../../src/protocol/apis.js';
import { ErrorCode } from '../../src/protocol/generated/errors.js';
import { RawConnection, type Message } from '../raw-client.js';
import { kafkaFor, uniqueTopic, withBroker } from '../helpers.js';

const ACCEPT = 1;
const RENEW = 4;
const LOCK_MS = 3000;

test('ShareFetch / ShareAcknowledge v2: Renew keeps records acquired, renewing fetches acquire nothing, refusals', { timeout: 60000 }, async () => {
  const broker = await withBroker();
  const topic = uniqueTopic('share-v2');
  await broker.broker.createTopic(topic, 1);
  const topicId = broker.broker.storage.topic(topic)!.topicId;
  const conn = await RawConnection.connect(broker.port);
  let corr = 1;
  const req = (key: number, version: number, body: Message) => conn.request(key, version, body, corr++);
  try {
    const versions = await req(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    for (const key of [ApiKey.ShareFetch, ApiKey.ShareAcknowledge]) {
      assert.equal(versions.apiKeys.find((a: Message) => a.apiKey === key)?.maxVersion, 2, `API ${key} up to v2`);
    }
    await req(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: 32, resourceName: 'g2', configs: [
      { name: 'share.auto.offset.reset', configOperation: 0, value: 'earliest' },
      { name: 'share.record.lock.duration.ms', configOperation: 0, value: String(LOCK_MS) },
    ] }], validateOnly: false });
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    await producer.disconnect();
    const hb = await req(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'g2', memberId: 'm1', memberEpoch: 0, rackId: null, subscribedTopicNames: [topic] });
    assert.equal(hb.errorCode, 0);

    let epoch = 0;
    const fetch = async (body: Message, acks: Message[] = [], expectError = false): Promise<Message> => {
      const r = await req(ApiKey.ShareFetch, 2, {
        groupId: 'g2', memberId: 'm1', shareSessionEpoch: epoch, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, maxRecords: 100, batchSize: 100,
        shareAcquireMode: 0, isRenewAck: false, topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: acks }] }], forgottenTopicsData: [], ...body,
      });
      if (!expectError) assert.equal(r.errorCode, 0, r.errorMessage);
      if (r.errorCode === 0) epoch++;
      return r;
    };
    const renewing = { maxWaitMs: 0, minBytes: 0, maxBytes: 0, maxRecords: 0, isRenewAck: true };

    const first = await fetch({});
    const acquiredAt = Date.now();
    assert.equal(first.acquisitionLockTimeoutMs, LOCK_MS);
    assert.deepEqual(first.responses[0].partitions[0].acquiredRecords.map((a: Message) => [Number(a.firstOffset), Number(a.lastOffset)]), [[0, 2]]);

    // Refusals: an unknown acquire mode; a renewing fetch that asks for records.
    assert.equal((await fetch({ shareAcquireMode: 5 }, [], true)).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await fetch({ ...renewing, maxRecords: 10 }, [], true)).errorCode, ErrorCode.INVALID_REQUEST);
    // Renew before v2 is an unknown acknowledge type.
    const v1 = await req(ApiKey.ShareAcknowledge, 1, { groupId: 'g2', memberId: 'm1', shareSessionEpoch: epoch, topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 0, acknowledgeTypes: [RENEW] }] }] }] });
    epoch++;
    assert.equal(v1.responses[0].partitions[0].errorCode, ErrorCode.INVALID_REQUEST);

    // Renew 0-2 until well past their first lock: each renewal answers no error and no records.
    while (Date.now() - acquiredAt < LOCK_MS + 1000) {
      const r = await fetch(renewing, [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [RENEW] }]);
      const p = r.responses[0].partitions[0];
      assert.deepEqual([p.acknowledgeErrorCode, p.acquiredRecords, p.records?.length ?? 0], [0, [], 0]);
      await sleep(LOCK_MS / 6);
    }
    // ShareAcknowledge v2 renews too, and tells the lock duration.
    const ackRenew = await req(ApiKey.ShareAcknowledge, 2, { groupId: 'g2', memberId: 'm1', shareSessionEpoch: epoch, isRenewAck: true, topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [RENEW] }] }] }] });
    epoch++;
    assert.deepEqual([ackRenew.errorCode, ackRenew.acquisitionLockTimeoutMs, ackRenew.responses[0].partitions[0].errorCode], [0, LOCK_MS, 0]);
    // Renewing an offset this member does not hold.
    const stray = await fetch(renewing, [{ firstOffset: 7, lastOffset: 7, acknowledgeTypes: [RENEW] }]);
    assert.equal(stray.responses[0].partitions[0].acknowledgeErrorCode, ErrorCode.INVALID_RECORD_STATE);
    // Still held past the first lock: accepted by their holder.
    assert.ok(Date.now() - acquiredAt > LOCK_MS);
    const accepted = await req(ApiKey.ShareAcknowledge, 2, { groupId: 'g2', memberId: 'm1', shareSessionEpoch: epoch, isRenewAck: false, topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [ACCEPT] }] }] }] });
    epoch++;
    assert.equal(accepted.responses[0].partitions[0].errorCode, 0);
    // Acquire mode 1 (record_limit) fetches as usual.
    const after = await fetch({ shareAcquireMode: 1 });
    assert.equal(after.responses[0].partitions[0].acquiredRecords.length, 0);
  } finally {
    conn.socket.destroy();
    await broker.stop();
  }
});
