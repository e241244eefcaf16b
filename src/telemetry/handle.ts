import type { IMetricReader } from '@opentelemetry/sdk-metrics';

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
  /** New readers for the service's own MeterProvider (OTLP per OTEL_METRICS_EXPORTER when on); else none. */
  metricReaders(): IMetricReader[];
  /** Flushes pending spans and stops the SDK, giving up after `timeoutMs` (default 5000). Call it last. */
  shutdown(timeoutMs?: number): Promise<void>;
}

function inactive(state: Exclude<Telemetry['state'], 'on'>): Telemetry {
  return { state, metricReaders: () => [], shutdown: () => Promise.resolve() };
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
