import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvoiceValidator, MAX_VIOLATIONS, type ValidationResult } from '../../src/validation/index.js';
import { makeInvoice } from '../support/invoices.js';

// The schema itself (docs/api.md, The invoice), checked directly on the validator: the HTTP answers
// built from it are tested in test/intake/ and test/live/service/pipeline.test.ts.
const validator = new InvoiceValidator();

function violations(value: unknown): string[] {
  const result: ValidationResult = validator.validate(value);
  assert.equal(result.ok, false, 'expected the invoice to be refused');
  return result.ok ? [] : result.violations.map((v) => v.path);
}

describe('InvoiceValidator', () => {
  test('a complete invoice passes, and unknown top-level fields are forwarded (allowed)', () => {
    const invoice = makeInvoice({ amount_paid: 0, due_at: '2026-12-24T10:15:00Z', tax_rate: '0.2' });
    const result = validator.validate(invoice);
    assert.equal(result.ok, true);
    assert.deepEqual(result.ok && result.invoice, invoice);
  });

  test('each required field, missing, is named by its JSON pointer', () => {
    for (const field of ['id', 'customer_id', 'status', 'currency', 'amount_due', 'created_at', 'lines']) {
      assert.deepEqual(violations(makeInvoice({ [field]: undefined })), [`/${field}`], field);
    }
  });

  test('bounds hold at their edges: amount_due up to 10^12, 1 to 500 lines, 50 metadata values of 500 chars', () => {
    const line = { description: 'x', quantity: 1, unit_amount: -5 };
    const metadata = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'.repeat(500)]));
    assert.equal(
      validator.validate(makeInvoice({ amount_due: 1e12, lines: Array(500).fill(line), metadata })).ok,
      true,
    );
    assert.deepEqual(violations(makeInvoice({ amount_due: 1e12 + 1 })), ['/amount_due']);
    assert.deepEqual(violations(makeInvoice({ lines: Array(501).fill(line) })), ['/lines']);
    assert.deepEqual(violations(makeInvoice({ lines: [] })), ['/lines']);
    assert.deepEqual(violations(makeInvoice({ metadata: { ...metadata, k50: 'one too many' } })), ['/metadata']);
    assert.deepEqual(violations(makeInvoice({ metadata: { note: 'v'.repeat(501) } })), ['/metadata/note']);
  });

  test('formats and patterns: ISO currency, date-time, id characters; unknown line properties are refused', () => {
    assert.deepEqual(violations(makeInvoice({ currency: 'usd' })), ['/currency']);
    assert.deepEqual(violations(makeInvoice({ created_at: '2026-11-24' })), ['/created_at']);
    assert.deepEqual(violations(makeInvoice({ id: 'inv 1' })), ['/id']);
    assert.deepEqual(
      violations(makeInvoice({ lines: [{ description: 'x', quantity: 1, unit_amount: 1, discount: 2 }] })),
      ['/lines/0/discount'],
    );
  });

  test('a body with more violations than a 422 lists is cut at MAX_VIOLATIONS and says so', () => {
    const lines = Array.from({ length: 300 }, () => ({ description: '', quantity: 0, unit_amount: 1 }));
    const result = validator.validate(makeInvoice({ lines: lines.slice(0, 500) }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.violations.length, MAX_VIOLATIONS);
    assert.equal(result.truncated, true);
  });

  test('things that are not an invoice object are refused with a violation, never an exception', () => {
    for (const value of [null, 7, 'invoice', [], [makeInvoice()]]) {
      const result = validator.validate(value);
      assert.equal(result.ok, false, JSON.stringify(value));
      assert.ok(!result.ok && result.violations.length > 0);
    }
  });
});
