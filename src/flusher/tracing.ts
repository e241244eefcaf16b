import type { PendingInvoice } from '../buffer/index.js';

/** Wraps each SendMessageBatch call in whatever tracing is configured. */
export interface BatchTracer {
  traceSend<T>(
    destination: string,
    entries: readonly PendingInvoice[],
    attempt: number,
    send: () => Promise<T>,
  ): Promise<T>;
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
