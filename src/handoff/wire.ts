// What travels on the hand-off route: the sending pod's name and its leftover invoices, as journal records.
import { Ajv } from 'ajv';
import { Type, type Static } from 'typebox';
import type { JournalRecord } from '../journal/format.js';

/** The internal route a shutting-down pod posts its leftovers to (not in the public API). */
export const HANDOFF_PATH = '/internal/handoff';

/** Largest hand-off request body: a chunk of leftovers, each at most one SQS message (1 MiB), JSON-escaped. */
export const HANDOFF_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** Invoices per hand-off request, and their summed body bytes: a chunk the peer journals in one go. */
export const HANDOFF_CHUNK_INVOICES = 200;
export const HANDOFF_CHUNK_BYTES = 4 * 1024 * 1024;

const Record_ = Type.Object(
  {
    i: Type.String({ minLength: 1 }),
    r: Type.String(),
    b: Type.String(),
    a: Type.Record(Type.String(), Type.String()),
    g: Type.Optional(Type.String()),
    d: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const HandoffRequestSchema = Type.Object(
  {
    /** The sending pod's name (POD_NAME): a pod refuses a hand-off from itself. */
    from: Type.String({ minLength: 1 }),
    invoices: Type.Array(Record_, { minItems: 1, maxItems: HANDOFF_CHUNK_INVOICES }),
  },
  { additionalProperties: false },
);

export type HandoffRequest = Static<typeof HandoffRequestSchema> & { invoices: JournalRecord[] };

export const validateHandoffRequest = new Ajv({ allErrors: false, strict: true }).compile<HandoffRequest>(
  HandoffRequestSchema,
);

/** `records` in chunks of at most {@link HANDOFF_CHUNK_INVOICES} invoices and about {@link HANDOFF_CHUNK_BYTES}. */
export function chunksOf<T extends { b: string }>(records: readonly T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record.b);
    if (current.length > 0 && (current.length >= HANDOFF_CHUNK_INVOICES || bytes + size > HANDOFF_CHUNK_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
