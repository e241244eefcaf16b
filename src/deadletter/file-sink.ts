// The dead-letter file: appends invoices SQS did not take as JSON lines, synced, for `npm run replay`.
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import type { PendingInvoice } from '../buffer/index.js';

export type DeadLetterReason = 'rejected_by_sqs' | 'undelivered_at_shutdown' | 'retries_exhausted';

/** One line of the dead-letter file: everything needed to send the message again. */
export interface DeadLetterRecord {
  deadLetteredAt: string;
  reason: DeadLetterReason;
  code: string;
  message: string;
  invoiceId: string;
  requestId: string;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  attributes: Record<string, string>;
  body: string;
}

/** Where invoices go that cannot reach SQS. */
export interface DeadLetterSink {
  write(entries: readonly PendingInvoice[], reason: DeadLetterReason, code: string, message: string): Promise<void>;
}

/**
 * Appends dead letters to a JSON-lines file and syncs it to disk before reporting success.
 * Writes are serialised so lines never interleave. `npm run replay` sends a file's lines again.
 */
export class FileDeadLetterSink implements DeadLetterSink {
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly filePath: string) {}

  write(entries: readonly PendingInvoice[], reason: DeadLetterReason, code: string, message: string): Promise<void> {
    const at = new Date().toISOString();
    const lines = entries
      .map((e) => JSON.stringify(toRecord(e, { deadLetteredAt: at, reason, code, message })) + '\n')
      .join('');
    const next = this.tail.then(() => this.append(lines));
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async append(text: string): Promise<void> {
    await mkdir(path.dirname(this.filePath), { recursive: true });
    const handle = await open(this.filePath, 'a', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
}

function toRecord(
  entry: PendingInvoice,
  head: Pick<DeadLetterRecord, 'deadLetteredAt' | 'reason' | 'code' | 'message'>,
): DeadLetterRecord {
  return {
    ...head,
    invoiceId: entry.invoiceId,
    requestId: entry.requestId,
    ...(entry.messageGroupId === undefined ? {} : { messageGroupId: entry.messageGroupId }),
    ...(entry.messageDeduplicationId === undefined ? {} : { messageDeduplicationId: entry.messageDeduplicationId }),
    attributes: { ...entry.attributes },
    body: entry.body,
  };
}
