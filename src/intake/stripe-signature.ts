// Verifies Stripe's `Stripe-Signature` header (SIGNATURE_SCHEME=stripe; docs/stripe.md, docs/api.md Signatures).
import { invalidSignature } from './errors.js';
import { anyHmacMatches, isFresh, signatureTolerance } from './signature.js';
import type { RequestHeaders, SignatureCheck } from './types.js';

export interface StripeSignatureCheckOptions {
  /** Stripe endpoint secrets (`whsec_...`), any of which may have signed a request (several during a roll). */
  secrets: readonly string[];
  /** Largest accepted difference between the header's `t` and our clock, either way. Default: 300. */
  toleranceSeconds?: number;
  /** Current time in unix seconds. Default: `Date.now() / 1000`. */
  now?: () => number;
}

/** What a Stripe endpoint secret looks like: the dashboard and `stripe listen` both print `whsec_...`. */
export const STRIPE_SECRET = /^whsec_[\x21-\x7e]+$/;
const TIMESTAMP = /^\d{1,12}$/;
/** stripe-node compares the hex strings themselves, so only lower-case hex can ever match. */
const V1_DIGEST = /^[0-9a-f]{64}$/;

/**
 * `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">[,v1=...][,v0=...]`, as Stripe
 * sends it and as the `stripe` package's `webhooks.constructEvent` checks it. The HMAC key is the whole
 * `whsec_...` string as UTF-8: Stripe does not base64-decode it (stripe-node's NodeCryptoProvider calls
 * `createHmac('sha256', secret)`), unlike Standard Webhooks. The header is parsed as stripe-node parses it:
 * items split on `,`, key and value on `=`, no trimming, the last `t` counts, entries of other schemes
 * (`v0`, ...) are ignored. Any `v1` may match any secret (rotation, or Stripe rolling a secret with both
 * signatures in the header); every secret is compared with every `v1` in constant time, without stopping
 * at the first match.
 *
 * Stricter than stripe-node on what Stripe never sends: `t` must be decimal digits (stripe-node's
 * `parseInt` also takes `12abc`, and a `t` that is not a number at all skips its age check), and a `t`
 * more than the tolerance in the future is stale, as in the other schemes (stripe-node only checks age).
 */
export class StripeSignatureCheck implements SignatureCheck {
  private readonly secrets: readonly string[];
  private readonly toleranceSeconds: number;
  private readonly now: () => number;

  constructor(options: StripeSignatureCheckOptions) {
    if (options.secrets.length === 0) throw new RangeError('StripeSignatureCheck needs at least one secret');
    if (options.secrets.some((secret) => !STRIPE_SECRET.test(secret))) {
      throw new RangeError('a Stripe endpoint secret is "whsec_" followed by printable characters');
    }
    const tolerance = signatureTolerance(options.toleranceSeconds);
    this.secrets = [...options.secrets];
    this.toleranceSeconds = tolerance;
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  verify(rawBody: Buffer, headers: RequestHeaders): void {
    const header = headers['stripe-signature'];
    if (typeof header !== 'string' || header === '') throw invalidSignature('missing Stripe-Signature header');
    const parsed = parseStripeHeader(header);
    if (parsed.emptyV1) throw invalidSignature('malformed Stripe-Signature header: an empty v1');
    if (parsed.timestamp === undefined) throw invalidSignature('malformed Stripe-Signature header: no valid t');
    if (parsed.signatures.length === 0) throw invalidSignature('no v1 signature in Stripe-Signature header');
    if (!isFresh(this.now(), parsed.timestamp, this.toleranceSeconds)) throw invalidSignature('stale timestamp');
    if (!anyHmacMatches(this.secrets, `${parsed.timestamp}.`, rawBody, parsed.signatures)) {
      throw invalidSignature('no matching signature');
    }
  }
}

/**
 * The header's `t` (undefined when absent or not decimal digits) and its decodable `v1` digests; `emptyV1`
 * when a `v1` entry has no value.
 */
export function parseStripeHeader(header: string): {
  timestamp: number | undefined;
  signatures: Buffer[];
  emptyV1?: true;
} {
  let t: string | undefined;
  const signatures: Buffer[] = [];
  for (const item of header.split(',')) {
    // As stripe-node: `key=value`, the value ending at a second `=` if there is one.
    const [key, value] = item.split('=');
    if (key === 't') t = value;
    else if (key === 'v1') {
      // stripe-node refuses the whole header when a v1 is empty (its secureCompare throws): so do we.
      if (value === undefined || value === '') return { timestamp: undefined, signatures: [], emptyV1: true };
      if (V1_DIGEST.test(value)) signatures.push(Buffer.from(value, 'hex'));
    }
    // A header is at most ~16 KiB (Node's limit), so this is at most a few hundred entries.
  }
  // Signed as stripe-node signs and checks it: the number, so `t=0123` means 123.
  const timestamp = t !== undefined && TIMESTAMP.test(t) ? Number(t) : undefined;
  return { timestamp, signatures };
}
