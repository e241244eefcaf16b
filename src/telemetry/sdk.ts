// Starts the OpenTelemetry NodeSDK as the OTEL_* variables say: traces, instrumentations, one MeterProvider.
import type { IncomingMessage } from 'node:http';
import { isMainThread } from 'node:worker_threads';
import { diag, metrics, trace } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { ClientKindTracerProvider } from './client-kind.js';
import { installDiagLogger } from './diag-logger.js';
import type { SdkMetrics, Telemetry } from './handle.js';
import { metricReadersFromEnv } from './metric-readers.js';
import { propagatorFromEnv } from './propagation.js';
import { metricViews } from './views.js';

export interface SdkOptions {
  /** Default service.name; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it. */
  serviceName: string;
  /** service.version; OTEL_RESOURCE_ATTRIBUTES overrides it. */
  serviceVersion: string;
  env: NodeJS.ProcessEnv;
}

/** Operations endpoints: polled every few seconds, never worth a trace. */
const UNTRACED_PATHS = new Set(['/livez', '/readyz', '/metrics']);

export function isUntracedRequest(request: IncomingMessage): boolean {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  return UNTRACED_PATHS.has(query === -1 ? url : url.slice(0, query));
}

/**
 * Starts the NodeSDK as the standard OTEL_* variables say: traces (exporter, protocol, sampler,
 * limits, batch settings are the SDK's own reading of them), W3C trace context and baggage, and the
 * http, AWS SDK and Node runtime instrumentations. On the main thread it registers ONE MeterProvider
 * holding the Prometheus reader (served at /metrics) and the push readers of OTEL_METRICS_EXPORTER,
 * so the instrumentations' metrics (ack latency, runtime) and the service's reach both. The SQS
 * thread gets no metrics: its runtime would report under the same resource as the main thread's.
 * Logs stay JSON lines on stdout (see logger.ts); no OTel log exporter is set up.
 */
export function startSdk(options: SdkOptions): Telemetry {
  const { env } = options;
  // Before anything reads a variable: a refused value is reported, as JSON, at OTEL_LOG_LEVEL.
  installDiagLogger(env.OTEL_LOG_LEVEL);
  const prometheus = isMainThread
    ? new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true })
    : undefined;
  const aws = new AwsInstrumentation({
    // Named like the instrumentation's other AWS calls (`SQS.SendMessageBatch`), not `<queue> send`:
    // `send <queue>` is our PRODUCER span around it (see client-kind.ts).
    preRequestHook: (span, request) => span.updateName(`${request.request.serviceName}.${request.request.commandName}`),
  });
  const sdk = new NodeSDK({
    // Lowest priority: the resource detectors (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, host, process) win.
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        [ATTR_SERVICE_VERSION]: options.serviceVersion,
      }),
    ),
    textMapPropagator: propagatorFromEnv(env.OTEL_PROPAGATORS),
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: isUntracedRequest,
        // Outgoing calls are traced only under a span (the AWS SDK's), never as lone roots.
        requireParentforOutgoingSpans: true,
      }),
      // No Koa instrumentation: its per-layer spans doubled the spans per request (and the export
      // cost) for no new information; the route names the HTTP span instead (see intake/app.ts).
      aws,
      ...(isMainThread ? [new RuntimeNodeInstrumentation()] : []),
    ],
    // Given readers, the SDK builds none from the environment: metricReadersFromEnv reads it as the SDK would.
    metricReaders: prometheus ? [prometheus, ...metricReadersFromEnv()] : [],
    views: metricViews(),
    logRecordProcessors: [],
  });
  // NodeSDK puts a plain-text console logger in place when OTEL_LOG_LEVEL is set; keep the JSON one.
  installDiagLogger(env.OTEL_LOG_LEVEL);
  sdk.start();
  // One PRODUCER span per SendMessageBatch attempt: the AWS SDK's span inside ours becomes a CLIENT span.
  aws.setTracerProvider(new ClientKindTracerProvider(trace.getTracerProvider()));
  const sdkMetrics: SdkMetrics | undefined = prometheus
    ? { meterProvider: metrics.getMeterProvider(), prometheus }
    : undefined;
  return {
    state: 'on',
    ...(sdkMetrics ? { metrics: sdkMetrics } : {}),
    shutdown: async (timeoutMs = 5000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          diag.warn(`OpenTelemetry SDK did not shut down within ${timeoutMs} ms; pending spans are dropped`);
          resolve();
        }, timeoutMs);
        timer.unref();
      });
      await Promise.race([sdk.shutdown(), timeout]);
      clearTimeout(timer);
    },
  };
}
