// Messages between WorkerBatchSender (intake thread) and sqs-worker.ts (SQS thread). Plain data only:
// they cross the thread boundary by structured clone.
import type { SqsBatchSenderOptions } from './sqs-sender.js';
import type { BatchResult, OutboundMessage } from './types.js';

export type SqsWorkerData = Omit<SqsBatchSenderOptions, 'client'>;

export type ToWorker =
  | {
      type: 'send';
      id: number;
      messages: readonly OutboundMessage[];
      /** The send span's context (traceparent, tracestate, baggage), empty with tracing off. */
      carrier: Record<string, string>;
    }
  | { type: 'close' };

/** What delivery reads from a failed call (see delivery/classify.ts): names, codes, the HTTP status. */
export interface WorkerError {
  name: string;
  message: string;
  code?: string;
  Code?: string;
  httpStatusCode?: number;
}

export type FromWorker =
  | { type: 'result'; id: number; result: BatchResult }
  | { type: 'error'; id: number; error: WorkerError }
  /** The SQS client is built (the AWS SDK loaded): batches are sent without delay from now on. */
  | { type: 'ready' }
  | { type: 'closed' };
