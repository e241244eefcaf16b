import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  MAX_VIOLATIONS,
  MAX_VIOLATIONS_BYTES,
  SCHEMA_FILE_MAX_BYTES,
  SchemaFileError,
  loadSchemaFile,
} from '../../src/validation/index.js';
import { STRIPE_SCHEMA_FILE, stripeInvoicePaidEvent } from '../support/stripe.js';

const dir = mkdtempSync(path.join(tmpdir(), 'schema-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** Writes a schema file (an object as JSON, a string as it is) and returns its path. */
function schemaFile(content: unknown): string {
  const file = path.join(dir, `schema-${(n += 1)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
/** The SchemaFileError loading `file` throws; fails the test when it loads. */
function refusal(file: string): string {
  try {
    loadSchemaFile(file);
  } catch (error) {
    assert.ok(error instanceof SchemaFileError, String(error));
    assert.ok(error.message.includes(file), `names the file: ${error.message}`);
    assert.match(error.message, /INVOICE_SCHEMA_FILE/);
    return error.message;
  }
  assert.fail(`${file} loaded`);
}
const DIALECT = 'https://json-schema.org/draft/2020-12/schema';
const ORDER = {
  $schema: DIALECT,
  type: 'object',
  required: ['order_id'],
  properties: { order_id: { $ref: '#/$defs/id' }, items: { type: 'array', items: { $ref: '#/$defs/item' } } },
  $defs: {
    id: { type: 'string', pattern: '^ord_[0-9]+$' },
    item: { type: 'object', additionalProperties: false, properties: { sku: { type: 'string' } } },
  },
};

describe('INVOICE_SCHEMA_FILE: loading', () => {
  test('a draft 2020-12 schema with references inside the file compiles and validates', () => {
    const { validator, schema } = loadSchemaFile(schemaFile(ORDER));
    assert.deepEqual(schema, ORDER);
    assert.deepEqual(validator.validate({ order_id: 'ord_1', items: [{ sku: 'a' }] }), {
      ok: true,
      invoice: { order_id: 'ord_1', items: [{ sku: 'a' }] },
    });
    const bad = validator.validate({ order_id: 'x', items: [{ sku: 1, extra: true }] });
    assert.equal(bad.ok, false);
    if (bad.ok) return;
    assert.deepEqual(bad.violations.map((v) => v.path).sort(), ['/items/0/extra', '/items/0/sku', '/order_id']);
  });

  test('references by $id, to a nested resource and into it are inside the file', () => {
    const schema = {
      $id: 'https://example.invalid/root.json',
      type: 'object',
      properties: {
        a: { $ref: 'https://example.invalid/root.json#/$defs/s' },
        b: { $ref: 'nested.json#/$defs/name' },
        c: { $ref: 'nested.json' },
      },
      $defs: {
        s: { type: 'string' },
        nested: { $id: 'nested.json', type: 'integer', $defs: { name: { type: 'string' } } },
      },
    };
    const { validator } = loadSchemaFile(schemaFile(schema));
    assert.equal(validator.validate({ a: 's', b: 't', c: 1 }).ok, true);
    assert.equal(validator.validate({ c: 'x' }).ok, false);
  });

  test('a missing file, a directory and an unreadable file stop start-up, naming the file', () => {
    assert.match(refusal(path.join(dir, 'absent.json')), /cannot be read: ENOENT/);
    assert.match(refusal(dir), /not a regular file/);
    if (process.getuid?.() !== 0) {
      const file = schemaFile(ORDER);
      chmodSync(file, 0o000);
      assert.match(refusal(file), /cannot be read: EACCES/);
    }
  });

  test('over 1 MiB, not UTF-8, not JSON, or not an object: refused', () => {
    const big = { ...ORDER, description: 'x'.repeat(SCHEMA_FILE_MAX_BYTES) };
    assert.match(refusal(schemaFile(big)), /bytes; at most 1048576/);
    const file = path.join(dir, 'latin1.json');
    writeFileSync(file, Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x3a, 0x31, 0x7d]));
    assert.match(refusal(file), /cannot be read: .*encoded data was not valid/);
    assert.match(refusal(schemaFile('{"type": "object",')), /is not valid JSON/);
    assert.match(refusal(schemaFile('[]')), /must hold a JSON Schema object/);
    assert.match(refusal(schemaFile('true')), /must hold a JSON Schema object/);
  });

  test('another dialect, an invalid schema and an unknown keyword are refused', () => {
    assert.match(
      refusal(schemaFile({ ...ORDER, $schema: 'http://json-schema.org/draft-07/schema#' })),
      /must be a draft 2020-12 schema/,
    );
    assert.match(refusal(schemaFile({ type: 'objekt' })), /not a valid draft 2020-12 JSON Schema: .*type/);
    assert.match(refusal(schemaFile({ type: 'object', requird: ['id'] })), /unknown keyword: "requird"/);
    assert.match(refusal(schemaFile({ type: 'string', format: 'no-such-format' })), /unknown format/);
  });

  test('a $ref outside the file (a URL, another file, a meta-schema) is refused', () => {
    const cases: [unknown, string][] = [
      [{ properties: { a: { $ref: 'https://example.com/invoice.json' } } }, 'https://example.com/invoice.json'],
      [{ properties: { a: { $ref: 'other.schema.json#/$defs/x' } } }, 'other.schema.json#/$defs/x'],
      [{ $ref: DIALECT }, DIALECT],
      [{ allOf: [{ $dynamicRef: 'https://example.com/x#meta' }] }, 'https://example.com/x#meta'],
      [{ prefixItems: [{ $ref: '../x.json' }] }, '../x.json'],
      [{ $defs: { a: { $id: 'https://example.invalid/a.json' } }, $ref: 'https://example.invalid/b.json' }, 'b.json'],
      [{ if: { $ref: 'file:///etc/passwd' } }, 'file:///etc/passwd'],
    ];
    for (const [schema, ref] of cases) {
      const message = refusal(schemaFile(schema));
      assert.match(message, /has a \$ref outside the file/);
      assert.ok(message.includes(ref), message);
    }
  });
});

describe('INVOICE_SCHEMA_FILE: the 422 bounds hold for any schema', () => {
  test('10,000 violations list 100 and say truncated', () => {
    const { validator } = loadSchemaFile(schemaFile({ type: 'object', additionalProperties: false }));
    const body: Record<string, unknown> = {};
    for (let i = 0; i < 10000; i += 1) body[`k${i}`] = i;
    const result = validator.validate(body);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.violations.length, MAX_VIOLATIONS);
    assert.equal(result.truncated, true);
  });

  test('long property names stay within the byte budget (the 422 is never over 64 KiB)', () => {
    const { validator } = loadSchemaFile(schemaFile({ type: 'object', additionalProperties: false }));
    const body: Record<string, unknown> = {};
    for (let i = 0; i < 300; i += 1) body[`${i}-${'n'.repeat(4000)}`] = i;
    const result = validator.validate(body);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.ok(Buffer.byteLength(JSON.stringify(result.violations)) <= MAX_VIOLATIONS_BYTES);
    assert.equal(result.truncated, true);
    assert.ok(result.violations.every((v) => v.path.length <= 1024));
  });

  test('exactly 100 violations are listed without truncated', () => {
    const { validator } = loadSchemaFile(schemaFile({ type: 'object', additionalProperties: { type: 'string' } }));
    const body: Record<string, unknown> = {};
    for (let i = 0; i < 100; i += 1) body[`k${i}`] = i;
    const result = validator.validate(body);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.violations.length, 100);
    assert.equal(result.truncated, false);
  });
});

describe('the worked Stripe example schema (config/schemas/stripe-invoice-event.schema.json)', () => {
  const { validator } = loadSchemaFile(STRIPE_SCHEMA_FILE);

  test('accepts an invoice.paid event built like Stripe documents it, with fields Stripe may add', () => {
    const event = stripeInvoicePaidEvent({ event: { brand_new_field: { x: 1 } }, invoice: { new_thing: [1] } });
    assert.deepEqual(validator.validate(event), { ok: true, invoice: event });
  });

  test('accepts invoice.upcoming (no invoice id) and a null request (automatic events)', () => {
    const upcoming = stripeInvoicePaidEvent({
      event: { type: 'invoice.upcoming', request: null },
      invoice: { id: undefined },
    });
    assert.equal(validator.validate(JSON.parse(JSON.stringify(upcoming))).ok, true);
  });

  test('refuses another kind of event, a missing customer and a non-invoice data.object, by JSON pointer', () => {
    const result = validator.validate(
      stripeInvoicePaidEvent({
        event: { type: 'customer.created' },
        invoice: { customer: undefined, object: 'customer' },
      }),
    );
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(result.violations.map((v) => v.path).sort(), [
      '/data/object/customer',
      '/data/object/object',
      '/type',
    ]);
  });
});
