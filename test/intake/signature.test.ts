import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeSignature, HmacSignatureCheck, parseSecrets, signPayload } from '../../src/intake/index.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { hmacSignatureHeaders as signed, nowSeconds, signatureRejection } from '../support/signatures.js';
import { metricValue, type RunningService, startService } from '../support/service.js';

const NOW = 1_790_000_000;
const OLD_SECRET = 'whsec_old_0123456789abcdef';
const NEW_SECRET = 'whsec_new_fedcba9876543210';
const BODY = Buffer.from('{"id":"inv_1","amount_due":2500,"note":"caf\u00e9"}', 'utf8');

function check(secrets = [NEW_SECRET], toleranceSeconds?: number, now = NOW): HmacSignatureCheck {
  return new HmacSignatureCheck({
    secrets,
    now: () => now,
    ...(toleranceSeconds === undefined ? {} : { toleranceSeconds }),
  });
}

/** The 401's message for a request carrying this X-Webhook-Signature header (none: no header), or undefined. */
const rejection = (verifier: HmacSignatureCheck, body: Buffer, header: string | undefined): string | undefined =>
  signatureRejection(verifier, body, header === undefined ? {} : { 'x-webhook-signature': header });

describe('signPayload and computeSignature', () => {
  test('produce t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, matching a known vector', () => {
    // Independent vector: printf '%s' '1790000000.{"a":1}' | openssl dgst -sha256 -hmac key
    assert.equal(
      computeSignature('key', 1_790_000_000, '{"a":1}'),
      '7a4d26944722100249410c8c7f2e76c3cc6e9735fcc98b39e44a122da5490ffc',
    );
    assert.equal(
      signPayload('key', 1_790_000_000, Buffer.from('{"a":1}')),
      't=1790000000,v1=7a4d26944722100249410c8c7f2e76c3cc6e9735fcc98b39e44a122da5490ffc',
    );
  });
});

describe('parseSecrets', () => {
  test('splits on commas, trims, and drops empty entries', () => {
    assert.deepEqual(parseSecrets(' a ,b,, c ,'), ['a', 'b', 'c']);
    assert.deepEqual(parseSecrets(''), []);
    assert.deepEqual(parseSecrets(' , ,'), []);
    assert.deepEqual(parseSecrets('only'), ['only']);
  });
});

