/** What to do with a batch whose whole call failed. */
export type CallFailureAction =
  /** Transient or configuration trouble: keep the entries, back off, try the same batch again. */
  | 'retry'
  /** SQS rejected the batch for its content: split it to find the entry it refuses. */
  | 'bisect';

/** What to do with one entry that SQS reported as failed. */
export type EntryFailureAction = 'retry' | 'dead_letter';

/** Error names SQS uses when the content of a batch, not the service, is the problem. */
const BATCH_CONTENT_ERRORS = new Set([
  'BatchRequestTooLong',
  'BatchEntryIdsNotDistinct',
  'TooManyEntriesInBatchRequest',
  'EmptyBatchRequest',
  'InvalidBatchEntryId',
  'InvalidMessageContents',
  'MessageTooLong',
  'InvalidParameterValue',
  'InvalidAttributeName',
  'InvalidAttributeValue',
]);

/** Codes meaning "slow down": retried even when SQS marks them as the sender's fault. */
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'KmsThrottled',
  'KMS.ThrottlingException',
  'AWS.SimpleQueueService.RequestThrottled',
]);

/** A short name for an error: the AWS error name, or the Node error code for network trouble. */
export function errorCode(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; code?: unknown; Code?: unknown };
    if (typeof e.code === 'string' && e.code.startsWith('E')) return e.code; // ECONNREFUSED, ETIMEDOUT...
    if (typeof e.Code === 'string') return e.Code;
    if (typeof e.name === 'string' && e.name !== 'Error') return e.name;
    if (typeof e.code === 'string') return e.code;
  }
  return 'UnknownError';
}

export function isThrottling(code: string): boolean {
  return THROTTLING_CODES.has(code);
}

/**
 * Decides between retry and bisect for a failed SendMessageBatch call. Everything that is not
 * provably about the batch's content is retried, including AccessDenied and QueueDoesNotExist:
 * those need an operator, and dropping invoices would not help them.
 */
export function classifyCallFailure(error: unknown): CallFailureAction {
  const code = errorCode(error);
  if (isThrottling(code)) return 'retry';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (BATCH_CONTENT_ERRORS.has(code) && (status === undefined || status === 400)) return 'bisect';
  return 'retry';
}

/**
 * True when a failed SendMessageBatch call says SQS (or the way to it) is overloaded: throttling, a
 * 5xx answer, a timeout or a broken connection. An adaptive concurrency limit backs off on these;
 * errors about the batch or the configuration (4xx) say nothing about load.
 */
export function signalsOverload(error: unknown): boolean {
  const code = errorCode(error);
  if (isThrottling(code)) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500;
  return code.startsWith('E') || code === 'TimeoutError' || code === 'RequestTimeout';
}

/** True when an entry SQS failed inside an answered call says it is overloaded: throttled, or SQS's own fault. */
export function entrySignalsOverload(failure: { code: string; senderFault: boolean }): boolean {
  return classifyEntryFailure(failure) === 'retry';
}

/**
 * Entries SQS marks as its own fault, and throttling, are retried; other sender faults are
 * dead-lettered, and so are content errors whatever their SenderFault flag says (LocalStack marks an
 * invalid character `InvalidMessageContents` with SenderFault false: retrying it would never end).
 */
export function classifyEntryFailure(failure: { code: string; senderFault: boolean }): EntryFailureAction {
  if (isThrottling(failure.code)) return 'retry';
  if (BATCH_CONTENT_ERRORS.has(failure.code)) return 'dead_letter';
  return failure.senderFault ? 'dead_letter' : 'retry';
}
