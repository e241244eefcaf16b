import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import Stripe from 'stripe';
import { StripeSignatureCheck, parseStripeHeader } from '../../src/intake/index.js';
import { signatureRejection } from '../support/signatures.js';

// Secrets shaped as Stripe gives them: the dashboard's (whsec_ + 32 base64-ish characters) and `stripe
// listen`'s (whsec_ + 64 hex). Made up for the tests.
const SECRET = 'whsec_5x9Cq1yTn0vVh2d6JwzP4kLrA8mE3sBt';
const ROLLED = 'whsec_0f3c0a6bd8f2e61a9d9a6b1e54c7f2a0c33e4d2b8e1f6a7c9d0e5b4a3f2c1d0e';
const STRANGER = 'whsec_notConfiguredAnywhere0000000000000';
const NOW = 1_765_000_000;
const TOLERANCE = 300;
const BODY = JSON.stringify({
  id: 'evt_1RtDkRLkdIwHu7ixExample',
  object: 'event',
  type: 'invoice.paid',
  data: {
    object: {
      id: 'in_1RtDkQLkdIwHu7ix',
      object: 'invoice',
      customer: 'cus_NffrFeUfNV2Hib',
      note: 'caf\u00e9 \u{1F9FE}',
    },
  },
});

const stripeHeader = (payload: string, secret: string, timestamp = NOW): string =>
  Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });

function ours(secrets: readonly string[], body: string, header: string | undefined, now = NOW): boolean {
  const check = new StripeSignatureCheck({ secrets, toleranceSeconds: TOLERANCE, now: () => now });
  return signatureRejection(check, body, header === undefined ? {} : { 'stripe-signature': header }) === undefined;
}

/** The `stripe` package's verdict: constructEvent with any one of the secrets, at the same clock and tolerance. */
function theirs(secrets: readonly string[], body: string, header: string | undefined, now = NOW): boolean {
  return secrets.some((secret) => {
    try {
      // receivedAt (last argument) is in milliseconds: the clock both checks share.
      Stripe.webhooks.constructEvent(Buffer.from(body), header ?? '', secret, TOLERANCE, undefined, now * 1000);
      return true;
    } catch {
      return false;
    }
  });
}

describe('Stripe signatures (SIGNATURE_SCHEME=stripe)', () => {
  test('the whole whsec_ string is the HMAC key: not base64-decoded, as in stripe-node', () => {
    const header = stripeHeader(BODY, SECRET);
    const v1 = header.split(',')[1]?.slice(3);
    assert.equal(v1, createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex'));
    const decodedKey = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    assert.notEqual(v1, createHmac('sha256', decodedKey).update(`${NOW}.${BODY}`).digest('hex'));
    assert.equal(ours([SECRET], BODY, header), true);
  });

  test('parseStripeHeader keeps the last t and the lower-case hex v1 entries only', () => {
    const hex = 'ab'.repeat(32);
    const parsed = parseStripeHeader(`t=1,v0=${hex},v1=${hex},t=0123,v1=${hex.toUpperCase()},v1=zz,v2=${hex}`);
    assert.equal(parsed.timestamp, 123);
    assert.deepEqual(
      parsed.signatures.map((s) => s.toString('hex')),
      [hex],
    );
    assert.equal(parseStripeHeader('t=12x,v1=' + hex).timestamp, undefined);
  });

  test('each 401 says why, and never shows a secret or an expected signature', () => {
    const check = new StripeSignatureCheck({ secrets: [SECRET], now: () => NOW });
    const expected = createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex');
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /missing Stripe-Signature/],
      [{ 'stripe-signature': `v1=${expected}` }, /no valid t/],
      [{ 'stripe-signature': `t=${NOW}` }, /no v1 signature/],
      [{ 'stripe-signature': stripeHeader(BODY, SECRET, NOW - 301) }, /stale/],
      [{ 'stripe-signature': stripeHeader(BODY, STRANGER) }, /no matching signature/],
    ];
    for (const [headers, why] of cases) {
      const message = signatureRejection(check, BODY, headers);
      assert.match(message ?? 'passed', why);
      assert.ok(!message?.includes(SECRET) && !message?.includes(expected), message);
    }
  });

  test('a t more than the tolerance in the future is stale, as in the other schemes (stripe-node only checks age)', () => {
    const header = stripeHeader(BODY, SECRET, NOW + TOLERANCE + 1);
    assert.equal(ours([SECRET], BODY, header), false);
    assert.equal(theirs([SECRET], BODY, header), true, 'stripe-node accepts it: the one intended difference');
    assert.equal(ours([SECRET], BODY, stripeHeader(BODY, SECRET, NOW + TOLERANCE)), true);
  });

  test('refuses secrets that are not Stripe endpoint secrets, and an empty list', () => {
    assert.throws(() => new StripeSignatureCheck({ secrets: [] }), RangeError);
    assert.throws(() => new StripeSignatureCheck({ secrets: ['sk_test_123'] }), /whsec_/);
    assert.throws(() => new StripeSignatureCheck({ secrets: ['whsec_'] }), /whsec_/);
  });
});

