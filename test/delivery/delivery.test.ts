import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createNoopMeter } from '@opentelemetry/api';
import pino from 'pino';
import type { DeliveryOutcome } from '../../src/buffer/index.js';
import { BatchDelivery, type CallSample } from '../../src/delivery/index.js';
import { InMemoryBatchSender, type OutboundMessage } from '../../src/sender/index.js';
import { PipelineMetrics } from '../../src/telemetry/index.js';
import { MemoryDeadLetterSink } from '../support/doubles.js';
import { pendingInvoice } from '../support/invoices.js';

const pending = pendingInvoice;

const invoiceIdsOf = (messages: readonly OutboundMessage[]): string[] =>
  messages.map((m) => m.attributes['invoice-id'] ?? '?');

describe('BatchDelivery', () => {
  test('with maxAttempts (the replay tool), an entry that keeps failing is dead-lettered as retries_exhausted', async () => {
    const sender = new InMemoryBatchSender((messages) =>
      messages
        .filter((m) => m.attributes['invoice-id'] === 'bad')
        .map((m) => ({
          id: m.id,
          code: 'InternalError',
          message: 'still failing',
          senderFault: false,
        })),
    );
    const deadLetter = new MemoryDeadLetterSink();
    const samples: CallSample[] = [];
    const delivery = new BatchDelivery({
      sender,
      deadLetter,
      metrics: new PipelineMetrics(createNoopMeter()),
      logger: pino({ level: 'silent' }),
      retryBaseMs: 1,
      retryMaxMs: 1,
      maxAttempts: 3,
      onCall: (sample) => samples.push(sample),
    });
    const outcomes: DeliveryOutcome[] = [];
    const entries = [pending('good'), pending('bad')];
    for (const e of entries) e.settle = (outcome) => outcomes.push(outcome);
    await delivery.deliver(entries);
    assert.equal(sender.calls.length, 3, 'one first send and two retries');
    assert.deepEqual(invoiceIdsOf(sender.delivered), ['good']);
    assert.deepEqual(deadLetter.writes, [
      { invoiceIds: ['bad'], reason: 'retries_exhausted', code: 'InternalError', message: 'still failing' },
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['sent', 'dead_lettered'],
    );
    assert.deepEqual(
      samples.map((c) => [c.entries, c.outcome]),
      [
        [2, 'ok'],
        [1, 'ok'],
        [1, 'ok'],
      ],
    );
  });
});
