import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { Message } from '@aws-sdk/client-sqs';
import { parse } from 'yaml';
import { makeInvoice, postInvoice } from '../../support/invoices.js';
import { spawnOn, sqsQueue, suiteScope } from '../../support/pipeline.js';
import { REPO_ROOT, type SpawnedService } from '../../support/service.js';
import { attribute } from '../../support/sqs.js';
import { sleep, waitUntil } from '../../support/wait.js';

// End to end: the built service, started as `npm start` starts it (with the OTel preload), exports
// over OTLP to a real Jaeger; the spans are read back from Jaeger's query API.
const JAEGER = process.env.JAEGER_QUERY_URL ?? 'http://127.0.0.1:16686';
const OTLP = process.env.JAEGER_OTLP_URL ?? 'http://127.0.0.1:4318';

interface JaegerTag {
  key: string;
  value: unknown;
}
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  tags: JaegerTag[];
  logs: { fields: JaegerTag[] }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: JaegerTag[] }>;
}

function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((t) => t.key === key)?.value;
}
function parentOf(span: JaegerSpan): string | undefined {
  return span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
}
function linksOf(span: JaegerSpan): { traceID: string; spanID: string }[] {
  return span.references.filter((r) => r.refType === 'FOLLOWS_FROM');
}
/** The W3C traceparent's trace id and parent span id. */
function parseTraceparent(value: string | undefined): { traceId: string; spanId: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(value ?? '');
  assert.ok(match, `a W3C traceparent, got ${value}`);
  return { traceId: match[1] as string, spanId: match[2] as string };
}
/** True when `ancestorId` is on the CHILD_OF chain above `span`. */
function descendsFrom(trace: JaegerTrace, span: JaegerSpan, ancestorId: string): boolean {
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  for (let parent = parentOf(span); parent !== undefined; parent = parentOf(byId.get(parent) as JaegerSpan)) {
    if (parent === ancestorId) return true;
    if (!byId.has(parent)) return false;
  }
  return false;
}

