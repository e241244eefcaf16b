import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Stripe from 'stripe';

/** The worked example's schema (docs/stripe.md), as the tests point INVOICE_SCHEMA_FILE at it. */
export const STRIPE_SCHEMA_FILE = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  'config',
  'schemas',
  'stripe-invoice-event.schema.json',
);

/** The worked example's settings (docs/stripe.md) over a test's own. */
export const STRIPE_EXAMPLE_SETTINGS = {
  signatureScheme: 'stripe',
  invoiceSchemaFile: STRIPE_SCHEMA_FILE,
  invoiceIdPointer: '/id',
  fifoGroupIdPointer: '/data/object/customer',
  fifoDeduplicationIdPointer: '/id',
} as const;

/** A Stripe-shaped id: prefix + 24 base62-ish characters, unique per call. */
const stripeId = (prefix: string): string =>
  `${prefix}_${randomBytes(18)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, 'x')
    .slice(0, 24)}`;

/**
 * An `invoice.paid` Event built like the payload Stripe documents (the Event object, with an Invoice in
 * data.object, as `stripe trigger invoice.paid` delivers it): ids unique per call, fields overridable.
 */
export function stripeInvoicePaidEvent(
  options: { customer?: string; invoice?: Record<string, unknown>; event?: Record<string, unknown> } = {},
): Record<string, unknown> {
  const created = Math.floor(Date.now() / 1000);
  const customer = options.customer ?? 'cus_NffrFeUfNV2Hib';
  const invoiceId = stripeId('in');
  return {
    id: stripeId('evt'),
    object: 'event',
    api_version: '2025-03-31.basil',
    created,
    data: {
      object: {
        id: invoiceId,
        object: 'invoice',
        account_country: 'US',
        account_name: 'Stripe Docs',
        amount_due: 2000,
        amount_overpaid: 0,
        amount_paid: 2000,
        amount_remaining: 0,
        amount_shipping: 0,
        attempt_count: 1,
        attempted: true,
        auto_advance: false,
        automatic_tax: { enabled: false, liability: null, status: null },
        billing_reason: 'manual',
        collection_method: 'charge_automatically',
        created: created - 5,
        currency: 'usd',
        custom_fields: null,
        customer,
        customer_address: null,
        customer_email: 'jenny.rosen@example.com',
        customer_name: 'Jenny Rosen',
        default_payment_method: null,
        description: null,
        discounts: [],
        due_date: null,
        ending_balance: 0,
        hosted_invoice_url: null,
        invoice_pdf: null,
        lines: {
          object: 'list',
          data: [
            {
              id: stripeId('il'),
              object: 'line_item',
              amount: 2000,
              currency: 'usd',
              description: 'T-shirt \u2014 caf\u00e9 edition',
              invoice: invoiceId,
              livemode: false,
              metadata: {},
              quantity: 1,
            },
          ],
          has_more: false,
          url: `/v1/invoices/${invoiceId}/lines`,
        },
        livemode: false,
        metadata: { order: '6735' },
        number: 'A1B2C3D4-0001',
        period_end: created - 5,
        period_start: created - 5,
        status: 'paid',
        status_transitions: { finalized_at: created - 4, paid_at: created - 3, voided_at: null },
        subtotal: 2000,
        total: 2000,
        webhooks_delivered_at: null,
        ...options.invoice,
      },
    },
    livemode: false,
    pending_webhooks: 1,
    request: { id: stripeId('req'), idempotency_key: '8a9f3c4e-7b1d-4f2a-9c3e-5d6b7a8f9e0d' },
    type: 'invoice.paid',
    ...options.event,
  };
}

/** The `Stripe-Signature` header the `stripe` package makes for these exact bytes (its test helper). */
export function stripeSignatureHeaders(secret: string, body: string, timestamp?: number): Record<string, string> {
  return {
    'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({
      payload: body,
      secret,
      ...(timestamp === undefined ? {} : { timestamp }),
    }),
  };
}
