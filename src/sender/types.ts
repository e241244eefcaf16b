/** One message of a batch, as delivery hands it to a sender. */
export interface OutboundMessage {
  /** Entry id, unique within its batch. */
  readonly id: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
}

/** What a message is made of, wherever it comes from (the buffer, a dead-letter file). */
export type MessageSource = Pick<OutboundMessage, 'body' | 'attributes' | 'messageGroupId' | 'messageDeduplicationId'>;

/** A batch's messages, with entry ids that are their positions (so unique within the batch). */
export function toOutboundMessages(sources: readonly MessageSource[]): OutboundMessage[] {
  return sources.map((s, i) => ({
    id: String(i),
    body: s.body,
    attributes: s.attributes,
    ...(s.messageGroupId === undefined ? {} : { messageGroupId: s.messageGroupId }),
    ...(s.messageDeduplicationId === undefined ? {} : { messageDeduplicationId: s.messageDeduplicationId }),
  }));
}

export interface EntrySuccess {
  readonly id: string;
  readonly messageId: string;
}

export interface EntryFailure {
  readonly id: string;
  readonly code: string;
  readonly message: string;
  /** SQS's word on whose fault it is: true means resending the same entry cannot succeed. */
  readonly senderFault: boolean;
}

/** A batch call that came back: SQS reports each entry on its own, inside one HTTP 200. */
export interface BatchResult {
  readonly successful: readonly EntrySuccess[];
  readonly failed: readonly EntryFailure[];
}

/**
 * The narrow slot delivery sends through (compare OpenTelemetry's SpanExporter). A whole-call
 * failure rejects with a {@link SendBatchError}-compatible error; per-entry failures resolve.
 */
export interface BatchSender {
  /** Human-readable destination name (the queue name), for spans and logs. */
  readonly destination: string;
  send(messages: readonly OutboundMessage[]): Promise<BatchResult>;
  /** Resolves once the sender can send (a thread started, a client loaded); the service listens after it. */
  ready?(): Promise<void>;
  close(): Promise<void>;
}

/** The last path segment of a queue URL: its name. */
export function queueNameOf(queueUrl: string): string {
  const parts = queueUrl.replace(/\/+$/, '').split('/');
  return parts[parts.length - 1] ?? queueUrl;
}
