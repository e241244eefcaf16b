// Verifies the `X-Webhook-Signature` header (SIGNATURE_SCHEME=x-webhook-signature; docs/api.md Signatures).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { invalidSignature } from './errors.js';
import type { RequestHeaders, SignatureCheck } from './types.js';

export interface HmacSignatureCheckOptions {
  /** Secrets any of which may have signed a request (several during a rotation). At least one. */
  secrets: readonly string[];
  /** Largest accepted difference between the signature's `t` and our clock, either way. Default: 300. */
  toleranceSeconds?: number;
  /** Current time in unix seconds. Default: `Date.now() / 1000`. */
  now?: () => number;
}

/** Bytes of an HMAC-SHA256 digest; every v1 entry must decode to exactly this many. */
const DIGEST_BYTES = 32;
const TIMESTAMP = /^\d{1,12}$/;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

/** The hex HMAC-SHA256 of `"<t>.<raw body>"`: the `v1` value of a signature header. */
export function computeSignature(secret: string, timestampSeconds: number | string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
}

/**
 * A whole `X-Webhook-Signature` value, `t=<unix seconds>,v1=<hex>`, for `rawBody` signed with `secret`.
 * For tests and for senders (see the README's curl example).
 */
export function signPayload(secret: string, timestampSeconds: number, rawBody: string | Buffer): string {
  return `t=${timestampSeconds},v1=${computeSignature(secret, timestampSeconds, rawBody)}`;
}

/** `WEBHOOK_SECRETS` as a list: comma-separated, each trimmed, empty ones dropped. */
export function parseSecrets(csv: string): string[] {
  return csv
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret.length > 0);
}

/**
 * The accepted clock difference of a signature's timestamp, for every scheme: `seconds`, or the
 * default 300 (SIGNATURE_TOLERANCE_SECONDS); a negative or non-finite value is a RangeError.
 */
export function signatureTolerance(seconds: number | undefined): number {
  const tolerance = seconds ?? 300;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`toleranceSeconds must be a non-negative number, got ${tolerance}`);
  }
  return tolerance;
}

/**
 * True when a signature's timestamp (unix seconds) lies within `toleranceSeconds` of `nowSeconds`, either
 * way. Checked before any HMAC work, so replays of old requests cost nothing.
 */
export function isFresh(nowSeconds: number, timestampSeconds: number, toleranceSeconds: number): boolean {
  return Math.abs(Math.floor(nowSeconds) - timestampSeconds) <= toleranceSeconds;
}

/**
 * True when any candidate digest equals the HMAC-SHA256 of `signedPrefix` followed by `rawBody` under any
 * key. Every key is compared against every candidate in constant time, without stopping at the first
 * match, so timing says nothing about which one matched. Shared by every signature scheme.
 */
export function anyHmacMatches(
  keys: readonly (string | Buffer)[],
  signedPrefix: string,
  rawBody: Buffer,
  candidates: readonly Buffer[],
): boolean {
  let matched = 0;
  for (const key of keys) {
    const expected = createHmac('sha256', key).update(signedPrefix).update(rawBody).digest();
    for (const candidate of candidates) {
      // Non-short-circuiting OR: every comparison runs whatever matched before.
      matched |= timingSafeEqual(expected, candidate) ? 1 : 0;
    }
  }
  return matched !== 0;
}

/**
 * Verifies `X-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (docs/api.md, Signatures).
 * Several `v1` entries may be given (the sender signing with old and new secret); any of them may match any
 * configured secret. Unknown keys (a future `v2`) are ignored. Every secret is compared against every
 * entry in constant time, without stopping at the first match, so timing says nothing about which one
 * matched. Failures throw a 401 whose message never contains a secret or an expected signature.
 */
export class HmacSignatureCheck implements SignatureCheck {
  private readonly secrets: readonly string[];
  private readonly toleranceSeconds: number;
  private readonly now: () => number;

  constructor(options: HmacSignatureCheckOptions) {
    if (options.secrets.length === 0 || options.secrets.some((s) => s.length === 0)) {
      throw new RangeError('HmacSignatureCheck needs at least one non-empty secret');
    }
    const tolerance = signatureTolerance(options.toleranceSeconds);
    this.secrets = [...options.secrets];
    this.toleranceSeconds = tolerance;
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  verify(rawBody: Buffer, headers: RequestHeaders): void {
    const header = headers['x-webhook-signature'];
    if (typeof header !== 'string' || header.trim() === '') throw invalidSignature('missing signature');
    const parsed = parseHeader(header);
    if (parsed === undefined) throw invalidSignature('malformed signature header');

    if (!isFresh(this.now(), Number(parsed.timestamp), this.toleranceSeconds))
      throw invalidSignature('stale timestamp');
    if (!anyHmacMatches(this.secrets, `${parsed.timestamp}.`, rawBody, parsed.signatures)) {
      throw invalidSignature('no matching signature');
    }
  }
}

/** `t` as sent (it is part of the signed text) and the decoded `v1` digests; undefined when malformed. */
function parseHeader(header: string): { timestamp: string; signatures: Buffer[] } | undefined {
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (timestamp !== undefined || !TIMESTAMP.test(value)) return undefined;
      timestamp = value;
    } else if (key === 'v1') {
      if (!HEX_DIGEST.test(value)) return undefined;
      const digest = Buffer.from(value, 'hex');
      if (digest.length !== DIGEST_BYTES) return undefined;
      signatures.push(digest);
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}
