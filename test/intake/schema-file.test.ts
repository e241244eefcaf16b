import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { SCHEMA_FILE_ID } from '../../src/intake/openapi.js';
import { InMemoryBatchSender } from '../../src/sender/index.js';
import { MAX_VIOLATIONS } from '../../src/validation/index.js';
import { postInvoice } from '../support/invoices.js';
import { startService, type RunningService } from '../support/service.js';
import {
  STRIPE_EXAMPLE_SETTINGS,
  STRIPE_SCHEMA_FILE,
  stripeInvoicePaidEvent,
  stripeSignatureHeaders,
} from '../support/stripe.js';

// INVOICE_SCHEMA_FILE through the HTTP route (docs/api.md, Your own schema): the served document publishes
// the file's schema and agrees with the service; the 422 bounds and INVOICE_ID_POINTER hold for any schema.
const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/schema-file';
const FIFO_QUEUE_URL = 'http://127.0.0.1:4566/000000000000/schema-file.fifo';
const SECRET = 'whsec_5x9Cq1yTn0vVh2d6JwzP4kLrA8mE3sBt';
const dir = mkdtempSync(path.join(tmpdir(), 'schema-file-http-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function schemaFile(name: string, schema: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(schema));
  return file;
}

async function withService<T>(
  overrides: Parameters<typeof startService>[0],
  fn: (running: RunningService, sender: InMemoryBatchSender) => Promise<T>,
): Promise<T> {
  const sender = new InMemoryBatchSender();
  const running = await startService(overrides, { sender });
  try {
    return await fn(running, sender);
  } finally {
    await running.stop();
  }
}

describe('INVOICE_SCHEMA_FILE through the webhook route', () => {
  test('the Stripe example: /openapi.json publishes the file, is valid OpenAPI 3.1, and agrees with the service', async () => {
    const fileSchema = JSON.parse(readFileSync(STRIPE_SCHEMA_FILE, 'utf8')) as object;
    await withService(
      { sqsQueueUrl: QUEUE_URL, ...STRIPE_EXAMPLE_SETTINGS, webhookSecrets: SECRET },
      async (running, sender) => {
        const doc = (await (await fetch(`${running.url}/openapi.json`)).json()) as {
          components: { schemas: Record<string, unknown> };
        };
        assert.deepEqual(doc.components.schemas.Invoice, fileSchema);
        assert.equal(doc.components.schemas.InvoiceLine, undefined);
        assert.deepEqual(await new Validator().validate(doc as Record<string, unknown>), { valid: true });
        const ajv = new Ajv2020({ strict: false });
        addFormats(ajv);
        ajv.addSchema(doc, 'openapi.json');
        const byDocument = ajv.getSchema('openapi.json#/components/schemas/Invoice');
        assert.ok(byDocument);
        const cases: [string, Record<string, unknown>, boolean][] = [
          ['invoice.paid', stripeInvoicePaidEvent(), true],
          [
            'invoice.upcoming without an invoice id',
            stripeInvoicePaidEvent({ event: { type: 'invoice.upcoming' }, invoice: { id: undefined } }),
            true,
          ],
          ['customer.created', stripeInvoicePaidEvent({ event: { type: 'customer.created' } }), false],
          ['no customer', stripeInvoicePaidEvent({ invoice: { customer: undefined } }), false],
          ['upper-case currency', stripeInvoicePaidEvent({ invoice: { currency: 'USD' } }), false],
          ['an unknown new field', stripeInvoicePaidEvent({ event: { context: 'acct_1' } }), true],
        ];
        for (const [name, event, valid] of cases) {
          const body = JSON.stringify(event);
          const res = await postInvoice(running.url, body, stripeSignatureHeaders(SECRET, body));
          assert.equal(res.status, valid ? 202 : 422, `${name}: ${res.text.slice(0, 300)}`);
          assert.equal(byDocument(JSON.parse(body)), valid, `${name}: the published schema`);
        }
        await running.service.flusher.drain(5000);
        assert.equal(sender.delivered.length, cases.filter(([, , valid]) => valid).length);
      },
    );
  });

  test('a schema without $id is published with one, so its own #/$defs references still resolve in the document', async () => {
    const file = schemaFile('no-id.json', {
      type: 'object',
      required: ['order'],
      properties: { order: { $ref: '#/$defs/order' } },
      $defs: { order: { type: 'object', required: ['ref'], properties: { ref: { type: 'string', minLength: 3 } } } },
    });
    await withService(
      { sqsQueueUrl: QUEUE_URL, invoiceSchemaFile: file, invoiceIdPointer: '/order/ref' },
      async (running) => {
        const doc = (await (await fetch(`${running.url}/openapi.json`)).json()) as {
          components: { schemas: { Invoice: { $id: string } } };
        };
        assert.equal(doc.components.schemas.Invoice.$id, SCHEMA_FILE_ID);
        const ajv = new Ajv2020({ strict: false });
        ajv.addSchema(doc, 'openapi.json');
        const byDocument = ajv.getSchema('openapi.json#/components/schemas/Invoice');
        assert.equal(byDocument?.({ order: { ref: 'abc' } }), true);
        assert.equal(byDocument?.({ order: { ref: 'ab' } }), false);
        const ok = await postInvoice(running.url, { order: { ref: 'abc' } });
        assert.equal(ok.status, 202, ok.text);
        assert.equal(ok.body.id, 'abc', 'the invoice id comes from INVOICE_ID_POINTER');
        const bad = await postInvoice(running.url, { order: { ref: 'ab' } });
        assert.equal(bad.status, 422);
        assert.deepEqual(bad.body.details, [{ path: '/order/ref', message: 'must NOT have fewer than 3 characters' }]);
      },
    );
  });

  test('a body the schema accepts but without an invoice id where INVOICE_ID_POINTER points: 422 naming the pointer, nothing sent', async () => {
    const file = schemaFile('loose.json', { type: 'object' });
    await withService(
      { sqsQueueUrl: QUEUE_URL, invoiceSchemaFile: file, invoiceIdPointer: '/data/object/id' },
      async (running, sender) => {
        for (const body of [{}, { data: { object: { id: '' } } }, { data: { object: { id: 12 } } }]) {
          const res = await postInvoice(running.url, body);
          assert.equal(res.status, 422, res.text);
          assert.equal(res.body.error, 'invalid_invoice');
          const [detail] = res.body.details as { path: string; message: string }[];
          assert.equal(detail?.path, '/data/object/id');
          assert.match(detail?.message ?? '', /INVOICE_ID_POINTER/);
        }
        const ok = await postInvoice(running.url, { data: { object: { id: 'in_1' } } });
        assert.equal(ok.status, 202, ok.text);
        await running.service.flusher.drain(5000);
        assert.deepEqual(
          sender.delivered.map((m) => m.attributes['invoice-id']),
          ['in_1'],
        );
      },
    );
  });

  test('the 422 bounds hold for a custom schema: 100 details, truncated, under 64 KiB', async () => {
    const file = schemaFile('closed.json', { type: 'object', additionalProperties: false });
    await withService({ sqsQueueUrl: QUEUE_URL, invoiceSchemaFile: file }, async (running) => {
      const body: Record<string, number> = {};
      for (let i = 0; i < 3000; i += 1) body[`${i}-${'p'.repeat(40)}`] = i;
      const res = await postInvoice(running.url, body);
      assert.equal(res.status, 422);
      assert.ok(Buffer.byteLength(res.text) <= 64 * 1024, `${Buffer.byteLength(res.text)} bytes`);
      assert.equal((res.body.details as unknown[]).length, MAX_VIOLATIONS);
      assert.equal(res.body.truncated, true);
    });
  });

  test('FIFO ids by pointer reach the message; the default pointers read the same fields as before', async () => {
    await withService(
      { sqsQueueUrl: FIFO_QUEUE_URL, ...STRIPE_EXAMPLE_SETTINGS, webhookSecrets: SECRET },
      async (running, sender) => {
        const event = stripeInvoicePaidEvent({ customer: 'cus_Fifo1' });
        const body = JSON.stringify(event);
        assert.equal((await postInvoice(running.url, body, stripeSignatureHeaders(SECRET, body))).status, 202);
        await running.service.flusher.drain(5000);
        assert.equal(sender.delivered[0]?.messageGroupId, 'cus_Fifo1');
        assert.equal(sender.delivered[0]?.messageDeduplicationId, event.id);
      },
    );
  });
});
