import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type SpanContext,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Config } from '../../src/config/index.js';
import { OtelBatchTracer } from '../../src/delivery/index.js';
import { InMemoryBatchSender, type InMemoryBehaviour } from '../../src/sender/index.js';
import { isUntracedRequest } from '../../src/telemetry/sdk.js';
import { createLogger, keepCarrierContext, propagatorFromEnv } from '../../src/telemetry/index.js';
import { makeInvoice, postInvoice } from '../support/invoices.js';
import { startService, tempDir, type RunningService } from '../support/service.js';

// Never contacted: the service sends through an InMemoryBatchSender. It gives the span its URL attributes.
const QUEUE_URL = 'http://127.0.0.1:4566/queue/us-east-1/000000000000/unit-tracing';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const tracer = provider.getTracer('invoice-webhook-test');
const contextManager = new AsyncLocalStorageContextManager();

before(() => {
  context.setGlobalContextManager(contextManager.enable());
  // The production propagator: W3C trace context and baggage, keeping a carrier's own context.
  propagation.setGlobalPropagator(propagatorFromEnv(undefined));
});
after(async () => {
  context.disable();
  propagation.disable();
  await provider.shutdown();
});

/** A traced service: the real pipeline with an in-memory sender, fronted by a SERVER span per request. */
interface Traced {
  running: RunningService;
  sender: InMemoryBatchSender;
  /** Where to POST: a front door that starts the request span, as the HTTP instrumentation would. */
  url: string;
  stop: () => Promise<void>;
}

async function startTraced(behaviour?: InMemoryBehaviour, overrides: Partial<Config> = {}): Promise<Traced> {
  const sender = new InMemoryBatchSender(behaviour);
  // A long linger gathers concurrent invoices into one batch; retries back off for at most 5 ms.
  const running = await startService(
    { sqsQueueUrl: QUEUE_URL, batchLingerMs: 300, retryBaseMs: 1, retryMaxMs: 5, ...overrides },
    { sender, tracer, batchTracer: new OtelBatchTracer({ tracer, queueUrl: QUEUE_URL }) },
  );
  const handler = running.service.app.callback();
  const front = http.createServer((req, res) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(`${req.method} ${req.url}`, { kind: SpanKind.SERVER }, parent);
    res.once('close', () => span.end());
    context.with(trace.setSpan(parent, span), () => void handler(req, res));
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    running,
    sender,
    url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
    stop: async () => {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await running.stop();
    },
  };
}

