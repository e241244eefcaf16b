import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createNoopMeter } from '@opentelemetry/api';
import { newPendingInvoice, type PendingInvoice } from '../../src/buffer/index.js';
import { BatchDelivery } from '../../src/delivery/index.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { PipelineMetrics } from '../../src/telemetry/index.js';
import { MemoryDeadLetterSink } from '../support/doubles.js';
import { capturedLogger } from '../support/logs.js';

function pending(count: number): PendingInvoice[] {
  return Array.from({ length: count }, (_, i) =>
    newPendingInvoice({
      invoiceId: `inv_${i}`,
      requestId: `req_${i}`,
      body: `{"id":"inv_${i}"}`,
      attributes: {},
      enqueuedAtMs: 0,
    }),
  );
}

function delivery(deadLetter: MemoryDeadLetterSink): { delivery: BatchDelivery; lines: Record<string, unknown>[] } {
  const { logger, lines } = capturedLogger('info');
  return {
    delivery: new BatchDelivery({
      sender: new InMemoryBatchSender(),
      deadLetter,
      metrics: new PipelineMetrics(createNoopMeter()),
      logger,
    }),
    lines,
  };
}

describe('dead-letter log lines', () => {
  it('a spill at shutdown lists its invoice ids in numbered lines of at most 100', async () => {
    const { delivery: d, lines } = delivery(new MemoryDeadLetterSink());
    await d.spill(pending(250));
    const written = lines.filter((l) => l.msg === 'invoices written to the dead-letter file');
    assert.deepEqual(
      written.map((l) => [l.part, l.parts, (l.invoiceIds as string[]).length, l.count]),
      [
        [1, 3, 100, 250],
        [2, 3, 100, 250],
        [3, 3, 50, 250],
      ],
    );
    assert.deepEqual(
      written.flatMap((l) => l.invoiceIds as string[]),
      pending(250).map((p) => p.invoiceId),
      'every id once, in order',
    );
  });

  it('when the file cannot be written, the bodies go to the log ten to a line, none lost', async () => {
    const deadLetter = new MemoryDeadLetterSink();
    deadLetter.failing = true;
    const { delivery: d, lines } = delivery(deadLetter);
    await d.spill(pending(25));
    const fatal = lines.filter((l) => String(l.msg).startsWith('could not write dead letters'));
    assert.deepEqual(
      fatal.map((l) => (l.bodies as string[]).length),
      [10, 10, 5],
    );
    assert.deepEqual(
      fatal.flatMap((l) => l.bodies as string[]),
      pending(25).map((p) => p.body),
    );
  });
});
