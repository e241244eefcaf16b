import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { Type } from 'typebox';
import { Invoice, InvoiceLine, LINES_COUNT, MetadataLimits, MetadataValue } from './invoice.js';

/** One schema violation, addressed by a JSON pointer into the request body. */
export interface Violation {
  path: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; invoice: Invoice }
  /** `truncated`: there were more violations than `violations` lists (docs/api.md). */
  | { ok: false; violations: Violation[]; truncated: boolean };

/** Most violations a 422 lists (docs/api.md). */
export const MAX_VIOLATIONS = 100;
/** Serialized size budget of the listed violations: keeps the whole 422 answer under 64 KiB. */
export const MAX_VIOLATIONS_BYTES = 60 * 1024;
/** Longest path or message listed; longer ones (a hostile property name) are cut and end in `…`. */
const MAX_TEXT_CHARS = 1024;

/**
 * Validates invoices against the one {@link Invoice} schema, compiled once.
 *
 * The verdict comes from the whole schema compiled without `allErrors`, which stops at the first
 * violation: its cost is bounded whatever the body holds. Only a rejected invoice is explained, and
 * that explanation does bounded work too (Ajv's `allErrors` makes one error object per violation, so a
 * body of 100,000 bad line items would otherwise cost ~140 ms and a 5 MB answer): the top level is
 * checked with `allErrors` against a shell of the schema whose `lines` and `metadata` are opaque, then
 * line items and metadata values one at a time, each item cut to its own properties plus a few unknown
 * ones, and the walk stops as soon as {@link MAX_VIOLATIONS} + 1 violations are known.
 */
export class InvoiceValidator {
  /** The verdict: the whole schema, first violation only. */
  private readonly accepts: ValidateFunction<Invoice>;
  /** The invoice without its collections, every violation. */
  private readonly shell: ValidateFunction;
  private readonly line: ValidateFunction;
  private readonly metadataValue: ValidateFunction;

  constructor() {
    const first = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
    addFormats(first, ['date-time']);
    this.accepts = first.compile<Invoice>(Invoice);

    const all = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(all, ['date-time']);
    this.shell = all.compile(
      Type.Object(
        {
          ...Invoice.properties,
          lines: Type.Array(Type.Unknown(), LINES_COUNT),
          // Its key count is checked in explain(), from the one Object.keys() call a big object can afford.
          metadata: Type.Optional(Type.Object({})),
        },
        { additionalProperties: true },
      ),
    );
    this.line = all.compile(InvoiceLine);
    this.metadataValue = all.compile(MetadataValue);
  }

  validate(value: unknown): ValidationResult {
    if (this.accepts(value)) return { ok: true, invoice: value };
    const found = new ViolationList();
    this.explain(value, found);
    // Cannot happen while the shell, line and metadata checks add up to the schema; never answer an empty list.
    if (found.items.length === 0) for (const error of this.accepts.errors ?? []) found.add(toViolation(error));
    return { ok: false, violations: found.items, truncated: found.truncated };
  }

  private explain(value: unknown, found: ViolationList): void {
    if (!this.shell(value)) {
      for (const error of this.shell.errors ?? []) if (!found.add(toViolation(error))) return;
    }
    if (typeof value !== 'object' || value === null) return;
    const { metadata, lines } = value as { metadata?: unknown; lines?: unknown };
    if (isPlainObject(metadata)) {
      // Object.keys once (not for-in, several times slower): on the dictionary-mode object a hostile body
      // makes, each call costs about as much as parsing it.
      const keys = Object.keys(metadata);
      if (keys.length > MetadataLimits.maxProperties) {
        const message = `must NOT have more than ${MetadataLimits.maxProperties} properties`;
        if (!found.add({ path: '/metadata', message })) return;
      }
      for (const key of keys) {
        if (!this.metadataValue(metadata[key])) {
          const [error] = this.metadataValue.errors ?? [];
          const message = error?.message ?? 'is invalid';
          if (!found.add({ path: `/metadata/${escapePointer(key)}`, message })) return;
        }
      }
    }
    if (Array.isArray(lines)) {
      for (let i = 0; i < lines.length; i += 1) {
        const item: unknown = lines[i];
        if (this.line(boundedLine(item))) continue;
        for (const error of this.line.errors ?? []) {
          if (!found.add(toViolation(error, `/lines/${i}`))) return;
        }
      }
    }
  }
}

/** The listed violations, bounded in count and serialized bytes; `truncated` once one did not fit. */
class ViolationList {
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

const LINE_PROPERTIES = Object.keys(InvoiceLine.properties);

/**
 * A line item as the line check sees it: its own properties and at most MAX_VIOLATIONS + 1 unknown
 * ones (each unknown one is a violation, and more than that many can never be listed).
 */
function boundedLine(item: unknown): unknown {
  if (!isPlainObject(item)) return item;
  const keys = Object.keys(item);
  if (keys.length <= LINE_PROPERTIES.length + MAX_VIOLATIONS + 1) return item;
  const view: Record<string, unknown> = {};
  let unknown = 0;
  for (const key of keys) {
    if (LINE_PROPERTIES.includes(key)) view[key] = item[key];
    else if (unknown <= MAX_VIOLATIONS) {
      unknown += 1;
      view[key] = item[key];
    }
  }
  return view;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function cut(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : `${text.slice(0, MAX_TEXT_CHARS - 1)}…`;
}

function toViolation(error: ErrorObject, prefix = ''): Violation {
  const params = error.params as Record<string, unknown>;
  const at = prefix + error.instancePath;
  switch (error.keyword) {
    case 'required':
      return { path: `${at}/${escapePointer(String(params.missingProperty))}`, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${at}/${escapePointer(String(params.additionalProperty))}`,
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

/** RFC 6901: `~` and `/` inside a property name become `~0` and `~1`. */
function escapePointer(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}
