import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { newPendingInvoice, type PendingInvoice } from '../../../src/buffer/index.js';
import { FileDeadLetterSink } from '../../../src/deadletter/index.js';
import { makeInvoice } from '../../support/invoices.js';
import { sqsQueue } from '../../support/pipeline.js';
import { REPO_ROOT, tempDir } from '../../support/service.js';
import { attribute, localstack } from '../../support/sqs.js';

function pending(body: string, requestId: string): PendingInvoice {
  const invoiceId = (JSON.parse(body) as { id: string }).id;
  return newPendingInvoice({
    invoiceId,
    requestId,
    body,
    attributes: { 'invoice-id': invoiceId, 'request-id': requestId },
    enqueuedAtMs: 0,
  });
}

function runReplay(file: string, queueUrl: string) {
  return spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist/src/replay.js'), file], {
    env: {
      PATH: process.env.PATH ?? '',
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: localstack.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
    encoding: 'utf8',
  });
}

describe('npm run replay', () => {
  it('sends dead-lettered invoices again with their exact bodies and attributes, and keeps what SQS still refuses', async (t) => {
    const { queueUrl, receive } = await sqsQueue(t, { queueAttributes: { MaximumMessageSize: '2048' } });
    const file = path.join(tempDir(), 'dead-letter.jsonl');
    const sink = new FileDeadLetterSink(file);
    const bodies = Array.from({ length: 12 }, () => `${JSON.stringify(makeInvoice())} `);
    await sink.write(
      bodies.map((b, i) => pending(b, `req-${i}`)),
      'undelivered_at_shutdown',
      'ShutdownTimeout',
      'test',
    );
    const tooBig = JSON.stringify(
      makeInvoice({ metadata: { a: 'a'.repeat(500), b: 'b'.repeat(500), c: 'c'.repeat(500), d: 'd'.repeat(500) } }),
    );
    await sink.write([pending(tooBig, 'req-big')], 'rejected_by_sqs', 'InvalidParameterValue', 'too long');

    const run = runReplay(file, queueUrl);
    assert.equal(run.status, 1, `one record is still refused: ${run.stderr}`);
    const summary = JSON.parse(run.stdout.trim()) as { sent: number; failed: number; failedFile: string };
    assert.equal(summary.sent, 12);
    assert.equal(summary.failed, 1);

    const messages = await receive(12);
    assert.deepEqual(messages.map((m) => m.Body).sort(), [...bodies].sort());
    for (const m of messages) assert.match(attribute(m, 'request-id') ?? '', /^req-\d+$/);
    const kept = readFileSync(summary.failedFile, 'utf8').trim().split('\n');
    assert.equal(kept.length, 1);
    assert.equal((JSON.parse(kept[0] as string) as { body: string }).body, tooBig);
  });
});
