import type { Logger } from 'pino';
import type { DeliveryOutcome, PendingInvoice } from '../buffer/index.js';
import type { DeadLetterReason, DeadLetterSink } from '../deadletter/index.js';
import { toOutboundMessages, type BatchResult, type BatchSender } from '../sender/index.js';
import type { PipelineMetrics } from '../telemetry/index.js';
import { backoffCeilingMs, backoffMs } from './backoff.js';
import {
  classifyCallFailure,
  classifyEntryFailure,
  entrySignalsOverload,
  errorCode,
  isThrottling,
  signalsOverload,
} from './classify.js';
import { NoopBatchTracer, type BatchTracer } from './tracing.js';

/** Where accepted invoices are kept until SQS has them (the journal). */
export interface DeliveryLedger {
  /** The entries reached SQS, or the dead-letter file: they need not be kept any longer. */
  retire(entries: readonly PendingInvoice[]): void;
}

/** Invoice ids per dead-letter log line. */
const IDS_PER_LOG_LINE = 100;
/** Invoice bodies (up to the body limit each) per log line when the dead-letter file cannot be written. */
const BODIES_PER_LOG_LINE = 10;

/** `items` in consecutive runs of at most `size`. */
function inChunks<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

export interface BatchDeliveryOptions {
  sender: BatchSender;
  deadLetter: DeadLetterSink;
  /**
   * Keeps every entry until it is retired here. With a ledger, what shutdown cannot deliver in time
   * stays in the ledger for the next start instead of going to the dead-letter file. Default: none.
   */
  ledger?: DeliveryLedger;
  metrics: PipelineMetrics;
  logger: Logger;
  /** First retry backoff; doubles per attempt, full jitter. Default: 100. */
  retryBaseMs?: number;
  /** Backoff cap. Default: 5000. */
  retryMaxMs?: number;
  /**
   * Failed sends of one entry after which it is dead-lettered (`retries_exhausted`). Default: unlimited:
   * the service keeps an accepted invoice until SQS takes it; the replay tool gives up.
   */
  maxAttempts?: number;
  /** Spans around deliveries and sends. Default: none. */
  tracer?: BatchTracer;
  /** Told about every SendMessageBatch call, e.g. by an adaptive concurrency limit. Default: nobody. */
  onCall?: (sample: CallSample) => void;
  /** Injected for tests. Default: Math.random. */
  random?: () => number;
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
}

/** One SendMessageBatch call, as seen from delivery. */
export interface CallSample {
  /** Entries in the call. */
  readonly entries: number;
  readonly durationMs: number;
  /** `ok`: SQS answered (some entries may still have failed); `error`: the whole call failed. */
  readonly outcome: 'ok' | 'error';
  /** The call or some of its entries were throttled. */
  readonly throttled: boolean;
  /** The call or some of its entries failed in a way that says SQS is overloaded: throttling, 5xx, timeout. */
  readonly overloaded: boolean;
}

/** What delivery could not get into SQS once told to give up (see {@link BatchDelivery.abandon}). */
export interface ShutdownLoss {
  /** Invoices not delivered to SQS in time: kept in the ledger (journal) if there is one, else dead-lettered. */
  left: number;
  /** Of those, how many stay in the ledger (journal), to be sent at the next start. */
  kept: number;
  /** Of those, how many could be written neither to the ledger nor to the dead-letter file (lost). */
  lost: number;
}

type SendOutcome =
  | { kind: 'done'; retry: PendingInvoice[]; code: string; message: string }
  | { kind: 'bisect'; code: string; message: string };

/**
 * Gets batches into SQS, the way an OpenTelemetry exporter gets spans out (the flusher, like a
 * BatchSpanProcessor, only decides when a batch leaves): one SendMessageBatch call per attempt,
 * retries with capped, jittered backoff, splitting a batch SQS refuses for its content until the
 * refused entry is alone, dead-lettering what SQS refuses for good, and settling each entry's outcome
 * for whoever waits on it. Nothing handed to {@link deliver} is dropped: each entry ends acknowledged or
 * dead-lettered. Errors never escape; they are logged and counted.
 */
export class BatchDelivery {
  private readonly sender: BatchSender;
  private readonly deadLetter: DeadLetterSink;
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
  private abandoned = false;
  private readonly sleepers = new Set<() => void>();
  private readonly loss: ShutdownLoss = { left: 0, kept: 0, lost: 0 };

