// How many batches may be in flight: a fixed limit, or an adaptive one after Netflix's Gradient2.
import type { CallSample } from '../delivery/index.js';

/**
 * How many batches the flusher may have in flight (being sent, or backing off before a retry). The
 * pump asks before each batch leaves, so a limit may change its answer at any time: an adaptive limit
 * learns from delivery's per-call samples (`BatchDeliveryOptions.onCall`).
 */
export interface ConcurrencyLimit {
  /** Batches allowed in flight now; at least 1. */
  readonly current: number;
}

/** A limit that never changes: `FLUSH_CONCURRENCY` when its bounds are equal. */
export class FixedConcurrencyLimit implements ConcurrencyLimit {
  constructor(readonly current: number) {
    if (!Number.isInteger(current) || current < 1) {
      throw new RangeError(`a concurrency limit must be a positive integer, got ${current}`);
    }
  }
}

/** How hard the flusher's pump is pressing against the limit when a call ends. */
export interface FlushPressure {
  /** Batches out (being sent or backing off), the one that just ended included. */
  readonly inFlight: number;
  /** A full batch is waiting in the buffer for a free slot. */
  readonly fullBatchWaiting: boolean;
}

export interface GradientConcurrencyLimitOptions {
  /** Limit to start from (clamped into the bounds). Default: 8. */
  initial?: number;
  /** Lower bound. Default: 2. */
  min?: number;
  /** Upper bound (also size the SQS socket pool to it). Default: 64. */
  max?: number;
  /** How far the short-term latency may rise above the long-term average before the limit shrinks. Default: 1.5. */
  latencyTolerance?: number;
  /** Calls in the short-term latency average. Default: 10. */
  shortWindowCalls?: number;
  /** Calls in the long-term latency average (the "no queueing" baseline). Default: 200. */
  longWindowCalls?: number;
  /** Share of each new estimate taken into the limit (the rest is the old limit). Default: 0.2. */
  smoothing?: number;
  /** Factor applied on throttling, 5xx or timeouts, at most once per round trip. Default: 0.75. */
  backoffRatio?: number;
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
}

/** Samples before the latency averages are trusted. */
const WARMUP_CALLS = 10;

/**
 * An adaptive limit in the manner of Netflix concurrency-limits' Gradient2 (itself after TCP Vegas),
 * plus AIMD's multiplicative decrease on overload. Calls in flight follow Little's law, so while the
 * latency stays flat more calls mean more throughput and the limit grows; once SQS (or this machine)
 * starts queueing, the latency rises above its long-term average and the limit shrinks by the same
 * ratio. Throttling, 5xx answers and timeouts cut it by `backoffRatio`, once per round trip: the calls
 * already in flight carry the same news. It grows only while it holds a full batch back, and never leaves
 * [min, max].
 *
 * Hand-written because npm has no maintained adaptive-limit package; the algorithm is
 * Gradient2's: gradient = clamp(tolerance × longRtt / shortRtt, 0.5, 1), new = limit × gradient + √limit.
 */
export class GradientConcurrencyLimit implements ConcurrencyLimit {
  readonly min: number;
  readonly max: number;
  private readonly tolerance: number;
  private readonly shortFactor: number;
  private readonly longFactor: number;
  private readonly smoothing: number;
  private readonly backoffRatio: number;
  private readonly now: () => number;
  private estimate: number;
  private shortRttMs = 0;
  private longRttMs = 0;
  private samples = 0;
  private lastBackoffAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: GradientConcurrencyLimitOptions = {}) {
    this.min = options.min ?? 2;
    this.max = options.max ?? 64;
    if (!Number.isInteger(this.min) || this.min < 1 || !Number.isInteger(this.max) || this.max < this.min) {
      throw new RangeError(`concurrency bounds must be integers with 1 <= min <= max, got ${this.min}..${this.max}`);
    }
    this.estimate = clamp(options.initial ?? 8, this.min, this.max);
    this.tolerance = options.latencyTolerance ?? 1.5;
    this.shortFactor = 2 / ((options.shortWindowCalls ?? 10) + 1);
    this.longFactor = 2 / ((options.longWindowCalls ?? 200) + 1);
    this.smoothing = options.smoothing ?? 0.2;
    this.backoffRatio = options.backoffRatio ?? 0.75;
    this.now = options.now ?? (() => performance.now());
  }

  get current(): number {
    return Math.floor(this.estimate);
  }

  /**
   * Learns from one finished SendMessageBatch call, told how hard the pump is pressing when it ended:
   * the limit grows only while it is what holds work back (all of it in use and a full batch waiting).
   * Netflix's Gradient2 grows from half use; here more calls than the backlog needs would only leave
   * batches emptier and cost CPU at both ends, which on a busy machine raises the latency it measures.
   */
  observe(sample: CallSample, pressure: FlushPressure): void {
    if (sample.overloaded) {
      this.backOff();
      return;
    }
    // A failed call's latency says nothing about queueing (refused batches, access errors).
    if (sample.outcome !== 'ok') return;
    const rtt = sample.durationMs;
    this.samples += 1;
    if (this.samples === 1) {
      this.shortRttMs = rtt;
      this.longRttMs = rtt;
    } else {
      this.shortRttMs += (rtt - this.shortRttMs) * this.shortFactor;
      this.longRttMs += (rtt - this.longRttMs) * this.longFactor;
    }
    // Latency fell well below the baseline (the queue at SQS drained): let the baseline follow quickly.
    if (this.longRttMs > 2 * this.shortRttMs) this.longRttMs *= 0.95;
    if (this.samples < WARMUP_CALLS || this.shortRttMs <= 0) return;
    const gradient = clamp((this.tolerance * this.longRttMs) / this.shortRttMs, 0.5, 1);
    if (gradient >= 1 && (pressure.inFlight < this.current || !pressure.fullBatchWaiting)) return;
    const target = this.estimate * gradient + Math.sqrt(this.estimate);
    this.estimate = clamp(this.estimate * (1 - this.smoothing) + target * this.smoothing, this.min, this.max);
  }

  private backOff(): void {
    const nowMs = this.now();
    // One cut per round trip: the calls that were already out when we cut report the same overload.
    if (nowMs - this.lastBackoffAtMs < Math.max(this.shortRttMs, 1)) return;
    this.lastBackoffAtMs = nowMs;
    this.estimate = clamp(this.estimate * this.backoffRatio, this.min, this.max);
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
