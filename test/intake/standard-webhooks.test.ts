import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import {
  decodeStandardSecret,
  type RequestHeaders,
  signStandardWebhook,
  StandardWebhooksCheck,
} from '../../src/intake/index.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { nowSeconds, signatureRejection, standardWebhookHeaders as signed } from '../support/signatures.js';
import { type RunningService, startService } from '../support/service.js';

// The specification's published test vector (standard-webhooks/standard-webhooks, libraries/javascript
// webhook.test.ts "sign function works"; the same vector is in the Python, Go and Rust libraries' tests).
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
/** From the same tests ("multi sig payload is valid"): entries that must be skipped, not fail the header. */
const OTHER_ENTRIES = [
  'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
  'v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
];
const OTHER_SECRET = 'whsec_dGhlLW5ldy1zZWNyZXQtcm90YXRpbmctaW4=';

function check(secrets = [VECTOR.secret], now = VECTOR.timestamp, toleranceSeconds?: number): StandardWebhooksCheck {
  return new StandardWebhooksCheck({
    secrets,
    now: () => now,
    ...(toleranceSeconds === undefined ? {} : { toleranceSeconds }),
  });
}

function headers(overrides: Record<string, string | undefined> = {}): RequestHeaders {
  const all: Record<string, string | undefined> = {
    'webhook-id': VECTOR.id,
    'webhook-timestamp': String(VECTOR.timestamp),
    'webhook-signature': VECTOR.signature,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

describe('Standard Webhooks signatures', () => {
  test('signStandardWebhook reproduces the published test vector', () => {
    assert.equal(signStandardWebhook(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.payload), VECTOR.signature);
  });

  test('the published vector verifies, alone and among other and unknown-version entries', () => {
    assert.equal(signatureRejection(check(), VECTOR.payload, headers()), undefined);
    const multi = [OTHER_ENTRIES[0], OTHER_ENTRIES[1], VECTOR.signature, OTHER_ENTRIES[0]].join(' ');
    assert.equal(signatureRejection(check(), VECTOR.payload, headers({ 'webhook-signature': multi })), undefined);
  });

  test('a signature made by the reference library (standardwebhooks on npm) verifies', () => {
    const now = Math.floor(Date.now() / 1000);
    const body = '{"id":"inv_1","note":"caf\u00e9 \u{1F9FE}"}';
    const signature = new Webhook(OTHER_SECRET).sign('msg_2Lx', new Date(now * 1000), body);
    assert.equal(
      signatureRejection(check([OTHER_SECRET], now), body, {
        'webhook-id': 'msg_2Lx',
        'webhook-timestamp': String(now),
        'webhook-signature': signature,
      }),
      undefined,
    );
  });

  test('during a rotation either secret verifies; a secret that is not configured does not', () => {
    const rotating = check([OTHER_SECRET, VECTOR.secret]);
    assert.equal(signatureRejection(rotating, VECTOR.payload, headers()), undefined);
    const signedWithOther = signStandardWebhook(OTHER_SECRET, VECTOR.id, VECTOR.timestamp, VECTOR.payload);
    assert.equal(
      signatureRejection(rotating, VECTOR.payload, headers({ 'webhook-signature': signedWithOther })),
      undefined,
    );
    assert.equal(
      signatureRejection(check([OTHER_SECRET]), VECTOR.payload, headers()),
      'no matching signature',
      'the vector was signed with a key this check does not have',
    );
  });

  test('a timestamp outside the tolerance is stale, either way; inside it passes', () => {
    assert.match(
      signatureRejection(check(undefined, VECTOR.timestamp + 301), VECTOR.payload, headers()) ?? '',
      /stale/,
    );
    assert.match(
      signatureRejection(check(undefined, VECTOR.timestamp - 301), VECTOR.payload, headers()) ?? '',
      /stale/,
    );
    assert.equal(signatureRejection(check(undefined, VECTOR.timestamp + 300), VECTOR.payload, headers()), undefined);
    assert.match(
      signatureRejection(check(undefined, VECTOR.timestamp + 11, 10), VECTOR.payload, headers()) ?? '',
      /stale/,
    );
  });

  test('missing headers, a tampered body, id or timestamp, and malformed entries fail with 401', () => {
    const c = check();
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      assert.match(signatureRejection(c, VECTOR.payload, headers({ [name]: undefined })) ?? '', /missing/, name);
    }
    assert.ok(signatureRejection(c, '{"test": 2432232315}', headers()), 'tampered body');
    assert.ok(signatureRejection(c, VECTOR.payload, headers({ 'webhook-id': 'msg_other' })), 'other id');
    assert.ok(
      signatureRejection(
        check(undefined, VECTOR.timestamp + 1),
        VECTOR.payload,
        headers({ 'webhook-timestamp': String(VECTOR.timestamp + 1) }),
      ),
      'other timestamp',
    );
    for (const bad of ['v1,dawfeoifkpqwoekfpqoekf', VECTOR.signature.slice(0, 8), 'v1,', 'g0hM9SsE', '']) {
      assert.ok(
        signatureRejection(c, VECTOR.payload, headers({ 'webhook-signature': bad })),
        `signature ${JSON.stringify(bad)}`,
      );
    }
    assert.match(signatureRejection(c, VECTOR.payload, headers({ 'webhook-timestamp': 'hello' })) ?? '', /malformed/);
    assert.match(signatureRejection(c, VECTOR.payload, headers({ 'webhook-id': 'has space' })) ?? '', /malformed/);
  });

  test('failure messages never contain a secret or the expected signature', () => {
    const message = signatureRejection(check(), '{"other": 1}', headers()) ?? '';
    const expected = signStandardWebhook(VECTOR.secret, VECTOR.id, VECTOR.timestamp, '{"other": 1}');
    assert.ok(!message.includes(VECTOR.secret.slice(6)) && !message.includes(expected.slice(3)));
  });

  test('secrets must be whsec_<base64>', () => {
    assert.deepEqual([...decodeStandardSecret('whsec_AAEC')], [0, 1, 2]);
    for (const bad of ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_', 'whsec_not base64!']) {
      assert.throws(() => new StandardWebhooksCheck({ secrets: [bad] }), RangeError, bad);
    }
  });
});

// SIGNATURE_SCHEME=standard-webhooks through the whole service (docs/api.md, Signatures). Senders sign with the
// reference library (`standardwebhooks` on npm), as a provider built on it would.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/standard-webhooks-intake';
const OLD_SECRET = 'whsec_b2xkLXNlY3JldC1yb3RhdGluZy1vdXQ=';
const NEW_SECRET = 'whsec_bmV3LXNlY3JldC1yb3RhdGluZy1pbg==';

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
    const signature = new StandardWebhooksCheck({ secrets: [VECTOR.secret], now: () => VECTOR.timestamp });
    const running = await startService({ sqsQueueUrl: QUEUE_URL }, { sender: new InMemoryBatchSender(), signature });
    try {
      const res = await postInvoice(running.url, VECTOR.payload, headers() as Record<string, string>);
      assert.equal(res.status, 422, res.text);
      const tampered = await postInvoice(
        running.url,
        VECTOR.payload.replace('4}', '5}'),
        headers() as Record<string, string>,
      );
      assert.equal(tampered.status, 401, tampered.text);
    } finally {
      await running.stop();
    }
  });
});
