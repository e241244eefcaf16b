import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TtlDedupeWindow } from '../../src/intake/index.js';

function windowWithClock(windowSeconds: number, maxEntries = 1000): { dedupe: TtlDedupeWindow; clock: { ms: number } } {
  const clock = { ms: 1_000 };
  return { dedupe: new TtlDedupeWindow({ windowSeconds, maxEntries, now: () => clock.ms }), clock };
}

describe('TtlDedupeWindow', () => {
  test('the first sighting of an id is new; a repeat inside the window is seen', () => {
    const { dedupe } = windowWithClock(60);
    assert.equal(dedupe.seen('inv_1'), false);
    assert.equal(dedupe.seen('inv_1'), true);
    assert.equal(dedupe.seen('inv_1'), true);
    assert.equal(dedupe.seen('inv_2'), false);
  });

  test('an id is forgotten once the window has passed since its first sighting', () => {
    const { dedupe, clock } = windowWithClock(60);
    dedupe.seen('inv_1');
    clock.ms += 59_999;
    assert.equal(dedupe.seen('inv_1'), true);
    clock.ms += 1;
    assert.equal(dedupe.seen('inv_1'), false, 'still remembered after 60 s');
    // That sighting starts a new window.
    clock.ms += 30_000;
    assert.equal(dedupe.seen('inv_1'), true);
  });

  test('repeats do not extend the window', () => {
    const { dedupe, clock } = windowWithClock(10);
    dedupe.seen('inv_1');
    for (let i = 0; i < 9; i += 1) {
      clock.ms += 1_000;
      assert.equal(dedupe.seen('inv_1'), true);
    }
    clock.ms += 1_000;
    assert.equal(dedupe.seen('inv_1'), false);
  });

  test('expired ids are evicted, so memory follows the traffic of one window', () => {
    const { dedupe, clock } = windowWithClock(1, 1_000_000);
    for (let i = 0; i < 10_000; i += 1) {
      clock.ms += 1; // 1000 new ids per simulated second
      dedupe.seen(`inv_${i}`);
    }
    assert.ok(dedupe.size <= 1_000, `${dedupe.size} ids held for a 1 s window at 1000 ids/s`);
    assert.ok(dedupe.size >= 999, `${dedupe.size} ids held: evicted ids still inside the window`);
    assert.equal(dedupe.seen('inv_9999'), true);
    assert.equal(dedupe.seen('inv_0'), false);
  });

  test('at maxEntries the oldest id is evicted even though its window has not passed', () => {
    const { dedupe } = windowWithClock(3600, 3);
    for (const id of ['a', 'b', 'c']) assert.equal(dedupe.seen(id), false);
    assert.equal(dedupe.seen('d'), false);
    assert.equal(dedupe.size, 3);
    assert.equal(dedupe.seen('b'), true);
    assert.equal(dedupe.seen('c'), true);
    assert.equal(dedupe.seen('d'), true);
    // 'a' was the oldest: forgotten early, so its repeat counts as new (and evicts 'b').
    assert.equal(dedupe.seen('a'), false);
    assert.equal(dedupe.seen('b'), false);
  });

  test('memory stays at maxEntries under a flood of distinct ids', () => {
    const { dedupe } = windowWithClock(3600, 500);
    for (let i = 0; i < 50_000; i += 1) dedupe.seen(`flood_${i}`);
    assert.equal(dedupe.size, 500);
    assert.equal(dedupe.seen('flood_49999'), true);
    assert.equal(dedupe.seen('flood_49500'), true);
    assert.equal(dedupe.seen('flood_49499'), false);
  });

  test('forget removes an id, so its next sighting is new; forgetting an unknown id is harmless', () => {
    const { dedupe } = windowWithClock(60);
    dedupe.seen('inv_1');
    dedupe.seen('inv_2');
    dedupe.forget('inv_1');
    dedupe.forget('never_seen');
    assert.equal(dedupe.seen('inv_1'), false);
    assert.equal(dedupe.seen('inv_1'), true);
    assert.equal(dedupe.seen('inv_2'), true);
  });

  test('a forgotten id that comes back is ordered by its new time, so expiry still evicts in order', () => {
    const { dedupe, clock } = windowWithClock(10);
    dedupe.seen('a');
    clock.ms += 5_000;
    dedupe.seen('b');
    dedupe.forget('a');
    clock.ms += 3_000;
    dedupe.seen('a'); // now newer than b
    clock.ms += 8_000; // b is 11 s old, a 8 s
    assert.equal(dedupe.seen('a'), true);
    assert.equal(dedupe.seen('b'), false);
  });

  test('with the default clock, a repeat right away is seen', () => {
    const dedupe = new TtlDedupeWindow({ windowSeconds: 60, maxEntries: 10 });
    assert.equal(dedupe.seen('inv_real'), false);
    assert.equal(dedupe.seen('inv_real'), true);
  });

  test('a window of zero or a non-positive maxEntries is refused', () => {
    assert.throws(() => new TtlDedupeWindow({ windowSeconds: 0, maxEntries: 10 }), RangeError);
    assert.throws(() => new TtlDedupeWindow({ windowSeconds: 10, maxEntries: 0 }), RangeError);
    assert.throws(() => new TtlDedupeWindow({ windowSeconds: Number.NaN, maxEntries: 10 }), RangeError);
  });
});
