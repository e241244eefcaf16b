// The push metric readers OTEL_METRICS_EXPORTER asks for, read from the environment as sdk-node reads them.
import { diag } from '@opentelemetry/api';
import { getNumberFromEnv, getStringFromEnv, getStringListFromEnv } from '@opentelemetry/core';
import { OTLPMetricExporter as OtlpGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import {
  ConsoleMetricExporter,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';

const DEFAULT_EXPORT_INTERVAL_MS = 60000;
const DEFAULT_EXPORT_TIMEOUT_MS = 30000;

/**
 * The push readers OTEL_METRICS_EXPORTER asks for (otlp by default, console, none), read the way
 * sdk-node 0.301 reads them (its `getMetricReadersFromEnv`, which it does not export): the same env
 * getters from @opentelemetry/core, the same defaults, non-positive numbers refused with a warning,
 * and the export timeout clamped to the interval so that `OTEL_METRIC_EXPORT_INTERVAL=1000` alone
 * works. The one difference: `prometheus` adds nothing, because the service serves Prometheus on its
 * own port at /metrics (sdk-node would open a second server on 9464).
 *
 * These readers go beside the Prometheus reader into the one MeterProvider the SDK registers; the
 * SDK itself builds readers from the environment only when it is given none.
 */
export function metricReadersFromEnv(): IMetricReader[] {
  const names = Array.from(new Set(getStringListFromEnv('OTEL_METRICS_EXPORTER') ?? []));
  if (names.length === 0) names.push('otlp');
  if (names.includes('none')) return [];
  const readers: IMetricReader[] = [];
  for (const name of names) {
    if (name === 'otlp') readers.push(periodicReader(otlpMetricExporter()));
    else if (name === 'console')
      readers.push(new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter() }));
    else if (name === 'prometheus') diag.info('OTEL_METRICS_EXPORTER: prometheus is always served at /metrics');
    else
      diag.warn(
        `Unsupported OTEL_METRICS_EXPORTER value: "${name}". Supported values are: otlp, console, prometheus, none.`,
      );
  }
  return readers;
}

function periodicReader(exporter: PushMetricExporter): PeriodicExportingMetricReader {
  const rawIntervalMs = positiveNumberFromEnv('OTEL_METRIC_EXPORT_INTERVAL');
  const rawTimeoutMs = positiveNumberFromEnv('OTEL_METRIC_EXPORT_TIMEOUT');
  const exportIntervalMillis = rawIntervalMs ?? DEFAULT_EXPORT_INTERVAL_MS;
  let exportTimeoutMillis = rawTimeoutMs ?? DEFAULT_EXPORT_TIMEOUT_MS;
  if (exportTimeoutMillis > exportIntervalMillis) {
    // The reader refuses a timeout longer than its interval; the SDK clamps instead of failing.
    const message =
      `OTEL_METRIC_EXPORT_TIMEOUT (${rawTimeoutMs ?? `${DEFAULT_EXPORT_TIMEOUT_MS}, default`}) is greater than ` +
      `OTEL_METRIC_EXPORT_INTERVAL (${rawIntervalMs ?? `${DEFAULT_EXPORT_INTERVAL_MS}, default`}). Clamping timeout to interval value.`;
    if (rawTimeoutMs !== undefined && rawIntervalMs !== undefined) diag.warn(message);
    else diag.info(message);
    exportTimeoutMillis = exportIntervalMillis;
  }
  return new PeriodicExportingMetricReader({ exporter, exportIntervalMillis, exportTimeoutMillis });
}

function otlpMetricExporter(): PushMetricExporter {
  const protocol =
    (
      getStringFromEnv('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL') ?? getStringFromEnv('OTEL_EXPORTER_OTLP_PROTOCOL')
    )?.trim() || 'http/protobuf';
  switch (protocol) {
    case 'grpc':
      return new OtlpGrpcMetricExporter();
    case 'http/json':
      return new OtlpJsonMetricExporter();
    case 'http/protobuf':
      return new OtlpProtoMetricExporter();
    default:
      diag.warn(`Unsupported OTLP metrics protocol: "${protocol}". Using http/protobuf.`);
      return new OtlpProtoMetricExporter();
  }
}

/** A number the variable must hold above zero; anything else is reported and the default used. */
function positiveNumberFromEnv(name: string): number | undefined {
  const value = getNumberFromEnv(name);
  if (value !== undefined && value <= 0) {
    diag.warn(`${name} (${value}) is invalid, expected number greater than 0, using default.`);
    return undefined;
  }
  return value;
}
