import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { inProcessPipeline } from '../../support/pipeline.js';
import { standardWebhookHeaders } from '../../support/signatures.js';
import { attribute } from '../../support/sqs.js';

// The in-process intake tests (test/intake/standard-webhooks.test.ts) use the in-memory sender; this is
// the one part that is about SQS: what the message carries.
const SECRET = 'whsec_b2xkLXNlY3JldC1yb3RhdGluZy1vdXQ=';

describe('webhook-id on the SQS message (LocalStack)', () => {
  test('the accepted message carries the webhook-id attribute beside invoice-id and request-id', async (t) => {
    const { svc, receive } = await inProcessPipeline(t, {
      config: {
        signatureScheme: 'standard-webhooks',
        webhookSecrets: SECRET,
        dedupeWindowSeconds: 60,
        dedupeKey: 'webhook-id',
      },
    });
    const invoice = makeInvoice();
    const body = JSON.stringify(invoice);
    const res = await postInvoice(svc.url, body, standardWebhookHeaders(SECRET, 'msg_on_sqs', body));
    assert.equal(res.status, 202, res.text);
    const [message] = await receive(1);
    assert.ok(message);
    assert.equal(message.Body, body);
    assert.equal(attribute(message, 'webhook-id'), 'msg_on_sqs');
    assert.equal(attribute(message, 'invoice-id'), invoice.id);
    assert.equal(attribute(message, 'request-id'), res.headers.get('x-request-id'));
  });
});
