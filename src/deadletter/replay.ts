import { createReadStream } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { ConfigError, loadConfig } from '../config/index.js';
import { SqsBatchSender, classifyEntryFailure, toOutboundMessages } from '../sender/index.js';
import { sqsSenderOptions } from '../sender/options.js';
import type { DeadLetterRecord } from './file-sink.js';

/**
 * Sends the records of a dead-letter file to SQS again (`npm run replay -- <file>`), using the same
 * configuration as the service (SQS_QUEUE_URL, SQS_ENDPOINT, AWS_REGION...). Records SQS still refuses
 * are written to `<file>.failed` for another look; the exit code is 0 only when everything was sent.
 */
async function replay(file: string): Promise<number> {
  const config = loadConfig();
  const sender = new SqsBatchSender(sqsSenderOptions(config, 1));
  const failedFile = `${file}.failed`;
  let sent = 0;
  let failed = 0;
  let batch: DeadLetterRecord[] = [];

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const records = batch;
    batch = [];
    const messages = toOutboundMessages(records);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const result = await sender.send(messages);
        sent += result.successful.length;
        const again: string[] = [];
        for (const f of result.failed) {
          const record = records[Number(f.id)];
          if (record === undefined) continue;
          if (classifyEntryFailure(f) === 'retry' && attempt < 5) {
            again.push(f.id);
            continue;
          }
          failed += 1;
          await appendFile(failedFile, JSON.stringify({ ...record, code: f.code, message: f.message }) + '\n');
          process.stderr.write(`replay: ${record.invoiceId} refused again (${f.code}: ${f.message})\n`);
        }
        if (again.length === 0) return;
        messages.splice(0, messages.length, ...messages.filter((m) => again.includes(m.id)));
      } catch (error) {
        if (attempt >= 5) throw error;
        process.stderr.write(`replay: SendMessageBatch failed (${(error as Error).message}); retrying\n`);
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
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
    batch.push(record);
    if (batch.length === 10) await flush();
    if (lineNo % 1000 === 0) process.stderr.write(`replay: ${lineNo} lines read, ${sent} sent, ${failed} failed\n`);
  }
  await flush();
  await sender.close();
  process.stdout.write(
    JSON.stringify({ file, sent, failed, ...(failed > 0 ? { failedFile } : {}), queueUrl: config.sqsQueueUrl }) + '\n',
  );
  return failed === 0 ? 0 : 1;
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
