// Admission control for the webhook route: whether a request is taken or shed as overloaded (CONTRACT §12).
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Admission control for the webhook route (CONTRACT §12): decides, before Koa and the body reader
 * run, whether a request is taken or shed with 503 `overloaded`. Two signals, as the field does it:
 *
 * - **In-flight requests** (Netflix concurrency-limits, Envoy's `max_active_requests`): a hard cap on
 *   requests taken and not yet answered. It bounds memory and the wait of requests that are parked on
 *   I/O (journal fsync, `confirmed` ack mode), where the event loop stays idle while work piles up.
 * - **Event-loop delay** (@fastify/under-pressure, Envoy's overload manager): when the loop falls
 *   behind, requests queue in the kernel where nothing sees them and every answer slows down. The
 *   signal is the *median* lateness of the loop's timer over a sample interval: one GC pause lifts
 *   the mean and the max, not the median, while a loop that is behind most of the interval lifts it.
 *   (The minimum, CoDel's reading of a standing queue, missed real overload: a saturated HTTP loop
 *   alternates long and short turns, and at twice its ceiling the minimum stayed low while answers
 *   took two seconds.) A loop can also be late because the machine's CPU went to
 *   other processes: then it mostly waits for the CPU, not on its own work, so the delay counts only
 *   when the loop was also busy (event-loop utilization) most of the interval. While both say
 *   overloaded, the share of requests admitted
 *   is cut by a factor each interval; while under, it climbs back by a step (AIMD), so that the work
 *   taken plus the cheap refusals fit the CPU and the accepted rate stays near its peak instead of
 *   switching between all and nothing.
 *
 * The admitted share is spread evenly (a credit counter, no randomness). Clock and sampler are
 * injectable for tests.
 */

/** One sample interval of the event loop. */
export interface LoopSample {
  /** The median lateness of the loop's timer in the interval, ms. */
  delayMs: number;
  /** Share of the interval the loop was busy (not waiting for I/O), 0..1. */
  utilization: number;
}

/** Where the event-loop signals come from. */
export interface LoopSampler {
  /**
   * The interval since the previous call. `elapsedMs` is its length: a loop that never got round to
   * its timer in it was late all of it.
   */
  take(elapsedMs: number): LoopSample;
  /** Stops sampling. */
  close?(): void;
}

/** perf_hooks' event-loop delay histogram and utilization, read (and reset) once per sample. */
export class EventLoopSampler implements LoopSampler {
  private readonly histogram: IntervalHistogram;
  private lastUtilization: EventLoopUtilization;

  /** @param resolutionMs the timer interval of the histogram. Default: 10 (under-pressure's). */
  constructor(private readonly resolutionMs = 10) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
    this.lastUtilization = performance.eventLoopUtilization();
  }

  take(elapsedMs: number): LoopSample {
    // The histogram records the whole interval between timer runs; lateness is what exceeds the resolution.
    const median = this.histogram.count > 0 ? this.histogram.percentile(50) / 1e6 : elapsedMs;
    this.histogram.reset();
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, this.lastUtilization).utilization;
    this.lastUtilization = now;
    return { delayMs: Math.max(0, median - this.resolutionMs), utilization };
  }

  close(): void {
    this.histogram.disable();
  }
}

export interface OverloadOptions {
  /** Most requests taken and not yet answered; 0 = no limit. */
  maxInFlightRequests: number;
  /** Median event-loop delay over a sample interval above which fewer requests are admitted; 0 = off. */
  maxEventLoopDelayMs: number;
  /** The delay counts only when the loop was busy at least this share of the interval. Default: 0.9. */
  minEventLoopUtilization?: number;
  /** Seconds in the shed answer's Retry-After. */
  retryAfterSeconds: number;
  /** How often the delay is sampled and the admitted share adjusted. Default: 100. */
  sampleIntervalMs?: number;
  /** Factor applied to the admitted share when the delay is over its limit. Default: 0.8. */
  decreaseFactor?: number;
  /** Added to the admitted share for each interval under the limit. Default: 0.1. */
  increaseStep?: number;
  /**
   * The admitted share never falls below this. Default: 0.2. At twice the sustained rate the share
   * that fits is about 0.25-0.35 (a refusal costs a third to a quarter of an accepted invoice); far
   * past that, or when the loop is late because the machine is starved of CPU, refusing more only
   * lowers the accepted rate without freeing enough CPU to matter (measured at 3000/s on a machine at
   * load average 23: a floor of 0.05 accepted 136/s where no shedding got 453/s).
   */
  minAdmitRatio?: number;
  /** Default: an {@link EventLoopSampler}, made only when `maxEventLoopDelayMs` > 0. */
  sampler?: LoopSampler;
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
}

