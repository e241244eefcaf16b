import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HmacSignatureCheck, parseSecrets, signPayload } from '../../src/intake/index.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { metricValue, startService, type RunningService } from '../support/service.js';

// Intake logic only: nothing here is about SQS, so the in-memory sender takes its slot.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/signature-intake';
const OLD_SECRET = 'whsec_old_rotating_out';
const NEW_SECRET = 'whsec_new_rotating_in';
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A JSON text with non-ASCII characters and odd spacing: the signature covers these exact bytes. */
function rawInvoice(overrides: Record<string, unknown> = {}): string {
  const invoice = makeInvoice({ metadata: { note: 'Caf\u00e9 \u2013 r\u00e9sum\u00e9 \u{1F9FE}' }, ...overrides });
  return JSON.stringify(invoice, null, 1).replace('\n', ' \n\t ');
}

function signed(secret: string, body: string, t = nowSeconds()): Record<string, string> {
  return { 'X-Webhook-Signature': signPayload(secret, t, Buffer.from(body, 'utf8')) };
}

/**
 * Runs a service requiring signatures from `WEBHOOK_SECRETS="<old>, <new>"`, then stops it (which
 * drains the buffer) and returns what reached the sender.
 */
async function withService(use: (running: RunningService) => Promise<void>): Promise<string[]> {
  const sender = new InMemoryBatchSender();
  const running = await startService(
    { sqsQueueUrl: QUEUE_URL },
    { sender, signature: new HmacSignatureCheck({ secrets: parseSecrets(` ${OLD_SECRET} , ${NEW_SECRET} ,`) }) },
  );
  try {
    await use(running);
  } finally {
    await running.stop();
  }
  return sender.delivered.map((m) => m.body);
}

describe('intake with signatures required', () => {
  test('a correctly signed invoice is accepted with 202 and delivered byte for byte', async () => {
    const body = rawInvoice();
    const delivered = await withService(async ({ url }) => {
      const res = await postInvoice(url, body, signed(NEW_SECRET, body));
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.status, 'accepted');
    });
    assert.deepEqual(delivered, [body]);
  });

  test('during a rotation, invoices signed with the old and with the new secret are both accepted', async () => {
    const first = rawInvoice();
    const second = rawInvoice();
    const delivered = await withService(async ({ url }) => {
      assert.equal((await postInvoice(url, first, signed(OLD_SECRET, first))).status, 202);
      assert.equal((await postInvoice(url, second, signed(NEW_SECRET, second))).status, 202);
    });
    assert.deepEqual(delivered.sort(), [first, second].sort());
  });

  test('missing, wrong, stale, tampered or malformed signatures get 401 invalid_signature and nothing is delivered', async () => {
    const delivered = await withService(async ({ url }) => {
      const attempt = async (body: string, headers: Record<string, string>, why: string): Promise<void> => {
        const res = await postInvoice(url, body, headers);
        assert.equal(res.status, 401, `${why}: ${res.text}`);
        assert.equal(res.body.error, 'invalid_signature', why);
        assert.ok(res.headers.get('x-request-id'), `${why}: no X-Request-Id`);
        for (const secret of [OLD_SECRET, NEW_SECRET]) assert.ok(!res.text.includes(secret), `${why}: leaks a secret`);
      };
      await attempt(rawInvoice(), {}, 'missing');
      const b = rawInvoice();
      await attempt(b, signed('whsec_not_configured', b), 'wrong secret');
      const c = rawInvoice();
      await attempt(c, signed(NEW_SECRET, c, nowSeconds() - 3600), 'stale (old)');
      const d = rawInvoice();
      await attempt(d, signed(NEW_SECRET, d, nowSeconds() + 3600), 'stale (future)');
      const e = rawInvoice();
      const tampered = e.replace('"amount_due": 2500', '"amount_due": 1');
      assert.notEqual(tampered, e);
      await attempt(tampered, signed(NEW_SECRET, e), 'tampered body');
      await attempt(rawInvoice(), { 'X-Webhook-Signature': 'v1=deadbeef' }, 'malformed header');
      assert.equal(await metricValue(url, 'webhook_invoices_rejected_total', { reason: 'invalid_signature' }), 6);
    });
    assert.deepEqual(delivered, []);
  });

  test('an unsigned request is refused with 401 before its content is judged', async () => {
    const delivered = await withService(async ({ url }) => {
      const res = await postInvoice(url, '{"not": "an invoice"', {});
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'invalid_signature');
    });
    assert.deepEqual(delivered, []);
  });
});
