// Gets batches of invoices into SQS: one call per attempt, retries with backoff, bisecting, dead-lettering.
import type { Logger } from 'pino';
import type { DeliveryOutcome, PendingInvoice } from '../buffer/index.js';
import { toOutboundMessages, type BatchResult, type BatchSender } from '../sender/index.js';
import type { PipelineMetrics } from '../telemetry/index.js';
import { BackoffSleeps, backoffCeilingMs, backoffMs } from './backoff.js';
import {
  classifyCallFailure,
  classifyEntryFailure,
  entrySignalsOverload,
  errorCode,
  isThrottling,
  signalsOverload,
} from './classify.js';
import { deadLetter, settle, type DeadLetterCause, type DeadLetterDeps } from './dead-letter.js';
import { NoopBatchTracer, type BatchTracer } from './tracing.js';
import type {
  BatchDeliveryOptions,
  CallSample,
  DeliveryLedger,
  RefusedGroup,
  SendOutcome,
  ShutdownLoss,
} from './types.js';

/**
 * Gets batches into SQS, as an OpenTelemetry exporter gets spans out (the flusher only decides when a
 * batch leaves): retries with capped, jittered backoff, bisects a batch SQS refuses for its content,
 * dead-letters what SQS refuses for good, and settles each entry's outcome. Nothing handed to
 * {@link deliver} is dropped. Errors never escape; they are logged and counted.
 */
export class BatchDelivery {
  private readonly sender: BatchSender;
  private readonly deadLetterDeps: DeadLetterDeps;
  private readonly ledger: DeliveryLedger | undefined;
  private readonly metrics: PipelineMetrics;
  private readonly logger: Logger;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxAttempts: number;
  private readonly tracer: BatchTracer;
  private readonly onCall: ((sample: CallSample) => void) | undefined;
  private readonly random: () => number;
  private readonly now: () => number;

  private consecutiveCallFailures = 0;
  private readonly sleeps = new BackoffSleeps();
  private readonly loss: ShutdownLoss = { left: 0, kept: 0, lost: 0 };

  constructor(options: BatchDeliveryOptions) {
    this.sender = options.sender;
    this.ledger = options.ledger;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.retryBaseMs = options.retryBaseMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
    this.maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.tracer = options.tracer ?? new NoopBatchTracer();
    this.onCall = options.onCall;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
    this.deadLetterDeps = {
      deadLetter: options.deadLetter,
      ledger: this.ledger,
      metrics: this.metrics,
      logger: this.logger,
    };
  }

  /** Name of the destination (the queue), for logs. */
  get destination(): string {
    return this.sender.destination;
  }

  /** True while SendMessageBatch calls keep failing as a whole (SQS unreachable, throttling...). */
  get sqsFailing(): boolean {
    return this.consecutiveCallFailures > 0;
  }

  /** A sensible Retry-After for a sender turned away: longer while SQS is failing. */
  retryAfterSeconds(): number {
    if (this.consecutiveCallFailures === 0) return 1;
    const ceiling = backoffCeilingMs(this.consecutiveCallFailures, this.retryBaseMs, this.retryMaxMs);
    return Math.max(1, Math.ceil(ceiling / 1000));
  }

  /** What {@link spill} has written to the dead-letter file (and failed to) so far. */
  get shutdownLoss(): Readonly<ShutdownLoss> {
    return this.loss;
  }

  /**
   * Gets every entry acknowledged by SQS or dead-lettered; retries until then. Each call runs in its
   * own trace context, never in that of whoever called it (a request that woke the flusher).
   */
  deliver(entries: PendingInvoice[]): Promise<void> {
    return this.tracer.traceDelivery
      ? this.tracer.traceDelivery(this.sender.destination, entries, () => this.deliverAll(entries))
      : this.deliverAll(entries);
  }

  /**
   * Stops retrying: backoffs end now, and whatever a delivery still holds, or is handed later, is
   * spilled to the dead-letter file. Calls already on the wire finish first. For the end of a drain.
   */
  abandon(): void {
    this.sleeps.wakeAll();
  }

