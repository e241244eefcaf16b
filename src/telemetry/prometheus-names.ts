// Prometheus names for OpenTelemetry metrics: the unit suffix (`_seconds`, `_bytes`) the specification adds.
import { DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** UCUM units the OpenTelemetry-to-Prometheus rules spell out as a name suffix. */
const UNIT_WORDS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  '%': 'percent',
  Hz: 'hertz',
};

/** Time units after `/` read in the singular: `By/s` → `bytes_per_second`. */
const PER_UNIT: Readonly<Record<string, string>> = { s: 'second', m: 'minute', h: 'hour', d: 'day' };

/**
 * The Prometheus name suffix of an OpenTelemetry unit, as the specification's Prometheus
 * compatibility rules give it: `s` → `seconds`, `By` → `bytes`, `1` on a gauge → `ratio`,
 * `a/b` → `a_per_b`; annotations in braces (`{invoice}`) and unknown units add nothing.
 */
export function unitSuffix(unit: string, dataPointType: DataPointType): string {
  const bare = unit.replace(/\{[^}]*\}/g, '').trim();
  if (bare === '') return '';
  if (bare === '1') return dataPointType === DataPointType.GAUGE ? 'ratio' : '';
  const [numerator = '', denominator] = bare.split('/', 2);
  const top = UNIT_WORDS[numerator] ?? '';
  if (denominator === undefined) return top;
  const bottom = PER_UNIT[denominator] ?? UNIT_WORDS[denominator] ?? '';
  return top !== '' && bottom !== '' ? `${top}_per_${bottom}` : '';
}

function withSuffix(metric: MetricData): MetricData {
  const suffix = unitSuffix(metric.descriptor.unit, metric.dataPointType);
  const name = metric.descriptor.name;
  if (suffix === '' || name.replace(/[^a-zA-Z0-9]+/g, '_').endsWith(`_${suffix}`)) return metric;
  return { ...metric, descriptor: { ...metric.descriptor, name: `${name}_${suffix}` } };
}

/**
 * Metrics renamed for Prometheus only: `http.server.request.duration` (unit `s`) is served as
 * `http_server_request_duration_seconds`, as the OpenTelemetry Collector's Prometheus exporter would
 * name it. exporter-prometheus 0.301 adds `_total` but no unit suffix; OTLP keeps the original names.
 */
export function withPrometheusUnitSuffixes(resourceMetrics: ResourceMetrics): ResourceMetrics {
  return {
    ...resourceMetrics,
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({ ...scope, metrics: scope.metrics.map(withSuffix) })),
  };
}