  constructor(options: BatchDeliveryOptions) {
    this.sender = options.sender;
    this.deadLetter = options.deadLetter;
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
    this.abandoned = true;
    for (const wake of this.sleepers) wake();
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
    const ok = await this.toDeadLetter(
      entries,
      'undelivered_at_shutdown',
      'ShutdownTimeout',
      'not delivered before SHUTDOWN_TIMEOUT_MS ran out',
    );
    if (!ok) this.loss.lost += entries.length;
  }

  private async deliverAll(entries: PendingInvoice[]): Promise<void> {
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
        await this.deliverAll(pending.slice(0, half));
        await this.deliverAll(pending.slice(half));
        return;
      }
      pending = await this.giveUpOnExhausted(outcome.retry, outcome.code, outcome.message);
      if (pending.length > 0) await this.sleep(backoffMs(attempt, this.retryBaseMs, this.retryMaxMs, this.random));
    }
  }

  /** Entries that have used up `maxAttempts` are dead-lettered; the rest are returned for another try. */
  private async giveUpOnExhausted(entries: PendingInvoice[], code: string, message: string): Promise<PendingInvoice[]> {
    if (this.maxAttempts === Number.POSITIVE_INFINITY) return entries;
    const exhausted = entries.filter((e) => e.attempts >= this.maxAttempts);
    if (exhausted.length === 0) return entries;
    await this.toDeadLetter(exhausted, 'retries_exhausted', code, message);
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
      const code = errorCode(error);
      const message = error instanceof Error ? error.message : String(error);
      const durationMs = this.now() - started;
      this.metrics.flushDuration.record(durationMs / 1000, { outcome: 'error' });
      this.metrics.sendFailures.add(1, { kind: 'call', code });
      const action = classifyCallFailure(error);
      this.onCall?.({
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
      this.consecutiveCallFailures += 1;
      // One line per failure streak, then every 10th: an outage must not flood the log.
      if (this.consecutiveCallFailures === 1 || this.consecutiveCallFailures % 10 === 0) {
        this.logger.warn(
          { code, err: message, count: entries.length, consecutiveFailures: this.consecutiveCallFailures },
          'SendMessageBatch failed; keeping the batch and retrying',
        );
      }
      for (const e of entries) e.attempts += 1;
      return { kind: 'done', retry: entries, code, message };
    }
    const durationMs = this.now() - started;
    this.metrics.flushDuration.record(durationMs / 1000, { outcome: 'ok' });
    this.metrics.batchesSent.add(1);
    this.onCall?.({
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

    const acknowledged: PendingInvoice[] = [];
    for (const success of result.successful) {
      const entry = entries[Number(success.id)];
      if (entry === undefined) continue;
      acknowledged.push(entry);
      settle(entry, { status: 'sent', messageId: success.messageId });
    }
    this.ledger?.retire(acknowledged);
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
    const codes = [...new Set(result.failed.map((f) => f.code))];
    if (retry.length > 0) {
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

  private async toDeadLetter(
    entries: PendingInvoice[],
    reason: DeadLetterReason,
    code: string,
    message: string,
  ): Promise<boolean> {
    this.metrics.deadLettered.add(entries.length, { reason, code });
    try {
      await this.deadLetter.write(entries, reason, code, message);
      // A drain that runs out of time can spill tens of thousands: bounded lines, numbered, never one huge line.
      const parts = inChunks(entries, IDS_PER_LOG_LINE);
      parts.forEach((part, i) =>
        this.logger.error(
          {
            reason,
            code,
            sqsMessage: message,
            count: entries.length,
            part: i + 1,
            parts: parts.length,
            invoiceIds: part.map((e) => e.invoiceId),
          },
          'invoices written to the dead-letter file',
        ),
      );
      this.ledger?.retire(entries);
      for (const e of entries) settle(e, deadOutcome(reason, code, message));
      return true;
    } catch (error) {
      const parts = inChunks(entries, BODIES_PER_LOG_LINE);
      parts.forEach((part, i) =>
        this.logger.fatal(
          {
            err: error,
            reason,
            code,
            count: entries.length,
            part: i + 1,
            parts: parts.length,
            invoiceIds: part.map((e) => e.invoiceId),
            bodies: part.map((e) => e.body),
          },
          this.ledger === undefined
            ? 'could not write dead letters; the invoices are in these log lines only'
            : 'could not write dead letters; the invoices stay in the journal and are tried again at the next start',
        ),
      );
      for (const e of entries) settle(e, deadOutcome(reason, code, message));
      return false;
    }
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

/** Tells whoever waits on the entry (confirmed ack mode) how it ended; once. */
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
