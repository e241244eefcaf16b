// At shutdown, hands the invoices left in this pod's journal to a Ready peer, and retires what the peer took.
import type { Logger } from 'pino';
import type { PendingInvoice } from '../buffer/index.js';
import { InvoiceJournal, recordOf } from '../journal/invoice-journal.js';
import { bearer } from './token.js';
import { HANDOFF_PATH, chunksOf } from './wire.js';

export interface HandOffOptions {
  /** JOURNAL_DIR, no longer open in this process (the service closed its own journal first). */
  journalDir: string;
  journalMaxBytes: number;
  /** HANDOFF_URL: a Service that reaches Ready peers only. Empty: nothing is handed off, only listed. */
  url: string;
  /** HANDOFF_TOKEN. Empty: nothing is handed off, only listed. */
  token: string;
  /** POD_NAME: tells the peer who sends (it refuses its own name). */
  from: string;
  /** Longest the whole hand-off may take (HANDOFF_TIMEOUT_MS). */
  timeoutMs: number;
  logger: Logger;
  /** Pause between tries after a refusal or an unreachable peer. Default 500 ms. */
  retryPauseMs?: number;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

export interface HandOffResult {
  /** Invoice ids a peer has journaled (and this pod retired). */
  handedOff: string[];
  /** Invoice ids still in this pod's journal. */
  left: string[];
  /** Why the hand-off stopped short, when it did. */
  problem?: string;
}

/**
 * Opens the journal, sends its unretired records to `url` in bounded chunks, and retires each chunk the
 * peer answered 200 for (it has journaled them, durably). A 503 (peer busy, starting or shutting down),
 * a 409 (the Service routed to this pod itself) or an unreachable peer is tried again after a pause,
 * until `timeoutMs` runs out; a 401 or another refusal ends the hand-off. What was not taken stays.
 */
export async function handOffJournal(options: HandOffOptions): Promise<HandOffResult> {
  const deadline = performance.now() + options.timeoutMs;
  // The reopen's own "recovered" line would read as a start: keep the journal's messages to warnings.
  const journal = new InvoiceJournal({
    dir: options.journalDir,
    maxBytes: options.journalMaxBytes,
    logger: options.logger.child({}, { level: 'warn' }),
  });
  const leftovers = await journal.open();
  const handedOff: string[] = [];
  let problem: string | undefined;
  try {
    if (leftovers.length === 0) return { handedOff, left: [] };
    if (options.url === '' || options.token === '' || options.from === '') {
      return { handedOff, left: leftovers.map((e) => e.invoiceId), problem: 'no hand-off configured' };
    }
    const byRecord = new Map(leftovers.map((entry) => [recordOf(entry), entry]));
    for (const chunk of chunksOf([...byRecord.keys()])) {
      const outcome = await sendChunk(options, chunk, deadline);
      if (outcome !== 'taken') {
        problem = outcome;
        break;
      }
      const entries = chunk.map((record) => byRecord.get(record) as PendingInvoice);
      journal.retire(entries);
      handedOff.push(...entries.map((e) => e.invoiceId));
    }
  } finally {
    await journal.close();
  }
  const taken = new Set(handedOff);
  const left = leftovers.map((e) => e.invoiceId).filter((id) => !taken.has(id));
  return { handedOff, left, ...(problem === undefined ? {} : { problem }) };
}

/** 'taken', or why not. */
async function sendChunk(
  options: HandOffOptions,
  chunk: readonly ReturnType<typeof recordOf>[],
  deadline: number,
): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const body = JSON.stringify({ from: options.from, invoices: chunk });
  let last = 'hand-off timed out before a first try';
  let url: URL;
  try {
    url = new URL(HANDOFF_PATH, options.url);
  } catch {
    return `HANDOFF_URL ${options.url} is not a URL`;
  }
  while (performance.now() < deadline) {
    const left = deadline - performance.now();
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { authorization: bearer(options.token), 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(Math.max(1, Math.ceil(left))),
      });
      const text = await res.text();
      if (res.status === 200) return 'taken';
      last = `peer answered ${res.status}: ${text.slice(0, 200)}`;
      if (res.status !== 503 && res.status !== 409) return last;
    } catch (error) {
      last = `peer not reachable: ${(error as Error).message}`;
    }
    options.logger.warn({ count: chunk.length, why: last }, 'hand-off: chunk not taken yet, trying again');
    const pause = Math.min(options.retryPauseMs ?? 500, deadline - performance.now());
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return last;
}