/** Why a request was shed. */
export type ShedCause = 'in_flight' | 'event_loop_delay';

export class OverloadGuard {
  readonly retryAfterSeconds: number;
  private readonly maxInFlight: number;
  private readonly maxDelayMs: number;
  private readonly intervalMs: number;
  private readonly decrease: number;
  private readonly increase: number;
  private readonly minRatio: number;
  private readonly minUtilization: number;
  private readonly sampler: LoopSampler | undefined;
  private readonly now: () => number;
  private inFlightCount = 0;
  private ratio = 1;
  private credit = 0;
  private lastSampleMs: number;
  private lastSample: LoopSample = { delayMs: 0, utilization: 0 };

  constructor(options: OverloadOptions) {
    this.maxInFlight = options.maxInFlightRequests;
    this.maxDelayMs = options.maxEventLoopDelayMs;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.intervalMs = options.sampleIntervalMs ?? 100;
    this.decrease = options.decreaseFactor ?? 0.8;
    this.increase = options.increaseStep ?? 0.1;
    this.minRatio = options.minAdmitRatio ?? 0.2;
    this.minUtilization = options.minEventLoopUtilization ?? 0.9;
    this.now = options.now ?? (() => performance.now());
    this.sampler = this.maxDelayMs > 0 ? (options.sampler ?? new EventLoopSampler()) : undefined;
    this.lastSampleMs = this.now();
  }

  /** Requests taken and not yet answered. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** Share of requests admitted now (1 = all), from the event-loop delay. */
  get admitRatio(): number {
    return this.ratio;
  }

  /** The event loop's last sample interval. */
  get loop(): LoopSample {
    return this.lastSample;
  }

  /**
   * Takes the request (counted in flight until {@link release}) and returns undefined, or returns why
   * it is shed (then it was not counted).
   */
  admit(): ShedCause | undefined {
    if (this.maxInFlight > 0 && this.inFlightCount >= this.maxInFlight) return 'in_flight';
    if (this.sampler !== undefined) {
      this.adjust();
      if (this.ratio < 1) {
        this.credit += this.ratio;
        if (this.credit < 1) return 'event_loop_delay';
        this.credit -= 1;
      }
    }
    this.inFlightCount += 1;
    return undefined;
  }

  /** An admitted request was answered (or its connection closed). */
  release(): void {
    if (this.inFlightCount > 0) this.inFlightCount -= 1;
  }

  close(): void {
    this.sampler?.close?.();
  }

  /** Once per sample interval: cut the admitted share while the loop is late and busy, raise it otherwise. */
  private adjust(): void {
    const now = this.now();
    const elapsed = now - this.lastSampleMs;
    if (elapsed < this.intervalMs) return;
    this.lastSampleMs = now;
    const sample = (this.sampler as LoopSampler).take(elapsed);
    this.lastSample = sample;
    if (sample.delayMs > this.maxDelayMs && sample.utilization >= this.minUtilization) {
      this.ratio = Math.max(this.minRatio, this.ratio * this.decrease);
    } else {
      // Idle intervals (no request arrived to sample them) count as calm ones.
      const steps = Math.max(1, Math.floor(elapsed / this.intervalMs));
      this.ratio = Math.min(1, this.ratio + this.increase * steps);
      if (this.ratio === 1) this.credit = 0;
    }
  }
}

/** The guard the settings ask for (OVERLOAD_*), or none when both signals are off. */
export function overloadGuardFrom(config: {
  overloadMaxInFlightRequests: number;
  overloadMaxEventLoopDelayMs: number;
  overloadMinEventLoopUtilization: number;
  overloadRetryAfterSeconds: number;
}): OverloadGuard | undefined {
  if (config.overloadMaxInFlightRequests <= 0 && config.overloadMaxEventLoopDelayMs <= 0) return undefined;
  return new OverloadGuard({
    maxInFlightRequests: config.overloadMaxInFlightRequests,
    maxEventLoopDelayMs: config.overloadMaxEventLoopDelayMs,
    minEventLoopUtilization: config.overloadMinEventLoopUtilization,
    retryAfterSeconds: config.overloadRetryAfterSeconds,
  });
}
