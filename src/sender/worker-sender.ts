// A BatchSender that sends each batch through an SqsBatchSender on its own thread (sqs-worker.ts).
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { context, propagation } from '@opentelemetry/api';
import type { BatchResult, BatchSender, OutboundMessage } from './types.js';
import { queueNameOf } from './types.js';
import type { FromWorker, SqsWorkerData, ToWorker, WorkerError } from './worker-protocol.js';

export type WorkerBatchSenderOptions = SqsWorkerData;

/** How long close() waits for the SQS thread to flush its spans and end before terminating it. */
const CLOSE_TIMEOUT_MS = 5000;

interface Pending {
  resolve(result: BatchResult): void;
  reject(error: Error): void;
}

/**
 * A {@link BatchSender} that hands each batch to an {@link SqsBatchSender} on its own thread
 * (sqs-worker.ts), so the event loop that answers webhooks never runs the AWS SDK's request
 * building, signing, response parsing, or the garbage collection they cause. Everything above it is
 * unchanged: the flusher still batches, and delivery still owns retries, bisecting and dead letters,
 * so a lost thread costs nothing but a retry. Whole-call failures come back as errors carrying the
 * same name, code and HTTP status the SDK's errors have, so delivery/classify.ts decides exactly as
 * it would in-thread.
 */
export class WorkerBatchSender implements BatchSender {
  readonly destination: string;
  private worker: Worker | undefined;
  private readonly started: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WorkerBatchSenderOptions) {
    this.destination = queueNameOf(options.queueUrl);
    // Started now, not on the first batch: loading the AWS SDK takes a few hundred milliseconds.
    const { worker, ready } = this.spawn();
    this.worker = worker;
    this.started = ready;
  }

  /** Resolves once the SQS thread has loaded the AWS SDK and built its client. */
  ready(): Promise<void> {
    return this.started;
  }

  send(messages: readonly OutboundMessage[]): Promise<BatchResult> {
    if (this.closed) return Promise.reject(workerError('SqsWorkerClosed', 'the SQS sender is closed'));
    const worker = this.worker ?? (this.worker = this.spawn().worker);
    const id = this.nextId++;
    // The active context is delivery's send span: the AWS SDK span on the other thread nests under it.
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // A call in flight keeps the process alive, as an in-thread socket would.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ type: 'send', id, messages, carrier } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (worker === undefined) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToWorker);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS)),
    );
    if ((await Promise.race([exited, timedOut])) === 'timeout') await worker.terminate();
    clearTimeout(timer);
  }

  /** A new SQS thread, and a promise that it has built its client (rejected if it ends first). */
  private spawn(): { worker: Worker; ready: Promise<void> } {
    const worker = new Worker(path.join(__dirname, 'sqs-worker.js'), {
      workerData: this.options satisfies SqsWorkerData,
      name: 'sqs-sender',
    });
    worker.unref();
    let markReady = (): void => undefined;
    let failStart: (error: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    // Nobody may ask (tests that never start the service); a failure then surfaces on the first send.
    ready.catch(() => undefined);
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') return markReady();
      if (message.type === 'closed') return;
      const call = this.pending.get(message.id);
      if (call === undefined) return;
      this.pending.delete(message.id);
      if (this.pending.size === 0) worker.unref();
      if (message.type === 'result') call.resolve(message.result);
      else call.reject(fromWorkerError(message.error));
    });
    // An uncaught error ends the thread ('exit' follows). Calls in flight fail as retryable errors;
    // delivery backs off and sends them again, and the next send starts a new thread.
    let failure: Error | undefined;
    worker.on('error', (error) => (failure = error));
    worker.on('exit', (code) => {
      const why = failure ? `: ${failure.message}` : '';
      failStart(new Error(`the SQS thread ended (exit code ${code}) before it was ready${why}`));
      if (this.worker === worker) this.worker = undefined;
      const reason = failure ? `the SQS thread failed${why}` : 'the SQS thread exited';
      for (const call of this.pending.values()) call.reject(workerError('SqsWorkerExited', reason));
      this.pending.clear();
    });
    return { worker, ready };
  }
}

function workerError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** An Error with the SDK error's fields that classify.ts and the logs read. */
function fromWorkerError(data: WorkerError): Error {
  return Object.assign(workerError(data.name, data.message), {
    ...(data.code === undefined ? {} : { code: data.code }),
    ...(data.Code === undefined ? {} : { Code: data.Code }),
    ...(data.httpStatusCode === undefined ? {} : { $metadata: { httpStatusCode: data.httpStatusCode } }),
  });
}
