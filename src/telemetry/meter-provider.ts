import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface ServiceMetricsOptions {
  serviceName: string;
  serviceVersion: string;
  /** More readers, e.g. an OTLP exporter when the SDK is on. */
  extraReaders?: IMetricReader[];
}

/**
 * The service's own MeterProvider. Prometheus is always on (served at /metrics by the service's own
 * HTTP server, no second port), so /metrics works even with OTEL_SDK_DISABLED=true.
 */
export class ServiceMetrics {
  readonly provider: MeterProvider;
  readonly meter: Meter;
  private readonly prometheus: PrometheusExporter;

  constructor(options: ServiceMetricsOptions) {
    this.prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        [ATTR_SERVICE_VERSION]: options.serviceVersion,
      }),
      readers: [this.prometheus, ...(options.extraReaders ?? [])],
    });
    this.meter = this.provider.getMeter(options.serviceName, options.serviceVersion);
  }

  /** Writes the Prometheus text exposition to a raw Node response. */
  serve(request: IncomingMessage, response: ServerResponse): void {
    this.prometheus.getMetricsRequestHandler(request, response);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}
