import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiText } from '../../src/intake/index.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { REPO_ROOT, startService, type RunningService } from '../support/service.js';

// docs/api.md: GET /openapi.json is an OpenAPI 3.1 document whose request body schema is the JSON Schema
// the service validates with; docs/openapi.json is the same document; and the two agree invoice by invoice.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/openapi';
const COMMITTED = path.join(REPO_ROOT, 'docs', 'openapi.json');

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { requestBody: unknown; responses: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, { name: string }> };
};

const line = (overrides: Record<string, unknown> = {}): Record<string, unknown> => {
  const l: Record<string, unknown> = { description: 'Label purchase', quantity: 5, unit_amount: 500, ...overrides };
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete l[k];
  return l;
};
const metadata = (count: number, value = 'v'): Record<string, string> =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));

/** [name, invoice overrides, valid?]: every rule of docs/api.md, The invoice, each from both sides of its edge. */
const CASES: [string, Record<string, unknown>, boolean][] = [
  ['the example invoice', {}, true],
  ['unknown top-level properties', { tax_rate: '0.2', nested: { a: [1, null] } }, true],
  ['id: 64 allowed characters', { id: `${'a'.repeat(60)}_-Z9` }, true],
  ['id: 65 characters', { id: 'a'.repeat(65) }, false],
  ['id: empty', { id: '' }, false],
  ['id: a disallowed character', { id: 'inv 1' }, false],
  ['id: a number', { id: 12 }, false],
  ['id: missing', { id: undefined }, false],
  ['customer_id: 1 character', { customer_id: 'c' }, true],
  ['customer_id: 64 characters', { customer_id: 'c'.repeat(64) }, true],
  ['customer_id: 65 characters', { customer_id: 'c'.repeat(65) }, false],
  ['customer_id: empty', { customer_id: '' }, false],
  ['customer_id: missing', { customer_id: undefined }, false],
  ...['draft', 'open', 'paid', 'void', 'uncollectible'].map((s): [string, Record<string, unknown>, boolean] => [
    `status: ${s}`,
    { status: s },
    true,
  ]),
  ['status: PAID', { status: 'PAID' }, false],
  ['status: missing', { status: undefined }, false],
  ['currency: EUR', { currency: 'EUR' }, true],
  ['currency: lower case', { currency: 'eur' }, false],
  ['currency: 4 letters', { currency: 'EURO' }, false],
  ['currency: missing', { currency: undefined }, false],
  ['amount_due: 0', { amount_due: 0 }, true],
  ['amount_due: 1e12', { amount_due: 1e12 }, true],
  ['amount_due: 1e12 + 1', { amount_due: 1e12 + 1 }, false],
  ['amount_due: -1', { amount_due: -1 }, false],
  ['amount_due: 1.5', { amount_due: 1.5 }, false],
  ['amount_due: a string', { amount_due: '2500' }, false],
  ['amount_due: missing', { amount_due: undefined }, false],
  ['amount_paid: 0', { amount_paid: 0 }, true],
  ['amount_paid: -1', { amount_paid: -1 }, false],
  ['amount_paid: 0.5', { amount_paid: 0.5 }, false],
  ['created_at: with offset', { created_at: '2026-11-24T10:15:00+01:00' }, true],
  ['created_at: fractional seconds', { created_at: '2026-11-24T10:15:00.123Z' }, true],
  ['created_at: no time zone', { created_at: '2026-11-24T10:15:00' }, false],
  ['created_at: a date only', { created_at: '2026-11-24' }, false],
  ['created_at: missing', { created_at: undefined }, false],
  ['due_at: RFC 3339', { due_at: '2026-12-24T10:15:00Z' }, true],
  ['due_at: not a date', { due_at: 'next week' }, false],
  ['lines: 500 items', { lines: Array.from({ length: 500 }, () => line()) }, true],
  ['lines: 501 items', { lines: Array.from({ length: 501 }, () => line()) }, false],
  ['lines: empty', { lines: [] }, false],
  ['lines: not an array', { lines: line() }, false],
  ['lines: missing', { lines: undefined }, false],
  ['lines[].description: 500 characters', { lines: [line({ description: 'd'.repeat(500) })] }, true],
  ['lines[].description: 501 characters', { lines: [line({ description: 'd'.repeat(501) })] }, false],
  ['lines[].description: empty', { lines: [line({ description: '' })] }, false],
  ['lines[].description: missing', { lines: [line({ description: undefined })] }, false],
  ['lines[].quantity: 1', { lines: [line({ quantity: 1 })] }, true],
  ['lines[].quantity: 0', { lines: [line({ quantity: 0 })] }, false],
  ['lines[].quantity: 1.5', { lines: [line({ quantity: 1.5 })] }, false],
  ['lines[].quantity: missing', { lines: [line({ quantity: undefined })] }, false],
  ['lines[].unit_amount: negative (a discount)', { lines: [line({ unit_amount: -500 })] }, true],
  ['lines[].unit_amount: 0.5', { lines: [line({ unit_amount: 0.5 })] }, false],
  ['lines[].unit_amount: missing', { lines: [line({ unit_amount: undefined })] }, false],
  ['lines[]: an unknown property', { lines: [line({ sku: 'x' })] }, false],
  ['lines[]: not an object', { lines: ['x'] }, false],
  ['metadata: 50 keys', { metadata: metadata(50) }, true],
  ['metadata: 51 keys', { metadata: metadata(51) }, false],
  ['metadata: a value of 500 characters', { metadata: { note: 'n'.repeat(500) } }, true],
  ['metadata: a value of 501 characters', { metadata: { note: 'n'.repeat(501) } }, false],
  ['metadata: a number value', { metadata: { order: 6735 } }, false],
  ['metadata: an array', { metadata: ['x'] }, false],
];

