// The shutdown report: what the drain left behind, as bounded log lines.
import type { Logger } from 'pino';
import type { DrainResult } from '../flusher/index.js';

/** Where the leftovers of a drain went, and how long it took. */
export interface ShutdownContext {
  tookMs: number;
  /** JOURNAL_DIR ('' when the journal is off). */
  journalDir: string;
  /** DEAD_LETTER_PATH. */
  deadLetterPath: string;
}

/** One line of the report. */
export interface ShutdownReportLine {
  level: 'info' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** The lines that tell an operator whether every accepted invoice reached SQS, and where the rest is. */
export function shutdownReport(result: DrainResult, context: ShutdownContext): ShutdownReportLine[] {
  const { tookMs } = context;
  if (result.left === 0) {
    return [{ level: 'info', fields: { tookMs }, message: 'drained: every accepted invoice reached SQS' }];
  }
  if (result.kept > 0) {
    return [
      {
        level: 'error',
        fields: { left: result.left, kept: result.kept, tookMs, journalDir: context.journalDir },
        message: `shutdown timeout: ${result.kept} invoice(s) not delivered to SQS stay in the journal; the next start sends them`,
      },
    ];
  }
  return [
    {
      level: 'error',
      fields: { left: result.left, lost: result.lost, tookMs, deadLetterPath: context.deadLetterPath },
      message: `shutdown timeout: ${result.left} invoice(s) not delivered to SQS were written to the dead-letter file`,
    },
  ];
}

/** Logs {@link shutdownReport}'s lines. */
export function logShutdownReport(logger: Logger, result: DrainResult, context: ShutdownContext): void {
  for (const line of shutdownReport(result, context)) logger[line.level](line.fields, line.message);
}
