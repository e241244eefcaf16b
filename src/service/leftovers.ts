// The end of a stop: leftovers of the drain go to a peer (journal on), then the report says where each one is.
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { ShutdownLoss } from '../delivery/index.js';
import { handOffJournal, type HandOffResult } from '../handoff/index.js';
import { logShutdownReport, shutdownReport, type ReportLine } from './shutdown-report.js';

/**
 * Called once the drain has ended and this process has closed its journal. With leftovers in the journal,
 * hands them to a Ready peer (HANDOFF_URL, HANDOFF_TOKEN) within HANDOFF_TIMEOUT_MS, then logs the report:
 * every invoice id still at risk, and what becomes of it on this volume (JOURNAL_VOLUME). Returns the lines
 * and the loss left once the peer took its share.
 */
export async function finishShutdown(
  config: Config,
  logger: Logger,
  loss: ShutdownLoss,
  tookMs: number,
  fetchImpl?: typeof fetch,
): Promise<{ lines: ReportLine[]; loss: ShutdownLoss }> {
  const journal = config.journalDir !== '';
  let result: HandOffResult = { handedOff: [], left: [] };
  // Read back even when the drain reported nothing kept: invoices an earlier run left, still waiting to be
  // buffered when the stop came, are in the journal too.
  if (journal) {
    try {
      result = await handOffJournal({
        journalDir: config.journalDir,
        journalMaxBytes: config.journalMaxBytes,
        url: config.handoffUrl,
        token: config.handoffToken,
        from: config.podName,
        timeoutMs: config.handoffTimeoutMs,
        logger,
        ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
      });
    } catch (error) {
      // The journal could not be reopened: its records are still on disk, but no id can be named.
      logger.error({ err: error, journalDir: config.journalDir }, 'hand-off: the journal could not be read back');
      result = { handedOff: [], left: [], problem: (error as Error).message };
    }
  }
  const lines = shutdownReport({
    tookMs,
    undelivered: journal ? Math.max(loss.left, result.handedOff.length + result.left.length + loss.lost) : loss.left,
    handedOff: result.handedOff,
    leftInJournal: result.left,
    deadLettered: journal ? 0 : loss.left - loss.lost,
    lost: loss.lost,
    handoffProblem: result.problem,
    journal,
    volume: config.journalVolume,
    journalDir: config.journalDir,
    deadLetterPath: config.deadLetterPath,
  });
  logShutdownReport(logger, lines);
  // What is still at risk here once the peer has taken its share (the exit code reflects it).
  const handedOff = Math.min(result.handedOff.length, loss.kept);
  return { lines, loss: { left: loss.left - handedOff, kept: loss.kept - handedOff, lost: loss.lost } };
}
