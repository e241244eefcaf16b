import type { Logger } from 'pino';
import type { DeliveryOutcome, PendingInvoice, RingBuffer } from '../buffer/index.js';
import type { DeadLetterReason, DeadLetterSink } from '../deadletter/index.js';
// Not '../sender/index.js': that loads the AWS SDK, which the intake thread does not need (see worker-sender.ts).
import { backoffMs, classifyCallFailure, classifyEntryFailure, errorCode } from '../sender/classify.js';
import { toOutboundMessages, type BatchResult, type BatchSender } from '../sender/types.js';
import type { PipelineMetrics } from '../telemetry/metrics.js';
import { SQS_BATCH_MAX_BYTES, hasFullBatch, takeBatch, type BatchLimits } from './batch.js';
import { NoopBatchTracer, type BatchTracer } from './tracing.js';

export interface FlusherOptions {
  buffer: RingBuffer<PendingInvoice>;
  sender: BatchSender;
  deadLetter: DeadLetterSink;
  metrics: PipelineMetrics;
  logger: Logger;
  /** Entries per SendMessageBatch. Default: 10. */
  batchMaxMessages?: number;
  /** Summed message bytes per batch. Default: 1 MiB (the SQS limit). */
  batchMaxBytes?: number;
  /** Longest the oldest entry waits for a fuller batch. Default: 10. */
  lingerMs?: number;
  /** Batches in flight at once (sending or backing off). Default: 8. */
  concurrency?: number;
  /** First retry backoff; doubles per attempt, full jitter. Default: 100. */
  retryBaseMs?: number;
  /** Backoff cap. Default: 5000. */
  retryMaxMs?: number;
  /**
   * FIFO queues: keep order within each message group. A batch never holds an entry whose group is
   * still in flight in another batch (it waits instead), so retries finish before later entries of
   * the same group leave. Default: false.
   */
  orderedGroups?: boolean;
  /** Spans around sends. Default: none. */
  tracer?: BatchTracer;
  /** Injected for tests. Default: Math.random. */
  random?: () => number;
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
}

/** How a drain ended. */
export interface DrainResult {
  /** Invoices not delivered to SQS in time; they were written to the dead-letter file. */
  left: number;
  /** Of those, how many could not even be written there (lost). */
  lost: number;
}

/**
 * Drains the buffer into SendMessageBatch calls in the background (the rules follow OpenTelemetry's
 * BatchSpanProcessorBase): a batch leaves when it is full by count or bytes, or when its oldest entry
 * has lingered long enough; at most `concurrency` batches are in flight. A batch keeps its entries
 * until each is acknowledged or dead-lettered, retrying with capped, jittered backoff: nothing taken
 * from the buffer is dropped. Errors never escape the loop; they are logged and counted.
 */
export class Flusher {
  private readonly buffer: RingBuffer<PendingInvoice>;
  private readonly sender: BatchSender;
  private readonly deadLetter: DeadLetterSink;
  private readonly metrics: PipelineMetrics;
  private readonly logger: Logger;
  private readonly limits: BatchLimits;
  private readonly lingerMs: number;
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly tracer: BatchTracer;
  private readonly orderedGroups: boolean;
  /** FIFO: message groups in flight, with how many of their entries. */
  private readonly groupsInFlight = new Map<string, number>();
  private readonly random: () => number;
  private readonly now: () => number;

  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDueAt = Number.POSITIVE_INFINITY;
  private draining = false;
  private abandoned = false;
  private consecutiveCallFailures = 0;
  private readonly sleepers = new Set<() => void>();
  private idleWaiters: (() => void)[] = [];
  private leftAtShutdown = 0;
  private lostAtShutdown = 0;

  constructor(options: FlusherOptions) {
    this.buffer = options.buffer;
    this.sender = options.sender;
    this.deadLetter = options.deadLetter;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.limits = {
      maxMessages: options.batchMaxMessages ?? 10,
      maxBytes: options.batchMaxBytes ?? SQS_BATCH_MAX_BYTES,
    };
    this.lingerMs = options.lingerMs ?? 10;
    this.concurrency = options.concurrency ?? 8;
    this.retryBaseMs = options.retryBaseMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
    this.tracer = options.tracer ?? new NoopBatchTracer();
    this.orderedGroups = options.orderedGroups ?? false;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
  }