function spansNamed(name: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

/** The request span of each invoice id, found through its validate span. */
function requestSpansByInvoice(): Map<string, ReadableSpan> {
  const spans = exporter.getFinishedSpans();
  const byInvoice = new Map<string, ReadableSpan>();
  for (const validate of spansNamed('validate')) {
    const parent = spans.find((s) => s.spanContext().spanId === validate.parentSpanContext?.spanId);
    assert.ok(parent, 'validate has a parent span');
    byInvoice.set(validate.attributes['invoice.id'] as string, parent);
  }
  return byInvoice;
}

function traceparentOf({ traceId, spanId }: SpanContext): string {
  return `00-${traceId}-${spanId}-01`;
}

/** Messages the finished delivery spans account for. */
function deliveredBySpans(): number {
  return spansNamed('deliver in-memory').reduce((n, s) => n + Number(s.attributes['messaging.batch.message_count']), 0);
}

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('tracing of the pipeline (in-memory spans)', () => {
  let traced: Traced | undefined;
  afterEach(async () => {
    await traced?.stop();
    traced = undefined;
    exporter.reset();
  });

  it('each request gets validate and enqueue children; each message carries its own request traceparent; the send span links them all', async () => {
    const t = await startTraced();
    traced = t;
    const callerTraces = ['4bf92f3577b34da6a3ce929d0e0e4736', '0af7651916cd43dd8448eb211c80319c'];
    const invoices = [makeInvoice(), makeInvoice(), makeInvoice(), makeInvoice()];
    const results = await Promise.all(
      invoices.map((invoice, i) => {
        const caller = callerTraces[i];
        const headers: Record<string, string> = caller ? { traceparent: `00-${caller}-00f067aa0ba902b7-01` } : {};
        return postInvoice(t.url, invoice, headers);
      }),
    );
    for (const res of results) assert.equal(res.status, 202, res.text);
    await until(() => t.sender.delivered.length === 4 && deliveredBySpans() === 4, 'delivery');

    const requests = requestSpansByInvoice();
    assert.equal(requests.size, 4);
    invoices.forEach((invoice, i) => {
      const request = requests.get(invoice.id as string) as ReadableSpan;
      assert.equal(request.kind, SpanKind.SERVER);
      const caller = callerTraces[i];
      if (caller) {
        assert.equal(request.spanContext().traceId, caller, "the caller's trace is continued");
        assert.equal(request.parentSpanContext?.spanId, '00f067aa0ba902b7');
      } else {
        assert.equal(request.parentSpanContext, undefined, 'no traceparent: the request starts a trace');
      }
      // validate and enqueue: exactly one each, children of this request's span.
      for (const stage of ['validate', 'enqueue']) {
        const children = spansNamed(stage).filter((s) => s.parentSpanContext?.spanId === request.spanContext().spanId);
        assert.equal(children.length, 1, `${stage} of ${String(invoice.id)}`);
        assert.equal(children[0]?.spanContext().traceId, request.spanContext().traceId);
        assert.equal(children[0]?.kind, SpanKind.INTERNAL);
      }
    });

    // Each message's attributes carry the traceparent of the request that accepted it, not another's.
    for (const message of t.sender.delivered) {
      const request = requests.get(message.attributes['invoice-id'] ?? '') as ReadableSpan;
      assert.equal(message.attributes.traceparent, traceparentOf(request.spanContext()));
    }

    // Deliveries start their own traces: never the trace of whichever request woke the flusher.
    const deliveries = spansNamed('deliver in-memory');
    const requestTraces = new Set([...requests.values()].map((s) => s.spanContext().traceId));
    for (const delivery of deliveries) {
      assert.equal(delivery.kind, SpanKind.INTERNAL);
      assert.equal(delivery.parentSpanContext, undefined);
      assert.ok(!requestTraces.has(delivery.spanContext().traceId));
    }

    const sends = spansNamed('send in-memory');
    assert.equal(sends.length, t.sender.calls.length, 'one send span per SendMessageBatch call');
    const linked = new Set<string>();
    for (const send of sends) {
      assert.equal(send.kind, SpanKind.PRODUCER);
      assert.equal(send.status.code, SpanStatusCode.UNSET);
      const parent = deliveries.find((d) => d.spanContext().spanId === send.parentSpanContext?.spanId);
      assert.ok(parent, 'a send span is the child of its delivery');
      assert.equal(send.spanContext().traceId, parent.spanContext().traceId);
      const count = send.attributes['messaging.batch.message_count'] as number;
      assert.deepEqual(send.attributes, {
        'messaging.system': 'aws_sqs',
        'messaging.destination.name': 'in-memory',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'messaging.batch.message_count': count,
        'webhook.send.attempt': 0,
        'aws.sqs.queue.url': QUEUE_URL,
        'server.address': '127.0.0.1',
        'server.port': 4566,
      });
      assert.equal(send.links.length, count, 'one link per message');
      // The links of this call are exactly the request spans of the messages it carried.
      const linkedParents = new Set(send.links.map((l) => traceparentOf(l.context)));
      const call = t.sender.calls.find(
        (messages) =>
          messages.length === count && messages.every((m) => linkedParents.has(m.attributes.traceparent ?? '')),
      );
      assert.ok(call, 'a call whose messages are exactly the linked ones');
      for (const link of send.links) {
        const invoiceId = link.attributes?.['invoice.id'] as string;
        const request = requests.get(invoiceId) as ReadableSpan;
        assert.equal(link.context.traceId, request.spanContext().traceId);
        assert.equal(link.context.spanId, request.spanContext().spanId);
        linked.add(invoiceId);
      }
    }
    assert.equal(linked.size, 4, 'every request is linked from a send span');
    assert.equal(
      exporter.getFinishedSpans().length,
      4 * 3 + deliveries.length + sends.length,
      'nothing else: request, validate and enqueue per invoice, then deliveries and their sends',
    );
  });

  it('with the journal on, each request gets a journal child span covering the durable write', async () => {
    const t = (traced = await startTraced(undefined, { journalDir: path.join(tempDir(), 'journal') }));
    const invoice = makeInvoice();
    assert.equal((await postInvoice(t.url, invoice)).status, 202);
    await until(() => t.sender.delivered.length === 1, 'delivery');
    const request = requestSpansByInvoice().get(invoice.id as string) as ReadableSpan;
    const journal = spansNamed('journal');
    assert.equal(journal.length, 1);
    assert.equal(journal[0]?.parentSpanContext?.spanId, request.spanContext().spanId);
    assert.equal(journal[0]?.spanContext().traceId, request.spanContext().traceId);
    assert.equal(typeof journal[0]?.attributes['webhook.journal.offset'], 'number');
  });

  it('retries get their own send spans under the same delivery, with the attempt, the error and the failed entries', async () => {
    const serviceUnavailable = Object.assign(new Error('try later'), { name: 'ServiceUnavailable' });
    const t = await startTraced((messages, call) => {
      if (call === 1) return serviceUnavailable;
      if (call === 2)
        return [{ id: messages[1]?.id ?? '1', code: 'InternalError', message: 'boom', senderFault: false }];
      return undefined;
    });
    traced = t;
    const first = makeInvoice();
    const second = makeInvoice();
    assert.equal((await postInvoice(t.url, first)).status, 202);
    assert.equal((await postInvoice(t.url, second)).status, 202);
    await until(() => t.sender.delivered.length === 2 && deliveredBySpans() === 2, 'delivery');

    const deliveries = spansNamed('deliver in-memory');
    assert.equal(deliveries.length, 1, 'both invoices left in one batch');
    const delivery = deliveries[0];
    const sends = spansNamed('send in-memory').sort(
      (a, b) => Number(a.attributes['webhook.send.attempt']) - Number(b.attributes['webhook.send.attempt']),
    );
    assert.deepEqual(
      sends.map((s) => [s.attributes['webhook.send.attempt'], s.attributes['messaging.batch.message_count']]),
      [
        [0, 2],
        [1, 2],
        [2, 1],
      ],
    );
    for (const send of sends) assert.equal(send.parentSpanContext?.spanId, delivery?.spanContext().spanId);

    const [failedCall, partial, last] = sends as [ReadableSpan, ReadableSpan, ReadableSpan];
    assert.equal(failedCall.status.code, SpanStatusCode.ERROR);
    assert.equal(failedCall.attributes['error.type'], 'ServiceUnavailable');
    assert.ok(
      failedCall.events.some((e) => e.name === 'exception'),
      'the exception is recorded',
    );

    assert.equal(partial.status.code, SpanStatusCode.ERROR);
    assert.equal(partial.attributes['error.type'], 'InternalError');
    const event = partial.events.find((e) => e.name === 'webhook.entries_failed');
    assert.deepEqual(event?.attributes, {
      'webhook.batch.failed_count': 1,
      'webhook.batch.successful_count': 1,
      'error.type': 'InternalError',
    });

    assert.equal(last.status.code, SpanStatusCode.UNSET);
    const requests = requestSpansByInvoice();
    assert.deepEqual(
      last.links.map((l) => l.context.spanId),
      [requests.get(second.id as string)?.spanContext().spanId],
      'the retry links only the entry it resends',
    );
  });
});

describe('log correlation', () => {
  it('lines written inside a span carry its trace_id and span_id; lines outside carry none', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    logger.info('outside');
    let requestIds: { traceId: string; spanId: string } | undefined;
    tracer.startActiveSpan('POST /webhooks/invoice', (span) => {
      requestIds = span.spanContext();
      logger.info('inside a request');
      span.end();
    });
    let deliveryIds: { traceId: string; spanId: string } | undefined;
    await new OtelBatchTracer({ tracer }).traceDelivery('q', [], async () => {
      await new Promise((resolve) => setImmediate(resolve));
      deliveryIds = trace.getActiveSpan()?.spanContext();
      logger.warn('inside a delivery, after an await');
    });

    assert.equal(lines.length, 3);
    assert.equal(lines[0]?.trace_id, undefined);
    assert.equal(lines[0]?.span_id, undefined);
    assert.equal(lines[1]?.trace_id, requestIds?.traceId);
    assert.equal(lines[1]?.span_id, requestIds?.spanId);
    assert.equal(lines[1]?.trace_flags, '01');
    assert.equal(lines[2]?.trace_id, deliveryIds?.traceId);
    assert.equal(lines[2]?.span_id, deliveryIds?.spanId);
    assert.notEqual(lines[2]?.trace_id, lines[1]?.trace_id);
    exporter.reset();
  });
});

