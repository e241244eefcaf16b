// Batching: takes the next batch from the buffer within the count and byte limits, and says when one is full.
import type { PendingInvoice, RingBuffer } from '../buffer/index.js';

/** SQS caps a SendMessageBatch request at 1 MiB summed over its messages (attributes included). */
export const SQS_BATCH_MAX_BYTES = 1_048_576;

export interface BatchLimits {
  /** Entries per batch (SQS allows 1..10). */
  maxMessages: number;
  /** Summed message bytes per batch. */
  maxBytes: number;
}

/**
 * Takes the next batch from the front of the buffer, oldest first: up to `maxMessages` entries,
 * stopping before the entry that would push the batch past `maxBytes`. An entry too big on its own
 * still leaves, alone, so that SQS can refuse it and the rest keep flowing.
 */
export function takeBatch(
  buffer: RingBuffer<PendingInvoice>,
  limits: BatchLimits,
  /** FIFO queues: true for an entry whose message group is still in flight in another batch. */
  blocked: (entry: PendingInvoice) => boolean = () => false,
): PendingInvoice[] {
  const batch: PendingInvoice[] = [];
  let bytes = 0;
  for (let next = buffer.peek(); next !== undefined && batch.length < limits.maxMessages; next = buffer.peek()) {
    if (batch.length > 0 && bytes + next.bytes > limits.maxBytes) break;
    // Stop rather than skip: the entry must not overtake an earlier one of its group.
    if (blocked(next)) break;
    buffer.shift();
    batch.push(next);
    bytes += next.bytes;
  }
  return batch;
}

/**
 * True when the buffer holds a batch worth sending now: a full count, or enough bytes that the
 * byte limit will close the batch before the count does.
 */
export function hasFullBatch(buffer: RingBuffer<PendingInvoice>, limits: BatchLimits): boolean {
  return buffer.size >= limits.maxMessages || buffer.bytes >= limits.maxBytes;
}
