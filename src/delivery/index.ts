export { backoffCeilingMs, backoffMs } from './backoff.js';
export {
  classifyCallFailure,
  classifyEntryFailure,
  entrySignalsOverload,
  errorCode,
  isThrottling,
  signalsOverload,
  type CallFailureAction,
  type EntryFailureAction,
} from './classify.js';
export {
  BatchDelivery,
  type BatchDeliveryOptions,
  type DeliveryLedger,
  type CallSample,
  type ShutdownLoss,
} from './delivery.js';
export { OtelBatchTracer, type OtelBatchTracerOptions } from './otel-tracer.js';
export { NoopBatchTracer, type BatchTracer } from './tracing.js';
