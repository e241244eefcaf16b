// A BatchSender that keeps what it is given, for unit tests of the flusher's and delivery's own logic.
import type { BatchResult, BatchSender, EntryFailure, OutboundMessage } from './types.js';

/** What the in-memory sender should do with one call: a whole-call error, or per-entry failures. */
export type InMemoryBehaviour = (
  messages: readonly OutboundMessage[],
  call: number,
) => Error | readonly EntryFailure[] | undefined;

/**
 * A sender that keeps what it is given, for unit tests of the flusher's and delivery's own logic
 * (compare OpenTelemetry's InMemorySpanExporter). Never a stand-in for SQS in SQS tests.
 */
export class InMemoryBatchSender implements BatchSender {
  readonly destination = 'in-memory';
  readonly delivered: OutboundMessage[] = [];
  readonly calls: (readonly OutboundMessage[])[] = [];
  private nextMessageId = 1;

  constructor(private readonly behaviour: InMemoryBehaviour = () => undefined) {}

  async send(messages: readonly OutboundMessage[]): Promise<BatchResult> {
    this.calls.push([...messages]);
    const outcome = this.behaviour(messages, this.calls.length);
    if (outcome instanceof Error) throw outcome;
    const failed = outcome ?? [];
    const failedIds = new Set(failed.map((f) => f.id));
    const successful = messages
      .filter((m) => !failedIds.has(m.id))
      .map((m) => {
        this.delivered.push(m);
        return { id: m.id, messageId: `mem-${this.nextMessageId++}` };
      });
    return Promise.resolve({ successful, failed });
  }

  async close(): Promise<void> {
    return Promise.resolve();
  }
}
