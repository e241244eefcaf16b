import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { IntakeError } from '../../src/intake/errors.js';
import {
  StandardWebhooksCheck,
  decodeStandardSecret,
  signStandardWebhook,
  type RequestHeaders,
} from '../../src/intake/index.js';

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

/** Runs verify and returns the 401's message, or undefined when it passed. */
function rejection(verifier: StandardWebhooksCheck, body: string | Buffer, given: RequestHeaders): string | undefined {
  try {
    verifier.verify(Buffer.from(body), given);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof IntakeError, `expected an IntakeError, got ${String(error)}`);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'invalid_signature');
    return error.message;
  }
}

describe('Standard Webhooks signatures', () => {
  test('signStandardWebhook reproduces the published test vector', () => {
    assert.equal(signStandardWebhook(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.payload), VECTOR.signature);
  });

  test('the published vector verifies, alone and among other and unknown-version entries', () => {
    assert.equal(rejection(check(), VECTOR.payload, headers()), undefined);
    const multi = [OTHER_ENTRIES[0], OTHER_ENTRIES[1], VECTOR.signature, OTHER_ENTRIES[0]].join(' ');
    assert.equal(rejection(check(), VECTOR.payload, headers({ 'webhook-signature': multi })), undefined);
  });

  test('a signature made by the reference library (standardwebhooks on npm) verifies', () => {
    const now = Math.floor(Date.now() / 1000);
    const body = '{"id":"inv_1","note":"caf\u00e9 \u{1F9FE}"}';
    const signature = new Webhook(OTHER_SECRET).sign('msg_2Lx', new Date(now * 1000), body);
    assert.equal(
      rejection(check([OTHER_SECRET], now), body, {
        'webhook-id': 'msg_2Lx',
        'webhook-timestamp': String(now),
        'webhook-signature': signature,
      }),
      undefined,
    );
  });

  test('during a rotation either secret verifies; a secret that is not configured does not', () => {
    const rotating = check([OTHER_SECRET, VECTOR.secret]);
    assert.equal(rejection(rotating, VECTOR.payload, headers()), undefined);
    const signedWithOther = signStandardWebhook(OTHER_SECRET, VECTOR.id, VECTOR.timestamp, VECTOR.payload);
    assert.equal(rejection(rotating, VECTOR.payload, headers({ 'webhook-signature': signedWithOther })), undefined);
    assert.equal(
      rejection(check([OTHER_SECRET]), VECTOR.payload, headers()),
      'no matching signature',
      'the vector was signed with a key this check does not have',
    );
  });

  test('a timestamp outside the tolerance is stale, either way; inside it passes', () => {
    assert.match(rejection(check(undefined, VECTOR.timestamp + 301), VECTOR.payload, headers()) ?? '', /stale/);
    assert.match(rejection(check(undefined, VECTOR.timestamp - 301), VECTOR.payload, headers()) ?? '', /stale/);
    assert.equal(rejection(check(undefined, VECTOR.timestamp + 300), VECTOR.payload, headers()), undefined);
    assert.match(rejection(check(undefined, VECTOR.timestamp + 11, 10), VECTOR.payload, headers()) ?? '', /stale/);
  });

  test('missing headers, a tampered body, id or timestamp, and malformed entries fail with 401', () => {
    const c = check();
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      assert.match(rejection(c, VECTOR.payload, headers({ [name]: undefined })) ?? '', /missing/, name);
    }
    assert.ok(rejection(c, '{"test": 2432232315}', headers()), 'tampered body');
    assert.ok(rejection(c, VECTOR.payload, headers({ 'webhook-id': 'msg_other' })), 'other id');
    assert.ok(
      rejection(
        check(undefined, VECTOR.timestamp + 1),
        VECTOR.payload,
        headers({ 'webhook-timestamp': String(VECTOR.timestamp + 1) }),
      ),
      'other timestamp',
    );
    for (const bad of ['v1,dawfeoifkpqwoekfpqoekf', VECTOR.signature.slice(0, 8), 'v1,', 'g0hM9SsE', '']) {
      assert.ok(
        rejection(c, VECTOR.payload, headers({ 'webhook-signature': bad })),
        `signature ${JSON.stringify(bad)}`,
      );
    }
    assert.match(rejection(c, VECTOR.payload, headers({ 'webhook-timestamp': 'hello' })) ?? '', /malformed/);
    assert.match(rejection(c, VECTOR.payload, headers({ 'webhook-id': 'has space' })) ?? '', /malformed/);
  });

  test('failure messages never contain a secret or the expected signature', () => {
    const message = rejection(check(), '{"other": 1}', headers()) ?? '';
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
