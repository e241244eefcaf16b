export { InMemoryBatchSender, type InMemoryBehaviour } from './in-memory-sender.js';
export { SqsBatchSender, createSqsClient, type SqsBatchSenderOptions } from './sqs-sender.js';
export {
  queueNameOf,
  toOutboundMessages,
  type BatchResult,
  type BatchSender,
  type EntryFailure,
  type EntrySuccess,
  type MessageSource,
  type OutboundMessage,
} from './types.js';
