import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  createContextKey,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import type { PendingInvoice } from '../buffer/index.js';
import type { BatchTracer } from './tracing.js';
import { errorCode } from './classify.js';
import type { BatchResult } from '../sender/index.js';
import { keepCarrierContext } from '../telemetry/index.js';

// Messaging semantic conventions (still "development" upstream, so copied here rather than imported
// from @opentelemetry/semantic-conventions/incubating, as that package advises).
export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_AWS_SQS_QUEUE_URL = 'aws.sqs.queue.url';
// Our own names stay out of the reserved `messaging.*` namespace (and every other semconv one).
/** Which attempt at sending these entries this call is (0 = first). */
export const ATTR_SEND_ATTEMPT = 'webhook.send.attempt';
/** Event added to a send span when SQS answered but refused some entries. */
export const EVENT_ENTRIES_FAILED = 'webhook.entries_failed';
/** Entries SQS refused / accepted in the call, on the {@link EVENT_ENTRIES_FAILED} event. */
export const ATTR_FAILED_COUNT = 'webhook.batch.failed_count';
export const ATTR_SUCCESSFUL_COUNT = 'webhook.batch.successful_count';

export interface OtelBatchTracerOptions {
  /** Usually `trace.getTracer('invoice-webhook', version)`. */
  tracer: Tracer;
  /** The queue's URL, recorded as `aws.sqs.queue.url` (the flusher only knows the queue's name). Default: not recorded. */
  queueUrl?: string;
}

const IN_DELIVERY = createContextKey('invoice-webhook: inside a batch delivery span');

/**
 * Spans for the flusher, following the OpenTelemetry messaging conventions for batch sends:
 * - `deliver <queue>` (INTERNAL, a new trace) covers one batch from leaving the buffer until every
 *   entry is acknowledged or dead-lettered, so the flusher's log lines about it carry its trace id;
 * - `send <queue>` (PRODUCER) wraps each SendMessageBatch call, retries included, with a link to
 *   every message's accepting request. The AWS SDK's span nests under it as a CLIENT span
 *   (telemetry/client-kind.ts), so each attempt has exactly one PRODUCER span.
 * A send span is never the child of whichever request happened to wake the flusher.
 */
export class OtelBatchTracer implements BatchTracer {
  private readonly tracer: Tracer;
  private readonly base: Attributes;

  constructor(options: OtelBatchTracerOptions) {
    this.tracer = options.tracer;
    this.base = { [ATTR_MESSAGING_SYSTEM]: 'aws_sqs' };
    if (options.queueUrl !== undefined) {
      this.base[ATTR_AWS_SQS_QUEUE_URL] = options.queueUrl;
      const server = serverOf(options.queueUrl);
      if (server !== undefined) {
        this.base[ATTR_SERVER_ADDRESS] = server.address;
        this.base[ATTR_SERVER_PORT] = server.port;
      }
    }
  }

  async traceDelivery<T>(
    destination: string,
    entries: readonly PendingInvoice[],
    deliver: () => Promise<T>,
  ): Promise<T> {
    const span = this.tracer.startSpan(
      `deliver ${destination}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          ...this.base,
          [ATTR_MESSAGING_DESTINATION_NAME]: destination,
          [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: entries.length,
        },
      },
      ROOT_CONTEXT,
    );
    return endAfter(span, () => context.with(trace.setSpan(ROOT_CONTEXT, span).setValue(IN_DELIVERY, true), deliver));
  }

  async traceSend<T>(
    destination: string,
    entries: readonly PendingInvoice[],
    attempt: number,
    send: () => Promise<T>,
  ): Promise<T> {
    const active = context.active();
    const parent: Context = active.getValue(IN_DELIVERY) === true ? active : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      `send ${destination}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          ...this.base,
          [ATTR_MESSAGING_DESTINATION_NAME]: destination,
          [ATTR_MESSAGING_OPERATION_TYPE]: 'send',
          // The span name is `{messaging.operation.name} {messaging.destination.name}`, as the conventions ask.
          [ATTR_MESSAGING_OPERATION_NAME]: 'send',
          [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: entries.length,
          [ATTR_SEND_ATTEMPT]: attempt,
        },
        links: linksOf(entries),
      },
      parent,
    );
    return endAfter(span, async () => {
      const result = await context.with(keepCarrierContext(trace.setSpan(parent, span)), send);
      if (isBatchResult(result)) recordEntryFailures(span, result);
      return result;
    });
  }
}

/** One link per message to the span of the request that accepted it. */
function linksOf(entries: readonly PendingInvoice[]): Link[] {
  const links: Link[] = [];
  for (const entry of entries) {
    if (entry.spanContext !== undefined && isSpanContextValid(entry.spanContext)) {
      links.push({ context: entry.spanContext, attributes: { 'invoice.id': entry.invoiceId } });
    }
  }
  return links;
}

function recordEntryFailures(span: Span, result: BatchResult): void {
  if (result.failed.length === 0) return;
  const codes = [...new Set(result.failed.map((f) => f.code))].sort().join(',');
  span.addEvent(EVENT_ENTRIES_FAILED, {
    [ATTR_FAILED_COUNT]: result.failed.length,
    [ATTR_SUCCESSFUL_COUNT]: result.successful.length,
    [ATTR_ERROR_TYPE]: codes,
  });
  span.setAttribute(ATTR_ERROR_TYPE, codes);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: `${result.failed.length} of ${result.failed.length + result.successful.length} entries failed: ${codes}`,
  });
}

/** Runs `run`; a throw marks the span failed (and is rethrown); the span ends either way. */
async function endAfter<T>(span: Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function failSpan(span: Span, error: unknown): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorCode(error));
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

function isBatchResult(value: unknown): value is BatchResult {
  const v = value as Partial<BatchResult> | null;
  return typeof v === 'object' && v !== null && Array.isArray(v.successful) && Array.isArray(v.failed);
}

function serverOf(queueUrl: string): { address: string; port: number } | undefined {
  try {
    const url = new URL(queueUrl);
    const port = url.port === '' ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port);
    return { address: url.hostname, port };
  } catch {
    return undefined;
  }
}
