import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ROOT_CONTEXT, TraceFlags, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, TraceState, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { RingBuffer, messageBytes, newPendingInvoice, type PendingInvoice } from '../../src/buffer/index.js';
import { takeBatch } from '../../src/flusher/index.js';
import { InvoiceFields } from '../../src/intake/invoice-fields.js';
import {
  FORWARDED_SIGNATURE_HEADERS,
  SQS_MAX_MESSAGE_ATTRIBUTES,
  messageAttributes,
  receivedAt,
} from '../../src/intake/message-attributes.js';
import { IntakeError } from '../../src/intake/index.js';

const ALL_HEADERS = {
  'stripe-signature': `t=1765000000,v1=${'a'.repeat(64)}`,
  'webhook-signature': `v1,${'b'.repeat(43)}=`,
  'webhook-timestamp': '1765000000',
  'x-webhook-signature': `t=1765000000,v1=${'c'.repeat(64)}`,
  'content-type': 'application/json',
  'x-other': 'not forwarded',
};

/** Runs `fn` with a sampled span and baggage in the active context, propagated as W3C trace context + baggage. */
function withTraceContext<T>(fn: () => T): T {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  try {
    const span = trace.wrapSpanContext({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.SAMPLED,
      traceState: new TraceState('vendor=opaque'),
    });
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const ctx = propagation.setBaggage(trace.setSpan(ROOT_CONTEXT, span), baggage);
    return context.with(ctx, fn);
  } finally {
    propagation.disable();
    context.disable();
  }
}

describe('SQS message attributes', () => {
  test('received-at is RFC 3339, UTC, with milliseconds', () => {
    assert.equal(receivedAt(Date.UTC(2026, 11, 6, 14, 48, 59, 7)), '2026-12-06T14:48:59.007Z');
    const attributes = messageAttributes({ invoiceId: 'inv_1', requestId: 'req-1', receivedAtMs: 0 });
    assert.deepEqual(attributes, {
      'invoice-id': 'inv_1',
      'request-id': 'req-1',
      'received-at': '1970-01-01T00:00:00.000Z',
    });
  });

  test('signature headers are forwarded only with forwardSignatureHeaders, only where present, values as received', () => {
    const base = { invoiceId: 'inv_1', requestId: 'req-1', receivedAtMs: 0, headers: ALL_HEADERS };
    assert.deepEqual(Object.keys(messageAttributes(base)), ['invoice-id', 'request-id', 'received-at']);
    const forwarded = messageAttributes({ ...base, forwardSignatureHeaders: true });
    for (const name of FORWARDED_SIGNATURE_HEADERS) assert.equal(forwarded[name], ALL_HEADERS[name], name);
    assert.equal(forwarded['x-other'], undefined);
    assert.equal(forwarded['content-type'], undefined);
    const some = messageAttributes({
      ...base,
      forwardSignatureHeaders: true,
      headers: { 'stripe-signature': 't=1,v1=x', 'webhook-signature': '' },
    });
    assert.deepEqual(Object.keys(some), ['invoice-id', 'request-id', 'received-at', 'stripe-signature']);
  });

  test('never more than SQS allows (10): with every optional attribute, baggage is what is left out', () => {
    const attributes = withTraceContext(() =>
      messageAttributes({
        invoiceId: 'inv_1',
        requestId: 'req-1',
        receivedAtMs: 0,
        webhookId: 'msg_1',
        headers: { ...ALL_HEADERS },
        forwardSignatureHeaders: true,
      }),
    );
    assert.equal(Object.keys(attributes).length, SQS_MAX_MESSAGE_ATTRIBUTES);
    assert.equal(attributes.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(attributes.tracestate, 'vendor=opaque');
    assert.equal(attributes.baggage, undefined);
    const fewer = withTraceContext(() =>
      messageAttributes({ invoiceId: 'inv_1', requestId: 'req-1', receivedAtMs: 0 }),
    );
    assert.equal(fewer.baggage, 'tenant=acme', 'baggage travels when there is room, as before');
  });

  test('the SQS size of a message (and so the batch byte limit) counts the new attributes', () => {
    const attributes = messageAttributes({
      invoiceId: 'inv_1',
      requestId: 'req-1',
      receivedAtMs: 0,
      headers: ALL_HEADERS,
      forwardSignatureHeaders: true,
    });
    const body = '{"id":"inv_1"}';
    const entry = newPendingInvoice({ invoiceId: 'inv_1', requestId: 'req-1', body, attributes, enqueuedAtMs: 0 });
    let expected = Buffer.byteLength(body);
    for (const [name, value] of Object.entries(attributes)) expected += name.length + 'String'.length + value.length;
    assert.equal(entry.bytes, expected);
    assert.equal(messageBytes(body, attributes), expected);
    // Two such messages do not fit a batch limit one byte short of both: the second waits for the next batch.
    const buffer = new RingBuffer<PendingInvoice>({ capacity: 10, maxBytes: 1 << 20 });
    buffer.push(entry, entry.bytes);
    buffer.push({ ...entry }, entry.bytes);
    assert.equal(takeBatch(buffer, { maxMessages: 10, maxBytes: 2 * expected - 1 }).length, 1);
  });
});

describe('InvoiceFields: the ids by JSON pointer', () => {
  const event = { id: 'evt_1', data: { object: { id: 'in_1', customer: 'cus_1', number: 42, nested: {} } } };

  test('the invoice id where INVOICE_ID_POINTER points', () => {
    assert.equal(new InvoiceFields().invoiceId({ id: 'inv_1' }), 'inv_1');
    assert.equal(new InvoiceFields({ invoiceId: '/id' }).invoiceId(event), 'evt_1');
    assert.equal(new InvoiceFields({ invoiceId: '/data/object/id' }).invoiceId(event), 'in_1');
  });

  test('no non-empty string there: a 422 naming the pointer', () => {
    const fields = new InvoiceFields({ invoiceId: '/data/object/id' });
    for (const [body, why] of [
      [{ data: {} }, /is required/],
      [{ data: { object: { id: '' } } }, /non-empty string/],
      [{ data: { object: { id: 7 } } }, /non-empty string/],
    ] as const) {
      assert.throws(
        () => fields.invoiceId(body),
        (error: unknown) => {
          assert.ok(error instanceof IntakeError);
          assert.equal(error.status, 422);
          assert.equal(error.code, 'invalid_invoice');
          const details = error.extra.details ?? [];
          assert.equal(details[0]?.path, '/data/object/id');
          assert.match(details[0]?.message ?? '', why);
          assert.match(details[0]?.message ?? '', /INVOICE_ID_POINTER/);
          return true;
        },
      );
    }
  });

  test('FIFO ids: strings and numbers as text; absent, empty or objects leave them unset (as the _FIELD settings did)', () => {
    const fields = new InvoiceFields({
      fifo: { groupId: '/data/object/customer', deduplicationId: '/data/object/number' },
    });
    assert.deepEqual(fields.fifoIds(event), { messageGroupId: 'cus_1', messageDeduplicationId: '42' });
    const odd = new InvoiceFields({ fifo: { groupId: '/data/object/nested', deduplicationId: '/missing' } });
    assert.deepEqual(odd.fifoIds(event), {});
    assert.deepEqual(new InvoiceFields().fifoIds(event), {}, 'not a FIFO queue');
  });
});