describe('propagation into SQS message attributes', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const sendCtx = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: 1,
  });
  const sqsSetter = {
    set: (carrier: Record<string, unknown>, key: string, value: string) => {
      carrier[key] = { DataType: 'String', StringValue: value };
    },
  };

  it('under a send, a message that already has a traceparent keeps it (the AWS SDK instrumentation cannot replace it)', () => {
    const carrier: Record<string, unknown> = {
      'invoice-id': { DataType: 'String', StringValue: 'inv_1' },
      traceparent: { DataType: 'String', StringValue: traceparent },
    };
    propagation.inject(keepCarrierContext(sendCtx), carrier, sqsSetter);
    assert.deepEqual(carrier.traceparent, { DataType: 'String', StringValue: traceparent });
    assert.equal(Object.keys(carrier).length, 2, 'nothing added either');
  });

  it('under a send, a carrier without trace context (an HTTP request) still gets the current one', () => {
    const headers: Record<string, string> = {};
    propagation.inject(keepCarrierContext(sendCtx), headers);
    assert.equal(headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  it('outside a send, injection behaves as the plain W3C propagator', () => {
    const headers: Record<string, string> = { traceparent };
    propagation.inject(sendCtx, headers);
    assert.equal(headers.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });
});

describe('untraced operations endpoints', () => {
  it('skips /livez, /readyz and /metrics (with or without a query), and traces the webhook route', () => {
    const req = (url: string) => ({ url }) as http.IncomingMessage;
    assert.equal(isUntracedRequest(req('/livez')), true);
    assert.equal(isUntracedRequest(req('/readyz?verbose=1')), true);
    assert.equal(isUntracedRequest(req('/metrics')), true);
    assert.equal(isUntracedRequest(req('/webhooks/invoice')), false);
    assert.equal(isUntracedRequest(req('/livez/extra')), false);
  });
});
