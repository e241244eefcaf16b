import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeliveryOutcome } from '../../src/buffer/index.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { ManualSender, networkError } from '../support/doubles.js';
import { fakeTime, invoiceIdsOf, range, rig, settleMicrotasks } from '../support/flusher-rig.js';
import { pendingInvoice } from '../support/invoices.js';

const pending = pendingInvoice;

describe('Flusher', () => {
  test('a full batch of 10 leaves at once without waiting for the linger', async () => {
    const sender = new InMemoryBatchSender();
    const { add } = rig(sender, { lingerMs: 60_000 });
    add(...range(9));
    await settleMicrotasks();
    assert.equal(sender.calls.length, 0, 'nine entries must wait for the linger');
    add('inv_9');
    await settleMicrotasks();
    assert.equal(sender.calls.length, 1);
    assert.deepEqual(invoiceIdsOf(sender.calls[0] ?? []), range(10));
  });

  test('a partial batch leaves once its oldest entry has lingered lingerMs, not before', async (t) => {
    const sender = new InMemoryBatchSender();
    const r = rig(sender, { lingerMs: 50 });
    const advance = fakeTime(t, r.clock);
    r.add('a');
    await advance(20);
    r.add('b', 'c');
    await advance(29);
    assert.equal(sender.calls.length, 0, 'left before the oldest entry lingered 50 ms');
    await advance(1);
    assert.equal(sender.calls.length, 1);
    assert.deepEqual(invoiceIdsOf(sender.calls[0] ?? []), ['a', 'b', 'c']);
  });

  test('no more than `concurrency` batches are in flight; the next leaves when one completes', async () => {
    const sender = new ManualSender();
    const { add, flusher } = rig(sender, { concurrency: 2, batchMaxMessages: 2, lingerMs: 0 });
    add(...range(10));
    await settleMicrotasks();
    assert.equal(sender.open.length, 2);
    assert.equal(flusher.batchesInFlight, 2);
    sender.completeOldest();
    await settleMicrotasks();
    assert.equal(sender.open.length, 2, 'a completed batch must make room for the next');
    while (sender.open.length > 0) {
      sender.completeOldest();
      await settleMicrotasks();
    }
    assert.equal(sender.maxInFlight, 2);
    assert.deepEqual(invoiceIdsOf(sender.delivered), range(10));
    assert.equal(flusher.batchesInFlight, 0);
  });

  test('drain sends everything buffered at once, ignoring the linger', async () => {
    const sender = new InMemoryBatchSender();
    const r = rig(sender, { lingerMs: 60_000 });
    r.add(...range(13));
    await settleMicrotasks();
    assert.equal(sender.calls.length, 1, 'the first full batch leaves on its own');
    assert.equal(r.buffer.size, 3, 'the last three wait for the linger');
    const result = await r.flusher.drain(5000);
    assert.deepEqual(result, { left: 0, kept: 0, lost: 0 });
    assert.deepEqual(invoiceIdsOf(sender.delivered), range(13));
    assert.deepEqual(
      sender.calls.map((c) => c.length),
      [10, 3],
    );
    assert.equal(r.buffer.isEmpty, true);
  });

  test('drain waits for an invoice still on its way in (room reserved, journal write running) and sends it', async () => {
    const sender = new InMemoryBatchSender();
    const r = rig(sender, { lingerMs: 60_000 });
    const late = pending('inv_late', 0);
    assert.equal(r.buffer.reserve(late.bytes), 'ok');
    let drained = false;
    const draining = r.flusher.drain(5000).then((result) => {
      drained = true;
      return result;
    });
    await settleMicrotasks();
    assert.equal(drained, false, 'the drain ended while an accepted invoice was still on its way in');
    r.buffer.fill(late, late.bytes);
    r.flusher.notify();
    assert.deepEqual(await draining, { left: 0, kept: 0, lost: 0 });
    assert.deepEqual(invoiceIdsOf(sender.delivered), ['inv_late']);
  });

  test('when drain runs out of time, what is not in SQS goes to the dead-letter sink and is reported as left', async () => {
    const sender = new InMemoryBatchSender(() => networkError());
    const r = rig(sender, { lingerMs: 0, concurrency: 1, retryBaseMs: 10, retryMaxMs: 20, random: () => 0.5 });
    r.add(...range(25));
    const started = Date.now();
    const result = await r.flusher.drain(150);
    const tookMs = Date.now() - started;
    assert.deepEqual(result, { left: 25, kept: 0, lost: 0 });
    assert.ok(tookMs >= 140 && tookMs < 2000, `drain took ${tookMs} ms for a 150 ms budget`);
    assert.deepEqual([...r.deadLetter.invoiceIds].sort(), range(25).sort());
    assert.ok(r.deadLetter.writes.every((w) => w.reason === 'undelivered_at_shutdown' && w.code === 'ShutdownTimeout'));
    assert.equal(sender.delivered.length, 0);
    assert.ok(sender.calls.length > 1, 'the in-flight batch was not retried before the deadline');
  });

  test('when drain runs out of time and the dead-letter sink fails too, the invoices are reported lost', async () => {
    const sender = new InMemoryBatchSender(() => networkError());
    const r = rig(sender, { lingerMs: 0, concurrency: 1, retryBaseMs: 10, retryMaxMs: 20 });
    r.deadLetter.failing = true;
    r.add(...range(12));
    const result = await r.flusher.drain(50);
    assert.deepEqual(result, { left: 12, kept: 0, lost: 12 });
  });

  test('settle callbacks of invoices left at a drain timeout receive undelivered', async () => {
    const sender = new InMemoryBatchSender(() => networkError());
    const r = rig(sender, { lingerMs: 0, retryBaseMs: 10, retryMaxMs: 10 });
    const outcomes: DeliveryOutcome[] = [];
    const e = pending('inv_x');
    e.settle = (outcome) => outcomes.push(outcome);
    r.buffer.push(e, e.bytes);
    r.flusher.notify();
    await r.flusher.drain(30);
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]?.status, 'undelivered');
  });

  test('the pump asks its concurrency limit before each batch leaves, so a limit can change while running', async () => {
    const sender = new ManualSender();
    const limit = { current: 1 };
    const r = rig(sender, { lingerMs: 0, batchMaxMessages: 1, limit });
    r.add('a', 'b', 'c', 'd');
    await settleMicrotasks();
    assert.equal(sender.open.length, 1, 'a limit of 1 lets one batch out');
    limit.current = 3;
    sender.completeOldest();
    await settleMicrotasks();
    assert.equal(sender.open.length, 3, 'the raised limit applies at the next pump');
    while (sender.open.length > 0) {
      sender.completeOldest();
      await settleMicrotasks();
    }
    assert.deepEqual(invoiceIdsOf(sender.delivered), ['a', 'b', 'c', 'd']);
    assert.equal(sender.maxInFlight, 3);
  });
});
