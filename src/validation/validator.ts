import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { Invoice } from './invoice.js';

/** One schema violation, addressed by a JSON pointer into the request body. */
export interface Violation {
  path: string;
  message: string;
}

export type ValidationResult = { ok: true; invoice: Invoice } | { ok: false; violations: Violation[] };

/** Validates invoices against the one {@link Invoice} schema, compiled once. */
export class InvoiceValidator {
  private readonly check;

  constructor() {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv, ['date-time']);
    this.check = ajv.compile<Invoice>(Invoice);
  }

  validate(value: unknown): ValidationResult {
    if (this.check(value)) return { ok: true, invoice: value };
    return { ok: false, violations: (this.check.errors ?? []).map(toViolation) };
  }
}

function toViolation(error: ErrorObject): Violation {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: `${error.instancePath}/${escapePointer(String(params.missingProperty))}`, message: 'is required' };
    case 'additionalProperties':
      return {
        path: `${error.instancePath}/${escapePointer(String(params.additionalProperty))}`,
        message: 'is not an allowed property',
      };
    case 'enum':
      return {
        path: error.instancePath,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    default:
      return { path: error.instancePath, message: error.message ?? 'is invalid' };
  }
}

/** RFC 6901: `~` and `/` inside a property name become `~0` and `~1`. */
function escapePointer(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}
