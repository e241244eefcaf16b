import { TraceFlags, isSpanContextValid, type SpanContext } from '@opentelemetry/api';
import { newPendingInvoice, type PendingInvoice } from '../buffer/index.js';
import type { DeliveryLedger } from '../delivery/index.js';
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
    return recovered.map(({ position, record }) => {
      const entry = pendingFromRecord(record, this.now());
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

export function pendingFromRecord(record: JournalRecord, enqueuedAtMs: number): PendingInvoice {
  const spanContext = spanContextOf(record.a.traceparent);
  return newPendingInvoice({
    invoiceId: record.i,
    requestId: record.r,
    body: record.b,
    attributes: record.a,
    ...(record.g === undefined ? {} : { messageGroupId: record.g }),
    ...(record.d === undefined ? {} : { messageDeduplicationId: record.d }),
    enqueuedAtMs,
    ...(spanContext === undefined ? {} : { spanContext }),
  });
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The accepting request's span, from the W3C traceparent its message carries: the send span links to it. */
function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  const match = TRACEPARENT.exec(traceparent ?? '');
  if (match === null) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: parseInt(match[3] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}
