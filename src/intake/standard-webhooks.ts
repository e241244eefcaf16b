// Verifies Standard Webhooks' `webhook-*` headers (SIGNATURE_SCHEME=standard-webhooks; docs/api.md).
import { createHmac } from 'node:crypto';
import { invalidSignature } from './errors.js';
import { anyHmacMatches, isFresh, signatureTolerance } from './signature.js';
import { WEBHOOK_ID, type RequestHeaders, type SignatureCheck } from './types.js';

export interface StandardWebhooksCheckOptions {
  /** `whsec_<base64 key>` secrets, any of which may have signed a request (several during a rotation). */
  secrets: readonly string[];
  /** Largest accepted difference between `webhook-timestamp` and our clock, either way. Default: 300. */
  toleranceSeconds?: number;
  /** Current time in unix seconds. Default: `Date.now() / 1000`. */
  now?: () => number;
}

const SECRET_PREFIX = 'whsec_';
const DIGEST_BYTES = 32;
const TIMESTAMP = /^\d{1,12}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The key bytes of a `whsec_<base64>` secret; throws a RangeError naming what is wrong (never the secret). */
export function decodeStandardSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new RangeError('a Standard Webhooks secret starts with "whsec_"');
  const encoded = secret.slice(SECRET_PREFIX.length);
  const key = Buffer.from(encoded, 'base64');
  if (!BASE64.test(encoded) || key.length === 0) {
    throw new RangeError('a Standard Webhooks secret is "whsec_" followed by a non-empty base64 key');
  }
  return key;
}

/**
 * The `webhook-signature` value (`v1,<base64>`) of a message: HMAC-SHA256 with the secret's key bytes over
 * `<webhook-id>.<webhook-timestamp>.<raw body>`. For tests and for senders (see docs/api.md).
 */
export function signStandardWebhook(
  secret: string,
  webhookId: string,
  timestampSeconds: number | string,
  rawBody: string | Buffer,
): string {
  const digest = createHmac('sha256', decodeStandardSecret(secret))
    .update(`${webhookId}.${timestampSeconds}.`)
    .update(rawBody)
    .digest('base64');
  return `v1,${digest}`;
}

/**
 * Verifies Standard Webhooks signatures (standardwebhooks.com; docs/api.md, Signatures): headers `webhook-id`,
 * `webhook-timestamp` and `webhook-signature`, the last holding space-separated `v1,<base64>` entries (other
 * versions are ignored). Any entry may match any secret (rotation); every secret is compared against every
 * entry in constant time, without stopping at the first match.
 *
 * Not the `standardwebhooks` npm package (its reference implementation, used in our tests to sign): it
 * takes one secret per instance and stops at the first match, its tolerance is fixed at 5 minutes (ours is
 * SIGNATURE_TOLERANCE_SECONDS), it signs `payload.toString()` rather than the raw bytes (invalid UTF-8 is
 * replaced before hashing), it hashes in JavaScript (fast-sha256) where node:crypto is several times
 * faster on 256 KiB bodies, and it JSON-parses the payload, which intake does itself, bounded.
 */
export class StandardWebhooksCheck implements SignatureCheck {
  private readonly keys: readonly Buffer[];
  private readonly toleranceSeconds: number;
  private readonly now: () => number;

  constructor(options: StandardWebhooksCheckOptions) {
    if (options.secrets.length === 0) throw new RangeError('StandardWebhooksCheck needs at least one secret');
    const tolerance = signatureTolerance(options.toleranceSeconds);
    this.keys = options.secrets.map(decodeStandardSecret);
    this.toleranceSeconds = tolerance;
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  verify(rawBody: Buffer, headers: RequestHeaders): void {
    const id = single(headers['webhook-id']);
    const timestamp = single(headers['webhook-timestamp']);
    const signature = single(headers['webhook-signature']);
    if (id === undefined || timestamp === undefined || signature === undefined) {
      throw invalidSignature('missing webhook-id, webhook-timestamp or webhook-signature header');
    }
    if (!WEBHOOK_ID.test(id)) throw invalidSignature('malformed webhook-id header');
    if (!TIMESTAMP.test(timestamp)) throw invalidSignature('malformed webhook-timestamp header');
    if (!isFresh(this.now(), Number(timestamp), this.toleranceSeconds))
      throw invalidSignature('stale webhook-timestamp');
    const candidates = parseSignatures(signature);
    if (candidates.length === 0) throw invalidSignature('no v1 signature in webhook-signature');

    if (!anyHmacMatches(this.keys, `${id}.${timestamp}.`, rawBody, candidates)) {
      throw invalidSignature('no matching signature');
    }
  }
}

/** A header given once; a repeated one (Node joins or lists it) counts as malformed, so absent. */
function single(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The decoded digests of the `v1,<base64>` entries; entries of other versions or shapes are skipped. */
function parseSignatures(header: string): Buffer[] {
  const digests: Buffer[] = [];
  for (const entry of header.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const encoded = entry.slice(comma + 1);
    if (!BASE64.test(encoded)) continue;
    const digest = Buffer.from(encoded, 'base64');
    if (digest.length === DIGEST_BYTES) digests.push(digest);
    // Bounded: a header is at most ~16 KiB (Node's limit), so at most a few hundred entries.
  }
  return digests;
}
