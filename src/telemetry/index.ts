// The telemetry module's public face: the SDK handle, the JSON logger, the metrics and the propagators.
export { telemetry, type SdkMetrics, type Telemetry } from './handle.js';
export { createLogger, traceFields, type LoggerOptions } from './logger.js';
export { ServiceMetrics, type ServiceMetricsOptions } from './meter-provider.js';
export { PipelineMetrics, type BufferGauge, type JournalGauge, type RejectReason } from './metrics.js';
export { CarrierPreservingPropagator, keepCarrierContext, propagatorFromEnv } from './propagation.js';
