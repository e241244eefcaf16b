// The journal's one error: why it could not take a record.
/** Why the journal could not take a record: intake answers 503 and nothing is queued. */
export class JournalError extends Error {
  constructor(
    message: string,
    /** `unwritable`: the directory cannot be used at start. `write_failed`: a write or sync failed (disk full...). */
    readonly kind: 'unwritable' | 'write_failed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JournalError';
  }
}
