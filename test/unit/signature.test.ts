import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IntakeError } from '../../src/intake/errors.js';
import { HmacSignatureCheck, computeSignature, parseSecrets, signPayload } from '../../src/intake/index.js';

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

/** Runs verify and returns the 401's message, or undefined when it passed. */
function rejection(verifier: HmacSignatureCheck, body: Buffer, header: string | undefined): string | undefined {
  try {
    verifier.verify(body, header === undefined ? {} : { 'x-webhook-signature': header });
    return undefined;
  } catch (error) {
    assert.ok(error instanceof IntakeError, `expected an IntakeError, got ${String(error)}`);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'invalid_signature');
    return error.message;
  }
}

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
