// The Flusher: pumps the buffer into batch deliveries in the background, and drains it at shutdown.
import type { Logger } from 'pino';
import type { PendingInvoice, RingBuffer } from '../buffer/index.js';
import type { BatchDelivery, ShutdownLoss } from '../delivery/index.js';
import { SQS_BATCH_MAX_BYTES, hasFullBatch, takeBatch, type BatchLimits } from './batch.js';
import { FixedConcurrencyLimit, type ConcurrencyLimit } from './limit.js';

export interface FlusherOptions {
  buffer: RingBuffer<PendingInvoice>;
  /** Gets each batch into SQS (retries, bisecting, dead letters). */
  delivery: BatchDelivery;
  logger: Logger;
  /** Entries per SendMessageBatch. Default: 10. */
  batchMaxMessages?: number;
  /** Summed message bytes per batch. Default: 1 MiB (the SQS limit). */
  batchMaxBytes?: number;
  /** Longest the oldest entry waits for a fuller batch. Default: 10. */
  lingerMs?: number;
  /** Batches in flight at once (sending or backing off), as a fixed limit. Default: 8. Ignored when `limit` is given. */
  concurrency?: number;
  /** Asked before each batch leaves how many may be in flight. Default: a fixed limit of `concurrency`. */
  limit?: ConcurrencyLimit;
  /**
   * FIFO queues: keep order within each message group. A batch never holds an entry whose group is
   * still in flight in another batch (it waits instead), so retries finish before later entries of
   * the same group leave. Default: false.
   */
  orderedGroups?: boolean;
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
  /** Told how long each entry waited in the buffer (ms) when its batch is taken. Default: nothing. */
  onTaken?: (waitedMs: number) => void;
}

/** How a drain ended: what was not delivered to SQS in time (see {@link ShutdownLoss}). */
export type DrainResult = ShutdownLoss;

/**
 * Pumps the buffer into batch deliveries in the background (the rules follow OpenTelemetry's
 * BatchSpanProcessorBase, with {@link BatchDelivery} as the exporter): a batch leaves when it is full
 * by count or bytes, or when its oldest entry has lingered long enough, and while fewer batches than
 * the concurrency limit are in flight. FIFO queues keep each message group's order.
 */
export class Flusher {
  private readonly buffer: RingBuffer<PendingInvoice>;
  private readonly delivery: BatchDelivery;
  private readonly logger: Logger;
  private readonly limits: BatchLimits;
  private readonly lingerMs: number;
  private readonly limit: ConcurrencyLimit;
  private readonly orderedGroups: boolean;
  /** FIFO: message groups in flight, with how many of their entries. */
  private readonly groupsInFlight = new Map<string, number>();
  private readonly now: () => number;
  private readonly onTaken: ((waitedMs: number) => void) | undefined;

  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Number.POSITIVE_INFINITY;
  private draining = false;
  private abandoned = false;
  private idleWaiters: (() => void)[] = [];
  private drainResult: Promise<DrainResult> | undefined;

  constructor(options: FlusherOptions) {
    this.buffer = options.buffer;
    this.delivery = options.delivery;
    this.logger = options.logger;
    this.limits = {
      maxMessages: options.batchMaxMessages ?? 10,
      maxBytes: options.batchMaxBytes ?? SQS_BATCH_MAX_BYTES,
    };
    this.lingerMs = options.lingerMs ?? 10;
    this.limit = options.limit ?? new FixedConcurrencyLimit(options.concurrency ?? 8);
    this.orderedGroups = options.orderedGroups ?? false;
    this.now = options.now ?? (() => performance.now());
    this.onTaken = options.onTaken;
  }

  /** Batches being sent or waiting to be retried. */
  get batchesInFlight(): number {
    return this.inFlight;
  }

  /** True while SendMessageBatch calls keep failing as a whole (SQS unreachable, throttling...). */
  get sqsFailing(): boolean {
    return this.delivery.sqsFailing;
  }

