// The service's MeterProvider (the SDK's, or its own with the SDK off) and the Prometheus text of /metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag, type Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { SdkMetrics } from './handle.js';
import { withPrometheusUnitSuffixes } from './prometheus-names.js';
import { metricViews } from './views.js';

export interface ServiceMetricsOptions {
  serviceName: string;
  serviceVersion: string;
  /**
   * The SDK's MeterProvider and its Prometheus reader, when the SDK is on. Default: none, and the
   * service builds its own MeterProvider with a Prometheus reader and the Node runtime metrics.
   */
  sdk?: SdkMetrics;
}

/**
 * The service's metrics. With the SDK on they go to the SDK's one MeterProvider (Prometheus for
 * /metrics beside OTLP, the HTTP and runtime instrumentations alongside); with it off, to a
 * MeterProvider of the service's own with Prometheus only, so /metrics works even with
 * OTEL_SDK_DISABLED=true. Either way /metrics is served by the service's own HTTP server, no second port.
 */
export class ServiceMetrics {
  readonly meter: Meter;
  private readonly prometheus: PrometheusExporter;
  /** Without scope labels, as before; target_info carries the resource. */
  private readonly serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  /** Set when this object built the provider (and so shuts it down); the SDK's is shut down by the SDK. */
  private readonly ownProvider: MeterProvider | undefined;
  private readonly runtime: RuntimeNodeInstrumentation | undefined;

  constructor(options: ServiceMetricsOptions) {
    if (options.sdk) {
      this.prometheus = options.sdk.prometheus;
      this.meter = options.sdk.meterProvider.getMeter(options.serviceName, options.serviceVersion);
    } else {
      this.prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
      this.ownProvider = new MeterProvider({
        resource: resourceFromAttributes({
          [ATTR_SERVICE_NAME]: options.serviceName,
          [ATTR_SERVICE_VERSION]: options.serviceVersion,
        }),
        readers: [this.prometheus],
        views: metricViews(),
      });
      this.meter = this.ownProvider.getMeter(options.serviceName, options.serviceVersion);
      // Patches nothing: it only observes the event loop, heap and GC.
      this.runtime = new RuntimeNodeInstrumentation({ enabled: false });
      this.runtime.setMeterProvider(this.ownProvider);
      this.runtime.enable();
    }
    this.observeBuildInfo(options.serviceVersion);
  }

  /** The Prometheus text exposition, with unit suffixes on the names (see prometheus-names.ts). */
  async exposition(): Promise<string> {
    const { resourceMetrics, errors } = await this.prometheus.collect();
    if (errors.length > 0) diag.error('metrics collection errors', ...errors);
    // The host and process detectors settle shortly after start; target_info must not be read before.
    if (resourceMetrics.resource.asyncAttributesPending) await resourceMetrics.resource.waitForAsyncAttributes?.();
    return this.serializer.serialize(withPrometheusUnitSuffixes(resourceMetrics));
  }

  /** Writes the Prometheus text exposition to a raw Node response. */
  serve(_request: IncomingMessage, response: ServerResponse): void {
    response.statusCode = 200;
    response.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    this.exposition().then(
      (text) => response.end(text),
      (error: unknown) => response.end(`# failed to export metrics: ${String(error)}`),
    );
  }

  async shutdown(): Promise<void> {
    this.runtime?.disable();
    await this.ownProvider?.shutdown();
  }

  /** `webhook_build_info` = 1 with the version labels, the Prometheus convention for "what runs where". */
  private observeBuildInfo(version: string): void {
    const info = this.meter.createObservableGauge('webhook_build_info', {
      description: 'Always 1; its labels say which version of the service and of Node.js runs.',
    });
    const labels = { version, node_version: process.versions.node };
    info.addCallback((result) => result.observe(1, labels));
  }
}
