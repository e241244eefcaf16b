import type { IncomingMessage } from 'node:http';
import { diag } from '@opentelemetry/api';
import { OTLPMetricExporter as OtlpGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { Telemetry } from './handle.js';
import { propagatorFromEnv } from './propagation.js';

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
 * Starts the NodeSDK: traces over OTLP as the standard OTEL_* variables say (default http/protobuf to
 * http://localhost:4318), W3C trace context and baggage, and the http and AWS SDK
 * instrumentations. It registers no MeterProvider of its own: the service's ServiceMetrics takes the
 * OTLP reader from {@link Telemetry.metricReaders}, so /metrics and OTLP see the same instruments.
 * Logs stay JSON lines on stdout (see logger.ts); no OTel log exporter is set up.
 */
export function startSdk(options: SdkOptions): Telemetry {
  const { env } = options;
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
      new AwsInstrumentation(),
    ],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return {
    state: 'on',
    metricReaders: () => metricReadersFromEnv(env),
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

/** OTEL_METRICS_EXPORTER (default otlp; none turns it off) and the OTLP protocol variables. */
export function metricReadersFromEnv(env: NodeJS.ProcessEnv): IMetricReader[] {
  const names = (env.OTEL_METRICS_EXPORTER ?? 'otlp')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (names.includes('none')) return [];
  const readers: IMetricReader[] = [];
  for (const name of new Set(names.length === 0 ? ['otlp'] : names)) {
    if (name !== 'otlp') {
      // prometheus: the service already serves /metrics on its own port.
      diag.warn(`OTEL_METRICS_EXPORTER: "${name}" is not supported here; use otlp or none (Prometheus is at /metrics)`);
      continue;
    }
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: otlpMetricExporter(env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL),
        exportIntervalMillis: positiveNumber(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60000,
        exportTimeoutMillis: positiveNumber(env.OTEL_METRIC_EXPORT_TIMEOUT) ?? 30000,
      }),
    );
  }
  return readers;
}

function otlpMetricExporter(protocol: string | undefined): PushMetricExporter {
  switch ((protocol ?? '').trim()) {
    case 'grpc':
      return new OtlpGrpcMetricExporter();
    case 'http/json':
      return new OtlpJsonMetricExporter();
    case '':
    case 'http/protobuf':
      return new OtlpProtoMetricExporter();
    default:
      diag.warn(`unsupported OTLP metrics protocol "${protocol}"; using http/protobuf`);
      return new OtlpProtoMetricExporter();
  }
}

function positiveNumber(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isFinite(n) && n > 0 ? n : undefined;
}
