export {
  backoffMs,
  classifyCallFailure,
  classifyEntryFailure,
  errorCode,
  isThrottling,
  type CallFailureAction,
  type EntryFailureAction,
} from './classify.js';
export { InMemoryBatchSender, type InMemoryBehaviour } from './in-memory-sender.js';
export { SqsBatchSender, createSqsClient, queueNameOf, type SqsBatchSenderOptions } from './sqs-sender.js';
export type { BatchResult, BatchSender, EntryFailure, EntrySuccess, OutboundMessage } from './types.js';
