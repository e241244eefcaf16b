// JSON pointers (RFC 6901): where the service finds the invoice id and the FIFO ids in a body.

/** A parsed pointer: its reference tokens, unescaped. `[]` is the whole document. */
export type JsonPointer = readonly string[];

const ESCAPE = /~(?![01])/;
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** Parses `""` or `/a/b~1c/0`; throws a RangeError saying what is wrong (RFC 6901 section 3). */
export function parsePointer(pointer: string): JsonPointer {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new RangeError(`a JSON pointer starts with "/": ${JSON.stringify(pointer)}`);
  if (ESCAPE.test(pointer)) throw new RangeError(`"~" must be followed by 0 or 1 in ${JSON.stringify(pointer)}`);
  // Order matters (section 4): ~1 first, then ~0, so "~01" becomes "~1", not "/".
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The value the pointer names in `document`, or undefined when there is none (own properties only). */
export function resolvePointer(document: unknown, pointer: JsonPointer): unknown {
  let at: unknown = document;
  for (const token of pointer) {
    if (Array.isArray(at)) {
      if (!ARRAY_INDEX.test(token)) return undefined;
      at = at[Number(token)];
    } else if (typeof at === 'object' && at !== null && Object.hasOwn(at, token)) {
      at = (at as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return at;
}

/** A property name as one pointer token: `~` and `/` become `~0` and `~1`. */
export function escapePointerToken(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}
