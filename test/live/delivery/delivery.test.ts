import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signPayload } from '../../../src/intake/index.js';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { inProcessPipeline, spawnedPipeline } from '../../support/pipeline.js';
import { metricValue } from '../../support/service.js';
import { attribute } from '../../support/sqs.js';

describe('confirmed ack mode against LocalStack', () => {
  it('answers 200 with the SQS MessageId once SQS acknowledged, still sharing batches across requests', async (t) => {
    const { svc, receive } = await inProcessPipeline(t, { config: { ackMode: 'confirmed', batchLingerMs: 20 } });
    const results = await Promise.all(Array.from({ length: 20 }, () => postInvoice(svc.url, makeInvoice())));
    const byInvoice = new Map<string, string>();
    for (const r of results) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.status, 'sent');
      assert.equal(typeof r.body.messageId, 'string');
      byInvoice.set(r.body.id as string, r.body.messageId as string);
    }
    const calls = await metricValue(svc.url, 'sqs_calls_total');
    assert.ok(calls <= 6, `20 concurrent confirmed requests took ${calls} SendMessageBatch calls (group commit)`);
    const messages = await receive(20);
    assert.equal(messages.length, 20);
    for (const m of messages) assert.equal(m.MessageId, byInvoice.get(attribute(m, 'invoice-id') as string));
  });

  it('answers with an error that says why when SQS refuses the invoice for good, and nothing lands', async (t) => {
    const { svc, receive } = await inProcessPipeline(t, {
      queueAttributes: { MaximumMessageSize: '1024' },
      config: { ackMode: 'confirmed' },
    });
    const res = await postInvoice(svc.url, makeInvoice({ metadata: { a: 'a'.repeat(500), b: 'b'.repeat(500) } }));
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body.error, 'rejected_by_sqs');
    assert.match(String(res.body.message), /SQS refused/);
    assert.equal((await receive(0, { timeoutMs: 1500 })).length, 0);
  });

  it('a client that disconnects before the answer causes neither loss nor an extra copy', async (t) => {
    const { svc, receive } = await inProcessPipeline(t, {
      proxy: { delayMs: 300 },
      config: { ackMode: 'confirmed' },
    });
    const invoice = makeInvoice();
    const controller = new AbortController();
    const pending = fetch(`${svc.url}/webhooks/invoice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(invoice),
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    await assert.rejects(pending);
    const messages = await receive(1, { timeoutMs: 10000 });
    assert.deepEqual(
      messages.map((m) => attribute(m, 'invoice-id')),
      [invoice.id],
    );
  });
});

describe('signatures and the dedupe window, configured through the environment', () => {
  it('only signed invoices land, rotated secrets both work, and a repeated id is sent once', async (t) => {
    const { svc, receive } = await spawnedPipeline(t, {
      env: { WEBHOOK_SECRETS: 'whsec_old, whsec_new', DEDUPE_WINDOW_SECONDS: '60' },
    });
    const now = Math.floor(Date.now() / 1000);
    const first = JSON.stringify(makeInvoice());
    const second = JSON.stringify(makeInvoice());
    const signedOld = await postInvoice(svc.url, first, {
      'X-Webhook-Signature': signPayload('whsec_old', now, first),
    });
    assert.equal(signedOld.status, 202, signedOld.text);
    const signedNew = await postInvoice(svc.url, second, {
      'X-Webhook-Signature': signPayload('whsec_new', now, second),
    });
    assert.equal(signedNew.status, 202, signedNew.text);

    const repeat = await postInvoice(svc.url, first, { 'X-Webhook-Signature': signPayload('whsec_new', now, first) });
    assert.equal(repeat.status, 202);
    assert.equal(repeat.body.status, 'duplicate');

    const forged = JSON.stringify(makeInvoice());
    for (const header of [
      undefined,
      signPayload('whsec_wrong', now, forged),
      signPayload('whsec_new', now - 301, forged),
      signPayload('whsec_new', now, `${forged} `),
    ]) {
      const res = await postInvoice(svc.url, forged, header ? { 'X-Webhook-Signature': header } : {});
      assert.equal(res.status, 401, `${header}: ${res.text}`);
      assert.equal(res.body.error, 'invalid_signature');
    }

    const messages = await receive(2);
    assert.deepEqual(messages.map((m) => m.Body).sort(), [first, second].sort());
    assert.ok(!svc.logs.some((l) => JSON.stringify(l).includes('whsec_')), 'secrets never reach the log');
  });
});
