/**
 * How many batches the flusher may have in flight (being sent, or backing off before a retry). The
 * pump asks before each batch leaves, so a limit may change its answer at any time: an adaptive limit
 * (AIMD, Vegas...) can learn from delivery's per-call samples (`BatchDeliveryOptions.onCall`).
 */
export interface ConcurrencyLimit {
  /** Batches allowed in flight now; at least 1. */
  readonly current: number;
}

/** A limit that never changes: `FLUSH_CONCURRENCY`. */
export class FixedConcurrencyLimit implements ConcurrencyLimit {
  constructor(readonly current: number) {
    if (!Number.isInteger(current) || current < 1) {
      throw new RangeError(`a concurrency limit must be a positive integer, got ${current}`);
    }
  }
}
