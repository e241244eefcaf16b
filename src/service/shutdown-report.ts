// The shutdown report: where the invoices SQS did not take went, as bounded log lines, said only as far as it is true.
import type { Logger } from 'pino';

/** Whether the journal's volume outlives the pod (JOURNAL_VOLUME, set by the chart). */
export type JournalVolume = 'persistent' | 'ephemeral' | 'unknown';

/** Invoice ids per log line: a drain that runs out of time may leave tens of thousands. */
export const IDS_PER_LINE = 100;

export interface ShutdownFacts {
  /** How long the stop took. */
  tookMs: number;
  /** Not delivered to SQS when the drain budget ran out. */
  undelivered: number;
  /** With the journal on: ids a Ready peer journaled (it sends them). */
  handedOff: readonly string[];
  /** With the journal on: ids still in this pod's journal after the hand-off. */
  leftInJournal: readonly string[];
  /** With the journal off: how many went to the dead-letter file (its own lines name them). */
  deadLettered: number;
  /** Written neither to the journal nor to the dead-letter file (named, with bodies, by their own lines). */
  lost: number;
  /** Why the hand-off stopped short, when it did. */
  handoffProblem?: string | undefined;
  journal: boolean;
  volume: JournalVolume;
  journalDir: string;
  deadLetterPath: string;
}

export interface ReportLine {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  msg: string;
}

/** `ids` as numbered lines of at most {@link IDS_PER_LINE}. */
function named(
  level: ReportLine['level'],
  ids: readonly string[],
  msg: string,
  extra: Record<string, unknown>,
): ReportLine[] {
  const parts = Math.ceil(ids.length / IDS_PER_LINE);
  const lines: ReportLine[] = [];
  for (let i = 0; i < parts; i += 1) {
    const invoiceIds = ids.slice(i * IDS_PER_LINE, (i + 1) * IDS_PER_LINE);
    lines.push({ level, fields: { ...extra, count: ids.length, part: i + 1, parts, invoiceIds }, msg });
  }
  return lines;
}

const JOURNAL_FATE: Record<JournalVolume, string> = {
  persistent: 'stay in the journal on a persistent volume; sent when a pod starts with this volume',
  ephemeral:
    'are left in the journal on an ephemeral volume: they are LOST when the pod is deleted with its volume (only a restart of this container in the same pod would send them)',
  unknown:
    'are left in the journal directory: they reach SQS only if the service starts again on this directory, and are lost if it is deleted',
};

const DEAD_LETTER_FATE: Record<JournalVolume, string> = {
  persistent: 'were written to the dead-letter file on a persistent volume; replay them from there',
  ephemeral:
    'were written to the dead-letter file on an ephemeral volume: they are LOST when the pod is deleted with its volume, unless copied out first',
  unknown: 'were written to the dead-letter file; replay them from there (lost if the file is deleted)',
};

/**
 * The lines the service logs at the end of a stop: a summary and, for whatever is at risk, every invoice
 * id in bounded lines. It never promises a start the volume will not see: on an ephemeral volume the
 * leftovers are called lost with it.
 */
export function shutdownReport(f: ShutdownFacts): ReportLine[] {
  if (f.undelivered === 0) {
    return [{ level: 'info', fields: { tookMs: f.tookMs }, msg: 'drained: every accepted invoice reached SQS' }];
  }
  const lines: ReportLine[] = [];
  const volume = { volume: f.volume };
  if (f.handedOff.length > 0) {
    lines.push(
      ...named(
        'info',
        f.handedOff,
        'shutdown: invoices handed to a Ready peer, which journaled them and sends them',
        {},
      ),
    );
  }
  if (!f.journal) {
    if (f.deadLettered > 0) {
      lines.push({
        level: 'error',
        fields: {
          left: f.undelivered,
          deadLettered: f.deadLettered,
          tookMs: f.tookMs,
          deadLetterPath: f.deadLetterPath,
          ...volume,
        },
        msg: `shutdown timeout: ${f.deadLettered} invoice(s) not delivered to SQS ${DEAD_LETTER_FATE[f.volume]} (each named in the "invoices written to the dead-letter file" lines)`,
      });
    }
  } else if (f.undelivered - f.lost - f.handedOff.length - f.leftInJournal.length > 0) {
    // The journal could not be read back: its records are on disk, but cannot be named here.
    const unnamed = f.undelivered - f.lost - f.handedOff.length - f.leftInJournal.length;
    lines.push({
      level: 'error',
      fields: {
        left: unnamed,
        tookMs: f.tookMs,
        journalDir: f.journalDir,
        ...volume,
        handoffProblem: f.handoffProblem,
      },
      msg: `shutdown timeout: ${unnamed} invoice(s) not delivered to SQS ${JOURNAL_FATE[f.volume]}; the journal could not be read back to name them`,
    });
  } else if (f.leftInJournal.length === 0) {
    lines.push({
      level: 'info',
      fields: { left: 0, handedOff: f.handedOff.length, tookMs: f.tookMs },
      msg: `shutdown: ${f.handedOff.length} invoice(s) SQS did not take in time were handed to a peer; none left here`,
    });
  } else {
    const fate = JOURNAL_FATE[f.volume];
    lines.push({
      level: 'error',
      fields: {
        left: f.leftInJournal.length,
        handedOff: f.handedOff.length,
        tookMs: f.tookMs,
        journalDir: f.journalDir,
        ...volume,
        ...(f.handoffProblem === undefined ? {} : { handoffProblem: f.handoffProblem }),
      },
      msg: `shutdown timeout: ${f.leftInJournal.length} invoice(s) not delivered to SQS nor handed to a peer ${fate}`,
    });
    lines.push(...named('error', f.leftInJournal, `invoices left in the journal: ${fate}`, volume));
  }
  if (f.lost > 0) {
    lines.push({
      level: 'error',
      fields: { lost: f.lost },
      msg: `shutdown: ${f.lost} invoice(s) could be written neither to the journal nor to the dead-letter file; their bodies are in the log lines above`,
    });
  }
  return lines;
}

/** Logs the report's lines. */
export function logShutdownReport(logger: Logger, lines: readonly ReportLine[]): void {
  for (const line of lines) logger[line.level](line.fields, line.msg);
}
