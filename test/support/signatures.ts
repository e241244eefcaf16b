import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { IntakeError } from '../../src/intake/errors.js';
import { signPayload, type RequestHeaders, type SignatureCheck } from '../../src/intake/index.js';

/** The current Unix time in seconds, as signature timestamps carry it. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The three Standard Webhooks headers a sender built on the reference library (`standardwebhooks`) sends. */
export function standardWebhookHeaders(
  secret: string,
  webhookId: string,
  body: string,
  t = nowSeconds(),
): Record<string, string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(t),
    'webhook-signature': new Webhook(secret).sign(webhookId, new Date(t * 1000), body),
  };
}

/** The `X-Webhook-Signature` header of the HMAC scheme (`t=<seconds>,v1=<hex>`) for these exact bytes. */
export function hmacSignatureHeaders(secret: string, body: string, t = nowSeconds()): Record<string, string> {
  return { 'X-Webhook-Signature': signPayload(secret, t, Buffer.from(body, 'utf8')) };
}

/** Runs a signature check and returns its 401's message, or undefined when the request passed. */
export function signatureRejection(
  check: SignatureCheck,
  body: string | Buffer,
  headers: RequestHeaders,
): string | undefined {
  try {
    check.verify(Buffer.from(body), headers);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof IntakeError, `expected an IntakeError, got ${String(error)}`);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'invalid_signature');
    return error.message;
  }
}
