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
export { BatchDelivery } from './delivery.js';
export type { BatchDeliveryOptions, CallSample, DeliveryLedger, ShutdownLoss } from './types.js';
export { OtelBatchTracer, type OtelBatchTracerOptions } from './otel-tracer.js';
export { NoopBatchTracer, type BatchTracer } from './tracing.js';
