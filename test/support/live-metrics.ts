import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sampleSum } from './exposition.js';
import { makeInvoice, postInvoice } from './invoices.js';
import { onCleanup, spawnOn, sqsQueue, type Scope } from './pipeline.js';
import type { SpawnedService } from './service.js';
import { waitUntil } from './wait.js';

/** OTLP/HTTP JSON export requests received by a {@link OtlpJsonReceiver}. */
export interface OtlpMetricsRequest {
  resourceMetrics: { scopeMetrics: { metrics: { name: string; unit?: string }[] }[] }[];
}

/** A local OTLP/HTTP receiver (JSON encoding) that keeps every metrics export it is sent. */
export class OtlpJsonReceiver {
  readonly requests: OtlpMetricsRequest[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url === '/v1/metrics') {
        this.requests.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpMetricsRequest);
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Names of every metric exported so far. */
  metricNames(): Set<string> {
    const names = new Set<string>();
    for (const request of this.requests)
      for (const resource of request.resourceMetrics)
        for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) names.add(metric.name);
    return names;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface LiveMetrics {
  /** /metrics after the exercise. */
  exposition: string;
  otlp: OtlpJsonReceiver;
  svc: SpawnedService;
}

/**
 * Runs the built service as `npm start` does (SDK on, metrics also pushed over OTLP to a local
 * receiver), and drives every path that creates a series: accepted, rejected, throttled by SQS and
 * retried, refused by SQS for good (dead-lettered). Returns /metrics once all of it is counted.
 * Everything it starts is stopped when `scope` ends.
 */
export async function exerciseLiveService(scope: Scope): Promise<LiveMetrics> {
  // A small maximum message size lets one invoice be refused by SQS for good.
  const queue = await sqsQueue(scope, {
    queue: 'live-metrics',
    queueAttributes: { MaximumMessageSize: '1024' },
    proxy: true,
  });
  const otlp = new OtlpJsonReceiver();
  const otlpUrl = await otlp.start();
  onCleanup(scope, () => otlp.close());
  const svc = await spawnOn(scope, queue, {
    env: {
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '200',
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${otlpUrl}/v1/metrics`,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    },
    preload: true,
  });
  const proxy = queue.proxy;
  assert.ok(proxy);
  const scrape = async (): Promise<string> => (await fetch(`${svc.url}/metrics`)).text();
  for (let i = 0; i < 5; i++) assert.equal((await postInvoice(svc.url, makeInvoice())).status, 202);
  assert.equal((await postInvoice(svc.url, makeInvoice({ currency: 'usd' }))).status, 422);
  const oversize = makeInvoice({ metadata: { a: 'x'.repeat(400), b: 'y'.repeat(400), c: 'z'.repeat(400) } });
  assert.equal((await postInvoice(svc.url, oversize)).status, 202);
  await waitUntil(
    'the oversize invoice is dead-lettered',
    async () => sampleSum(await scrape(), 'sqs_dead_lettered_total') >= 1,
    { everyMs: 100 },
  );
  // SQS throttles every call for a while: calls fail and entries are retried, then get through.
  await proxy.setMode('throttle');
  assert.equal((await postInvoice(svc.url, makeInvoice())).status, 202);
  await waitUntil('a throttled entry is retried', async () => sampleSum(await scrape(), 'sqs_retries_total') >= 1, {
    everyMs: 100,
  });
  await proxy.setMode('pass');
  await waitUntil(
    'the buffer is empty again',
    async () => {
      const text = await scrape();
      return sampleSum(text, 'webhook_buffer_depth') === 0 && sampleSum(text, 'sqs_messages_sent_total') >= 6;
    },
    { everyMs: 100 },
  );
  await waitUntil(
    'an OTLP export carried the ack-latency histogram',
    () => otlp.metricNames().has('http.server.request.duration'),
    { everyMs: 100 },
  );
  return { exposition: await scrape(), otlp, svc };
}
