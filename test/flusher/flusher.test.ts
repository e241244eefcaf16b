import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { createNoopMeter } from '@opentelemetry/api';
import pino from 'pino';
import { RingBuffer, type DeliveryOutcome, type PendingInvoice } from '../../src/buffer/index.js';
import { BatchDelivery, type BatchDeliveryOptions } from '../../src/delivery/index.js';
import { Flusher, type FlusherOptions } from '../../src/flusher/index.js';
import {
  InMemoryBatchSender,
  type BatchSender,
  type EntryFailure,
  type OutboundMessage,
} from '../../src/sender/index.js';
import { PipelineMetrics } from '../../src/telemetry/index.js';
import { awsError, ManualSender, MemoryDeadLetterSink, networkError } from '../support/doubles.js';
import { pendingInvoice } from '../support/invoices.js';
import { waitUntil } from '../support/wait.js';

const pending = pendingInvoice;

const invoiceIdsOf = (messages: readonly OutboundMessage[]): string[] =>
  messages.map((m) => m.attributes['invoice-id'] ?? '?');

/** Lets pending promise chains (sender answers, dead-letter writes) run. */
async function settleMicrotasks(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Waits (real time, a few event-loop turns at a time) until the flusher did what `condition` checks. */
const waitFor = (condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> =>
  waitUntil(what, condition, { timeoutMs, everyMs: 0 });

interface Rig {
  buffer: RingBuffer<PendingInvoice>;
  flusher: Flusher;
  deadLetter: MemoryDeadLetterSink;
  clock: { ms: number };
  /** Pushes entries (stamped with the current clock) and tells the flusher. */
  add: (...invoiceIds: string[]) => PendingInvoice[];
}

type RigOptions = Partial<Omit<FlusherOptions, 'delivery'>> &
  Pick<BatchDeliveryOptions, 'retryBaseMs' | 'retryMaxMs' | 'random'>;

function rig(sender: BatchSender, options: RigOptions = {}): Rig {
  const buffer = new RingBuffer<PendingInvoice>({ capacity: 1000 });
  const deadLetter = new MemoryDeadLetterSink();
  const clock = { ms: 0 };
  const logger = pino({ level: 'silent' });
  const { retryBaseMs, retryMaxMs, random, ...flusherOptions } = options;
  const delivery = new BatchDelivery({
    sender,
    deadLetter,
    metrics: new PipelineMetrics(createNoopMeter()),
    logger,
    now: () => clock.ms,
    random: random ?? (() => 0),
    ...(retryBaseMs === undefined ? {} : { retryBaseMs }),
    ...(retryMaxMs === undefined ? {} : { retryMaxMs }),
  });
  const flusher = new Flusher({ buffer, delivery, logger, now: () => clock.ms, ...flusherOptions });
  const add = (...invoiceIds: string[]): PendingInvoice[] => {
    const entries = invoiceIds.map((id) => pending(id, clock.ms));
    for (const e of entries) assert.equal(buffer.push(e, e.bytes), 'ok');
    flusher.notify();
    return entries;
  };
  return { buffer, flusher, deadLetter, clock, add };
}

const range = (n: number, prefix = 'inv'): string[] => Array.from({ length: n }, (_, i) => `${prefix}_${i}`);

function fakeTime(t: TestContext, clock: { ms: number }): (ms: number) => Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  return async (ms: number) => {
    clock.ms += ms;
    t.mock.timers.tick(ms);
    await settleMicrotasks();
  };
}

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

  test('a failed call is retried after a jittered backoff, with the same entries, until it succeeds', async (t) => {
    const sender = new InMemoryBatchSender((_messages, call) => (call <= 2 ? networkError() : undefined));
    const r = rig(sender, { lingerMs: 0, retryBaseMs: 100, retryMaxMs: 5000, random: () => 0.5 });
    const advance = fakeTime(t, r.clock);
    r.add(...range(10));
    await settleMicrotasks();
    assert.equal(sender.calls.length, 1);
    assert.equal(r.flusher.sqsFailing, true);
    await advance(49); // first backoff: 0.5 * 100
    assert.equal(sender.calls.length, 1, 'retried before the backoff elapsed');
    await advance(1);
    assert.equal(sender.calls.length, 2);
    await advance(99); // second backoff: 0.5 * 200
    assert.equal(sender.calls.length, 2, 'the second backoff did not double');
    await advance(1);
    assert.equal(sender.calls.length, 3);
    for (const call of sender.calls) assert.deepEqual(invoiceIdsOf(call), range(10));
    assert.deepEqual(invoiceIdsOf(sender.delivered), range(10));
    assert.equal(r.deadLetter.writes.length, 0);
    assert.equal(r.flusher.sqsFailing, false);
  });

  test('while calls keep failing, the suggested Retry-After grows, and falls back to 1 s on recovery', async (t) => {
    let failing = true;
    const sender = new InMemoryBatchSender(() => (failing ? awsError('ServiceUnavailable', 503) : undefined));
    const r = rig(sender, { lingerMs: 0, retryBaseMs: 1000, retryMaxMs: 8000, random: () => 0.999 });
    const advance = fakeTime(t, r.clock);
    assert.equal(r.flusher.retryAfterSeconds(), 1);
    r.add('a');
    await settleMicrotasks();
    const afterOne = r.flusher.retryAfterSeconds();
    await advance(1000);
    await advance(2000);
    const afterThree = r.flusher.retryAfterSeconds();
    assert.ok(sender.calls.length >= 3, `only ${sender.calls.length} calls`);
    assert.ok(afterThree > afterOne && afterThree <= 8, `Retry-After went ${afterOne} -> ${afterThree}`);
    failing = false;
    await advance(8000);
    assert.deepEqual(invoiceIdsOf(sender.delivered), ['a']);
    assert.equal(r.flusher.retryAfterSeconds(), 1);
  });

  test('entries SQS failed on its side are sent again, and only those', async () => {
    const failures: EntryFailure[] = [
      { id: '2', code: 'InternalError', message: 'try again', senderFault: false },
      { id: '5', code: 'ThrottlingException', message: 'slow down', senderFault: true },
    ];
    const sender = new InMemoryBatchSender((_messages, call) => (call === 1 ? failures : undefined));
    const r = rig(sender, { lingerMs: 0 });
    r.add(...range(10));
    await waitFor(() => sender.calls.length === 2, 'the retry call');
    await settleMicrotasks();
    assert.deepEqual(invoiceIdsOf(sender.calls[1] ?? []), ['inv_2', 'inv_5']);
    assert.deepEqual(invoiceIdsOf(sender.delivered).sort(), range(10).sort());
    assert.equal(sender.delivered.length, 10, 'an entry was delivered twice');
    assert.equal(r.deadLetter.writes.length, 0);
  });

  test('an entry SQS refuses as the sender fault is dead-lettered with its invoice id and not retried', async () => {
    const sender = new InMemoryBatchSender((_messages, call) =>
      call === 1
        ? [{ id: '3', code: 'InvalidParameterValue', message: 'bad attribute', senderFault: true }]
        : undefined,
    );
    const r = rig(sender, { lingerMs: 0 });
    r.add(...range(10));
    await waitFor(() => r.deadLetter.writes.length === 1, 'the dead letter');
    await settleMicrotasks();
    assert.deepEqual(r.deadLetter.writes, [
      { invoiceIds: ['inv_3'], reason: 'rejected_by_sqs', code: 'InvalidParameterValue', message: 'bad attribute' },
    ]);
    assert.equal(sender.calls.length, 1);
    assert.deepEqual(
      invoiceIdsOf(sender.delivered),
      range(10).filter((id) => id !== 'inv_3'),
    );
  });

  test('a batch SQS refuses for its content is split until only the poison entry is dead-lettered', async () => {
    const poison = 'inv_6';
    const sender = new InMemoryBatchSender((messages) =>
      invoiceIdsOf(messages).includes(poison) ? awsError('InvalidParameterValue', 400) : undefined,
    );
    const r = rig(sender, { lingerMs: 0 });
    r.add(...range(10));
    await waitFor(() => r.flusher.batchesInFlight === 0 && r.buffer.isEmpty, 'the batch to finish');
    await settleMicrotasks();
    assert.deepEqual(r.deadLetter.invoiceIds, [poison]);
    assert.equal(r.deadLetter.writes[0]?.code, 'InvalidParameterValue');
    assert.equal(r.deadLetter.writes[0]?.reason, 'rejected_by_sqs');
    assert.deepEqual(
      invoiceIdsOf(sender.delivered),
      range(10).filter((id) => id !== poison),
    );
    // Halving 10 down to 1 takes a handful of calls, not one per entry plus retries.
    const aloneCalls = sender.calls.filter((c) => c.length === 1 && invoiceIdsOf(c)[0] === poison);
    assert.equal(aloneCalls.length, 1, 'the poison entry alone was sent more than once');
    assert.ok(sender.calls.length <= 10, `${sender.calls.length} calls to isolate one entry`);
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

  test('settle callbacks receive sent with the SQS message id, or dead_lettered with the code', async () => {
    const sender = new InMemoryBatchSender(() => [
      { id: '1', code: 'MessageTooLong', message: 'too long', senderFault: true },
    ]);
    const r = rig(sender, { lingerMs: 0 });
    const outcomes = new Map<string, DeliveryOutcome>();
    const entries = range(3).map((id) => {
      const e = pending(id);
      e.settle = (outcome) => {
        assert.equal(outcomes.has(id), false, `${id} settled twice`);
        outcomes.set(id, outcome);
      };
      return e;
    });
    for (const e of entries) r.buffer.push(e, e.bytes);
    r.flusher.notify();
    await waitFor(() => outcomes.size === 3, 'all outcomes');
    assert.deepEqual(outcomes.get('inv_0'), { status: 'sent', messageId: 'mem-1' });
    assert.deepEqual(outcomes.get('inv_1'), { status: 'dead_lettered', code: 'MessageTooLong', message: 'too long' });
    assert.deepEqual(outcomes.get('inv_2'), { status: 'sent', messageId: 'mem-2' });
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

  test('entry ids are unique within every batch, first sends and partial retries alike', async () => {
    let call = 0;
    const sender = new InMemoryBatchSender(() => {
      call += 1;
      // Fail every other entry on the first three calls, so retries regroup entries.
      return call <= 3
        ? ['0', '2', '4', '6', '8'].map((id) => ({ id, code: 'InternalError', message: 'x', senderFault: false }))
        : undefined;
    });
    const r = rig(sender, { lingerMs: 0, concurrency: 3 });
    r.add(...range(30));
    await waitFor(() => sender.delivered.length === 30, 'all 30 delivered', 5000);
    assert.ok(sender.calls.length > 3);
    for (const batch of sender.calls) {
      const ids = batch.map((m) => m.id);
      assert.equal(new Set(ids).size, ids.length, `duplicate entry ids in ${JSON.stringify(ids)}`);
      assert.ok(batch.length <= 10);
    }
    assert.deepEqual(invoiceIdsOf(sender.delivered).sort(), range(30).sort());
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