  /**
   * Shutdown ran out of time: entries that have not reached SQS stay in the ledger (the journal) when
   * there is one, and go to the dead-letter file otherwise.
   */
  async spill(entries: PendingInvoice[]): Promise<void> {
    if (entries.length === 0) return;
    this.loss.left += entries.length;
    if (this.ledger !== undefined) {
      this.loss.kept += entries.length;
      const outcome: DeliveryOutcome = { status: 'undelivered', reason: 'kept in the journal for the next start' };
      for (const e of entries) settle(e, outcome);
      return;
    }
    const ok = await this.toDeadLetter(entries, {
      reason: 'undelivered_at_shutdown',
      code: 'ShutdownTimeout',
      message: 'not delivered before SHUTDOWN_TIMEOUT_MS ran out',
    });
    if (!ok) this.loss.lost += entries.length;
  }

  private async deliverAll(entries: PendingInvoice[]): Promise<void> {
    let pending = entries;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (this.sleeps.abandoned) {
        await this.spill(pending);
        return;
      }
      if (attempt > 0) this.metrics.retries.add(pending.length);
      const outcome = await this.sendOnce(pending, attempt);
      if (outcome.kind === 'bisect') {
        if (pending.length === 1) {
          await this.toDeadLetter(pending, { reason: 'rejected_by_sqs', code: outcome.code, message: outcome.message });
          return;
        }
        const half = Math.ceil(pending.length / 2);
        await this.deliverAll(pending.slice(0, half));
        await this.deliverAll(pending.slice(half));
        return;
      }
      pending = await this.giveUpOnExhausted(outcome.retry, outcome.code, outcome.message);
      if (pending.length > 0)
        await this.sleeps.sleep(backoffMs(attempt, this.retryBaseMs, this.retryMaxMs, this.random));
    }
  }

  /** Entries that have used up `maxAttempts` are dead-lettered; the rest are returned for another try. */
  private async giveUpOnExhausted(entries: PendingInvoice[], code: string, message: string): Promise<PendingInvoice[]> {
    if (this.maxAttempts === Number.POSITIVE_INFINITY) return entries;
    const exhausted = entries.filter((e) => e.attempts >= this.maxAttempts);
    if (exhausted.length === 0) return entries;
    await this.toDeadLetter(exhausted, { reason: 'retries_exhausted', code, message });
    return entries.filter((e) => e.attempts < this.maxAttempts);
  }

  /** One SendMessageBatch call and the bookkeeping of its answer; returns what must be sent again. */
  private async sendOnce(entries: PendingInvoice[], attempt: number): Promise<SendOutcome> {
    const messages = toOutboundMessages(entries);
    const started = this.now();
    this.metrics.sqsCalls.add(1);
    this.metrics.batchSize.record(entries.length);
    let result: BatchResult;
    try {
      result = await this.tracer.traceSend(this.sender.destination, entries, attempt, () => this.sender.send(messages));
    } catch (error) {
      return this.callFailed(entries, error, this.now() - started);
    }
    this.callAnswered(entries, result, this.now() - started);
    this.acknowledge(entries, result);
    const { retry, refused } = this.sortFailures(entries, result);
    for (const group of refused) {
      await this.toDeadLetter(group.entries, { reason: 'rejected_by_sqs', code: group.code, message: group.message });
    }
    if (retry.length > 0) {
      const codes = [...new Set(result.failed.map((f) => f.code))];
      this.logger.warn({ count: retry.length, codes }, 'SQS failed some entries; retrying them');
    }
    const last = result.failed[result.failed.length - 1];
    return {
      kind: 'done',
      retry,
      code: last?.code ?? 'Unanswered',
      message: last?.message ?? 'SQS did not report on the entry',
    };
  }

  /** The whole call failed: metrics, the concurrency sample, the failure-streak log; bisect or keep the batch. */
  private callFailed(entries: PendingInvoice[], error: unknown, durationMs: number): SendOutcome {
    const code = errorCode(error);
    const message = error instanceof Error ? error.message : String(error);
    this.metrics.flushDuration.record(durationMs / 1000, { outcome: 'error' });
    this.metrics.sendFailures.add(1, { kind: 'call', code });
    const action = classifyCallFailure(error);
    this.sampleConcurrency({
      entries: entries.length,
      durationMs,
      outcome: 'error',
      throttled: action === 'retry' && isThrottling(code),
      overloaded: signalsOverload(error),
    });
    if (action === 'bisect') {
      this.logger.warn({ code, err: message, count: entries.length }, 'SQS refused the batch; splitting it');
      return { kind: 'bisect', code, message };
    }
    this.logFailureStreak(code, message, entries.length);
    for (const e of entries) e.attempts += 1;
    return { kind: 'done', retry: entries, code, message };
  }

  /** SQS answered (some entries may still have failed): metrics, the concurrency sample, the end of a failure streak. */
  private callAnswered(entries: PendingInvoice[], result: BatchResult, durationMs: number): void {
    this.metrics.flushDuration.record(durationMs / 1000, { outcome: 'ok' });
    this.metrics.batchesSent.add(1);
    this.sampleConcurrency({
      entries: entries.length,
      durationMs,
      outcome: 'ok',
      throttled: result.failed.some((f) => isThrottling(f.code)),
      overloaded: result.failed.some(entrySignalsOverload),
    });
    if (this.consecutiveCallFailures > 0) {
      this.logger.info({ afterFailures: this.consecutiveCallFailures }, 'SendMessageBatch recovered');
      this.consecutiveCallFailures = 0;
    }
  }

  /** The seam for adaptive concurrency: every SendMessageBatch call, as a sample, to `onCall`. */
  private sampleConcurrency(sample: CallSample): void {
    this.onCall?.(sample);
  }

  /** One line per failure streak, then every 10th: an outage must not flood the log. */
  private logFailureStreak(code: string, message: string, count: number): void {
    this.consecutiveCallFailures += 1;
    if (this.consecutiveCallFailures === 1 || this.consecutiveCallFailures % 10 === 0) {
      this.logger.warn(
        { code, err: message, count, consecutiveFailures: this.consecutiveCallFailures },
        'SendMessageBatch failed; keeping the batch and retrying',
      );
    }
  }

  /** Entries SQS took: settled as sent, retired from the ledger, counted. */
  private acknowledge(entries: PendingInvoice[], result: BatchResult): void {
    const acknowledged: PendingInvoice[] = [];
    for (const success of result.successful) {
      const entry = entries[Number(success.id)];
      if (entry === undefined) continue;
      acknowledged.push(entry);
      settle(entry, { status: 'sent', messageId: success.messageId });
    }
    this.ledger?.retire(acknowledged);
    this.metrics.messagesSent.add(result.successful.length);
  }

  /**
   * Entries SQS failed: those to retry, and those it refused for good, grouped by error code. Entries SQS
   * neither acknowledged nor refused (should not happen) are retried.
   */
  private sortFailures(
    entries: PendingInvoice[],
    result: BatchResult,
  ): { retry: PendingInvoice[]; refused: Iterable<RefusedGroup> } {
    const retry: PendingInvoice[] = [];
    const refused = new Map<string, RefusedGroup>();
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
    const answered = result.successful.length + result.failed.length;
    if (answered < entries.length) {
      const seen = new Set([...result.successful.map((s) => s.id), ...result.failed.map((f) => f.id)]);
      entries.forEach((e, i) => {
        if (!seen.has(String(i))) retry.push(e);
      });
    }
    return { retry, refused: refused.values() };
  }

  private readonly toDeadLetter = (entries: PendingInvoice[], cause: DeadLetterCause): Promise<boolean> =>
    deadLetter(entries, cause, this.deadLetterDeps);
}
