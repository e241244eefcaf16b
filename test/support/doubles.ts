// Test doubles: senders and dead-letter sinks the tests drive by hand, and the errors AWS throws.
import assert from 'node:assert/strict';
import type { PendingInvoice } from '../../src/buffer/index.js';
import type { DeadLetterReason, DeadLetterSink } from '../../src/deadletter/index.js';
import {
  InMemoryBatchSender,
  type BatchResult,
  type BatchSender,
  type OutboundMessage,
} from '../../src/sender/index.js';

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

/** The in-memory sender behind a gate: calls wait until the test opens it, so the buffer can fill. */
export class GatedSender implements BatchSender {
  readonly destination = 'gated-in-memory';
  readonly inner = new InMemoryBatchSender();
  private open: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));

  async send(messages: readonly OutboundMessage[]): Promise<BatchResult> {
    await this.gate;
    return this.inner.send(messages);
  }

  release(): void {
    this.open();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An error shaped like the AWS SDK's service exceptions: a name, and the HTTP status in $metadata. */
export function awsError(name: string, httpStatusCode?: number): Error {
  const error = new Error(`${name} from SQS (injected)`);
  error.name = name;
  return Object.assign(error, httpStatusCode === undefined ? {} : { $metadata: { httpStatusCode } });
}

/** An error shaped like Node's socket errors (ECONNRESET and friends). */
export function networkError(code = 'ECONNRESET'): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:4566 (injected)`), { code });
}
