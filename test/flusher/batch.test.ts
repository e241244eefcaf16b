import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RingBuffer, newPendingInvoice, type PendingInvoice } from '../../src/buffer/index.js';
import { hasFullBatch, takeBatch } from '../../src/flusher/batch.js';

function entry(invoiceId: string, bodyBytes: number, attributes: Record<string, string> = {}): PendingInvoice {
  return newPendingInvoice({
    invoiceId,
    requestId: `req-${invoiceId}`,
    body: 'x'.repeat(bodyBytes),
    attributes,
    enqueuedAtMs: 0,
  });
}

function bufferOf(entries: PendingInvoice[], capacity = 100): RingBuffer<PendingInvoice> {
  const buffer = new RingBuffer<PendingInvoice>({ capacity });
  for (const e of entries) assert.equal(buffer.push(e, e.bytes), 'ok');
  return buffer;
}

const ids = (batch: PendingInvoice[]): string[] => batch.map((e) => e.invoiceId);

describe('takeBatch', () => {
  test('takes at most maxMessages entries, oldest first, and leaves the rest in order', () => {
    const buffer = bufferOf(Array.from({ length: 25 }, (_, i) => entry(`i${i}`, 10)));
    const limits = { maxMessages: 10, maxBytes: 1_000_000 };
    assert.deepEqual(
      ids(takeBatch(buffer, limits)),
      Array.from({ length: 10 }, (_, i) => `i${i}`),
    );
    assert.deepEqual(
      ids(takeBatch(buffer, limits)),
      Array.from({ length: 10 }, (_, i) => `i${i + 10}`),
    );
    assert.deepEqual(ids(takeBatch(buffer, limits)), ['i20', 'i21', 'i22', 'i23', 'i24']);
    assert.deepEqual(takeBatch(buffer, limits), []);
  });

  test('stops before the entry whose bytes, attributes included, would pass maxBytes', () => {
    const attributes = { 'invoice-id': 'inv_0123456789', 'request-id': 'req-0123456789' };
    const one = entry('a', 100, attributes);
    // messageBytes counts name + "String" + value for each attribute on top of the body.
    const attributeBytes = 'invoice-id'.length + 6 + 14 + 'request-id'.length + 6 + 14;
    assert.equal(one.bytes, 100 + attributeBytes);
    const buffer = bufferOf([one, entry('b', 100, attributes), entry('c', 100, attributes)]);
    // Room for two bodies of 100 plus attributes only if attributes are ignored: 2 * 100 + 1 < 2 * one.bytes.
    const batch = takeBatch(buffer, { maxMessages: 10, maxBytes: 2 * 100 + attributeBytes + 1 });
    assert.deepEqual(ids(batch), ['a']);
    assert.deepEqual(ids(takeBatch(buffer, { maxMessages: 10, maxBytes: 2 * one.bytes })), ['b', 'c']);
  });

  test('fills up to exactly maxBytes', () => {
    const buffer = bufferOf([entry('a', 300), entry('b', 300), entry('c', 400), entry('d', 1)]);
    assert.deepEqual(ids(takeBatch(buffer, { maxMessages: 10, maxBytes: 1000 })), ['a', 'b', 'c']);
    assert.deepEqual(ids(buffer.takeAll()), ['d']);
  });

  test('an entry bigger than maxBytes on its own leaves alone, and the next batch continues behind it', () => {
    const buffer = bufferOf([entry('small1', 10), entry('huge', 5000), entry('small2', 10), entry('small3', 10)]);
    const limits = { maxMessages: 10, maxBytes: 1000 };
    assert.deepEqual(ids(takeBatch(buffer, limits)), ['small1']);
    assert.deepEqual(ids(takeBatch(buffer, limits)), ['huge']);
    assert.deepEqual(ids(takeBatch(buffer, limits)), ['small2', 'small3']);
  });

  test('removes from the buffer exactly what it returns, bytes included', () => {
    const buffer = bufferOf([entry('a', 10), entry('b', 20), entry('c', 30)]);
    const batch = takeBatch(buffer, { maxMessages: 2, maxBytes: 1000 });
    assert.equal(buffer.size, 1);
    assert.equal(buffer.bytes, entry('c', 30).bytes);
    assert.equal(
      batch.reduce((sum, e) => sum + e.bytes, 0),
      30,
    );
  });
});

describe('hasFullBatch', () => {
  test('is false below maxMessages and below maxBytes, true once the count reaches maxMessages', () => {
    const limits = { maxMessages: 3, maxBytes: 1000 };
    const buffer = bufferOf([entry('a', 10), entry('b', 10)]);
    assert.equal(hasFullBatch(buffer, limits), false);
    buffer.push(entry('c', 10), 10);
    assert.equal(hasFullBatch(buffer, limits), true);
  });

  test('is true when the buffered bytes reach maxBytes even with few entries', () => {
    const limits = { maxMessages: 10, maxBytes: 1000 };
    const buffer = bufferOf([entry('a', 600)]);
    assert.equal(hasFullBatch(buffer, limits), false);
    buffer.push(entry('b', 400), 400);
    assert.equal(hasFullBatch(buffer, limits), true);
  });

  test('is false on an empty buffer', () => {
    assert.equal(hasFullBatch(bufferOf([]), { maxMessages: 1, maxBytes: 1 }), false);
  });
});

describe('takeBatch with a blocked predicate (FIFO groups in flight)', () => {
  test('stops at the first blocked entry instead of skipping it, so nothing overtakes it', () => {
    const buffer = bufferOf([entry('a', 10), entry('busy', 10), entry('c', 10)]);
    const limits = { maxMessages: 10, maxBytes: 1000 };
    const blocked = (e: PendingInvoice): boolean => e.invoiceId === 'busy';
    assert.deepEqual(ids(takeBatch(buffer, limits, blocked)), ['a']);
    assert.deepEqual(ids(takeBatch(buffer, limits, blocked)), []);
    assert.equal(buffer.size, 2);
    assert.deepEqual(ids(takeBatch(buffer, limits)), ['busy', 'c']);
  });
});
