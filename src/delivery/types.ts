// Delivery's public shapes: its options, the ledger it retires into, a call sample, and what shutdown lost.
import type { Logger } from 'pino';
import type { PendingInvoice } from '../buffer/index.js';
import type { DeadLetterSink } from '../deadletter/index.js';
import type { BatchSender } from '../sender/index.js';
import type { PipelineMetrics } from '../telemetry/index.js';
import type { BatchTracer } from './tracing.js';

/** Where accepted invoices are kept until SQS has them (the journal). */
export interface DeliveryLedger {
  /** The entries reached SQS, or the dead-letter file: they need not be kept any longer. */
  retire(entries: readonly PendingInvoice[]): void;
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

/** Entries SQS refused for good with one error code. */
export interface RefusedGroup {
  code: string;
  message: string;
  entries: PendingInvoice[];
}

/** How one SendMessageBatch call ended: what to send again, or split the batch. */
export type SendOutcome =
  | { kind: 'done'; retry: PendingInvoice[]; code: string; message: string }
  | { kind: 'bisect'; code: string; message: string };
