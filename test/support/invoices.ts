import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { newPendingInvoice, type PendingInvoice } from '../../src/buffer/index.js';

/** A valid invoice (docs/api.md, The invoice) with a unique id; fields can be overridden or removed (undefined). */
export function makeInvoice(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const invoice: Record<string, unknown> = {
    id: `inv_${randomUUID().replaceAll('-', '').slice(0, 20)}`,
    customer_id: 'cus_NffrFeUfNV2Hib',
    status: 'open',
    currency: 'USD',
    amount_due: 2500,
    created_at: '2026-11-24T10:15:00Z',
    lines: [{ description: 'Label purchase', quantity: 5, unit_amount: 500 }],
    metadata: { order: '6735' },
    ...overrides,
  };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete invoice[key];
  return invoice;
}

export interface PostResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

/** POSTs a body (object → JSON text; string or bytes as they are) to the webhook route. */
export async function postInvoice(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<PostResult> {
  const payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const res = await fetch(`${baseUrl}/webhooks/invoice`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // some statuses (405 via HEAD, say) have no JSON body
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** POSTs `count` fresh invoices one after another, asserting each is answered 202; returns their ids. */
export async function postAccepted(baseUrl: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const res = await postInvoice(baseUrl, makeInvoice());
    assert.equal(res.status, 202, res.text);
    ids.push(res.body.id as string);
  }
  return ids;
}

/** A pending invoice as intake would buffer it, with its invoice-id and request-id attributes. */
export function pendingInvoice(invoiceId: string, enqueuedAtMs = 0): PendingInvoice {
  return newPendingInvoice({
    invoiceId,
    requestId: `req-${invoiceId}`,
    body: JSON.stringify({ id: invoiceId, amount_due: 100 }),
    attributes: { 'invoice-id': invoiceId, 'request-id': `req-${invoiceId}` },
    enqueuedAtMs,
  });
}
