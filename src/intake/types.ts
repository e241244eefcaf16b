// The types the intake stage shares between its files: its options, signature checks, dedupe windows, the journal.
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { PendingInvoice, RingBuffer } from '../buffer/index.js';
import type { PipelineMetrics, RejectReason } from '../telemetry/metrics.js';
import type { InvoiceValidator } from '../validation/index.js';

/**
 * A Standard Webhooks message id: printable ASCII without spaces, as it is signed, logged and forwarded
 * to SQS.
 */
export const WEBHOOK_ID = /^[\x21-\x7e]{1,256}$/;

/** What intake needs from the flusher. */
export interface FlushSignal {
  notify(): void;
  retryAfterSeconds(): number;
}

/** Request headers by lower-case name, as Node gives them. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Checks a request's signature over its raw body; throws an IntakeError (401) when it fails. */
export interface SignatureCheck {
  verify(rawBody: Buffer, headers: RequestHeaders): void;
}

/** The crash-safe journal, as intake needs it: an invoice is accepted only once its record is durable. */
export interface IntakeJournal {
  /** At its size limit: turn invoices away. */
  readonly full: boolean;
  /** Resolves once the entry's record is on disk (fdatasync'ed); rejects when it could not be written. */
  append(entry: PendingInvoice): Promise<void>;
}

/** Remembers dedupe keys (invoice ids or webhook-ids) for a while, so repeats are answered without being sent again. */
export interface DedupeWindow {
  /** True when the key was seen inside the window; otherwise records it and returns false. */
  seen(key: string): boolean | Promise<boolean>;
  /** Forgets a key whose invoice was not accepted after all (e.g. the buffer was full). */
  forget(key: string): void | Promise<void>;
  /** Connects to a shared store, if any. */
  start?(): Promise<void>;
  /** Lets go of a shared store, if any. */
  close?(): Promise<void>;
}

export interface IntakeOptions {
  buffer: RingBuffer<PendingInvoice>;
  flusher: FlushSignal;
  validator: InvoiceValidator;
  metrics: PipelineMetrics;
  logger: Logger;
  /** `buffered`: 202 once enqueued. `confirmed`: 200 once SQS acknowledged. Default: buffered. */
  ackMode?: 'buffered' | 'confirmed';
  /** confirmed mode: longest wait for SQS before answering 503. Default: 10000. */
  confirmTimeoutMs?: number;
  /** FIFO queues: invoice fields for MessageGroupId and MessageDeduplicationId. */
  fifo?: { groupIdField: string; deduplicationIdField: string };
  signature?: SignatureCheck;
  dedupe?: DedupeWindow;
  /**
   * What identifies a repeat: the invoice `id`, or the Standard Webhooks `webhook-id` header (a sender's
   * retry of the same message; a request without it is not checked for repeats). Default: invoice-id.
   */
  dedupeKey?: 'invoice-id' | 'webhook-id';
  /** With the journal on: each invoice is written there before it is buffered and answered. Default: none. */
  journal?: IntakeJournal;
  tracer?: Tracer;
  /** False while starting or shutting down. */
  isAccepting: () => boolean;
  /** Why intake is not accepting, for the 503. Default: shutting down. */
  notAccepting?: () => { reason: string; metricReason: RejectReason };
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
}
