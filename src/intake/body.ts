// Reading a request's body as intake needs it: its raw bytes, its charset, strict UTF-8, scalar fields.
import type { Context } from 'koa';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as UTF-8 text; throws a TypeError when they are not valid UTF-8. */
export function decodeUtf8(raw: Buffer): string {
  return strictUtf8.decode(raw);
}

/** A top-level string or number field as text; anything else counts as absent. */
export function scalarField(invoice: Record<string, unknown>, field: string): string | undefined {
  const value = invoice[field];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

export function isUtf8Charset(contentType: string): boolean {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return match === null || /^utf-?8$/i.test(match[1] ?? '');
}

/**
 * The body exactly as received. koa-body reads it as latin1 (one char per byte, see app.ts), so
 * turning it back into bytes is lossless; strict UTF-8 decoding happens here, not in the reader.
 */
export function rawBytes(ctx: Context): Buffer {
  const text: unknown = ctx.request.body;
  return typeof text === 'string' ? Buffer.from(text, 'latin1') : Buffer.alloc(0);
}
