import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hostileBodies } from '../../bench/hostile-bodies.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { InvoiceValidator, MAX_VIOLATIONS } from '../../src/validation/index.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { startService, type RunningService } from '../support/service.js';

// docs/api.md: a 422 lists at most 100 violations, says "truncated" when there were more, and is
// never over 64 KiB. The time these bodies cost is measured in bench/hostile.ts, not here.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/bounded-422';
const MAX_ANSWER_BYTES = 64 * 1024;
const line = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  description: 'd',
  quantity: 1,
  unit_amount: 1,
  ...overrides,
});

describe('InvoiceValidator bounds its explanation', () => {
  const validator = new InvoiceValidator();

  test('exactly 100 violations are all listed, without "truncated"', () => {
    const invoice = makeInvoice({ lines: Array.from({ length: 100 }, () => line({ quantity: 0 })) });
    const result = validator.validate(invoice);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.violations.length, 100);
    assert.equal(result.truncated, false);
    assert.equal(result.violations[99]?.path, '/lines/99/quantity');
  });

  test('101 violations list the first 100 and say truncated', () => {
    const invoice = makeInvoice({ lines: Array.from({ length: 101 }, () => line({ quantity: 0 })) });
    const result = validator.validate(invoice);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.violations.length, MAX_VIOLATIONS);
    assert.equal(result.truncated, true);
    assert.equal(result.violations[0]?.path, '/lines/0/quantity');
  });

  test('a violation past 500 line items is still found (the count is not the only one reported)', () => {
    const lines = Array.from({ length: 600 }, () => line());
    lines[550] = line({ unit_amount: 'x' });
    const result = validator.validate(makeInvoice({ lines }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.violations.map((v) => v.path),
      ['/lines', '/lines/550/unit_amount'],
    );
    assert.equal(result.truncated, false);
  });

  test('a line item with 1,000 unknown properties lists 100 of them and says truncated', () => {
    const item: Record<string, unknown> = line();
    for (let i = 0; i < 1000; i += 1) item[`k${i}`] = i;
    const result = validator.validate(makeInvoice({ lines: [item] }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.violations.length, MAX_VIOLATIONS);
    assert.equal(result.truncated, true);
    assert.ok(result.violations.every((v) => /^\/lines\/0\/k\d+$/.test(v.path)));
  });

  test('metadata over 50 keys and bad values are reported together, by JSON pointer', () => {
    const metadata: Record<string, unknown> = {};
    for (let i = 0; i < 51; i += 1) metadata[`a/${i}`] = 'ok';
    metadata['a/7'] = 7;
    const result = validator.validate(makeInvoice({ metadata }));
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.deepEqual(
      result.violations.map((v) => v.path),
      ['/metadata', '/metadata/a~17'],
    );
  });
});

describe('422 answers to hostile bodies at the body limit', () => {
  let running: RunningService;
  before(async () => {
    running = await startService({ sqsQueueUrl: QUEUE_URL }, { sender: new InMemoryBatchSender() });
  });
  after(async () => {
    await running.stop();
  });

  for (const [name, body] of Object.entries(hostileBodies(262144))) {
    if (name.startsWith('valid')) continue;
    test(`${name}: at most 100 violations, "truncated", and under 64 KiB`, async () => {
      assert.ok(Buffer.byteLength(body) <= running.config.bodyLimitBytes, 'the body fits the limit');
      const res = await postInvoice(running.url, body);
      assert.equal(res.status, 422, res.text.slice(0, 300));
      assert.equal(res.body.error, 'invalid_invoice');
      assert.ok(Buffer.byteLength(res.text) <= MAX_ANSWER_BYTES, `${Buffer.byteLength(res.text)} bytes`);
      const details = res.body.details as { path: string; message: string }[];
      assert.ok(details.length >= 1 && details.length <= MAX_VIOLATIONS, `${details.length} details`);
      assert.equal(res.body.truncated, true);
      for (const d of details) assert.ok(d.path.startsWith('/') && d.message.length > 0);
    });
  }

  test('the largest valid invoice (500 line items) is still accepted', async () => {
    const res = await postInvoice(running.url, hostileBodies(262144)['valid-500-lines']);
    assert.equal(res.status, 202, res.text);
  });

  test('an answer listing every violation carries no "truncated"', async () => {
    const res = await postInvoice(running.url, makeInvoice({ currency: 'usd', amount_due: -1 }));
    assert.equal(res.status, 422);
    assert.equal((res.body.details as unknown[]).length, 2);
    assert.equal('truncated' in res.body, false);
  });
});
