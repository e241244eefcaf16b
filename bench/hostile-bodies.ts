/**
 * Hostile invoice bodies that fill a byte budget with as many schema violations (or as much key-parsing
 * work) as fits: what the bound (docs/api.md) on 422 answers is about. Used by `bench/hostile.ts`
 * (time per request) and by the tests (the answer stays within the bound).
 */

const HEAD =
  '{"id":"inv_hostile","customer_id":"cus_1","status":"open","currency":"USD","amount_due":1,' +
  '"created_at":"2026-11-24T10:15:00Z"';
const GOOD_LINE = '{"description":"d","quantity":1,"unit_amount":1}';

/** `prefix` + as many `unit(i)` as fit in `limitBytes` (comma-separated) + `suffix`. */
function fill(limitBytes: number, prefix: string, unit: (i: number) => string, suffix: string): string {
  const parts: string[] = [];
  let size = prefix.length + suffix.length;
  for (let i = 0; ; i += 1) {
    const next = unit(i);
    if (size + next.length + 1 > limitBytes) break;
    parts.push(next);
    size += next.length + 1;
  }
  return prefix + parts.join(',') + suffix;
}

/** Each body is at most `limitBytes` long (ASCII, so bytes = characters). */
export function hostileBodies(limitBytes: number): Record<string, string> {
  return {
    /** ~130,000 line items that are not objects: one violation each. */
    'lines-not-objects': fill(limitBytes, `${HEAD},"lines":[`, () => '0', ']}'),
    /** Line items each breaking four rules. */
    'lines-four-violations': fill(
      limitBytes,
      `${HEAD},"lines":[`,
      () => '{"description":"","quantity":0,"unit_amount":"x","x":1}',
      ']}',
    ),
    /** One line item with tens of thousands of unknown properties. */
    'line-unknown-keys': fill(limitBytes, `${HEAD},"lines":[{`, (i) => `"${i.toString(36)}":1`, '}]}'),
    /** Tens of thousands of metadata keys, each value of the wrong type. */
    'metadata-keys': fill(
      limitBytes,
      `${HEAD},"lines":[${GOOD_LINE}],"metadata":{`,
      (i) => `"${i.toString(36)}":1`,
      '}}',
    ),
    /** Property names as long as the body allows, full of characters JSON must escape. */
    'long-property-names': fill(
      limitBytes,
      `${HEAD},"lines":[`,
      (i) => `{"description":"d","quantity":1,"unit_amount":1,"${'\\u0001'.repeat(2000)}${i}":1}`,
      ']}',
    ),
    /** Not an attack: the largest valid invoice (500 line items), for comparison. */
    'valid-500-lines': `${HEAD},"lines":[${Array.from({ length: 500 }, () => GOOD_LINE).join(',')}]}`,
  };
}
