// ByteQueue: frames taken whole whether they sit in one chunk, span several, or arrive byte by byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteQueue } from '../../src/protocol/byte-queue.js';

test('take returns views inside one chunk and copies across chunks', () => {
  const q = new ByteQueue();
  q.push(Buffer.from([0, 0, 0, 3, 1, 2]));
  q.push(Buffer.from([3, 9]));
  assert.equal(q.length, 8);
  assert.equal(q.peekInt32(), 3);
  assert.deepEqual([...q.take(4)], [0, 0, 0, 3]);
  assert.deepEqual([...q.take(3)], [1, 2, 3]);
  assert.deepEqual([...q.take(1)], [9]);
  assert.equal(q.length, 0);
  assert.throws(() => q.take(1));
});

test('peekInt32 reads a size split over single-byte chunks', () => {
  const q = new ByteQueue();
  for (const b of [0, 0, 1, 2, 7]) q.push(Buffer.from([b]));
  assert.equal(q.peekInt32(), 258);
  q.take(4);
  assert.deepEqual([...q.take(1)], [7]);
  q.push(Buffer.from([1]));
  q.clear();
  assert.equal(q.length, 0);
});
