// The journal module: a crash-safe write-ahead log of accepted invoices.
//
// Design (after Vector's disk buffer, lib/vector-buffers/src/variants/disk_v2/): the log is split by role.
//   format.ts          the record: framing, checksums, and the retire file's entries (scanned at recovery)
//   segment.ts         a segment's state and files: created with its directory entry synced, closed, deleted
//   writer.ts          group commit: appends queued during a write and sync share the next write and sync
//   ledger.ts          retirement: offsets that are done, appended to the segment's retire file without a sync
//   reader.ts          recovery: a segment as found at start, torn tail truncated, corrupt records skipped
//   journal.ts         the Journal: ties them together, rotates segments, counts bytes for JOURNAL_MAX_BYTES
//   invoice-journal.ts the journal as the pipeline sees it: pending invoices in, retired by delivery
// An invoice is acknowledged only once its record is fdatasync'ed; a retirement lost in a crash only makes
// the invoice be sent again. A segment whose records are all retired is deleted.
export {
  RECORD_HEADER_BYTES,
  RETIRE_ENTRY_BYTES,
  encodeRecord,
  encodeRetirements,
  scanRetirements,
  scanSegment,
  type DamagedRange,
  type JournalRecord,
  type ScannedRecord,
  type ScannedSegment,
} from './format.js';
export { JournalError } from './errors.js';
export { InvoiceJournal, pendingFromRecord, recordOf, type InvoiceJournalOptions } from './invoice-journal.js';
export { Journal } from './journal.js';
export { type JournalObserver, type JournalOptions, type JournalPosition, type RecoveredRecord } from './types.js';
