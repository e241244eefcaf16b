import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { StandardWebhooksCheck } from '../../src/intake/index.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { attribute, createQueue, deleteQueue, receiveAll } from '../support/localstack.js';
import { startService, type RunningService } from '../support/service.js';

// SIGNATURE_SCHEME=standard-webhooks through the whole service (docs/api.md, Signatures). Senders sign with the
// reference library (`standardwebhooks` on npm), as a provider built on it would.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/standard-webhooks-intake';
const OLD_SECRET = 'whsec_b2xkLXNlY3JldC1yb3RhdGluZy1vdXQ=';
const NEW_SECRET = 'whsec_bmV3LXNlY3JldC1yb3RhdGluZy1pbg==';
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function signed(secret: string, webhookId: string, body: string, t = nowSeconds()): Record<string, string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(t),
    'webhook-signature': new Webhook(secret).sign(webhookId, new Date(t * 1000), body),
  };
}

const config = {
  sqsQueueUrl: QUEUE_URL,
  signatureScheme: 'standard-webhooks' as const,
  webhookSecrets: `${OLD_SECRET}, ${NEW_SECRET}`,
  dedupeWindowSeconds: 60,
  dedupeKey: 'webhook-id' as const,
};

describe('intake with SIGNATURE_SCHEME=standard-webhooks and DEDUPE_KEY=webhook-id', () => {
  let running: RunningService;
  let sender: InMemoryBatchSender;
  before(async () => {
    sender = new InMemoryBatchSender();
    running = await startService(config, { sender });
  });
  after(async () => {
    await running.stop();
  });

  test('invoices signed with the old and with the new secret are accepted and carry their webhook-id', async () => {
    const first = JSON.stringify(makeInvoice());
    const second = JSON.stringify(makeInvoice());
    assert.equal((await postInvoice(running.url, first, signed(OLD_SECRET, 'msg_old_1', first))).status, 202);
    const res = await postInvoice(running.url, second, signed(NEW_SECRET, 'msg_new_1', second));
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.status, 'accepted');
    await running.service.flusher.drain(5000);
    const byBody = new Map(sender.delivered.map((m) => [m.body, m.attributes]));
    assert.equal(byBody.get(first)?.['webhook-id'], 'msg_old_1');
    assert.equal(byBody.get(second)?.['webhook-id'], 'msg_new_1');
  });

  test("a sender's retry of the same message (same webhook-id, new timestamp) is a duplicate", async () => {
    const body = JSON.stringify(makeInvoice());
    const t = nowSeconds();
    assert.equal((await postInvoice(running.url, body, signed(NEW_SECRET, 'msg_retry', body, t))).status, 202);
    const retry = await postInvoice(running.url, body, signed(NEW_SECRET, 'msg_retry', body, t + 2));
    assert.equal(retry.status, 202, retry.text);
    assert.equal(retry.body.status, 'duplicate');
  });

  test('a new message about the same invoice (new webhook-id) is not a duplicate', async () => {
    const invoice = makeInvoice();
    const body = JSON.stringify(invoice);
    assert.equal((await postInvoice(running.url, body, signed(NEW_SECRET, 'msg_update_1', body))).status, 202);
    const again = await postInvoice(running.url, body, signed(NEW_SECRET, 'msg_update_2', body));
    assert.equal(again.body.status, 'accepted', again.text);
  });

  test('missing, foreign-scheme, wrong-secret, stale or tampered requests get 401 and nothing is queued', async () => {
    const before = running.service.buffer.size + sender.delivered.length;
    const body = JSON.stringify(makeInvoice());
    const cases: [string, Record<string, string>, string][] = [
      ['no headers', {}, body],
      ['X-Webhook-Signature instead', { 'X-Webhook-Signature': `t=${nowSeconds()},v1=${'0'.repeat(64)}` }, body],
      ['a secret not configured', signed('whsec_c29tZW9uZS1lbHNl', 'msg_x1', body), body],
      ['stale', signed(NEW_SECRET, 'msg_x2', body, nowSeconds() - 3600), body],
      ['tampered', signed(NEW_SECRET, 'msg_x3', body), body.replace('"amount_due":2500', '"amount_due":1')],
      ['id swapped', { ...signed(NEW_SECRET, 'msg_x4', body), 'webhook-id': 'msg_x5' }, body],
    ];
    for (const [why, headers, sent] of cases) {
      const res = await postInvoice(running.url, sent, headers);
      assert.equal(res.status, 401, `${why}: ${res.text}`);
      assert.equal(res.body.error, 'invalid_signature', why);
    }
    await running.service.flusher.drain(5000);
    assert.equal(running.service.buffer.size + sender.delivered.length, before);
  });
});

describe('the published test vector through the HTTP intake', () => {
  test('passes the signature check (then fails the invoice schema: 422), and a tampered copy gets 401', async () => {
    const vector = {
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      headers: {
        'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp': '1614265330',
        'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
      payload: '{"test": 2432232314}',
    };
    const signature = new StandardWebhooksCheck({ secrets: [vector.secret], now: () => 1614265330 });
    const running = await startService({ sqsQueueUrl: QUEUE_URL }, { sender: new InMemoryBatchSender(), signature });
    try {
      const res = await postInvoice(running.url, vector.payload, vector.headers);
      assert.equal(res.status, 422, res.text);
      const tampered = await postInvoice(running.url, vector.payload.replace('4}', '5}'), vector.headers);
      assert.equal(tampered.status, 401, tampered.text);
    } finally {
      await running.stop();
    }
  });
});

describe('webhook-id on the SQS message (LocalStack)', () => {
  test('the accepted message carries the webhook-id attribute beside invoice-id and request-id', async () => {
    const queueUrl = await createQueue('sw-attr');
    const running = await startService({ ...config, sqsQueueUrl: queueUrl });
    try {
      const invoice = makeInvoice();
      const body = JSON.stringify(invoice);
      const res = await postInvoice(running.url, body, signed(OLD_SECRET, 'msg_on_sqs', body));
      assert.equal(res.status, 202, res.text);
      const [message] = await receiveAll(queueUrl, { expected: 1 });
      assert.ok(message);
      assert.equal(message.Body, body);
      assert.equal(attribute(message, 'webhook-id'), 'msg_on_sqs');
      assert.equal(attribute(message, 'invoice-id'), invoice.id);
      assert.equal(attribute(message, 'request-id'), res.headers.get('x-request-id'));
    } finally {
      await running.stop();
      await deleteQueue(queueUrl);
    }
  });
});
