// Feeds the invoices the journal recovered at start back into the buffer, oldest first, as room allows.
import type { Logger } from 'pino';
import type { PendingInvoice, RingBuffer } from '../buffer/index.js';
import type { DedupeWindow } from '../intake/index.js';

export interface RecoveryFeedOptions {
  buffer: RingBuffer<PendingInvoice>;
  /** Woken once invoices are in the buffer. */
  flusher: { notify(): void };
  logger: Logger;
}

/** Puts recovered invoices into the buffer ahead of new ones (FIFO order), waiting for room when they do not all fit. */
export class RecoveryFeed {
  private readonly options: RecoveryFeedOptions;

  constructor(options: RecoveryFeedOptions) {
    this.options = options;
  }

  /** Puts recovered invoices into the buffer, oldest first, as far as they fit; returns the rest. */
  feed(entries: PendingInvoice[]): PendingInvoice[] {
    const { buffer, flusher } = this.options;
    let fed = 0;
    while (fed < entries.length) {
      const entry = entries[fed] as PendingInvoice;
      if (buffer.push(entry, entry.bytes) !== 'ok') break;
      fed += 1;
    }
    if (fed > 0) flusher.notify();
    return entries.slice(fed);
  }

  /**
   * Feeds the rest as room frees up, while `recovering()` holds (shutdown ends it). Resolves once every
   * entry is in the buffer, or recovery was cut short.
   */
  async feedLater(entries: PendingInvoice[], recovering: () => boolean): Promise<void> {
    let rest = entries;
    while (rest.length > 0 && recovering()) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      rest = this.feed(rest);
    }
  }
}

/**
 * Tells the dedupe window about recovered invoices: the in-process window starts empty, and a sender's
 * retry of a recovered invoice is a repeat.
 */
export function rememberRecovered(
  entries: readonly PendingInvoice[],
  dedupe: DedupeWindow | undefined,
  dedupeKey: 'invoice-id' | 'webhook-id',
): void {
  for (const entry of entries) {
    const key = dedupeKey === 'webhook-id' ? entry.attributes['webhook-id'] : entry.invoiceId;
    if (key !== undefined) void Promise.resolve(dedupe?.seen(key)).catch(() => undefined);
  }
}
