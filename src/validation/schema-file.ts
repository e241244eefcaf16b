// INVOICE_SCHEMA_FILE: an operator's JSON Schema (draft 2020-12) file, checked and compiled once at start.
import { readFileSync, statSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { BodyValidator, ValidationResult } from './validator.js';
import { ViolationList, toViolation } from './violations.js';

/** Largest schema file accepted (CONTRACT §11). */
export const SCHEMA_FILE_MAX_BYTES = 1024 * 1024;
const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

/** A schema file the service cannot use: start-up stops (exit 1) with this message, which names the file. */
export class SchemaFileError extends Error {
  override readonly name = 'SchemaFileError';
  constructor(
    readonly file: string,
    why: string,
  ) {
    super(`invalid configuration: INVOICE_SCHEMA_FILE ${file} ${why}`);
  }
}

/** A checked, compiled schema file. */
export interface LoadedSchema {
  /** The schema as parsed from the file: what GET /openapi.json publishes. */
  readonly schema: Record<string, unknown>;
  readonly validator: BodyValidator;
}

/**
 * Reads, checks and compiles the schema file. Throws a {@link SchemaFileError} when the file cannot be read,
 * is over {@link SCHEMA_FILE_MAX_BYTES}, is not UTF-8 JSON, is not a draft 2020-12 schema, has a `$ref` (or
 * `$dynamicRef`) to anything outside the file (another file, a URL, a meta-schema), or does not compile.
 */
export function loadSchemaFile(file: string): LoadedSchema {
  let text: string;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new SchemaFileError(file, 'is not a regular file');
    if (stat.size > SCHEMA_FILE_MAX_BYTES) {
      throw new SchemaFileError(file, `is ${stat.size} bytes; at most ${SCHEMA_FILE_MAX_BYTES} (1 MiB) are allowed`);
    }
    text = new TextDecoder('utf-8', { fatal: true }).decode(readFileSync(file));
  } catch (error) {
    if (error instanceof SchemaFileError) throw error;
    throw new SchemaFileError(file, `cannot be read: ${(error as Error).message}`);
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new SchemaFileError(file, `is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new SchemaFileError(file, 'must hold a JSON Schema object');
  }
  const root = schema as Record<string, unknown>;
  if (root.$schema !== undefined && root.$schema !== DIALECT && root.$schema !== `${DIALECT}#`) {
    throw new SchemaFileError(
      file,
      `must be a draft 2020-12 schema ("$schema": "${DIALECT}"), not ${JSON.stringify(root.$schema)}`,
    );
  }
  const outside = refsOutside(root);
  if (outside !== undefined) {
    throw new SchemaFileError(file, `has a $ref outside the file (${outside}); only references inside it are allowed`);
  }
  try {
    return { schema: root, validator: new SchemaFileValidator(root) };
  } catch (error) {
    throw new SchemaFileError(file, `is not a valid draft 2020-12 JSON Schema: ${(error as Error).message}`);
  }
}

/**
 * Validates against an INVOICE_SCHEMA_FILE schema. The verdict comes from the schema compiled without
 * `allErrors` (stops at the first violation); only a rejected body is explained, with `allErrors`, and the
 * listed violations are bounded as for the built-in schema (100, 64 KiB). The explanation's cost grows with
 * the body (at most BODY_LIMIT_BYTES), not without bound.
 */
export class SchemaFileValidator implements BodyValidator {
  private readonly accepts: ValidateFunction;
  private readonly explain: ValidateFunction;

  constructor(schema: Record<string, unknown>) {
    // strictSchema: an unknown keyword (a typo) stops start-up rather than being ignored; strictTypes and
    // strictRequired stay off, as the draft allows `properties` without `"type": "object"`.
    const options = {
      strictSchema: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allowUnionTypes: true,
    };
    const first = new Ajv2020({ ...options, allErrors: false });
    addFormats(first);
    this.accepts = first.compile(schema);
    const all = new Ajv2020({ ...options, allErrors: true });
    addFormats(all);
    this.explain = all.compile(schema);
  }

  validate(value: unknown): ValidationResult<unknown> {
    if (this.accepts(value)) return { ok: true, invoice: value };
    const found = new ViolationList();
    this.explain(value);
    for (const error of this.explain.errors ?? this.accepts.errors ?? []) if (!found.add(toViolation(error))) break;
    if (found.items.length === 0) found.add({ path: '', message: 'does not match the schema' });
    return { ok: false, violations: found.items, truncated: found.truncated };
  }
}

/** Keywords whose value is one subschema, an array of them, or a map of them (draft 2020-12, plus legacy ones). */
const ONE = [
  'additionalProperties',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'items',
  'contains',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
  'additionalItems',
];
const MANY = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const MAP = ['$defs', 'definitions', 'properties', 'patternProperties', 'dependentSchemas'];
/** Stands for the file's own URI when its root has no `$id`. */
const FILE_BASE = 'https://invoice-schema-file.invalid/schema.json';

/**
 * The first `$ref` or `$dynamicRef` that points outside the file, resolved against its `$id`s; undefined
 * when every reference lands in a resource the file itself declares. Unknown keywords cannot hide one:
 * strictSchema refuses them.
 */
function refsOutside(root: Record<string, unknown>): string | undefined {
  const resources = new Set<string>();
  const refs: { ref: string; base: string }[] = [];
  const walk = (node: unknown, parentBase: string): void => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
    const schema = node as Record<string, unknown>;
    let base = parentBase;
    if (typeof schema.$id === 'string') {
      base = withoutHash(new URL(schema.$id, parentBase).href);
      resources.add(base);
    }
    for (const key of ['$ref', '$dynamicRef']) {
      const ref = schema[key];
      if (typeof ref === 'string') refs.push({ ref, base });
    }
    for (const key of ONE) if (!Array.isArray(schema[key])) walk(schema[key], base);
    for (const key of MANY) if (Array.isArray(schema[key])) for (const sub of schema[key] as unknown[]) walk(sub, base);
    for (const key of MAP) {
      const map = schema[key];
      if (typeof map === 'object' && map !== null) for (const sub of Object.values(map)) walk(sub, base);
    }
  };
  resources.add(FILE_BASE);
  walk(root, FILE_BASE);
  for (const { ref, base } of refs) {
    let target: string;
    try {
      target = withoutHash(new URL(ref, base).href);
    } catch {
      return ref;
    }
    if (!resources.has(target)) return ref;
  }
  return undefined;
}

function withoutHash(href: string): string {
  const hash = href.indexOf('#');
  return hash < 0 ? href : href.slice(0, hash);
}
