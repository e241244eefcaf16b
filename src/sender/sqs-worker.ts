// The SQS thread: runs an SqsBatchSender for the intake thread's WorkerBatchSender (worker-sender.ts).
// Building, signing and parsing a SendMessageBatch call costs the AWS SDK real CPU and garbage
// (bench/results has the profiles); here that work runs off the event loop that answers webhooks.
//
// With `node --require dist/src/telemetry/preload.js`, Node preloads the same module in this thread
// too, so the OpenTelemetry SDK is started here before the AWS SDK is loaded, and the AWS SDK and
// outgoing HTTP spans are made (and exported) by this thread, under the intake thread's send span.
import { parentPort, workerData } from 'node:worker_threads';
import { ROOT_CONTEXT, context, propagation } from '@opentelemetry/api';
import { telemetry } from '../telemetry/handle.js';
import { keepCarrierContext } from '../telemetry/carrier-context.js';
import { SqsBatchSender } from './sqs-sender.js';
import type { FromWorker, SqsWorkerData, ToWorker, WorkerError } from './worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('sqs-worker.js runs as a worker thread (see worker-sender.ts)');

const sender = new SqsBatchSender(workerData as SqsWorkerData);

function post(message: FromWorker): void {
  port?.postMessage(message);
}

/** The fields delivery's classification and logs read from a failed call, as plain data. */
function toWorkerError(error: unknown): WorkerError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e = error as Error & { code?: unknown; Code?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const status = e.$metadata?.httpStatusCode;
  return {
    name: e.name,
    message: e.message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.Code === 'string' ? { Code: e.Code } : {}),
    ...(typeof status === 'number' ? { httpStatusCode: status } : {}),
  };
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'send') {
    // The send span's context, marked so the AWS SDK instrumentation leaves each message's own
    // traceparent in place (see propagation.ts).
    const parent = keepCarrierContext(propagation.extract(ROOT_CONTEXT, message.carrier));
    context
      .with(parent, () => sender.send(message.messages))
      .then(
        (result) => post({ type: 'result', id: message.id, result }),
        (error: unknown) => post({ type: 'error', id: message.id, error: toWorkerError(error) }),
      );
    return;
  }
  // 'close': the intake thread has drained; flush this thread's spans and end.
  void sender
    .close()
    .then(() => telemetry().shutdown())
    .finally(() => {
      post({ type: 'closed' });
      port.close();
    });
});

post({ type: 'ready' });
