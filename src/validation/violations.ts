// The violations a 422 lists: each addressed by a JSON pointer, bounded in count and bytes (docs/api.md).
import type { ErrorObject } from 'ajv';
import { escapePointerToken } from './json-pointer.js';

/** One schema violation, addressed by a JSON pointer into the request body. */
export interface Violation {
  path: string;
  message: string;
}

/** Most violations a 422 lists (docs/api.md). */
export const MAX_VIOLATIONS = 100;
/** Serialized size budget of the listed violations: keeps the whole 422 answer under 64 KiB. */
export const MAX_VIOLATIONS_BYTES = 60 * 1024;
/** Longest path or message listed; longer ones (a hostile property name) are cut and end in `…`. */
const MAX_TEXT_CHARS = 1024;

/** The listed violations, bounded in count and serialized bytes; `truncated` once one did not fit. */
export class ViolationList {
  readonly items: Violation[] = [];
  truncated = false;
  private bytes = 2; // the brackets

  /** Adds a violation; false (and `truncated`) when the list is full, so the caller can stop looking. */
  add(violation: Violation): boolean {
    const bounded = { path: cut(violation.path), message: cut(violation.message) };
    const size = Buffer.byteLength(JSON.stringify(bounded)) + 1;
    if (this.items.length >= MAX_VIOLATIONS || this.bytes + size > MAX_VIOLATIONS_BYTES) {
      this.truncated = true;
      return false;
    }
    this.items.push(bounded);
    this.bytes += size;
    return true;
  }
}

function cut(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : `${text.slice(0, MAX_TEXT_CHARS - 1)}…`;
}

export function toViolation(error: ErrorObject, prefix = ''): Violation {
  const params = error.params as Record<string, unknown>;
  const at = prefix + error.instancePath;
  switch (error.keyword) {
    case 'required':
      return { path: `${at}/${escapePointerToken(String(params.missingProperty))}`, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${at}/${escapePointerToken(String(params.additionalProperty))}`,
        message: 'is not an allowed property',
      };
    case 'enum':
      return {
        path: at,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default:
      return { path: at, message: error.message ?? 'is invalid' };
  }
}
