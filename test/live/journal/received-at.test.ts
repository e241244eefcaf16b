import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { encodeRecord } from '../../../src/journal/format.js';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { spawnOn, sqsQueue } from '../../support/pipeline.js';
import { tempDir } from '../../support/service.js';
import { attribute } from '../../support/sqs.js';
import { STRIPE_SCHEMA_FILE, stripeInvoicePaidEvent, stripeSignatureHeaders } from '../../support/stripe.js';

// docs/api.md, What lands on SQS: an invoice recovered from the journal after a crash carries the attributes it
// was accepted with (received-at, forwarded signature headers); one written by the previous version, which had
// no received-at, gets the time its segment file was last written.
const SECRET = 'whsec_5x9Cq1yTn0vVh2d6JwzP4kLrA8mE3sBt';

describe('received-at and forwarded headers through the journal (LocalStack)', () => {
  it('after SIGKILL, the recovered message has its original received-at and Stripe-Signature, byte for byte', async (t) => {
    // Nothing is acknowledged before the kill: every event is sent only by the next run, from the journal.
    const queue = await sqsQueue(t, { proxy: { mode: 'refuse' } });
    const env = {
      JOURNAL_DIR: path.join(tempDir(), 'journal'),
      RETRY_MAX_MS: '200',
      SIGNATURE_SCHEME: 'stripe',
      WEBHOOK_SECRETS: SECRET,
      INVOICE_SCHEMA_FILE: STRIPE_SCHEMA_FILE,
      FORWARD_SIGNATURE_HEADERS: 'true',
    };
    const first = await spawnOn(t, queue, { env });
    const sent: { body: string; header: string; requestId: string; before: number; after: number }[] = [];
    for (let i = 0; i < 3; i += 1) {
      const body = JSON.stringify(stripeInvoicePaidEvent(), null, 2);
      const headers = stripeSignatureHeaders(SECRET, body);
      const before = Date.now();
      const res = await postInvoice(first.url, body, headers);
      const after = Date.now();
      assert.equal(res.status, 202, res.text);
      sent.push({
        body,
        header: headers['Stripe-Signature'] ?? '',
        requestId: res.headers.get('x-request-id') ?? '',
        before,
        after,
      });
    }
    first.child.kill('SIGKILL');
    await first.exited;
    // Long enough that a received-at stamped at recovery could not pass for the original.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    await queue.proxy?.setMode('pass');
    const second = await spawnOn(t, queue, { env });
    const messages = await queue.receive(sent.length, { timeoutMs: 30000 });
    for (const s of sent) {
      const message = messages.find((m) => m.Body === s.body);
      assert.ok(message, 'the body arrived byte for byte');
      const names = Object.keys(message.MessageAttributes ?? {}).sort();
      assert.deepEqual(names, ['invoice-id', 'received-at', 'request-id', 'stripe-signature']);
      assert.equal(attribute(message, 'stripe-signature'), s.header);
      assert.equal(attribute(message, 'request-id'), s.requestId);
      const receivedAt = Date.parse(attribute(message, 'received-at') ?? '');
      assert.ok(receivedAt >= s.before && receivedAt <= s.after, `received-at ${attribute(message, 'received-at')}`);
    }
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });

  it("a record the previous version wrote (no received-at) is sent with its segment file's time", async (t) => {
    const queue = await sqsQueue(t);
    const dir = path.join(tempDir(), 'journal');
    mkdirSync(dir, { recursive: true });
    const invoice = makeInvoice();
    const body = JSON.stringify(invoice);
    // Byte for byte what the previous version wrote: the record format is unchanged, its attributes had no received-at.
    const segment = path.join(dir, 'segment-000000000007.log');
    writeFileSync(
      segment,
      encodeRecord({
        i: invoice.id as string,
        r: 'req-before-upgrade',
        b: body,
        a: { 'invoice-id': invoice.id as string, 'request-id': 'req-before-upgrade' },
      }),
    );
    const writtenAt = new Date('2026-12-01T08:09:10.123Z');
    utimesSync(segment, writtenAt, writtenAt);
    const svc = await spawnOn(t, queue, { env: { JOURNAL_DIR: dir } });
    const [message] = await queue.receive(1);
    assert.equal(message?.Body, body);
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(message?.MessageAttributes ?? {}).map(([k, v]) => [k, [v.DataType, v.StringValue]]),
      ),
      {
        'invoice-id': ['String', invoice.id],
        'request-id': ['String', 'req-before-upgrade'],
        'received-at': ['String', '2026-12-01T08:09:10.123Z'],
      },
    );
    svc.child.kill('SIGTERM');
    assert.equal((await svc.exited).code, 0);
  });
});