describe('the OpenAPI document', () => {
  let running: RunningService;
  let served: Doc;
  before(async () => {
    running = await startService({ sqsQueueUrl: QUEUE_URL }, { sender: new InMemoryBatchSender() });
    const res = await fetch(`${running.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    served = (await res.json()) as Doc;
  });
  after(async () => {
    await running.stop();
  });

  test('docs/openapi.json is exactly what the service serves (run `npm run openapi` after changing the schema)', () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    assert.equal(committed, openApiText(), 'docs/openapi.json is out of date: run `npm run openapi`');
    assert.deepEqual(JSON.parse(committed), served);
  });

  test('it is valid against the OpenAPI 3.1 schema, and covers the route, every answer and the three signature schemes', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(readFileSync(COMMITTED, 'utf8')) as Record<string, unknown>);
    assert.deepEqual(result, { valid: true });
    assert.equal(validator.version, '3.1');
    assert.equal(served.openapi, '3.1.0');
    const post = served.paths['/webhooks/invoice']?.post;
    assert.ok(post, 'POST /webhooks/invoice');
    assert.deepEqual(Object.keys(post.responses).sort(), [
      '200',
      '202',
      '400',
      '401',
      '405',
      '408',
      '413',
      '415',
      '422',
      '503',
    ]);
    assert.deepEqual(
      Object.values(served.components.securitySchemes).map((s) => s.name),
      ['X-Webhook-Signature', 'webhook-signature', 'Stripe-Signature'],
    );
  });

  test('its JSON Schema (Ajv 2020, a separate instance) and the service agree, invoice by invoice', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    addFormats(ajv);
    ajv.addSchema(JSON.parse(readFileSync(COMMITTED, 'utf8')) as object, 'openapi.json');
    const validate = ajv.getSchema('openapi.json#/components/schemas/Invoice');
    assert.ok(validate, 'the Invoice schema compiles');
    const disagreements: string[] = [];
    for (const [name, overrides, expected] of CASES) {
      const invoice = makeInvoice(overrides);
      const byDocument = validate(invoice) === true;
      const res = await postInvoice(running.url, invoice);
      assert.ok(res.status === 202 || res.status === 422, `${name}: ${res.status} ${res.text.slice(0, 200)}`);
      const byService = res.status === 202;
      if (byDocument !== expected || byService !== expected) {
        disagreements.push(`${name}: expected ${expected}, document ${byDocument}, service ${byService}`);
      }
    }
    assert.deepEqual(disagreements, []);
  });
});
