import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RingBuffer } from '../../src/buffer/index.js';

/** The buffer's one backing array, to show it never grows. */
function backingLength(buffer: RingBuffer<unknown>): number {
  return (buffer as unknown as { items: unknown[] }).items.length;
}

describe('RingBuffer', () => {
  test('items come out in the order they went in', () => {
    const buffer = new RingBuffer<string>({ capacity: 5 });
    for (const item of ['a', 'b', 'c']) assert.equal(buffer.push(item, 1), 'ok');
    assert.equal(buffer.size, 3);
    assert.equal(buffer.peek(), 'a');
    assert.deepEqual([buffer.shift(), buffer.shift(), buffer.shift()], ['a', 'b', 'c']);
    assert.equal(buffer.isEmpty, true);
  });

  test('a push beyond capacity is refused as full and leaves the contents untouched', () => {
    const buffer = new RingBuffer<number>({ capacity: 2 });
    assert.equal(buffer.push(1, 10), 'ok');
    assert.equal(buffer.push(2, 10), 'ok');
    assert.equal(buffer.push(3, 10), 'full');
    assert.equal(buffer.size, 2);
    assert.equal(buffer.bytes, 20);
    assert.deepEqual(buffer.takeAll(), [1, 2]);
  });

  test('a push that would exceed the byte budget is refused as over_bytes; a smaller one still fits', () => {
    const buffer = new RingBuffer<string>({ capacity: 10, maxBytes: 100 });
    assert.equal(buffer.push('a', 60), 'ok');
    assert.equal(buffer.push('b', 41), 'over_bytes');
    assert.equal(buffer.size, 1);
    assert.equal(buffer.bytes, 60);
    assert.equal(buffer.push('c', 40), 'ok');
    assert.equal(buffer.bytes, 100);
    assert.equal(buffer.push('d', 1), 'over_bytes');
  });

  test('shifting gives the bytes of the shifted item back to the budget', () => {
    const buffer = new RingBuffer<string>({ capacity: 10, maxBytes: 100 });
    buffer.push('a', 70);
    buffer.push('b', 30);
    assert.equal(buffer.shift(), 'a');
    assert.equal(buffer.bytes, 30);
    assert.equal(buffer.push('c', 70), 'ok');
  });

  test('wrapping around many times keeps FIFO order, exact byte counts and a backing array of fixed length', () => {
    const capacity = 7;
    const buffer = new RingBuffer<number>({ capacity, maxBytes: 1000 });
    const initialLength = backingLength(buffer);
    assert.equal(initialLength, capacity);
    let nextIn = 0;
    let nextOut = 0;
    // Uneven push/shift rhythms move head and tail around the ring at different speeds.
    for (let round = 0; round < 5000; round += 1) {
      const pushes = (round % 4) + 1;
      for (let i = 0; i < pushes && buffer.size < capacity; i += 1) {
        assert.equal(buffer.push(nextIn, nextIn % 13), 'ok');
        nextIn += 1;
      }
      const shifts = ((round * 7) % 4) + 1;
      for (let i = 0; i < shifts && !buffer.isEmpty; i += 1) {
        assert.equal(buffer.shift(), nextOut);
        nextOut += 1;
      }
      let expectedBytes = 0;
      for (let n = nextOut; n < nextIn; n += 1) expectedBytes += n % 13;
      assert.equal(buffer.bytes, expectedBytes);
      assert.equal(buffer.size, nextIn - nextOut);
    }
    assert.ok(nextIn > capacity * 100, `only ${nextIn} pushes: the ring did not wrap often`);
    assert.equal(backingLength(buffer), initialLength);
  });

  test('shift and peek on an empty buffer return undefined and change nothing', () => {
    const buffer = new RingBuffer<string>({ capacity: 3 });
    assert.equal(buffer.shift(), undefined);
    assert.equal(buffer.peek(), undefined);
    assert.equal(buffer.size, 0);
    assert.equal(buffer.bytes, 0);
    buffer.push('x', 5);
    assert.equal(buffer.shift(), 'x');
    assert.equal(buffer.shift(), undefined);
    assert.equal(buffer.bytes, 0);
  });

  test('drain returns everything oldest first and leaves the buffer empty and reusable', () => {
    const buffer = new RingBuffer<number>({ capacity: 4, maxBytes: 40 });
    buffer.push(1, 10);
    buffer.push(2, 10);
    buffer.shift();
    for (const n of [3, 4, 5]) buffer.push(n, 10); // wraps
    assert.deepEqual(buffer.takeAll(), [2, 3, 4, 5]);
    assert.equal(buffer.size, 0);
    assert.equal(buffer.bytes, 0);
    assert.deepEqual(buffer.takeAll(), []);
    assert.equal(buffer.push(6, 40), 'ok');
  });

  test('a capacity that is not a positive integer is refused', () => {
    assert.throws(() => new RingBuffer({ capacity: 0 }), RangeError);
    assert.throws(() => new RingBuffer({ capacity: 1.5 }), RangeError);
  });
});
