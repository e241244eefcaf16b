// The built-in invoice schema (TypeBox): the invoice senders post, and its lines (docs/api.md, The invoice).
import { Type, type Static } from 'typebox';

/** One line of an invoice. Unknown properties are rejected here (unlike at the top level). */
export const InvoiceLine = Type.Object(
  {
    description: Type.String({ minLength: 1, maxLength: 500 }),
    quantity: Type.Integer({ minimum: 1 }),
    unit_amount: Type.Integer({ description: 'Minor units; negative for discounts.' }),
  },
  { additionalProperties: false },
);

/** How many line items an invoice has. */
export const LINES_COUNT = { minItems: 1, maxItems: 500 } as const;

/** One value in `metadata`. */
export const MetadataValue = Type.String({ maxLength: 500 });

/** Free-form string labels, at most 50 of them. */
export const MetadataLimits = { maxProperties: 50 } as const;

/**
 * The invoice as senders post it (docs/api.md, The invoice). Unknown top-level properties are allowed and
 * forwarded untouched: senders add fields over time.
 */
export const Invoice = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    customer_id: Type.String({ minLength: 1, maxLength: 64 }),
    status: Type.Enum(['draft', 'open', 'paid', 'void', 'uncollectible']),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code.' }),
    amount_due: Type.Integer({ minimum: 0, maximum: 1e12, description: 'Minor units (e.g. cents).' }),
    amount_paid: Type.Optional(Type.Integer({ minimum: 0 })),
    created_at: Type.String({ format: 'date-time' }),
    due_at: Type.Optional(Type.String({ format: 'date-time' })),
    lines: Type.Array(InvoiceLine, LINES_COUNT),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: MetadataValue, ...MetadataLimits })),
  },
  { additionalProperties: true },
);

export type Invoice = Static<typeof Invoice>;
