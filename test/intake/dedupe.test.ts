import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TtlDedupeWindow } from '../../src/intake/index.js';
import {
  InMemoryBatchSender,
  type BatchResult,
  type BatchSender,
  type OutboundMessage,
} from '../../src/sender/index.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { metricValue, startService, type RunningService } from '../support/service.js';
import type { Config } from '../../src/config/index.js';

// Intake logic only: nothing here is about SQS, so the in-memory sender takes its slot.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/dedupe-intake';

/** The in-memory sender behind a gate: calls wait until the test opens it, so the buffer can fill. */
class GatedSender implements BatchSender {
  readonly destination = 'gated-in-memory';
  readonly inner = new InMemoryBatchSender();
  private open: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  async send(messages: readonly OutboundMessage[]): Promise<BatchResult> {
    await this.gate;
    return this.inner.send(messages);
  }

  release(): void {
    this.open();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

async function withService(
  dedupe: TtlDedupeWindow,
  use: (running: RunningService) => Promise<void>,
  options: { sender?: BatchSender; config?: Partial<Config> } = {},
): Promise<void> {
  const running = await startService(
    { sqsQueueUrl: QUEUE_URL, ...options.config },
    { sender: options.sender ?? new InMemoryBatchSender(), dedupe },
  );
  try {
    await use(running);
  } finally {
    // A failed assertion must not leave a gated sender holding the drain until its timeout.
    if (options.sender instanceof GatedSender) options.sender.release();
    await running.stop();
  }
}

const idsOf = (sender: InMemoryBatchSender): string[] => sender.delivered.map((m) => m.attributes['invoice-id'] ?? '?');

describe('intake with a dedupe window', () => {
  test('a repeat of an invoice id answers 202 duplicate and is delivered only once', async () => {
    const sender = new InMemoryBatchSender();
    const invoice = makeInvoice();
    const other = makeInvoice();
    await withService(
      new TtlDedupeWindow({ windowSeconds: 600, maxEntries: 1000 }),
      async ({ url }) => {
        const first = await postInvoice(url, invoice);
        assert.equal(first.status, 202);
        assert.equal(first.body.status, 'accepted');
        const again = await postInvoice(url, { ...invoice, amount_due: 9999 }, { 'X-Request-Id': 'retry-1' });
        assert.equal(again.status, 202);
        assert.deepEqual(again.body, { status: 'duplicate', id: invoice.id, requestId: 'retry-1' });
        assert.equal((await postInvoice(url, other)).body.status, 'accepted');
        assert.equal(await metricValue(url, 'webhook_invoices_duplicate_total'), 1);
      },
      { sender },
    );
    assert.deepEqual(idsOf(sender), [invoice.id, other.id]);
    assert.equal(sender.delivered[0]?.body, JSON.stringify(invoice), 'the repeat replaced the original');
  });

  test('an id refused with 503 because the buffer was full is forgotten, so the retry is accepted', async () => {
    const sender = new GatedSender();
    const [a, b, c] = [makeInvoice(), makeInvoice(), makeInvoice()];
    await withService(
      new TtlDedupeWindow({ windowSeconds: 600, maxEntries: 1000 }),
      async ({ url, service }) => {
        // a goes in flight (and waits at the gate), b fills the one-slot buffer, c finds it full.
        assert.equal((await postInvoice(url, a)).status, 202);
        assert.equal((await postInvoice(url, b)).status, 202);
        const full = await postInvoice(url, c);
        assert.equal(full.status, 503, full.text);
        assert.equal(full.body.error, 'unavailable');
        assert.ok(full.headers.get('retry-after'));
        const stillFull = await postInvoice(url, c);
        assert.equal(stillFull.status, 503, 'the retry was answered as a duplicate of a refused invoice');

        sender.release();
        const deadline = Date.now() + 5000;
        while (!service.buffer.isEmpty && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        const retried = await postInvoice(url, c);
        assert.equal(retried.status, 202);
        assert.equal(retried.body.status, 'accepted');
      },
      {
        sender,
        config: {
          bufferCapacity: 1,
          flushConcurrency: 1,
          flushConcurrencyMin: 1,
          flushConcurrencyMax: 1,
          batchLingerMs: 0,
        },
      },
    );
    assert.deepEqual(idsOf(sender.inner), [a.id, b.id, c.id]);
  });

  test('an invoice refused by the schema does not take its id: a corrected resend is accepted', async () => {
    const sender = new InMemoryBatchSender();
    const invoice = makeInvoice();
    await withService(
      new TtlDedupeWindow({ windowSeconds: 600, maxEntries: 1000 }),
      async ({ url }) => {
        const invalid = await postInvoice(url, { ...invoice, currency: 'usd' });
        assert.equal(invalid.status, 422);
        const corrected = await postInvoice(url, invoice);
        assert.equal(corrected.status, 202);
        assert.equal(corrected.body.status, 'accepted');
      },
      { sender },
    );
    assert.deepEqual(idsOf(sender), [invoice.id]);
  });

  test('after the window has passed, the same id is accepted and delivered again', async () => {
    const sender = new InMemoryBatchSender();
    const clock = { ms: 0 };
    const invoice = makeInvoice();
    await withService(
      new TtlDedupeWindow({ windowSeconds: 60, maxEntries: 1000, now: () => clock.ms }),
      async ({ url }) => {
        assert.equal((await postInvoice(url, invoice)).body.status, 'accepted');
        clock.ms += 59_000;
        assert.equal((await postInvoice(url, invoice)).body.status, 'duplicate');
        clock.ms += 1_000;
        assert.equal((await postInvoice(url, invoice)).body.status, 'accepted');
      },
      { sender },
    );
    assert.deepEqual(idsOf(sender), [invoice.id, invoice.id]);
  });
});
