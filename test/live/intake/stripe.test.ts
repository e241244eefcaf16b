import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '@aws-sdk/client-sqs';
import Stripe from 'stripe';
import { postInvoice, type PostResult } from '../../support/invoices.js';
import { inProcessPipeline } from '../../support/pipeline.js';
import { STRIPE_EXAMPLE_SETTINGS, stripeInvoicePaidEvent, stripeSignatureHeaders } from '../../support/stripe.js';

// The worked Stripe example (docs/stripe.md) end to end: invoice.paid events built like Stripe's documented
// payload, signed by the `stripe` package, through the real service to a LocalStack FIFO queue; what lands is
// checked byte for byte, attribute by attribute.
const SECRET = 'whsec_5x9Cq1yTn0vVh2d6JwzP4kLrA8mE3sBt';
const OTHER = 'whsec_notTheEndpointsSecret000000000000';
const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The message's attributes as name → [DataType, StringValue]. */
function attributesOf(message: Message): Record<string, [string | undefined, string | undefined]> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, [value.DataType, value.StringValue]]),
  );
}

describe('Stripe invoice events to SQS (LocalStack)', () => {
  test('signed invoice.paid events land byte for byte with every documented attribute; a consumer can re-verify them', async (t) => {
    const { svc, receive } = await inProcessPipeline(t, {
      queueAttributes: { FifoQueue: 'true' },
      config: {
        ...STRIPE_EXAMPLE_SETTINGS,
        webhookSecrets: SECRET,
        forwardSignatureHeaders: true,
        dedupeWindowSeconds: 600,
      },
    });
    const sent: { body: string; header: string; res: PostResult; before: number; after: number; customer: string }[] =
      [];
    for (const customer of ['cus_NffrFeUfNV2Hib', 'cus_OtherCustomer01', 'cus_NffrFeUfNV2Hib']) {
      // As Stripe sends it: pretty-printed, with non-ASCII text.
      const body = JSON.stringify(stripeInvoicePaidEvent({ customer }), null, 2);
      const headers = stripeSignatureHeaders(SECRET, body);
      const before = Date.now();
      const res = await postInvoice(svc.url, body, headers);
      const after = Date.now();
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.status, 'accepted');
      sent.push({ body, header: headers['Stripe-Signature'] as string, res, before, after, customer });
    }
    const messages = await receive(sent.length);
    assert.equal(messages.length, sent.length);
    for (const s of sent) {
      const eventId = (JSON.parse(s.body) as { id: string }).id;
      assert.equal(s.res.body.id, eventId, 'the answer names the event id (INVOICE_ID_POINTER=/id)');
      const message = messages.find((m) => m.Body === s.body);
      assert.ok(message, `the body of ${eventId} arrived byte for byte`);
      const attributes = attributesOf(message);
      const receivedAt = attributes['received-at']?.[1] ?? '';
      assert.deepEqual(attributes, {
        'invoice-id': ['String', eventId],
        'request-id': ['String', s.res.headers.get('x-request-id') ?? ''],
        'received-at': ['String', receivedAt],
        'stripe-signature': ['String', s.header],
      });
      assert.match(receivedAt, RFC3339_UTC_MS);
      const at = Date.parse(receivedAt);
      assert.ok(at >= s.before && at <= s.after, `received-at ${receivedAt} lies between the send and the answer`);
      assert.equal(message.Attributes?.MessageGroupId, s.customer, 'FIFO group: /data/object/customer');
      assert.equal(message.Attributes?.MessageDeduplicationId, eventId, 'FIFO dedupe id: the event id');
      // docs/stripe.md, "Checking the signature again in the consumer": against received-at, it passes...
      const event = Stripe.webhooks.constructEvent(message.Body ?? '', s.header, SECRET, 300, undefined, at);
      assert.equal(event.id, eventId);
      // ...where the consumer's own clock, ten minutes after a wait in the queue, would refuse it.
      assert.throws(
        () => Stripe.webhooks.constructEvent(message.Body ?? '', s.header, SECRET, 300, undefined, at + 600_000),
        /Timestamp outside the tolerance zone/,
      );
    }
    // One customer's events keep the order they were received in.
    const first = messages.filter((m) => m.Attributes?.MessageGroupId === 'cus_NffrFeUfNV2Hib').map((m) => m.Body);
    assert.deepEqual(first, [sent[0]?.body, sent[2]?.body]);
  });

  test('tampered, stale or wrongly signed events get 401, a repeat of an event id is a duplicate, a non-invoice event 422: none lands', async (t) => {
    const { svc, receive } = await inProcessPipeline(t, {
      config: { ...STRIPE_EXAMPLE_SETTINGS, webhookSecrets: SECRET, dedupeWindowSeconds: 600 },
    });
    const body = JSON.stringify(stripeInvoicePaidEvent(), null, 2);
    const tampered = body.replace('"amount_paid": 2000', '"amount_paid": 1');
    assert.notEqual(tampered, body);
    const refused: [string, string, Record<string, string>][] = [
      ['tampered', tampered, stripeSignatureHeaders(SECRET, body)],
      ['stale', body, stripeSignatureHeaders(SECRET, body, Math.floor(Date.now() / 1000) - 301)],
      ['wrong secret', body, stripeSignatureHeaders(OTHER, body)],
      ['no signature', body, {}],
      ['malformed', body, { 'Stripe-Signature': 'v1=deadbeef' }],
    ];
    for (const [what, sentBody, headers] of refused) {
      const res = await postInvoice(svc.url, sentBody, headers);
      assert.equal(res.status, 401, `${what}: ${res.text}`);
      assert.equal(res.body.error, 'invalid_signature');
    }
    const customerEvent = JSON.stringify(stripeInvoicePaidEvent({ event: { type: 'customer.updated' } }));
    const invalid = await postInvoice(svc.url, customerEvent, stripeSignatureHeaders(SECRET, customerEvent));
    assert.equal(invalid.status, 422, invalid.text);
    assert.deepEqual(invalid.body.details, [
      { path: '/type', message: 'must match pattern "^invoice\\.[a-z_.]{1,100}$"' },
    ]);

    const accepted = await postInvoice(svc.url, body, stripeSignatureHeaders(SECRET, body));
    assert.equal(accepted.status, 202, accepted.text);
    // Stripe's retry of the same delivery: same event id, signed again at a later t.
    const retry = await postInvoice(
      svc.url,
      body,
      stripeSignatureHeaders(SECRET, body, Math.floor(Date.now() / 1000) + 1),
    );
    assert.equal(retry.status, 202, retry.text);
    assert.equal(retry.body.status, 'duplicate');
    const messages = await receive(1);
    assert.deepEqual(
      messages.map((m) => m.Body),
      [body],
      'only the one accepted event landed',
    );
  });
});
