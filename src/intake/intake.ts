// The intake handler: checks one webhook request step by step, then buffers the invoice and answers.
import { SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { Context, Next } from 'koa';
import { newPendingInvoice, type DeliveryOutcome, type PendingInvoice } from '../buffer/index.js';
import {
  IntakeError,
  invalidInvoice,
  malformedJson,
  unavailable,
  unsupportedEncoding,
  unsupportedMediaType,
} from './errors.js';
import { decodeUtf8, isUtf8Charset, rawBytes, scalarField } from './body.js';
import { WEBHOOK_ID, type IntakeJournal, type IntakeOptions } from './types.js';

/**
 * The intake stage: checks the media type, the bytes, the signature, the JSON and the schema, then
 * puts the invoice in the buffer and answers. Nothing here waits for SQS (in buffered mode).
 */
export class Intake {
  private readonly options: IntakeOptions;
  private readonly now: () => number;
  private lastFullLogMs = Number.NEGATIVE_INFINITY;
  private fullSinceLog = 0;

  constructor(options: IntakeOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
  }

  /** Runs before the body is read: cheap refusals first. */
  readonly precheck = async (ctx: Context, next: Next): Promise<void> => {
    if (!this.options.isAccepting()) throw this.notAccepting();
    const type = ctx.get('Content-Type');
    if (!ctx.is('application/json') || !isUtf8Charset(type)) throw unsupportedMediaType(type);
    // The body is forwarded and signed exactly as received, so compressed bodies are refused up front.
    const encoding = ctx.get('Content-Encoding');
    if (encoding !== '' && encoding.toLowerCase() !== 'identity') throw unsupportedEncoding(encoding);
    await next();
  };

  /** Runs after koa-body has read the raw body within the byte limit. */
  readonly handle = async (ctx: Context): Promise<void> => {
    const requestId = ctx.state.requestId as string;
    const raw = rawBytes(ctx);
    this.options.signature?.verify(raw, ctx.headers);
    // The Standard Webhooks message id, when the request has a sane one: a dedupe key and an SQS attribute.
    const idHeader = ctx.get('webhook-id');
    const webhookId = WEBHOOK_ID.test(idHeader) ? idHeader : undefined;

    let body: string;
    try {
      body = decodeUtf8(raw);
    } catch {
      throw malformedJson('request body is not valid UTF-8');
    }
    const invoice = this.validate(body);
    const invoiceId = invoice.id as string;
    const dedupeKey = this.options.dedupeKey === 'webhook-id' ? webhookId : invoiceId;

    if (dedupeKey !== undefined && this.options.dedupe !== undefined && (await this.options.dedupe.seen(dedupeKey))) {
      this.options.metrics.duplicates.add(1);
      ctx.status = 202;
      ctx.body = { status: 'duplicate', id: invoiceId, requestId };
      return;
    }

    let outcome: Promise<DeliveryOutcome> | undefined;
    try {
      ({ outcome } = await this.enqueue(invoice, body, requestId, webhookId));
    } catch (error) {
      if (dedupeKey !== undefined) await this.options.dedupe?.forget(dedupeKey); // not accepted: a retry is no repeat
      throw error;
    }
    if (outcome === undefined) {
      ctx.status = 202;
      ctx.body = { status: 'accepted', id: invoiceId, requestId };
      return;
    }
    const delivered = await outcome;
    if (delivered.status === 'sent') {
      ctx.status = 200;
      ctx.body = { status: 'sent', id: invoiceId, requestId, messageId: delivered.messageId };
      return;
    }
    if (delivered.status === 'dead_lettered') {
      if (dedupeKey !== undefined) await this.options.dedupe?.forget(dedupeKey); // refused for good: nothing is on its way
      throw new IntakeError(
        422,
        'rejected_by_sqs',
        `SQS refused the invoice for good (${delivered.code}): ${delivered.message}`,
        { reason: delivered.code, metricReason: 'not_delivered' },
      );
    }
    // Timed out or spilled at shutdown: the invoice is still on its way (or in the dead-letter file),
    // so the id stays in the dedupe window and a retry does not become a second copy.
    throw unavailable(
      `not confirmed by SQS: ${delivered.reason}`,
      this.options.flusher.retryAfterSeconds(),
      'not_delivered',
    );
  };

  private validate(body: string): Record<string, unknown> {
    const span = this.options.tracer?.startSpan('validate');
    try {
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch (error) {
        span?.setAttribute('invoice.validation.outcome', 'malformed_json');
        throw malformedJson(`request body is not valid JSON: ${(error as Error).message}`);
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        span?.setAttribute('invoice.validation.outcome', 'malformed_json');
        throw malformedJson('request body must be a JSON object');
      }
      const id = (value as { id?: unknown }).id;
      if (typeof id === 'string') span?.setAttribute('invoice.id', id);
      const result = this.options.validator.validate(value);
      if (!result.ok) {
        span?.setAttributes({
          'invoice.validation.outcome': 'invalid',
          'invoice.validation.violations': result.violations.length,
          'invoice.validation.truncated': result.truncated,
        });
        throw invalidInvoice(result.violations, result.truncated);
      }
      span?.setAttributes({ 'invoice.validation.outcome': 'valid', 'invoice.validation.violations': 0 });
      return value as Record<string, unknown>;
    } finally {
      span?.end();
    }
  }

  /**
   * Buffers the invoice (journaling it first when the journal is on). Returns a promise of its delivery
   * in confirmed mode, nothing in buffered mode.
   */
  private async enqueue(
    invoice: Record<string, unknown>,
    body: string,
    requestId: string,
    webhookId: string | undefined,
  ): Promise<{ outcome?: Promise<DeliveryOutcome> }> {
    const span = this.options.tracer?.startSpan('enqueue');
    try {
      const invoiceId = invoice.id as string;
      const attributes: Record<string, string> = { 'invoice-id': invoiceId, 'request-id': requestId };
      if (webhookId !== undefined) attributes['webhook-id'] = webhookId;
      // The accepting request's trace context travels with its own message (W3C traceparent/tracestate).
      propagation.inject(context.active(), attributes);
      const fifo = this.options.fifo;
      const groupId = fifo ? scalarField(invoice, fifo.groupIdField) : undefined;
      const dedupId = fifo ? scalarField(invoice, fifo.deduplicationIdField) : undefined;
      const spanContext = trace.getActiveSpan()?.spanContext();
      const entry = newPendingInvoice({
        invoiceId,
        requestId,
        body,
        attributes,
        ...(groupId ? { messageGroupId: groupId } : {}),
        ...(dedupId ? { messageDeduplicationId: dedupId } : {}),
        enqueuedAtMs: this.now(),
        ...(spanContext ? { spanContext } : {}),
      });
      // Checked again here: a request whose body was still arriving when shutdown began must not
      // slip into a buffer that has already been drained.
      if (!this.options.isAccepting()) throw this.notAccepting();
      if (this.options.journal?.full) {
        span?.setAttribute('webhook.enqueue.outcome', 'journal_full');
        throw unavailable('journal full (JOURNAL_MAX_BYTES)', this.options.flusher.retryAfterSeconds(), 'journal_full');
      }
      // Room in the buffer is held before the journal write, so a journaled invoice always fits after it.
      const pushed = this.options.buffer.reserve(entry.bytes);
      span?.setAttribute('webhook.buffer.depth', this.options.buffer.size);
      if (pushed !== 'ok') {
        span?.setAttribute('webhook.enqueue.outcome', pushed);
        this.logBufferFull(pushed);
        throw unavailable(
          pushed === 'full' ? 'buffer full' : 'buffer byte budget exhausted',
          this.options.flusher.retryAfterSeconds(),
          'buffer_full',
        );
      }
      if (this.options.journal !== undefined) {
        try {
          await this.writeAhead(this.options.journal, entry);
        } catch (error) {
          this.options.buffer.release(entry.bytes);
          // A drain may be waiting for this room to be filled: let it see the room is given back.
          this.options.flusher.notify();
          span?.setAttribute('webhook.enqueue.outcome', 'journal_unavailable');
          throw unavailable(
            `journal not writable: ${(error as Error).message}`,
            this.options.flusher.retryAfterSeconds(),
            'journal_unavailable',
          );
        }
      }
      const outcome = this.options.ackMode === 'confirmed' ? this.awaitDelivery(entry) : undefined;
      this.options.buffer.fill(entry, entry.bytes);
      span?.setAttribute('webhook.enqueue.outcome', 'ok');
      this.options.metrics.accepted.add(1);
      this.options.flusher.notify();
      return outcome === undefined ? {} : { outcome };
    } finally {
      span?.end();
    }
  }

  /** Writes the entry's journal record, inside a `journal` span (a child of the request's span). */
  private async writeAhead(journal: IntakeJournal, entry: PendingInvoice): Promise<void> {
    const span = this.options.tracer?.startSpan('journal');
    try {
      await journal.append(entry);
      if (entry.journalPosition !== undefined) {
        span?.setAttributes({
          'webhook.journal.segment': entry.journalPosition.segment,
          'webhook.journal.offset': entry.journalPosition.offset,
        });
      }
    } catch (error) {
      span?.recordException(error as Error);
      span?.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span?.end();
    }
  }

  private notAccepting(): IntakeError {
    const why = this.options.notAccepting?.() ?? { reason: 'shutting down', metricReason: 'shutting_down' };
    return unavailable(why.reason, 5, why.metricReason);
  }

  /**
   * confirmed mode: resolves with the SQS outcome. The entry stays in the pipeline even if the client
   * goes away or the wait times out, so it is sent exactly as in buffered mode; only the answer changes.
   */
  private awaitDelivery(entry: PendingInvoice): Promise<DeliveryOutcome> {
    return new Promise<DeliveryOutcome>((resolve) => {
      const timer = setTimeout(() => {
        entry.settle = undefined;
        resolve({ status: 'undelivered', reason: 'timed out waiting for SQS; the invoice stays queued for delivery' });
      }, this.options.confirmTimeoutMs ?? 10000);
      entry.settle = (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      };
    });
  }

  /** A full buffer is logged, at most once a second, with how many were turned away since. */
  private logBufferFull(why: string): void {
    this.fullSinceLog += 1;
    const now = this.now();
    if (now - this.lastFullLogMs < 1000) return;
    this.options.logger.warn(
      {
        why,
        rejectedSinceLastLog: this.fullSinceLog,
        depth: this.options.buffer.size,
        bytes: this.options.buffer.bytes,
      },
      'buffer full: answering 503',
    );
    this.lastFullLogMs = now;
    this.fullSinceLog = 0;
  }
}
