export { createLogger, type LoggerOptions } from './logger.js';
export { ServiceMetrics, type ServiceMetricsOptions } from './meter-provider.js';
export { PipelineMetrics, type BufferGauge, type RejectReason } from './metrics.js';
