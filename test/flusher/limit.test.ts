import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CallSample } from '../../src/delivery/index.js';
import {
  GradientConcurrencyLimit,
  type FlushPressure,
  type GradientConcurrencyLimitOptions,
} from '../../src/flusher/index.js';

const ok = (durationMs: number): CallSample => ({
  entries: 10,
  durationMs,
  outcome: 'ok',
  throttled: false,
  overloaded: false,
});
const throttled: CallSample = { entries: 10, durationMs: 5, outcome: 'error', throttled: true, overloaded: true };
const serverError: CallSample = { entries: 10, durationMs: 5, outcome: 'error', throttled: false, overloaded: true };
/** A 4xx refusal (bisected batch, access denied): says nothing about load. */
const clientError: CallSample = { entries: 10, durationMs: 1, outcome: 'error', throttled: false, overloaded: false };

/** The pump pressing against the limit: all of it in use, a full batch waiting. */
const pressed = (inFlight: number): FlushPressure => ({ inFlight, fullBatchWaiting: true });

/** A limit on a fake clock, and a driver that feeds it calls as if every allowed slot were busy. */
function rig(options: GradientConcurrencyLimitOptions = {}) {
  const clock = { ms: 0 };
  const limit = new GradientConcurrencyLimit({ now: () => clock.ms, ...options });
  /** `calls` finished calls of `durationMs` each, with the limit fully used, the clock moving with them. */
  const run = (calls: number, durationMs: number): void => {
    for (let i = 0; i < calls; i += 1) {
      clock.ms += durationMs / limit.current;
      limit.observe(ok(durationMs), pressed(limit.current));
    }
  };
  return { clock, limit, run };
}

describe('GradientConcurrencyLimit', () => {
  test('starts at the initial limit and grows while the latency stays flat, up to max and no further', () => {
    const { limit, run } = rig({ initial: 8, min: 2, max: 40 });
    assert.equal(limit.current, 8);
    run(20, 30);
    const after20 = limit.current;
    assert.ok(after20 > 8, `flat latency lets the limit grow (8 -> ${after20})`);
    run(2000, 30);
    assert.equal(limit.current, 40, 'capped at max');
  });

  test('grows only while it holds a full batch back: all of it in use and a full batch waiting', () => {
    const { limit } = rig({ initial: 8, min: 2, max: 64 });
    for (let i = 0; i < 500; i += 1) limit.observe(ok(20), { inFlight: 7, fullBatchWaiting: true });
    assert.equal(limit.current, 8, 'not all of it in use');
    for (let i = 0; i < 500; i += 1) limit.observe(ok(20), { inFlight: 8, fullBatchWaiting: false });
    assert.equal(limit.current, 8, 'all in use, but only partial batches would leave');
    for (let i = 0; i < 5; i += 1) limit.observe(ok(20), pressed(limit.current));
    assert.ok(limit.current > 8, 'all of it in use with a full batch waiting: it grows');
  });

  test('shrinks when the latency rises above the long-term average, and grows back once it falls', () => {
    const { limit, run } = rig({ initial: 8, min: 2, max: 64 });
    run(2000, 20);
    assert.equal(limit.current, 64);
    run(30, 80); // SQS starts queueing: 4x the baseline
    const squeezed = limit.current;
    assert.ok(squeezed < 40, `the limit fell from 64 to ${squeezed}`);
    assert.ok(squeezed >= 2);
    run(3000, 20);
    assert.equal(limit.current, 64, 'the latency is back at its baseline: so is the limit');
  });

  test('throttling cuts the limit by the backoff ratio, once per round trip however many calls report it', () => {
    const { clock, limit, run } = rig({ initial: 8, min: 2, max: 64, backoffRatio: 0.5 });
    run(2000, 20);
    assert.equal(limit.current, 64);
    for (let i = 0; i < 10; i += 1) limit.observe(throttled, pressed(64)); // the calls in flight together
    assert.equal(limit.current, 32, 'one cut for one round trip');
    clock.ms += 25;
    limit.observe(throttled, pressed(32));
    assert.equal(limit.current, 16, 'a round trip later, still throttled: cut again');
  });

  test('5xx and timeouts cut it too, never below min; 4xx refusals leave it alone', () => {
    const { clock, limit, run } = rig({ initial: 16, min: 3, max: 16 });
    run(200, 20);
    assert.equal(limit.current, 16);
    for (let i = 0; i < 100; i += 1) limit.observe(clientError, pressed(16));
    assert.equal(limit.current, 16, '4xx says nothing about load');
    for (let i = 0; i < 20; i += 1) {
      clock.ms += 100;
      limit.observe(serverError, pressed(limit.current));
    }
    assert.equal(limit.current, 3, 'a long outage drives it to min and holds it there');
  });

  test('stays within its bounds under any mix of samples', () => {
    const { clock, limit } = rig({ initial: 5, min: 4, max: 12 });
    let seed = 7;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let i = 0; i < 5000; i += 1) {
      clock.ms += random() * 50;
      const r = random();
      limit.observe(r < 0.05 ? throttled : r < 0.1 ? serverError : ok(1 + random() * 200), {
        inFlight: Math.floor(random() * 14),
        fullBatchWaiting: random() < 0.5,
      });
      assert.ok(limit.current >= 4 && limit.current <= 12, `limit ${limit.current} left 4..12`);
    }
  });

  test('the initial limit is clamped into the bounds; impossible bounds are refused', () => {
    assert.equal(new GradientConcurrencyLimit({ initial: 100, min: 2, max: 10 }).current, 10);
    assert.equal(new GradientConcurrencyLimit({ initial: 1, min: 2, max: 10 }).current, 2);
    assert.throws(() => new GradientConcurrencyLimit({ min: 5, max: 4 }), RangeError);
    assert.throws(() => new GradientConcurrencyLimit({ min: 0, max: 4 }), RangeError);
  });
});
