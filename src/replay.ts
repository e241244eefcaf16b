// `npm run replay -- <file>`: the command-line tool that sends a dead-letter file's records to SQS again.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createNoopMeter } from '@opentelemetry/api';
import pino from 'pino';
import { newPendingInvoice, type PendingInvoice } from './buffer/index.js';
import { ConfigError, loadConfig } from './config/index.js';
import { FileDeadLetterSink, type DeadLetterRecord } from './deadletter/index.js';
import { BatchDelivery } from './delivery/index.js';
import { SQS_BATCH_MAX_BYTES } from './flusher/index.js';
import { sqsSenderOptions } from './sender/index.js';
import { SqsBatchSender } from './sender/sqs-sender.js';
import { PipelineMetrics } from './telemetry/index.js';

/** Sends of one record (the first included) before the replay gives up on it and keeps it in `<file>.failed`. */
const REPLAY_MAX_ATTEMPTS = 6;

/**
 * Sends the records of a dead-letter file to SQS again (`npm run replay -- <file>`), using the same
 * configuration as the service (SQS_QUEUE_URL, SQS_ENDPOINT, AWS_REGION...) and the service's own
 * delivery (retries with backoff, bisecting, classification), one batch at a time. Records SQS still
 * refuses, or that fail {@link REPLAY_MAX_ATTEMPTS} times, are written to `<file>.failed` for another
 * look; the exit code is 0 only when everything was sent.
 */
async function replay(file: string): Promise<number> {
  const config = loadConfig();
  const sender = new SqsBatchSender(sqsSenderOptions(config, 1));
  const failedFile = `${file}.failed`;
  const delivery = new BatchDelivery({
    sender,
    deadLetter: new FileDeadLetterSink(failedFile),
    metrics: new PipelineMetrics(createNoopMeter()),
    logger: pino({ level: 'warn' }, pino.destination(2)),
    retryBaseMs: 200,
    retryMaxMs: config.retryMaxMs,
    maxAttempts: REPLAY_MAX_ATTEMPTS,
  });
  let sent = 0;
  let failed = 0;
  let batch: PendingInvoice[] = [];
  let batchBytes = 0;

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const entries = batch;
    batch = [];
    batchBytes = 0;
    await delivery.deliver(entries);
  };

  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo += 1;
    if (line.trim() === '') continue;
    let record: DeadLetterRecord;
    try {
      record = JSON.parse(line) as DeadLetterRecord;
    } catch {
      process.stderr.write(`replay: line ${lineNo} is not JSON; skipped\n`);
      failed += 1;
      continue;
    }
    const entry = fromRecord(record);
    entry.settle = (outcome) => {
      if (outcome.status === 'sent') {
        sent += 1;
        return;
      }
      failed += 1;
      const why = outcome.status === 'dead_lettered' ? `${outcome.code}: ${outcome.message}` : outcome.reason;
      process.stderr.write(`replay: ${record.invoiceId} refused again (${why})\n`);
    };
    if (
      batch.length === config.batchMaxMessages ||
      (batch.length > 0 && batchBytes + entry.bytes > SQS_BATCH_MAX_BYTES)
    ) {
      await flush();
    }
    batch.push(entry);
    batchBytes += entry.bytes;
    if (lineNo % 1000 === 0) process.stderr.write(`replay: ${lineNo} lines read, ${sent} sent, ${failed} failed\n`);
  }
  await flush();
  await sender.close();
  process.stdout.write(
    JSON.stringify({ file, sent, failed, ...(failed > 0 ? { failedFile } : {}), queueUrl: config.sqsQueueUrl }) + '\n',
  );
  return failed === 0 ? 0 : 1;
}

/** A dead-letter record as a pending invoice again, with the request id and attributes it was accepted with. */
function fromRecord(record: DeadLetterRecord): PendingInvoice {
  return newPendingInvoice({
    invoiceId: record.invoiceId,
    requestId: record.requestId,
    body: record.body,
    attributes: record.attributes,
    ...(record.messageGroupId === undefined ? {} : { messageGroupId: record.messageGroupId }),
    ...(record.messageDeduplicationId === undefined ? {} : { messageDeduplicationId: record.messageDeduplicationId }),
    enqueuedAtMs: performance.now(),
  });
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: npm run replay -- <dead-letter file>   (SQS_QUEUE_URL etc. as for the service)\n');
  process.exit(2);
}
replay(file).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`replay: ${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  },
);
