// The journal as the pipeline sees it: invoice records in, pending invoices back out after a crash.
import { ROOT_CONTEXT, TraceFlags, defaultTextMapGetter, trace, type SpanContext } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { newPendingInvoice, type PendingInvoice } from '../buffer/index.js';
import type { DeliveryLedger } from '../delivery/index.js';
import { receivedAt } from '../intake/message-attributes.js';
import type { JournalRecord } from './format.js';
import { JournalError } from './errors.js';
import { Journal } from './journal.js';
import type { JournalOptions, JournalPosition } from './types.js';

/** The journal's own options: InvoiceJournal only adds the invoice records on top. */
export type InvoiceJournalOptions = JournalOptions;

/**
 * The journal as the pipeline sees it: intake appends each accepted invoice before answering,
 * delivery retires it once SQS has it (or the dead-letter file does), and at start the invoices an
 * earlier run left are handed back as pending invoices, with their request id and trace context.
 */
export class InvoiceJournal implements DeliveryLedger {
  private readonly options: InvoiceJournalOptions;
  private readonly now: () => number;
  private journal: Journal | undefined;

  constructor(options: InvoiceJournalOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
  }

  /** Opens the directory and returns the invoices not yet retired, oldest first. Throws a JournalError. */
  async open(): Promise<PendingInvoice[]> {
    const { journal, recovered } = await Journal.open({
      dir: this.options.dir,
      maxBytes: this.options.maxBytes,
      logger: this.options.logger,
      ...(this.options.segmentMaxBytes === undefined ? {} : { segmentMaxBytes: this.options.segmentMaxBytes }),
      ...(this.options.observer === undefined ? {} : { observer: this.options.observer }),
      now: this.now,
    });
    this.journal = journal;
    return recovered.map(({ position, record, writtenAtMs }) => {
      const entry = pendingFromRecord(record, this.now(), writtenAtMs);
      entry.journalPosition = position;
      return entry;
    });
  }

  /** Bytes of segment files on disk. */
  get bytes(): number {
    return this.journal?.bytes ?? 0;
  }

  get segmentCount(): number {
    return this.journal?.segmentCount ?? 0;
  }

  /** At JOURNAL_MAX_BYTES: intake answers 503. */
  get full(): boolean {
    return this.journal?.full ?? false;
  }

  /** Writes the entry's record and resolves once it is durable. Rejects with a JournalError. */
  async append(entry: PendingInvoice): Promise<void> {
    if (this.journal === undefined) throw new JournalError('journal not open', 'write_failed');
    entry.journalPosition = await this.journal.append(recordOf(entry));
  }

  retire(entries: readonly PendingInvoice[]): void {
    if (this.journal === undefined) return;
    const positions: JournalPosition[] = [];
    for (const entry of entries) {
      if (entry.journalPosition === undefined) continue;
      positions.push(entry.journalPosition);
      entry.journalPosition = undefined; // retired once, whatever happens to the entry later
    }
    if (positions.length > 0) this.journal.retire(positions);
  }

  /** Resolves once every append made so far is durable or has failed. */
  async settled(): Promise<void> {
    await this.journal?.settled();
  }

  async close(): Promise<void> {
    await this.journal?.close();
  }
}

export function recordOf(entry: PendingInvoice): JournalRecord {
  return {
    i: entry.invoiceId,
    r: entry.requestId,
    b: entry.body,
    a: { ...entry.attributes },
    ...(entry.messageGroupId === undefined ? {} : { g: entry.messageGroupId }),
    ...(entry.messageDeduplicationId === undefined ? {} : { d: entry.messageDeduplicationId }),
  };
}

/**
 * The pending invoice a record describes, with the attributes it was accepted with (its `received-at` and
 * forwarded signature headers included). A record written before `received-at` existed has none: given
 * `writtenAtMs` (when its segment file was last written, never before the body was read), it gets that.
 */
export function pendingFromRecord(record: JournalRecord, enqueuedAtMs: number, writtenAtMs?: number): PendingInvoice {
  const spanContext = spanContextOf(record.a.traceparent);
  const attributes =
    record.a['received-at'] !== undefined || writtenAtMs === undefined
      ? record.a
      : { ...record.a, 'received-at': receivedAt(writtenAtMs) };
  return newPendingInvoice({
    invoiceId: record.i,
    requestId: record.r,
    body: record.b,
    attributes,
    ...(record.g === undefined ? {} : { messageGroupId: record.g }),
    ...(record.d === undefined ? {} : { messageDeduplicationId: record.d }),
    enqueuedAtMs,
    ...(spanContext === undefined ? {} : { spanContext }),
  });
}

/**
 * The W3C reader itself, not the global propagator: the attribute is a W3C traceparent by its name,
 * whatever OTEL_PROPAGATORS says and whether or not an SDK registered a propagator.
 */
const traceContext = new W3CTraceContextPropagator();

/**
 * The accepting request's span, from the W3C traceparent its message carries: the send span links to
 * it. Only the traceparent is read, as before: the tracestate stays in the message's attributes.
 */
function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  // Exactly a version-00 traceparent (55 characters): this service writes nothing else. The
  // propagator would also read later versions and a space either side, which the journal never has.
  if (traceparent?.length !== 55 || !traceparent.startsWith('00-')) return undefined;
  const spanContext = trace.getSpanContext(traceContext.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter));
  if (spanContext === undefined) return undefined;
  // Only the sampled bit, as before; the propagator keeps every bit of the flags byte.
  return { ...spanContext, traceFlags: spanContext.traceFlags & TraceFlags.SAMPLED };
}
