// The BatchTracer seam that wraps delivery's calls and deliveries in tracing, and the no-op tracer.
import type { PendingInvoice } from '../buffer/index.js';

/** Wraps each SendMessageBatch call in whatever tracing is configured. */
export interface BatchTracer {
  traceSend<T>(
    destination: string,
    entries: readonly PendingInvoice[],
    attempt: number,
    send: () => Promise<T>,
  ): Promise<T>;
  /** Optional: wraps one batch's whole delivery (every attempt, backoff and dead-lettering). */
  traceDelivery?<T>(destination: string, entries: readonly PendingInvoice[], deliver: () => Promise<T>): Promise<T>;
}

/** No tracing: calls straight through. */
export class NoopBatchTracer implements BatchTracer {
  traceSend<T>(
    _destination: string,
    _entries: readonly PendingInvoice[],
    _attempt: number,
    send: () => Promise<T>,
  ): Promise<T> {
    return send();
  }
}
