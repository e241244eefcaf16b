import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OverloadGuard, overloadGuardFrom, type LoopSampler, type OverloadOptions } from '../../src/intake/overload.js';

/** A guard on a fake clock, fed event-loop delays by hand (one value per sample taken). */
function rig(options: Partial<OverloadOptions> = {}) {
  const clock = { ms: 0 };
  const delays = { next: 0, utilization: 1, taken: 0 };
  const sampler: LoopSampler = {
    take: () => {
      delays.taken += 1;
      return { delayMs: delays.next, utilization: delays.utilization };
    },
  };
  const guard = new OverloadGuard({
    maxInFlightRequests: 0,
    maxEventLoopDelayMs: 40,
    retryAfterSeconds: 1,
    sampleIntervalMs: 100,
    sampler,
    now: () => clock.ms,
    ...options,
  });
  /** Offers `n` requests (each released at once, as a request answered in the same tick); returns how many were taken. */
  const offer = (n: number): number => {
    let taken = 0;
    for (let i = 0; i < n; i += 1) {
      if (guard.admit() === undefined) {
        taken += 1;
        guard.release();
      }
    }
    return taken;
  };
  /** One sample interval passes with the loop `delayMs` late, then one request samples it. */
  const interval = (delayMs: number): void => {
    delays.next = delayMs;
    clock.ms += 100;
    offer(1);
  };
  return { clock, delays, guard, offer, interval };
}

describe('OverloadGuard', () => {
  test('takes up to maxInFlightRequests unanswered requests, sheds the next as in_flight, and takes again once one is answered', () => {
    const { guard } = rig({ maxInFlightRequests: 3, maxEventLoopDelayMs: 0 });
    for (let i = 0; i < 3; i += 1) assert.equal(guard.admit(), undefined);
    assert.equal(guard.inFlight, 3);
    assert.equal(guard.admit(), 'in_flight');
    assert.equal(guard.inFlight, 3, 'a shed request is not counted in flight');
    guard.release();
    assert.equal(guard.admit(), undefined);
    assert.equal(guard.inFlight, 3);
  });

  test('with a calm event loop every request is taken', () => {
    const { offer, interval, guard } = rig();
    for (let i = 0; i < 20; i += 1) interval(5);
    assert.equal(offer(1000), 1000);
    assert.equal(guard.admitRatio, 1);
  });

  test('each interval over the delay limit cuts the admitted share by the factor, down to the floor', () => {
    const { guard, interval } = rig({ decreaseFactor: 0.5, minAdmitRatio: 0.1 });
    interval(80);
    assert.equal(guard.admitRatio, 0.5);
    assert.equal(guard.loop.delayMs, 80);
    interval(80);
    assert.equal(guard.admitRatio, 0.25);
    for (let i = 0; i < 10; i += 1) interval(80);
    assert.equal(guard.admitRatio, 0.1, 'never below minAdmitRatio');
  });

  test('a late loop that was mostly idle (the CPU went to other processes) sheds nothing', () => {
    const { guard, interval, delays, offer } = rig({ minEventLoopUtilization: 0.9 });
    delays.utilization = 0.4;
    for (let i = 0; i < 10; i += 1) interval(200);
    assert.equal(guard.admitRatio, 1);
    assert.equal(offer(100), 100);
    delays.utilization = 0.95;
    interval(200);
    assert.ok(guard.admitRatio < 1, 'busy and late: overloaded');
  });

  test('samples the delay once per interval, however many requests arrive in it', () => {
    const { delays, offer, clock } = rig();
    offer(500);
    assert.equal(delays.taken, 0, 'the first interval has not passed yet');
    clock.ms += 100;
    offer(500);
    assert.equal(delays.taken, 1);
    clock.ms += 99;
    offer(500);
    assert.equal(delays.taken, 1);
  });

  test('admits the share evenly: at 0.5, exactly one request in two', () => {
    const { guard, interval, offer } = rig({ decreaseFactor: 0.5 });
    interval(100);
    assert.equal(guard.admitRatio, 0.5);
    const results: boolean[] = [];
    for (let i = 0; i < 10; i += 1) {
      const cause = guard.admit();
      results.push(cause === undefined);
      if (cause === undefined) guard.release();
      else assert.equal(cause, 'event_loop_delay');
    }
    assert.equal(results.filter(Boolean).length, 5);
    for (let i = 1; i < results.length; i += 1) assert.notEqual(results[i], results[i - 1], 'alternates');
    assert.equal(offer(1000), 500);
  });

  test('climbs back by the step per calm interval, idle intervals included, to all requests', () => {
    const { guard, interval, clock, offer } = rig({ decreaseFactor: 0.5, increaseStep: 0.1 });
    interval(100);
    interval(100);
    assert.equal(guard.admitRatio, 0.25);
    interval(0);
    assert.ok(Math.abs(guard.admitRatio - 0.35) < 1e-9, `${guard.admitRatio}`);
    // Nothing arrived for a second: ten calm intervals.
    clock.ms += 1000;
    offer(1);
    assert.equal(guard.admitRatio, 1);
    assert.equal(offer(100), 100);
  });

  test('with the delay signal off it never samples and only the in-flight cap sheds', () => {
    const sampler: LoopSampler = {
      take: () => assert.fail('sampled with maxEventLoopDelayMs 0'),
    };
    const clock = { ms: 0 };
    const guard = new OverloadGuard({
      maxInFlightRequests: 2,
      maxEventLoopDelayMs: 0,
      retryAfterSeconds: 1,
      sampler,
      now: () => clock.ms,
    });
    clock.ms += 10000;
    assert.equal(guard.admit(), undefined);
    assert.equal(guard.admit(), undefined);
    assert.equal(guard.admit(), 'in_flight');
  });

  test('release never takes the in-flight count below zero', () => {
    const { guard } = rig({ maxInFlightRequests: 1 });
    guard.release();
    assert.equal(guard.inFlight, 0);
    assert.equal(guard.admit(), undefined);
    assert.equal(guard.admit(), 'in_flight');
  });

  test('overloadGuardFrom: none when both signals are off; the in-flight cap alone makes no sampler', () => {
    const settings = {
      overloadMaxInFlightRequests: 0,
      overloadMaxEventLoopDelayMs: 0,
      overloadMinEventLoopUtilization: 0.9,
      overloadRetryAfterSeconds: 2,
    };
    assert.equal(overloadGuardFrom(settings), undefined);
    const capOnly = overloadGuardFrom({ ...settings, overloadMaxInFlightRequests: 1 });
    assert.ok(capOnly);
    assert.equal(capOnly.retryAfterSeconds, 2);
    assert.equal(capOnly.admit(), undefined);
    assert.equal(capOnly.admit(), 'in_flight');
    capOnly.close();
  });
});
