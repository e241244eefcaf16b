// One accepted invoice on its way to SQS, its final outcome, and the message size SQS counts for it.
import type { SpanContext } from '@opentelemetry/api';

/** What happened to one invoice at SQS, told to whoever waits on it (confirmed ack mode). */
export type DeliveryOutcome =
  | { status: 'sent'; messageId: string }
  | { status: 'dead_lettered'; code: string; message: string }
  | { status: 'undelivered'; reason: string };

/** One accepted invoice on its way to SQS. */
export interface PendingInvoice {
  /** The invoice's own id. */
  readonly invoiceId: string;
  /** The request that accepted it. */
  readonly requestId: string;
  /** The request body, exactly as received. */
  readonly body: string;
  /** SQS message attributes (String values). */
  readonly attributes: Readonly<Record<string, string>>;
  /** FIFO queues only. */
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  /** Size SQS counts for this message: body plus attribute names, types and values. */
  readonly bytes: number;
  /** When it entered the buffer (ms, monotonic clock). */
  readonly enqueuedAtMs: number;
  /** The accepting request's span, for the send span's links. */
  readonly spanContext?: SpanContext;
  /** Failed send attempts so far. */
  attempts: number;
  /** With the journal on: where its record is, until it is retired. */
  journalPosition?: { readonly segment: number; readonly offset: number } | undefined;
  /** Called once with the final outcome, when someone waits for it. */
  settle?: ((outcome: DeliveryOutcome) => void) | undefined;
}

/** A freshly accepted invoice: its SQS size is derived here, once, and it has no failed attempts yet. */
export function newPendingInvoice(fields: Omit<PendingInvoice, 'bytes' | 'attempts' | 'settle'>): PendingInvoice {
  return { ...fields, bytes: messageBytes(fields.body, fields.attributes), attempts: 0 };
}

const STRING_TYPE_BYTES = Buffer.byteLength('String');

/** The size SQS counts for a message: body bytes plus each attribute's name, data type and value. */
export function messageBytes(body: string, attributes: Readonly<Record<string, string>>): number {
  let bytes = Buffer.byteLength(body);
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + STRING_TYPE_BYTES + Buffer.byteLength(value);
  }
  return bytes;
}
