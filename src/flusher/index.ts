export { SQS_BATCH_MAX_BYTES, hasFullBatch, takeBatch, type BatchLimits } from './batch.js';
export { Flusher, type DrainResult, type FlusherOptions } from './flusher.js';
export { FixedConcurrencyLimit, type ConcurrencyLimit } from './limit.js';
