// Reading a request's body as intake needs it: its raw bytes, its charset, strict UTF-8.
import type { Context } from 'koa';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as UTF-8 text; throws a TypeError when they are not valid UTF-8. */
export function decodeUtf8(raw: Buffer): string {
  return strictUtf8.decode(raw);
}

/**
 * Whether the request's charset is UTF-8 or absent. `charset` is what Koa read from the Content-Type
 * (`ctx.request.charset`, by the content-type package). Koa answers '' both when there is no charset
 * and when it cannot parse the header at all; a header it cannot parse that still names a charset
 * other than UTF-8 (`application/json;;charset=latin1`) is refused, as it was before Koa read it.
 * Either way an accepted body must still be strict UTF-8 (400 if not).
 */
export function isUtf8Charset(charset: string, contentType: string): boolean {
  if (charset !== '') return UTF8.test(charset);
  const named = NAMED_CHARSET.exec(contentType)?.[1];
  return named === undefined || UTF8.test(named);
}

const UTF8 = /^utf-?8$/i;
/** A `charset=` anywhere after a `;`, for headers Koa could not parse. */
const NAMED_CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/**
 * The body exactly as received. koa-body reads it as latin1 (one char per byte, see app.ts), so
 * turning it back into bytes is lossless; strict UTF-8 decoding happens here, not in the reader.
 */
export function rawBytes(ctx: Context): Buffer {
  const text: unknown = ctx.request.body;
  return typeof text === 'string' ? Buffer.from(text, 'latin1') : Buffer.alloc(0);
}
