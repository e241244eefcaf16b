import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { newPendingInvoice } from '../../src/buffer/index.js';
import { FileDeadLetterSink, type DeadLetterRecord } from '../../src/deadletter/index.js';
import { tempDir } from '../support/service.js';

function entry(i: number, extra: { messageGroupId?: string } = {}) {
  return newPendingInvoice({
    invoiceId: `inv_${i}`,
    requestId: `req_${i}`,
    body: `{"id":"inv_${i}"}`,
    attributes: { 'invoice-id': `inv_${i}` },
    enqueuedAtMs: 0,
    ...extra,
  });
}

describe('FileDeadLetterSink', () => {
  it('appends one JSON line per invoice with what a replay needs, in a file only its owner reads', async () => {
    const file = path.join(tempDir('dead-letter-'), 'nested', 'dead.jsonl');
    const sink = new FileDeadLetterSink(file);
    await sink.write([entry(1, { messageGroupId: 'g1' })], 'rejected_by_sqs', 'InvalidParameterValue', 'bad');
    await sink.write([entry(2)], 'undelivered_at_shutdown', 'ShutdownTimeout', 'late');
    const records = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as DeadLetterRecord);
    assert.deepEqual(
      records.map(({ deadLetteredAt, ...rest }) => {
        assert.ok(!Number.isNaN(Date.parse(deadLetteredAt)), deadLetteredAt);
        return rest;
      }),
      [
        {
          reason: 'rejected_by_sqs',
          code: 'InvalidParameterValue',
          message: 'bad',
          invoiceId: 'inv_1',
          requestId: 'req_1',
          messageGroupId: 'g1',
          attributes: { 'invoice-id': 'inv_1' },
          body: '{"id":"inv_1"}',
        },
        {
          reason: 'undelivered_at_shutdown',
          code: 'ShutdownTimeout',
          message: 'late',
          invoiceId: 'inv_2',
          requestId: 'req_2',
          attributes: { 'invoice-id': 'inv_2' },
          body: '{"id":"inv_2"}',
        },
      ],
    );
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('writes concurrent calls one after the other: every line whole, in call order', async () => {
    const file = path.join(tempDir('dead-letter-'), 'dead.jsonl');
    const sink = new FileDeadLetterSink(file);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => sink.write([entry(i * 2), entry(i * 2 + 1)], 'retries_exhausted', 'X', 'y')),
    );
    const ids = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as DeadLetterRecord).invoiceId);
    assert.deepEqual(
      ids,
      Array.from({ length: 40 }, (_, i) => `inv_${i}`),
    );
  });
});
