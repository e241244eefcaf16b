// The SQS message attributes of an accepted invoice (docs/api.md, "What lands on SQS").
import { context, propagation } from '@opentelemetry/api';
import type { RequestHeaders } from './types.js';

/** SQS takes at most 10 message attributes per message. */
export const SQS_MAX_MESSAGE_ATTRIBUTES = 10;

/** The signature headers FORWARD_SIGNATURE_HEADERS=true copies to attributes of the same name, where present. */
export const FORWARDED_SIGNATURE_HEADERS = [
  'stripe-signature',
  'webhook-signature',
  'webhook-timestamp',
  'x-webhook-signature',
] as const;

/** Trace context fields, in the order they are kept when the attribute budget runs out (baggage goes first). */
const TRACE_FIELDS = ['traceparent', 'tracestate', 'baggage'];

/** `received-at`: RFC 3339, UTC, milliseconds (`2026-12-06T14:48:59.123Z`). */
export function receivedAt(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export interface MessageAttributeInput {
  invoiceId: string;
  requestId: string;
  /** When the body was read, epoch ms. */
  receivedAtMs: number;
  /** The Standard Webhooks message id, when the request had a sane one. */
  webhookId?: string | undefined;
  /** The request's headers: the signature headers are copied from here when `forwardSignatureHeaders`. */
  headers?: RequestHeaders;
  forwardSignatureHeaders?: boolean;
}

/**
 * The attributes, all String: `invoice-id`, `request-id`, `received-at`, `webhook-id` (when given), the
 * signature headers as received (with `forwardSignatureHeaders`; a header given twice is forwarded as Node
 * joins it, `a, b`), then the active trace context (`traceparent`, `tracestate`, `baggage`) as far as
 * SQS's 10 attributes allow: with all four signature headers and a webhook-id, `baggage` is left out.
 */
export function messageAttributes(input: MessageAttributeInput): Record<string, string> {
  const attributes: Record<string, string> = {
    'invoice-id': input.invoiceId,
    'request-id': input.requestId,
    'received-at': receivedAt(input.receivedAtMs),
  };
  if (input.webhookId !== undefined) attributes['webhook-id'] = input.webhookId;
  if (input.forwardSignatureHeaders === true && input.headers !== undefined) {
    for (const name of FORWARDED_SIGNATURE_HEADERS) {
      const value = input.headers[name];
      // SQS refuses empty attribute values; Node gives a repeated header of these names as one joined string.
      if (typeof value === 'string' && value !== '') attributes[name] = value;
    }
  }
  // The accepting request's trace context travels with its own message (W3C traceparent/tracestate).
  const trace: Record<string, string> = {};
  propagation.inject(context.active(), trace);
  for (const field of TRACE_FIELDS) {
    const value = trace[field];
    if (value === undefined || Object.keys(attributes).length >= SQS_MAX_MESSAGE_ATTRIBUTES) continue;
    attributes[field] = value;
  }
  return attributes;
}
