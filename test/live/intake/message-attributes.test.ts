import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Message } from '@aws-sdk/client-sqs';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { inProcessPipeline } from '../../support/pipeline.js';
import { hmacSignatureHeaders, standardWebhookHeaders } from '../../support/signatures.js';

// docs/api.md, What lands on SQS: received-at on every message; with FORWARD_SIGNATURE_HEADERS=true the
// signature headers as received. Read back from LocalStack and compared byte for byte.
const HMAC_SECRET = 'a-plain-shared-secret';
const STANDARD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const RFC3339_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function attributesOf(message: Message | undefined): Record<string, [string | undefined, string | undefined]> {
  return Object.fromEntries(
    Object.entries(message?.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      [value.DataType, value.StringValue],
    ]),
  );
}

/** Posts and returns what the request sent, the answer, and the time window the body was read in. */
async function post(url: string, body: string, headers: Record<string, string>) {
  const before = Date.now();
  const res = await postInvoice(url, body, headers);
  const after = Date.now();
  assert.equal(res.status, 202, res.text);
  return { res, before, after };
}

function assertReceivedAt(value: string | undefined, before: number, after: number): string {
  assert.match(value ?? '', RFC3339_UTC_MS);
  const at = Date.parse(value ?? '');
  assert.ok(at >= before && at <= after, `received-at ${value} outside ${before}..${after}`);
  return value ?? '';
}

describe('received-at and forwarded signature headers (LocalStack)', () => {
  test('default settings: invoice-id, request-id and received-at only, even when the request has signature headers', async (t) => {
    const { svc, receive } = await inProcessPipeline(t);
    const body = JSON.stringify(makeInvoice());
    const { res, before, after } = await post(svc.url, body, {
      'Stripe-Signature': 't=1,v1=00',
      'webhook-timestamp': '1',
    });
    const [message] = await receive(1);
    assert.equal(message?.Body, body);
    const attributes = attributesOf(message);
    const receivedAt = assertReceivedAt(attributes['received-at']?.[1], before, after);
    assert.deepEqual(attributes, {
      'invoice-id': ['String', res.body.id],
      'request-id': ['String', res.headers.get('x-request-id')],
      'received-at': ['String', receivedAt],
    });
  });

  test('standard-webhooks with FORWARD_SIGNATURE_HEADERS: all four headers (where present), as received, and webhook-id', async (t) => {
    const { svc, receive } = await inProcessPipeline(t, {
      config: { signatureScheme: 'standard-webhooks', webhookSecrets: STANDARD_SECRET, forwardSignatureHeaders: true },
    });
    const body = JSON.stringify(makeInvoice());
    const signed = standardWebhookHeaders(STANDARD_SECRET, 'msg_2Lx31Cc8Y', body);
    // Headers of the other schemes ride along untouched (not checked by this scheme): forwarded as received.
    const extra = { 'Stripe-Signature': 't=1765000000,v1=abc,v0=def', 'X-Webhook-Signature': 't=1, v1=ZZ' };
    const { res, before, after } = await post(svc.url, body, { ...signed, ...extra });
    const [message] = await receive(1);
    assert.equal(message?.Body, body);
    const attributes = attributesOf(message);
    const receivedAt = assertReceivedAt(attributes['received-at']?.[1], before, after);
    assert.deepEqual(attributes, {
      'invoice-id': ['String', res.body.id],
      'request-id': ['String', res.headers.get('x-request-id')],
      'received-at': ['String', receivedAt],
      'webhook-id': ['String', 'msg_2Lx31Cc8Y'],
      'stripe-signature': ['String', extra['Stripe-Signature']],
      'webhook-signature': ['String', signed['webhook-signature']],
      'webhook-timestamp': ['String', signed['webhook-timestamp']],
      'x-webhook-signature': ['String', extra['X-Webhook-Signature']],
    });
  });

  test('x-webhook-signature with FORWARD_SIGNATURE_HEADERS: the one header present is the one forwarded', async (t) => {
    const { svc, receive } = await inProcessPipeline(t, {
      config: { webhookSecrets: HMAC_SECRET, forwardSignatureHeaders: true },
    });
    const body = JSON.stringify(makeInvoice({ note: 'caf\u00e9 \u{1F9FE}' }));
    const headers = hmacSignatureHeaders(HMAC_SECRET, body);
    const { res, before, after } = await post(svc.url, body, headers);
    const [message] = await receive(1);
    assert.equal(message?.Body, body);
    const attributes = attributesOf(message);
    const receivedAt = assertReceivedAt(attributes['received-at']?.[1], before, after);
    assert.deepEqual(attributes, {
      'invoice-id': ['String', res.body.id],
      'request-id': ['String', res.headers.get('x-request-id')],
      'received-at': ['String', receivedAt],
      'x-webhook-signature': ['String', headers['X-Webhook-Signature']],
    });
  });
});