describe('HmacSignatureCheck', () => {
  test('a request signed with the configured secret at the current time passes', () => {
    assert.equal(rejection(check(), BODY, signPayload(NEW_SECRET, NOW, BODY)), undefined);
  });

  test('during a rotation, requests signed with either configured secret pass', () => {
    const rotating = check([OLD_SECRET, NEW_SECRET]);
    assert.equal(rejection(rotating, BODY, signPayload(OLD_SECRET, NOW, BODY)), undefined);
    assert.equal(rejection(rotating, BODY, signPayload(NEW_SECRET, NOW, BODY)), undefined);
    assert.equal(rejection(check([NEW_SECRET]), BODY, signPayload(OLD_SECRET, NOW, BODY)), 'no matching signature');
  });

  test('a header with several v1 entries passes when any one of them matches', () => {
    const good = computeSignature(NEW_SECRET, NOW, BODY);
    const other = computeSignature('some-other-secret', NOW, BODY);
    assert.equal(rejection(check(), BODY, `t=${NOW},v1=${other},v1=${good}`), undefined);
    assert.equal(rejection(check(), BODY, `t=${NOW},v1=${good},v1=${other}`), undefined);
    assert.equal(rejection(check(), BODY, `t=${NOW},v1=${other},v1=${other}`), 'no matching signature');
  });

  test('a tampered body is refused', () => {
    const header = signPayload(NEW_SECRET, NOW, BODY);
    const tampered = Buffer.from(BODY);
    tampered.writeUInt8(tampered.readUInt8(5) ^ 0x01, 5);
    assert.equal(rejection(check(), tampered, header), 'no matching signature');
    assert.equal(rejection(check(), Buffer.concat([BODY, Buffer.from(' ')]), header), 'no matching signature');
  });

  test('a signature made for another timestamp is refused even when that timestamp is fresh', () => {
    const v1 = computeSignature(NEW_SECRET, NOW - 10, BODY);
    assert.equal(rejection(check(), BODY, `t=${NOW},v1=${v1}`), 'no matching signature');
  });

  test('a timestamp older or newer than the tolerance is stale; one exactly at the tolerance passes', () => {
    const verifier = check([NEW_SECRET], 300);
    assert.equal(rejection(verifier, BODY, signPayload(NEW_SECRET, NOW - 300, BODY)), undefined);
    assert.equal(rejection(verifier, BODY, signPayload(NEW_SECRET, NOW + 300, BODY)), undefined);
    assert.equal(rejection(verifier, BODY, signPayload(NEW_SECRET, NOW - 301, BODY)), 'stale timestamp');
    assert.equal(rejection(verifier, BODY, signPayload(NEW_SECRET, NOW + 301, BODY)), 'stale timestamp');
    assert.equal(rejection(verifier, BODY, signPayload(NEW_SECRET, 0, BODY)), 'stale timestamp');
  });

  test('the tolerance defaults to 300 seconds and follows the option when given', () => {
    const byDefault = new HmacSignatureCheck({ secrets: [NEW_SECRET], now: () => NOW });
    assert.equal(rejection(byDefault, BODY, signPayload(NEW_SECRET, NOW - 300, BODY)), undefined);
    assert.equal(rejection(byDefault, BODY, signPayload(NEW_SECRET, NOW - 301, BODY)), 'stale timestamp');
    const strict = check([NEW_SECRET], 5);
    assert.equal(rejection(strict, BODY, signPayload(NEW_SECRET, NOW - 6, BODY)), 'stale timestamp');
  });

  test('without a clock override it compares against the real time', () => {
    const real = new HmacSignatureCheck({ secrets: [NEW_SECRET] });
    const nowSeconds = Math.floor(Date.now() / 1000);
    assert.equal(rejection(real, BODY, signPayload(NEW_SECRET, nowSeconds, BODY)), undefined);
    assert.equal(rejection(real, BODY, signPayload(NEW_SECRET, nowSeconds - 3600, BODY)), 'stale timestamp');
  });

  test('a missing or blank header is refused as missing', () => {
    assert.equal(rejection(check(), BODY, undefined), 'missing signature');
    assert.equal(rejection(check(), BODY, ''), 'missing signature');
    assert.equal(rejection(check(), BODY, '   '), 'missing signature');
  });

  test('headers that cannot be parsed are refused as malformed', () => {
    const v1 = computeSignature(NEW_SECRET, NOW, BODY);
    const malformed = [
      v1, // bare signature, no keys
      `t=${NOW}`, // no v1
      `v1=${v1}`, // no t
      `t=abc,v1=${v1}`,
      `t=-5,v1=${v1}`,
      `t=${NOW}.5,v1=${v1}`,
      `t=${NOW},t=${NOW},v1=${v1}`, // two timestamps
      `t=${NOW},v1=${v1.slice(0, 63)}`, // short hex
      `t=${NOW},v1=${v1}00`, // long hex
      `t=${NOW},v1=${v1.slice(0, 62)}zz`, // not hex
      `t=${NOW};v1=${v1}`,
      `t=${NOW},,v1=${v1}`,
      `=${NOW},v1=${v1}`,
    ];
    for (const header of malformed) {
      assert.equal(rejection(check(), BODY, header), 'malformed signature header', header);
    }
  });

  test('spaces around entries, upper-case hex and unknown schemes next to v1 are tolerated', () => {
    const v1 = computeSignature(NEW_SECRET, NOW, BODY);
    assert.equal(rejection(check(), BODY, ` t=${NOW} , v1=${v1.toUpperCase()} `), undefined);
    assert.equal(rejection(check(), BODY, `t=${NOW},v0=legacy,v1=${v1}`), undefined);
  });

  test('refusal messages never contain a secret or the expected signature', () => {
    const secrets = [OLD_SECRET, NEW_SECRET];
    const verifier = check(secrets);
    const expected = secrets.map((s) => computeSignature(s, NOW, BODY));
    const wrong = computeSignature('attacker', NOW, BODY);
    const headers = [undefined, 'garbage', `t=1,v1=${wrong}`, `t=${NOW},v1=${wrong}`];
    for (const header of headers) {
      const message = rejection(verifier, BODY, header);
      assert.ok(message !== undefined, `${String(header)} passed`);
      for (const secret of [...secrets, ...expected]) assert.ok(!message.includes(secret), `message leaks: ${message}`);
    }
  });

  test('it refuses to be built without a usable secret', () => {
    assert.throws(() => new HmacSignatureCheck({ secrets: [] }), RangeError);
    assert.throws(() => new HmacSignatureCheck({ secrets: [''] }), RangeError);
    assert.throws(() => new HmacSignatureCheck({ secrets: ['s'], toleranceSeconds: -1 }), RangeError);
  });
});

// Intake logic only: nothing here is about SQS, so the in-memory sender takes its slot.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/signature-intake';

/** A JSON text with non-ASCII characters and odd spacing: the signature covers these exact bytes. */
function rawInvoice(overrides: Record<string, unknown> = {}): string {
  const invoice = makeInvoice({ metadata: { note: 'Caf\u00e9 \u2013 r\u00e9sum\u00e9 \u{1F9FE}' }, ...overrides });
  return JSON.stringify(invoice, null, 1).replace('\n', ' \n\t ');
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