  /** Batches being sent or waiting to be retried. */
  get batchesInFlight(): number {
    return this.inFlight;
  }

  /** True while SendMessageBatch calls keep failing as a whole (SQS unreachable, throttling...). */
  get sqsFailing(): boolean {
    return this.consecutiveCallFailures > 0;
  }

  /** A sensible Retry-After for a sender turned away: longer while SQS is failing. */
  retryAfterSeconds(): number {
    if (this.consecutiveCallFailures === 0) return 1;
    const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(this.consecutiveCallFailures, 30));
    return Math.max(1, Math.ceil(ceiling / 1000));
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

  private drainResult: Promise<DrainResult> | undefined;

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
      for (const wake of this.sleepers) wake();
      const rest = this.buffer.drain();
      if (rest.length > 0) await this.spill(rest);
      // Calls already on the wire finish within the SQS request timeout; their failures spill too.
      await this.whenIdle();
    }
    return { left: this.leftAtShutdown, lost: this.lostAtShutdown };
  }

  private whenIdle(): Promise<void> {
    if (this.inFlight === 0 && (this.buffer.isEmpty || this.abandoned)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.inFlight !== 0 || !(this.buffer.isEmpty || this.abandoned)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private pump(): void {
    while (!this.abandoned && this.inFlight < this.concurrency && !this.buffer.isEmpty) {
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
      this.inFlight += 1;
      this.trackGroups(batch, 1);
      // Each batch is delivered in its own trace context, never in that of the request that woke the flusher.
      const delivery = this.tracer.traceDelivery
        ? this.tracer.traceDelivery(this.sender.destination, batch, () => this.deliver(batch))
        : this.deliver(batch);
      delivery
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

  /** Gets every entry of a batch acknowledged or dead-lettered; retries until then. */
  private async deliver(entries: PendingInvoice[]): Promise<void> {
    let pending = entries;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (this.abandoned) {
        await this.spill(pending);
        return;
      }
      if (attempt > 0) this.metrics.retries.add(pending.length);
      const outcome = await this.sendOnce(pending, attempt);
      if (outcome.kind === 'bisect') {
        if (pending.length === 1) {
          await this.toDeadLetter(pending, 'rejected_by_sqs', outcome.code, outcome.message);
          return;
        }
        const half = Math.ceil(pending.length / 2);
        await this.deliver(pending.slice(0, half));
        await this.deliver(pending.slice(half));
        return;
      }
      pending = outcome.retry;
      if (pending.length > 0) await this.sleep(backoffMs(attempt, this.retryBaseMs, this.retryMaxMs, this.random));
    }
  }

  /** One SendMessageBatch call and the bookkeeping of its answer; returns what must be sent again. */
  private async sendOnce(
    entries: PendingInvoice[],
    attempt: number,
  ): Promise<{ kind: 'done'; retry: PendingInvoice[] } | { kind: 'bisect'; code: string; message: string }> {
    const messages = toOutboundMessages(entries);
    const started = this.now();
    this.metrics.sqsCalls.add(1);
    this.metrics.batchSize.record(entries.length);
    let result: BatchResult;
    try {
      result = await this.tracer.traceSend(this.sender.destination, entries, attempt, () => this.sender.send(messages));
    } catch (error) {
      const code = errorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      this.metrics.flushDuration.record((this.now() - started) / 1000, { outcome: 'error' });
      this.metrics.sendFailures.add(1, { kind: 'call', code });
      const action = classifyCallFailure(error);
      if (action === 'bisect') {
        this.logger.warn({ code, err: message, count: entries.length }, 'SQS refused the batch; splitting it');
        return { kind: 'bisect', code, message };
      }
      this.consecutiveCallFailures += 1;
      // One line per failure streak, then every 10th: an outage must not flood the log.
      if (this.consecutiveCallFailures === 1 || this.consecutiveCallFailures % 10 === 0) {
        this.logger.warn(
          { code, err: message, count: entries.length, consecutiveFailures: this.consecutiveCallFailures },
          'SendMessageBatch failed; keeping the batch and retrying',
        );
      }
      for (const e of entries) e.attempts += 1;
      return { kind: 'done', retry: entries };
    }
    this.metrics.flushDuration.record((this.now() - started) / 1000, { outcome: 'ok' });
    this.metrics.batchesSent.add(1);
    if (this.consecutiveCallFailures > 0) {
      this.logger.info({ afterFailures: this.consecutiveCallFailures }, 'SendMessageBatch recovered');
      this.consecutiveCallFailures = 0;
    }

    for (const success of result.successful) {
      const entry = entries[Number(success.id)];
      if (entry === undefined) continue;
      settle(entry, { status: 'sent', messageId: success.messageId });
    }
    this.metrics.messagesSent.add(result.successful.length);

    const retry: PendingInvoice[] = [];
    const refused = new Map<string, { code: string; message: string; entries: PendingInvoice[] }>();
    for (const failure of result.failed) {
      const entry = entries[Number(failure.id)];
      if (entry === undefined) continue;
      this.metrics.sendFailures.add(1, { kind: 'entry', code: failure.code });
      entry.attempts += 1;
      if (classifyEntryFailure(failure) === 'retry') {
        retry.push(entry);
      } else {
        const group = refused.get(failure.code) ?? { code: failure.code, message: failure.message, entries: [] };
        group.entries.push(entry);
        refused.set(failure.code, group);
      }
    }
    for (const group of refused.values()) {
      await this.toDeadLetter(group.entries, 'rejected_by_sqs', group.code, group.message);
    }
    // Entries SQS neither acknowledged nor refused (should not happen): keep them.
    const answered = result.successful.length + result.failed.length;
    if (answered < entries.length) {
      const seen = new Set([...result.successful.map((s) => s.id), ...result.failed.map((f) => f.id)]);
      entries.forEach((e, i) => {
        if (!seen.has(String(i))) retry.push(e);
      });
    }
    if (retry.length > 0) {
      this.logger.warn(
        { count: retry.length, codes: [...new Set(result.failed.map((f) => f.code))] },
        'SQS failed some entries; retrying them',
      );
    }
    return { kind: 'done', retry };
  }

  private async toDeadLetter(
    entries: PendingInvoice[],
    reason: DeadLetterReason,
    code: string,
    message: string,
  ): Promise<boolean> {
    this.metrics.deadLettered.add(entries.length, { reason, code });
    const invoiceIds = entries.map((e) => e.invoiceId);
    try {
      await this.deadLetter.write(entries, reason, code, message);
      this.logger.error({ reason, code, sqsMessage: message, invoiceIds }, 'invoices written to the dead-letter file');
      for (const e of entries) settle(e, deadOutcome(reason, code, message));
      return true;
    } catch (error) {
      this.logger.fatal(
        { err: error, reason, code, invoiceIds, bodies: entries.map((e) => e.body) },
        'could not write dead letters; the invoices are in this log line only',
      );
      for (const e of entries) settle(e, deadOutcome(reason, code, message));
      return false;
    }
  }

  /** Shutdown ran out of time: what has not reached SQS goes to the dead-letter file. */
  private async spill(entries: PendingInvoice[]): Promise<void> {
    this.leftAtShutdown += entries.length;
    const ok = await this.toDeadLetter(
      entries,
      'undelivered_at_shutdown',
      'ShutdownTimeout',
      'not delivered before SHUTDOWN_TIMEOUT_MS ran out',
    );
    if (!ok) this.lostAtShutdown += entries.length;
  }

  private sleep(ms: number): Promise<void> {
    if (this.abandoned) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

function settle(entry: PendingInvoice, outcome: DeliveryOutcome): void {
  const callback = entry.settle;
  if (callback === undefined) return;
  entry.settle = undefined;
  callback(outcome);
}

function deadOutcome(reason: DeadLetterReason, code: string, message: string): DeliveryOutcome {
  return reason === 'undelivered_at_shutdown'
    ? { status: 'undelivered', reason: message }
    : { status: 'dead_lettered', code, message };
}
