// The sender module's face: every sender but SqsBatchSender, whose AWS SDK only the SQS thread loads
// (import it from './sqs-sender.js' where it is built).
export { InMemoryBatchSender, type InMemoryBehaviour } from './in-memory-sender.js';
export { sqsSenderOptions } from './options.js';
export type { SqsBatchSenderOptions } from './sqs-sender.js';
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
export { WorkerBatchSender } from './worker-sender.js';
