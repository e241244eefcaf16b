// Validates bodies against the built-in invoice schema (src/validation/invoice.ts), with a bounded 422 explanation.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { Type } from 'typebox';
import { Invoice, InvoiceLine, LINES_COUNT, MetadataLimits, MetadataValue } from './invoice.js';
import { escapePointerToken } from './json-pointer.js';
import { MAX_VIOLATIONS, ViolationList, toViolation, type Violation } from './violations.js';

export { MAX_VIOLATIONS, MAX_VIOLATIONS_BYTES, type Violation } from './violations.js';

export type ValidationResult<T = Invoice> =
  | { ok: true; invoice: T }
  /** `truncated`: there were more violations than `violations` lists (docs/api.md). */
  | { ok: false; violations: Violation[]; truncated: boolean };

/** What intake needs from a validator: the built-in {@link InvoiceValidator} or an INVOICE_SCHEMA_FILE's. */
export interface BodyValidator {
  validate(value: unknown): ValidationResult<unknown>;
}

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
export class InvoiceValidator implements BodyValidator {
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
          if (!found.add({ path: `/metadata/${escapePointerToken(key)}`, message })) return;
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
