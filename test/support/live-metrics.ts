import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createQueue, deleteQueue, LOCALSTACK_ENDPOINT } from './localstack.js';
import { makeInvoice, postInvoice } from './invoices.js';
import { spawnService, type SpawnedService } from './service.js';
import { TcpProxy } from './tcp-proxy.js';

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

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The value of one sample line in a Prometheus exposition (summed over label sets that match). */
export function sampleSum(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}

/** Sample names (with their _bucket/_sum/_count/_total suffixes) in a Prometheus exposition. */
export function sampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (match?.[1]) names.add(match[1]);
  }
  return names;
}

export interface LiveMetrics {
  /** /metrics after the exercise. */
  exposition: string;
  otlp: OtlpJsonReceiver;
  svc: SpawnedService;
  stop: () => Promise<void>;
}

/**
 * Runs the built service as `npm start` does (SDK on, metrics also pushed over OTLP to a local
 * receiver), and drives every path that creates a series: accepted, rejected, throttled by SQS and
 * retried, refused by SQS for good (dead-lettered). Returns /metrics once all of it is counted.
 */
export async function exerciseLiveService(): Promise<LiveMetrics> {
  // A small maximum message size lets one invoice be refused by SQS for good.
  const queueUrl = await createQueue('live-metrics', { MaximumMessageSize: '1024' });
  const proxy = TcpProxy.forUrl(LOCALSTACK_ENDPOINT);
  await proxy.start();
  const otlp = new OtlpJsonReceiver();
  const otlpUrl = await otlp.start();
  const svc = await spawnService(
    {
      SQS_QUEUE_URL: queueUrl,
      SQS_ENDPOINT: proxy.url,
      RETRY_BASE_MS: '50',
      RETRY_MAX_MS: '200',
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${otlpUrl}/v1/metrics`,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    },
    { preload: true },
  );
  const stop = async (): Promise<void> => {
    svc.child.kill('SIGKILL');
    await Promise.all([proxy.close(), otlp.close(), deleteQueue(queueUrl)]);
  };
  try {
    const scrape = async (): Promise<string> => (await fetch(`${svc.url}/metrics`)).text();
    for (let i = 0; i < 5; i++) assert.equal((await postInvoice(svc.url, makeInvoice())).status, 202);
    assert.equal((await postInvoice(svc.url, makeInvoice({ currency: 'usd' }))).status, 422);
    const oversize = makeInvoice({ metadata: { a: 'x'.repeat(400), b: 'y'.repeat(400), c: 'z'.repeat(400) } });
    assert.equal((await postInvoice(svc.url, oversize)).status, 202);
    await waitUntil(
      'the oversize invoice is dead-lettered',
      async () => sampleSum(await scrape(), 'sqs_dead_lettered_total') >= 1,
    );
    // SQS throttles every call for a while: calls fail and entries are retried, then get through.
    await proxy.setMode('throttle');
    assert.equal((await postInvoice(svc.url, makeInvoice())).status, 202);
    await waitUntil('a throttled entry is retried', async () => sampleSum(await scrape(), 'sqs_retries_total') >= 1);
    await proxy.setMode('pass');
    await waitUntil('the buffer is empty again', async () => {
      const text = await scrape();
      return sampleSum(text, 'webhook_buffer_depth') === 0 && sampleSum(text, 'sqs_messages_sent_total') >= 6;
    });
    await waitUntil('an OTLP export carried the ack-latency histogram', () =>
      otlp.metricNames().has('http.server.request.duration'),
    );
    return { exposition: await scrape(), otlp, svc, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
