// The handle on the OpenTelemetry SDK the preload started (or did not): its state, its metrics, its shutdown.
import type { MeterProvider } from '@opentelemetry/api';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

/** The SDK's MeterProvider and the Prometheus reader registered in it, for /metrics. */
export interface SdkMetrics {
  readonly meterProvider: MeterProvider;
  readonly prometheus: PrometheusExporter;
}

/**
 * What main.ts needs from the OpenTelemetry SDK that the preload started, or did not. This module
 * loads nothing heavy: with the SDK off, the SDK, exporters and instrumentations are never required.
 */
export interface Telemetry {
  /**
   * `on`: started by the preload. `disabled`: OTEL_SDK_DISABLED=true. `not preloaded`: the process
   * was started without `--require dist/src/telemetry/preload.js`. `failed`: the SDK threw at start-up.
   */
  readonly state: 'on' | 'disabled' | 'not preloaded' | 'failed';
  /**
   * The one MeterProvider of the process when the SDK is on (main thread only): the Prometheus reader
   * for /metrics and the OTLP reader, fed by the service, the HTTP and the Node runtime instrumentations.
   */
  readonly metrics?: SdkMetrics;
  /** Flushes pending spans and metrics and stops the SDK, giving up after `timeoutMs` (default 5000). Call it last. */
  shutdown(timeoutMs?: number): Promise<void>;
}

function inactive(state: Exclude<Telemetry['state'], 'on'>): Telemetry {
  return { state, shutdown: () => Promise.resolve() };
}

export const DISABLED_TELEMETRY: Telemetry = inactive('disabled');
export const FAILED_TELEMETRY: Telemetry = inactive('failed');
const NOT_PRELOADED: Telemetry = inactive('not preloaded');

let current: Telemetry | undefined;

/** Called once, by the preload. */
export function registerTelemetry(telemetry: Telemetry): void {
  current = telemetry;
}

/** The SDK handle the preload registered; an inactive one when there was no preload. */
export function telemetry(): Telemetry {
  return current ?? NOT_PRELOADED;
}

/** OTEL_SDK_DISABLED as the SDK reads it: true only for "true", in any case, spaces trimmed. */
export function sdkDisabled(value: string | undefined): boolean {
  return value?.trim().toLowerCase() === 'true';
}
