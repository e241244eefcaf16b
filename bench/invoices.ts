const STATUSES = ['draft', 'open', 'paid', 'void', 'uncollectible'] as const;
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'] as const;
const DESCRIPTIONS = ['Label purchase', 'Postage', 'Insurance', 'Monthly subscription', 'Setup fee'] as const;

/**
 * The `index`-th valid invoice (docs/api.md, The invoice) of a run, as JSON text: unique id, 1–3 line items,
 * metadata. Deterministic, so runs are comparable; about 300–450 bytes.
 */
export function invoiceBody(runId: string, index: number): string {
  const lines = Array.from({ length: 1 + (index % 3) }, (_, i) => ({
    description: DESCRIPTIONS[(index + i) % DESCRIPTIONS.length] as string,
    quantity: 1 + ((index + i) % 7),
    unit_amount: 100 * (1 + ((index * 7 + i) % 50)),
  }));
  const amountDue = lines.reduce((sum, l) => sum + l.quantity * l.unit_amount, 0);
  return JSON.stringify({
    id: `inv_${runId}_${index}`,
    customer_id: `cus_${(index % 997).toString(36).padStart(4, '0')}`,
    status: STATUSES[index % STATUSES.length],
    currency: CURRENCIES[index % CURRENCIES.length],
    amount_due: amountDue,
    amount_paid: index % 5 === 2 ? amountDue : 0,
    created_at: '2026-11-24T10:15:00Z',
    due_at: '2026-12-24T10:15:00Z',
    lines,
    metadata: { order: String(6000 + (index % 10000)), source: 'bench' },
  });
}
