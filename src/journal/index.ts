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
export { InvoiceJournal, pendingFromRecord, recordOf, type InvoiceJournalOptions } from './invoice-journal.js';
export {
  Journal,
  JournalError,
  type JournalObserver,
  type JournalOptions,
  type JournalPosition,
  type RecoveredRecord,
} from './journal.js';
