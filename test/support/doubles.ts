// Test doubles for the flusher and delivery: senders and dead-letter sinks the tests drive by hand.
import assert from 'node:assert/strict';
import type { PendingInvoice } from '../../src/buffer/index.js';
import type { DeadLetterReason, DeadLetterSink } from '../../src/deadletter/index.js';
import type { BatchResult, BatchSender, OutboundMessage } from '../../src/sender/index.js';

export interface DeadLetterWrite {
  invoiceIds: string[];
  reason: DeadLetterReason;
  code: string;
  message: string;
}

/** Keeps what would go to the dead-letter file; can be told to fail like a full disk. */
export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly writes: DeadLetterWrite[] = [];
  failing = false;

  write(entries: readonly PendingInvoice[], reason: DeadLetterReason, code: string, message: string): Promise<void> {
    if (this.failing) return Promise.reject(new Error('ENOSPC: no space left on device'));
    this.writes.push({ invoiceIds: entries.map((e) => e.invoiceId), reason, code, message });
    return Promise.resolve();
  }

  get invoiceIds(): string[] {
    return this.writes.flatMap((w) => w.invoiceIds);
  }
}

/** A sender whose calls stay open until the test completes them, to watch concurrency. */
export class ManualSender implements BatchSender {
  readonly destination = 'manual';
  readonly open: { messages: readonly OutboundMessage[]; complete: () => void }[] = [];
  readonly delivered: OutboundMessage[] = [];
  inFlight = 0;
  maxInFlight = 0;

  send(messages: readonly OutboundMessage[]): Promise<BatchResult> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolve) => {
      this.open.push({
        messages,
        complete: () => {
          this.inFlight -= 1;
          this.delivered.push(...messages);
          resolve({ successful: messages.map((m) => ({ id: m.id, messageId: `manual-${m.id}` })), failed: [] });
        },
      });
    });
  }

  completeOldest(): void {
    const call = this.open.shift();
    assert.ok(call, 'no open call to complete');
    call.complete();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