  /** A sensible Retry-After for a sender turned away: longer while SQS is failing. */
  retryAfterSeconds(): number {
    return this.delivery.retryAfterSeconds();
  }

  /** Tells the flusher the buffer has new entries. Cheap; call after every push. */
  notify(): void {
    this.pump();
  }

  /**
   * Sends everything still buffered, ignoring the linger, and waits for all batches to finish.
   * After `timeoutMs`, retries stop and whatever is not yet in SQS goes to the dead-letter file.
   * Runs once; later calls get the same answer.
   */
  drain(timeoutMs: number): Promise<DrainResult> {
    this.drainResult ??= this.runDrain(timeoutMs);
    return this.drainResult;
  }

  private async runDrain(timeoutMs: number): Promise<DrainResult> {
    this.draining = true;
    this.clearTimer();
    this.pump();
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.whenIdle().then(() => false),
      new Promise<boolean>((resolve) => {
        deadline = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(deadline);
    if (timedOut) {
      this.abandoned = true;
      this.delivery.abandon();
      await this.delivery.spill(this.buffer.takeAll());
      // Calls already on the wire finish within the SQS request timeout; their failures spill too.
      await this.whenIdle();
    }
    return { ...this.delivery.shutdownLoss };
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight === 0 && (this.settledIn || this.abandoned)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Nothing buffered and nothing on its way in: an invoice whose journal write is still running holds room
   * in the buffer, is answered 2xx once written, and must be drained too, not left to a journal that may
   * die with the pod.
   */
  private get settledIn(): boolean {
    return this.buffer.isEmpty && this.buffer.reservations === 0;
  }

  private checkIdle(): void {
    if (this.inFlight !== 0 || !(this.settledIn || this.abandoned)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    while (!this.abandoned && this.inFlight < this.limit.current && !this.buffer.isEmpty) {
      const oldest = this.buffer.peek() as PendingInvoice;
      const waitedMs = this.now() - oldest.enqueuedAtMs;
      if (!this.draining && waitedMs < this.lingerMs && !hasFullBatch(this.buffer, this.limits)) {
        this.armTimer(this.lingerMs - waitedMs);
        return;
      }
      const batch = this.orderedGroups
        ? takeBatch(this.buffer, this.limits, (e) => this.groupsInFlight.has(e.messageGroupId ?? ''))
        : takeBatch(this.buffer, this.limits);
      // FIFO: the oldest entry's group is busy; the batch carrying it will pump again when done.
      if (batch.length === 0) break;
      if (this.onTaken) {
        const takenAtMs = this.now();
        for (const entry of batch) this.onTaken(takenAtMs - entry.enqueuedAtMs);
      }
      this.inFlight += 1;
      this.trackGroups(batch, 1);
      this.delivery
        .deliver(batch)
        .catch((error: unknown) => {
          // deliver() handles its own failures; reaching here is a bug, and the entries are at risk.
          this.logger.error({ err: error, count: batch.length }, 'flusher: unexpected error while delivering');
        })
        .finally(() => {
          this.inFlight -= 1;
          this.trackGroups(batch, -1);
          this.pump();
          this.checkIdle();
        });
    }
    this.checkIdle();
  }

  private trackGroups(batch: readonly PendingInvoice[], delta: 1 | -1): void {
    if (!this.orderedGroups) return;
    for (const entry of batch) {
      const group = entry.messageGroupId ?? '';
      const count = (this.groupsInFlight.get(group) ?? 0) + delta;
      if (count <= 0) this.groupsInFlight.delete(group);
      else this.groupsInFlight.set(group, count);
    }
  }

  private armTimer(delayMs: number): void {
    const dueAt = this.now() + delayMs;
    if (this.timer !== undefined && this.timerDueAt <= dueAt) return;
    this.clearTimer();
    this.timerDueAt = dueAt;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerDueAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, Math.ceil(delayMs)),
    );
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = Number.POSITIVE_INFINITY;
  }
}
