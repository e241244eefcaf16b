// The journal's public shapes: where a record sits, what recovery returns, the options and the observer.
import type { Logger } from 'pino';
import type { JournalRecord } from './format.js';

/** Where a record sits: its segment and its offset there. Retiring it needs nothing else. */
export interface JournalPosition {
  readonly segment: number;
  readonly offset: number;
}

/** An invoice found in the journal at start, not yet retired. */
export interface RecoveredRecord {
  readonly position: JournalPosition;
  readonly record: JournalRecord;
}

/** What the journal reports to metrics. */
export interface JournalObserver {
  /** One group commit: its fdatasync took `seconds` and made `records` records durable. */
  synced?(seconds: number, records: number): void;
}

export interface JournalOptions {
  /** Directory of the segment files (JOURNAL_DIR); created when missing. */
  dir: string;
  /** Bytes of segment files on disk at which {@link Journal.full} turns true (JOURNAL_MAX_BYTES). */
  maxBytes: number;
  /** A segment is closed and a new one started past this size. Default: maxBytes / 8, between 16 KiB and 16 MiB. */
  segmentMaxBytes?: number;
  logger: Logger;
  observer?: JournalObserver;
  /** Monotonic clock in ms. Default: performance.now. */
  now?: () => number;
}
