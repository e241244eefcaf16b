// The flusher module's public face: the background Flusher, batch taking, and the concurrency limits.
export { SQS_BATCH_MAX_BYTES, hasFullBatch, takeBatch, type BatchLimits } from './batch.js';
export { Flusher, type DrainResult, type FlusherOptions } from './flusher.js';
export {
  FixedConcurrencyLimit,
  GradientConcurrencyLimit,
  type ConcurrencyLimit,
  type FlushPressure,
  type GradientConcurrencyLimitOptions,
} from './limit.js';
