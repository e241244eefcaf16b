// The hand-off route's authentication: a bearer token compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when `authorization` is `Bearer <expected>`. Both sides are hashed first, so the comparison takes
 * the same time whatever the length or content of the guess. An empty `expected` matches nothing.
 */
export function bearerMatches(authorization: string | undefined, expected: string): boolean {
  if (expected === '' || authorization === undefined) return false;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  const given = match?.[1] ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}

/** The header value that carries `token`. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}
