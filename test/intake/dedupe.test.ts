import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TtlDedupeWindow } from '../../src/intake/index.js';
import { type BatchSender, InMemoryBatchSender } from '../../src/sender/index.js';
import { GatedSender } from '../support/doubles.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { metricValue, type RunningService, startService } from '../support/service.js';
import type { Config } from '../../src/config/index.js';

function windowWithClock(windowSeconds: number, maxEntries = 1000): { dedupe: TtlDedupeWindow; clock: { ms: number } } {
  const clock = { ms: 1_000 };
  return { dedupe: new TtlDedupeWindow({ windowSeconds, maxEntries, now: () => clock.ms }), clock };
}

describe('TtlDedupeWindow', () => {
  test('the first sighting of an id is new; a repeat inside the window is seen', () => {
    const { dedupe } = windowWithClock(60);
    assert.equal(dedupe.seen('inv_1'), false);
    assert.equal(dedupe.seen('inv_1'), true);
    assert.equal(dedupe.seen('inv_1'), true);
    assert.equal(dedupe.seen('inv_2'), false);
  });

  test('an id is forgotten once the window has passed since its first sighting', () => {
    const { dedupe, clock } = windowWithClock(60);
    dedupe.seen('inv_1');
    clock.ms += 59_999;
    assert.equal(dedupe.seen('inv_1'), true);
    clock.ms += 1;
    assert.equal(dedupe.seen('inv_1'), false, 'still remembered after 60 s');
    // That sighting starts a new window.
    clock.ms += 30_000;
    assert.equal(dedupe.seen('inv_1'), true);
  });

  test('repeats do not extend the window', () => {
    const { dedupe, clock } = windowWithClock(10);
    dedupe.seen('inv_1');
    for (let i = 0; i < 9; i += 1) {
      clock.ms += 1_000;
      assert.equal(dedupe.seen('inv_1'), true);
    }
    clock.ms += 1_000;
    assert.equal(dedupe.seen('inv_1'), false);
  });

  test('expired ids are evicted, so memory follows the traffic of one window', () => {
    const { dedupe, clock } = windowWithClock(1, 1_000_000);
    for (let i = 0; i < 10_000; i += 1) {
      clock.ms += 1; // 1000 new ids per simulated second
      dedupe.seen(`inv_${i}`);
    }
    assert.ok(dedupe.size <= 1_000, `${dedupe.size} ids held for a 1 s window at 1000 ids/s`);
    assert.ok(dedupe.size >= 999, `${dedupe.size} ids held: evicted ids still inside the window`);
    assert.equal(dedupe.seen('inv_9999'), true);
    assert.equal(dedupe.seen('inv_0'), false);
  });

  test('at maxEntries the oldest id is evicted even though its window has not passed', () => {
    const { dedupe } = windowWithClock(3600, 3);
    for (const id of ['a', 'b', 'c']) assert.equal(dedupe.seen(id), false);
    assert.equal(dedupe.seen('d'), false);
    assert.equal(dedupe.size, 3);
    assert.equal(dedupe.seen('b'), true);
    assert.equal(dedupe.seen('c'), true);
    assert.equal(dedupe.seen('d'), true);
    // 'a' was the oldest: forgotten early, so its repeat counts as new (and evicts 'b').
    assert.equal(dedupe.seen('a'), false);
    assert.equal(dedupe.seen('b'), false);
  });

  test('memory stays at maxEntries under a flood of distinct ids', () => {
    const { dedupe } = windowWithClock(3600, 500);
    for (let i = 0; i < 50_000; i += 1) dedupe.seen(`flood_${i}`);
    assert.equal(dedupe.size, 500);
    assert.equal(dedupe.seen('flood_49999'), true);
    assert.equal(dedupe.seen('flood_49500'), true);
    assert.equal(dedupe.seen('flood_49499'), false);
  });

  test('forget removes an id, so its next sighting is new; forgetting an unknown id is harmless', () => {
    const { dedupe } = windowWithClock(60);
    dedupe.seen('inv_1');
    dedupe.seen('inv_2');
    dedupe.forget('inv_1');
    dedupe.forget('never_seen');
    assert.equal(dedupe.seen('inv_1'), false);
    assert.equal(dedupe.seen('inv_1'), true);
    assert.equal(dedupe.seen('inv_2'), true);
  });

  test('a forgotten id that comes back is ordered by its new time, so expiry still evicts in order', () => {
    const { dedupe, clock } = windowWithClock(10);
    dedupe.seen('a');
    clock.ms += 5_000;
    dedupe.seen('b');
    dedupe.forget('a');
    clock.ms += 3_000;
    dedupe.seen('a'); // now newer than b
    clock.ms += 8_000; // b is 11 s old, a 8 s
    assert.equal(dedupe.seen('a'), true);
    assert.equal(dedupe.seen('b'), false);
  });

  test('with the default clock, a repeat right away is seen', () => {
    const dedupe = new TtlDedupeWindow({ windowSeconds: 60, maxEntries: 10 });
    assert.equal(dedupe.seen('inv_real'), false);
    assert.equal(dedupe.seen('inv_real'), true);
  });

  test('a window of zero or a non-positive maxEntries is refused', () => {
    assert.throws(() => new TtlDedupeWindow({ windowSeconds: 0, maxEntries: 10 }), RangeError);
    assert.throws(() => new TtlDedupeWindow({ windowSeconds: 10, maxEntries: 0 }), RangeError);
    assert.throws(() => new TtlDedupeWindow({ windowSeconds: Number.NaN, maxEntries: 10 }), RangeError);
  });
});

// Intake logic only: nothing here is about SQS, so the in-memory sender takes its slot.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/dedupe-intake';

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
