// Dead-lettering: writes refused or undeliverable invoices to the dead-letter sink and logs them in bounded chunks.
import type { Logger } from 'pino';
import type { DeliveryOutcome, PendingInvoice } from '../buffer/index.js';
import type { DeadLetterReason, DeadLetterSink } from '../deadletter/index.js';
import type { PipelineMetrics } from '../telemetry/index.js';

/** Invoice ids per dead-letter log line. */
const IDS_PER_LOG_LINE = 100;
/** Invoice bodies (up to the body limit each) per log line when the dead-letter file cannot be written. */
const BODIES_PER_LOG_LINE = 10;

/** What dead-lettering needs from delivery. */
export interface DeadLetterDeps {
  readonly deadLetter: DeadLetterSink;
  /** Where the entries are kept until retired (the journal), if anywhere. */
  readonly ledger: { retire(entries: readonly PendingInvoice[]): void } | undefined;
  readonly metrics: PipelineMetrics;
  readonly logger: Logger;
}

/** Why the entries are dead-lettered. */
export interface DeadLetterCause {
  reason: DeadLetterReason;
  code: string;
  message: string;
}

/**
 * Writes the entries to the dead-letter sink and settles them. Logs their ids in numbered lines of
 * {@link IDS_PER_LOG_LINE} (a drain that runs out of time can spill tens of thousands); when the sink
 * cannot be written, logs their bodies too, {@link BODIES_PER_LOG_LINE} a line. Returns whether the sink took them.
 */
export async function deadLetter(
  entries: PendingInvoice[],
  { reason, code, message }: DeadLetterCause,
  deps: DeadLetterDeps,
): Promise<boolean> {
  const { logger, ledger } = deps;
  deps.metrics.deadLettered.add(entries.length, { reason, code });
  try {
    await deps.deadLetter.write(entries, reason, code, message);
    const parts = inChunks(entries, IDS_PER_LOG_LINE);
    parts.forEach((part, i) =>
      logger.error(
        {
          reason,
          code,
          sqsMessage: message,
          count: entries.length,
          part: i + 1,
          parts: parts.length,
          invoiceIds: part.map((e) => e.invoiceId),
        },
        'invoices written to the dead-letter file',
      ),
    );
    ledger?.retire(entries);
    for (const e of entries) settle(e, deadOutcome(reason, code, message));
    return true;
  } catch (error) {
    const parts = inChunks(entries, BODIES_PER_LOG_LINE);
    parts.forEach((part, i) =>
      logger.fatal(
        {
          err: error,
          reason,
          code,
          count: entries.length,
          part: i + 1,
          parts: parts.length,
          invoiceIds: part.map((e) => e.invoiceId),
          bodies: part.map((e) => e.body),
        },
        ledger === undefined
          ? 'could not write dead letters; the invoices are in these log lines only'
          : 'could not write dead letters; the invoices stay in the journal and are tried again at the next start',
      ),
    );
    for (const e of entries) settle(e, deadOutcome(reason, code, message));
    return false;
  }
}

/** Tells whoever waits on the entry (confirmed ack mode) how it ended; once. */
export function settle(entry: PendingInvoice, outcome: DeliveryOutcome): void {
  const callback = entry.settle;
  if (callback === undefined) return;
  entry.settle = undefined;
  callback(outcome);
}

function deadOutcome(reason: DeadLetterReason, code: string, message: string): DeliveryOutcome {
  return reason === 'undelivered_at_shutdown'
    ? { status: 'undelivered', reason: message }
    : { status: 'dead_lettered', code, message };
}

/** `items` in consecutive runs of at most `size`. */
function inChunks<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