async function jaegerAnswers(): Promise<boolean> {
  try {
    return (await fetch(`${JAEGER}/api/services`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

async function tracesOf(service: string): Promise<JaegerTrace[]> {
  const res = await fetch(`${JAEGER}/api/traces?service=${encodeURIComponent(service)}&lookback=1h&limit=100`);
  if (!res.ok) return [];
  return ((await res.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

/** Messaging attributes the semantic conventions define that a send span may carry. */
const MESSAGING_SEMCONV = new Set([
  'messaging.system',
  'messaging.destination.name',
  'messaging.operation.type',
  'messaging.operation.name',
  'messaging.batch.message_count',
]);

describe('traces in a real Jaeger: the built service with the OTel preload, against LocalStack', () => {
  const serviceName = `invoice-webhook-test-${randomUUID().slice(0, 8)}`;
  const callerTraces = new Map<string, string>(); // invoice id → the caller's trace id
  const accepted: string[] = [];
  let invalidId = '';
  let oversizeId = '';
  const scope = suiteScope('jaeger');
  let queueUrl = '';
  let queueName = '';
  let svc: SpawnedService;
  let messages: Message[] = [];
  let traces: JaegerTrace[] = [];

  before(async () => {
    if (!(await jaegerAnswers())) {
      assert.fail(
        `Jaeger is not answering at ${JAEGER}. Build it once with \`otel/jaeger.sh install\`, then start it with ` +
          '`otel/jaeger.sh start` (npm test starts it by itself once it is installed).',
      );
    }
    // A small maximum message size lets one invoice be refused by SQS for good (dead-lettered).
    const queue = await sqsQueue(scope, { queueAttributes: { MaximumMessageSize: '1024' } });
    queueUrl = queue.queueUrl;
    queueName = queueUrl.split('/').pop() as string;
    svc = await spawnOn(scope, queue, {
      env: {
        OTEL_SDK_DISABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: OTLP,
        OTEL_SERVICE_NAME: serviceName,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        LOG_LEVEL: 'debug',
        BATCH_LINGER_MS: '100',
      },
      preload: true,
    });

    // Four accepted invoices, two of them continuing a caller's trace.
    const invoices = [makeInvoice(), makeInvoice(), makeInvoice(), makeInvoice()];
    const results = await Promise.all(
      invoices.map((invoice, i) => {
        const id = invoice.id as string;
        accepted.push(id);
        if (i % 2 === 1) {
          const traceId = randomBytes(16).toString('hex');
          callerTraces.set(id, traceId);
          return postInvoice(svc.url, invoice, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` });
        }
        return postInvoice(svc.url, invoice);
      }),
    );
    for (const res of results) assert.equal(res.status, 202, res.text);
    const invalid = makeInvoice({ currency: 'usd' });
    invalidId = invalid.id as string;
    assert.equal((await postInvoice(svc.url, invalid)).status, 422);
    for (const path of ['/livez', '/readyz', '/metrics']) assert.equal((await fetch(`${svc.url}${path}`)).status, 200);

    messages = await queue.receive(4);

    // One more, too big for this queue: SQS refuses the entry and the flusher dead-letters it.
    const oversize = makeInvoice({ metadata: { a: 'x'.repeat(400), b: 'y'.repeat(400), c: 'z'.repeat(400) } });
    oversizeId = oversize.id as string;
    assert.equal((await postInvoice(svc.url, oversize)).status, 202);
    await waitUntil(
      'the oversize invoice is dead-lettered',
      () => svc.logs.some((l) => l.msg === 'invoices written to the dead-letter file'),
      { timeoutMs: 10000 },
    );

    // SIGTERM: the service drains, then shuts the SDK down, which flushes the last spans.
    svc.child.kill('SIGTERM');
    const exit = await svc.exited;
    assert.equal(exit.code, 0, `clean exit; stderr: ${svc.stderr.join('')}`);

    // Jaeger stores what it receives within its batch timeout; poll until every stage has arrived.
    const pollUntil = Date.now() + 30000;
    for (;;) {
      traces = await tracesOf(serviceName);
      const spans = traces.flatMap((t) => t.spans);
      const validated = new Set(spans.filter((s) => s.operationName === 'validate').map((s) => tag(s, 'invoice.id')));
      const sends = spans.filter((s) => s.operationName === `send ${queueName}`);
      const linked = sends.reduce((n, s) => n + linksOf(s).length, 0);
      const awsSpans = spans.filter((s) => tag(s, 'otel.scope.name') === '@opentelemetry/instrumentation-aws-sdk');
      const complete =
        [...accepted, invalidId, oversizeId].every((id) => validated.has(id)) &&
        linked >= 5 &&
        awsSpans.length >= sends.length &&
        sends.length > 0;
      if (complete) break;
      if (Date.now() > pollUntil) {
        assert.fail(
          `spans did not all reach Jaeger within 30 s: ${spans.length} spans, validated ${[...validated].join(',')}, ` +
            `${sends.length} send spans with ${linked} links; service stderr: ${svc.stderr.join('')}`,
        );
      }
      await sleep(500);
    }
  });

  /** The trace of the request that accepted `invoiceId`, and its stage spans. */
  function requestTrace(invoiceId: string) {
    const trace = traces.find((t) =>
      t.spans.some((s) => s.operationName === 'validate' && tag(s, 'invoice.id') === invoiceId),
    );
    assert.ok(trace, `a trace for the request of ${invoiceId}`);
    const server = trace.spans.filter((s) => tag(s, 'span.kind') === 'server');
    assert.equal(server.length, 1, 'one HTTP server span per request trace');
    const find = (name: string) => {
      const found = trace.spans.filter((s) => s.operationName === name);
      assert.equal(found.length, 1, `one ${name} span`);
      return found[0] as JaegerSpan;
    };
    return { trace, server: server[0] as JaegerSpan, validate: find('validate'), find };
  }

  it('exports with the service resource: OTEL_SERVICE_NAME and the package version', () => {
    const process = Object.values(traces[0]?.processes ?? {})[0];
    assert.equal(process?.serviceName, serviceName);
    assert.equal(process?.tags.find((t) => t.key === 'service.version')?.value, '0.1.0');
  });

  it('traces each request: HTTP server span (named after the route) → validate and enqueue', () => {
    for (const id of accepted) {
      const { trace, server, validate, find } = requestTrace(id);
      assert.equal(server.operationName, 'POST /webhooks/invoice');
      assert.equal(tag(server, 'http.route'), '/webhooks/invoice');
      assert.equal(tag(server, 'http.response.status_code'), 202);
      const enqueue = find('enqueue');
      assert.ok(descendsFrom(trace, validate, server.spanID), 'validate under the HTTP span');
      assert.ok(descendsFrom(trace, enqueue, server.spanID), 'enqueue under the HTTP span');
      assert.equal(tag(validate, 'invoice.validation.outcome'), 'valid');
      assert.equal(tag(enqueue, 'webhook.enqueue.outcome'), 'ok');
      assert.equal(parentOf(validate), server.spanID, 'validate is a child of the HTTP span');
      assert.equal(parentOf(enqueue), server.spanID, 'enqueue is a child of the HTTP span');
      const caller = callerTraces.get(id);
      if (caller !== undefined) {
        assert.equal(trace.traceID, caller, "the caller's traceparent is continued");
        assert.equal(parentOf(server)?.length, 16, "the HTTP span's parent is the caller's span");
      } else {
        assert.equal(parentOf(server), undefined, 'without a traceparent the request starts a trace');
      }
    }
    const rejected = requestTrace(invalidId);
    assert.equal(tag(rejected.server, 'http.response.status_code'), 422);
    assert.equal(tag(rejected.validate, 'invoice.validation.outcome'), 'invalid');
  });

  it("puts each request's own traceparent on its SQS message", () => {
    assert.equal(messages.length, 4);
    const seenTraces = new Set<string>();
    for (const message of messages) {
      const id = attribute(message, 'invoice-id') as string;
      const { traceId, spanId } = parseTraceparent(attribute(message, 'traceparent'));
      const { trace } = requestTrace(id);
      assert.equal(traceId, trace.traceID, `message ${id} carries its own request's trace id`);
      assert.ok(
        trace.spans.some((s) => s.spanID === spanId),
        'and a span of that request as parent',
      );
      if (callerTraces.has(id)) assert.equal(traceId, callerTraces.get(id));
      seenTraces.add(traceId);
      // invoice-id, request-id, received-at, traceparent: far from SQS's limit of 10 attributes.
      assert.deepEqual(Object.keys(message.MessageAttributes ?? {}).sort(), [
        'invoice-id',
        'received-at',
        'request-id',
        'traceparent',
      ]);
    }
    assert.equal(seenTraces.size, 4, 'four messages, four different traces (not one per batch)');
  });

  it('wraps each SendMessageBatch in one PRODUCER send span linked to the requests, with the AWS SDK CLIENT span under it', () => {
    const sendTraces = traces.filter((t) => t.spans.some((s) => s.operationName === `send ${queueName}`));
    const linkedRequests = new Map<string, string>(); // request trace id → linked span id
    for (const trace of sendTraces) {
      for (const send of trace.spans.filter((s) => s.operationName === `send ${queueName}`)) {
        assert.equal(tag(send, 'span.kind'), 'producer');
        assert.equal(tag(send, 'messaging.system'), 'aws_sqs');
        assert.equal(tag(send, 'messaging.destination.name'), queueName);
        assert.equal(tag(send, 'messaging.operation.type'), 'send');
        assert.equal(tag(send, 'messaging.operation.name'), 'send');
        assert.equal(tag(send, 'aws.sqs.queue.url'), queueUrl);
        assert.equal(tag(send, 'messaging.batch.message_count'), linksOf(send).length);
        assert.equal(tag(send, 'webhook.send.attempt'), 0);
        // Only semantic-convention attributes in the reserved messaging.* namespace.
        const messagingKeys = send.tags.map((t) => t.key).filter((key) => key.startsWith('messaging.'));
        for (const key of messagingKeys) assert.ok(MESSAGING_SEMCONV.has(key), `${key} is a messaging convention`);
        for (const link of linksOf(send)) linkedRequests.set(link.traceID, link.spanID);

        const delivery = trace.spans.find((s) => s.spanID === parentOf(send));
        assert.ok(delivery, 'a send span is the child of a span in its trace');
        assert.equal(delivery.operationName, `deliver ${queueName}`, 'a send span is the child of its delivery');
        assert.equal(parentOf(delivery), undefined, 'a delivery starts its own trace');

        const aws = trace.spans.filter((s) => parentOf(s) === send.spanID);
        assert.equal(aws.length, 1, 'one AWS SDK span under the send span');
        const awsSpan = aws[0] as JaegerSpan;
        assert.equal(tag(awsSpan, 'otel.scope.name'), '@opentelemetry/instrumentation-aws-sdk');
        assert.equal(tag(awsSpan, 'rpc.method'), 'SendMessageBatch');
        assert.equal(tag(awsSpan, 'span.kind'), 'client', 'the AWS SDK span is a client span, not a second producer');
        assert.equal(awsSpan.operationName, 'SQS.SendMessageBatch');
        assert.ok(
          trace.spans.some((s) => parentOf(s) === awsSpan.spanID && tag(s, 'span.kind') === 'client'),
          'the HTTP client span under the AWS SDK span',
        );
      }
    }
    for (const message of messages) {
      const { traceId, spanId } = parseTraceparent(attribute(message, 'traceparent'));
      assert.equal(linkedRequests.get(traceId), spanId, 'the send span links the span the message names as parent');
    }
    // Exactly one PRODUCER span per SendMessageBatch attempt, across every trace.
    const spans = traces.flatMap((t) => t.spans);
    const producers = spans.filter((s) => tag(s, 'span.kind') === 'producer');
    const calls = spans.filter((s) => tag(s, 'rpc.method') === 'SendMessageBatch');
    assert.ok(calls.length > 0);
    assert.equal(producers.length, calls.length, 'one PRODUCER span per SendMessageBatch call');
    for (const producer of producers) assert.equal(producer.operationName, `send ${queueName}`);
    assert.ok(linkedRequests.has(requestTrace(oversizeId).trace.traceID), 'the refused one is linked too');
  });

  it('marks the send span of a refused entry, and the flusher logs inside the delivery trace', () => {
    const spans = traces.flatMap((t) => t.spans);
    const oversizeTrace = requestTrace(oversizeId).trace.traceID;
    const send = spans.find(
      (s) => s.operationName === `send ${queueName}` && linksOf(s).some((l) => l.traceID === oversizeTrace),
    );
    assert.ok(send);
    assert.equal(tag(send, 'otel.status_code'), 'ERROR');
    assert.equal(tag(send, 'error.type'), 'InvalidParameterValueException');
    const event = send.logs.find((l) =>
      l.fields.some((f) => f.key === 'event' && f.value === 'webhook.entries_failed'),
    );
    assert.ok(event, 'a webhook.entries_failed event');
    assert.equal(event.fields.find((f) => f.key === 'webhook.batch.failed_count')?.value, 1);

    const line = svc.logs.find((l) => l.msg === 'invoices written to the dead-letter file');
    assert.ok(line, 'the flusher logged the dead letter');
    assert.equal(line.trace_id, send.traceID, "the flusher's line carries the delivery's trace id");
    assert.equal(line.span_id, parentOf(send), "and the delivery span's id");
  });

  it('correlates log lines written inside a request with its trace', () => {
    const line = svc.logs.find((l) => l.status === 422 && l.code === 'invalid_invoice');
    assert.ok(line, 'the 422 was logged (debug)');
    const { trace } = requestTrace(invalidId);
    assert.equal(line.trace_id, trace.traceID);
    assert.ok(trace.spans.some((s) => s.spanID === line.span_id));
    const starting = svc.logs.find((l) => l.msg === 'starting');
    assert.equal(starting?.telemetry, 'on');
    assert.equal(starting?.trace_id, undefined, 'lines outside any span carry no trace id');
  });

  it('does not trace /livez, /readyz or /metrics', () => {
    const spans = traces.flatMap((t) => t.spans);
    assert.ok(spans.length > 0);
    for (const span of spans) {
      const urlPath = tag(span, 'url.path');
      const where = typeof urlPath === 'string' ? urlPath : span.operationName;
      assert.ok(!/livez|readyz|metrics/.test(where), `${span.operationName} ${where}`);
    }
  });
});

describe('otel/ configs for Docker users (compose cannot run here; its parts are checked instead)', () => {
  const jaegerBin = path.join(REPO_ROOT, '.cache/bin/jaeger');
  const load = (file: string): unknown => parse(readFileSync(path.join(REPO_ROOT, 'otel', file), 'utf8'));

  it('collector.yaml and jaeger.yaml pass `jaeger validate` (Jaeger v2 is an OpenTelemetry Collector build)', () => {
    assert.ok(existsSync(jaegerBin), `${jaegerBin} is missing: run \`otel/jaeger.sh install\``);
    for (const file of ['collector.yaml', 'jaeger.yaml']) {
      const run = spawnSync(jaegerBin, ['validate', '--config', `file:${path.join(REPO_ROOT, 'otel', file)}`], {
        encoding: 'utf8',
        timeout: 30000,
      });
      assert.equal(run.status, 0, `${file}: ${run.stderr}`);
    }
  });

  it('compose wires the service to the collector and the collector to Jaeger, on pinned images, 127.0.0.1 only', () => {
    const compose = load('compose.yaml') as {
      services: Record<
        string,
        { image?: string; ports?: string[]; environment?: Record<string, string>; stop_grace_period?: string }
      >;
    };
    const collector = load('collector.yaml') as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: { 'otlp/jaeger': { endpoint: string } };
      service: { pipelines: { traces: { exporters: string[] } } };
    };
    const jaeger = load('jaeger.yaml') as { receivers: { otlp: { protocols: { grpc: { endpoint: string } } } } };
    const { services } = compose;
    const service = services['invoice-webhook'];
    assert.ok(service?.environment);
    assert.equal(service.environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://otel-collector:4318');
    assert.match(collector.receivers.otlp.protocols.http.endpoint, /:4318$/);
    assert.deepEqual(collector.service.pipelines.traces.exporters, ['otlp/jaeger']);
    assert.match(collector.exporters['otlp/jaeger'].endpoint, /jaeger:4317/);
    assert.match(jaeger.receivers.otlp.protocols.grpc.endpoint, /JAEGER_LISTEN_HOST.*:4317$/);
    assert.equal(services.jaeger?.environment?.JAEGER_LISTEN_HOST, '0.0.0.0');
    assert.equal(services.localstack?.image, 'localstack/localstack:4.13.1');
    assert.match(
      service.environment.SQS_QUEUE_URL ?? '',
      /^http:\/\/localstack:4566\/queue\/us-east-1\/000000000000\/invoices$/,
    );
    assert.match(
      readFileSync(path.join(REPO_ROOT, 'otel/localstack-ready.sh'), 'utf8'),
      /create-queue --queue-name invoices/,
    );
    for (const [name, svc] of Object.entries(services)) {
      if (svc.image !== undefined) assert.match(svc.image, /:\d+\.\d+\.\d+$/, `${name}: pinned image`);
      for (const port of svc.ports ?? [])
        assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} on 127.0.0.1 only`);
    }
    // Longer than the 20 s drain budget, so SIGTERM can drain and flush telemetry before SIGKILL.
    assert.equal(service.stop_grace_period, '30s');
  });
});