describe('Stripe signatures: our verdict equals stripe.webhooks.constructEvent', () => {
  const valid = stripeHeader(BODY, SECRET);
  const v1Of = (header: string): string => header.slice(header.indexOf('v1='));
  const cases: { name: string; secrets: string[]; body?: string; header: string | undefined; passes: boolean }[] = [
    { name: 'valid', secrets: [SECRET], header: valid, passes: true },
    {
      name: 'valid at the tolerance edge',
      secrets: [SECRET],
      header: stripeHeader(BODY, SECRET, NOW - 300),
      passes: true,
    },
    {
      name: 'tampered body',
      secrets: [SECRET],
      body: BODY.replace('invoice.paid', 'invoice.void'),
      header: valid,
      passes: false,
    },
    { name: 'body with a trailing newline', secrets: [SECRET], body: `${BODY}\n`, header: valid, passes: false },
    { name: 'stale (301 s old)', secrets: [SECRET], header: stripeHeader(BODY, SECRET, NOW - 301), passes: false },
    { name: 'stale (a day old)', secrets: [SECRET], header: stripeHeader(BODY, SECRET, NOW - 86400), passes: false },
    { name: 'wrong secret', secrets: [SECRET], header: stripeHeader(BODY, STRANGER), passes: false },
    {
      name: 'several secrets, signed with the second',
      secrets: [SECRET, ROLLED],
      header: stripeHeader(BODY, ROLLED),
      passes: true,
    },
    {
      name: 'several v1 (Stripe rolling a secret): the matching one last',
      secrets: [ROLLED],
      header: `${stripeHeader(BODY, SECRET)},${v1Of(stripeHeader(BODY, ROLLED))}`,
      passes: true,
    },
    {
      name: 'several v1, none matching',
      secrets: [SECRET],
      header: `${stripeHeader(BODY, STRANGER)},${v1Of(stripeHeader(BODY, ROLLED))}`,
      passes: false,
    },
    {
      name: 'v0 entries ignored',
      secrets: [SECRET],
      header: `${valid},v0=${'0'.repeat(64)}`,
      passes: true,
    },
    { name: 'only a v0 signature', secrets: [SECRET], header: valid.replace('v1=', 'v0='), passes: false },
    { name: 'missing t', secrets: [SECRET], header: v1Of(valid), passes: false },
    { name: 'missing v1', secrets: [SECRET], header: `t=${NOW}`, passes: false },
    { name: 'garbage', secrets: [SECRET], header: 'not a signature at all', passes: false },
    { name: 'empty header', secrets: [SECRET], header: '', passes: false },
    { name: 'no header', secrets: [SECRET], header: undefined, passes: false },
    {
      name: 'upper-case hex',
      secrets: [SECRET],
      header: `t=${NOW},${v1Of(valid).toUpperCase().replace('V1', 'v1')}`,
      passes: false,
    },
    { name: 'spaces after the commas', secrets: [SECRET], header: valid.replace(',', ', '), passes: false },
    {
      name: 't with leading zeros (read as a number)',
      secrets: [SECRET],
      header: valid.replace('t=', 't=00'),
      passes: true,
    },
    {
      name: 'an empty v1 beside a valid one (stripe-node refuses the header)',
      secrets: [SECRET],
      header: `${valid},v1=`,
      passes: false,
    },
    { name: 'truncated v1', secrets: [SECRET], header: valid.slice(0, -2), passes: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const body = c.body ?? BODY;
      assert.equal(theirs(c.secrets, body, c.header), c.passes, 'stripe-node verdict');
      assert.equal(ours(c.secrets, body, c.header), c.passes, 'our verdict');
    });
  }

  test('property: on generated bodies, secrets, clocks and header mutations the two verdicts agree', () => {
    const secretArb = fc.constantFrom(SECRET, ROLLED, STRANGER, 'whsec_x');
    const mutation = fc.constantFrom(
      'none',
      'tamper-body',
      'flip-hex',
      'drop-t',
      'drop-v1',
      'add-v0',
      'add-garbage-v1',
      'prepend-other-v1',
      'duplicate-t',
      'garbage',
    );
    fc.assert(
      fc.property(
        fc.json({ maxDepth: 2 }),
        fc.uniqueArray(secretArb, { minLength: 1, maxLength: 3 }),
        secretArb,
        // Ages from 2 x the tolerance in the past to the edge of it in the future (beyond it the
        // schemes differ on purpose: see the test above).
        fc.integer({ min: -TOLERANCE, max: 2 * TOLERANCE }),
        mutation,
        fc.string({ maxLength: 40 }),
        (body, secrets, signer, age, mutate, noise) => {
          let header = stripeHeader(body, signer, NOW - age);
          let sent = body;
          const [tPart = '', v1Part = ''] = header.split(',');
          switch (mutate) {
            case 'tamper-body':
              sent = `${body} `;
              break;
            case 'flip-hex':
              header = header.slice(0, -1) + (header.endsWith('0') ? '1' : '0');
              break;
            case 'drop-t':
              header = v1Part;
              break;
            case 'drop-v1':
              header = tPart;
              break;
            case 'add-v0':
              header = `${header},v0=${'f'.repeat(64)}`;
              break;
            case 'add-garbage-v1':
              header = `${header},v1=${noise.replaceAll(',', '')}`;
              break;
            case 'prepend-other-v1':
              header = `${tPart},${v1Of(stripeHeader(body, STRANGER, NOW - age))},${v1Part}`;
              break;
            case 'duplicate-t':
              header = `t=${NOW - age - 1},${header}`;
              break;
            case 'garbage':
              header = noise;
              break;
            default:
              break;
          }
          assert.equal(ours(secrets, sent, header), theirs(secrets, sent, header), `header ${header}`);
        },
      ),
      { numRuns: 500 },
    );
  });
});
