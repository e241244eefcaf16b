import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createNoopMeter } from '@opentelemetry/api';
import pino from 'pino';
import type { DeliveryOutcome } from '../../src/buffer/index.js';
import { BatchDelivery, type CallSample } from '../../src/delivery/index.js';
import { InMemoryBatchSender, type EntryFailure } from '../../src/sender/index.js';
import { PipelineMetrics } from '../../src/telemetry/index.js';
import { awsError, MemoryDeadLetterSink, networkError } from '../support/doubles.js';
import { fakeTime, invoiceIdsOf, range, rig, settleMicrotasks, waitFor } from '../support/flusher-rig.js';
import { pendingInvoice } from '../support/invoices.js';

const pending = pendingInvoice;

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

describe('BatchDelivery, fed by the Flusher', () => {
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
});
