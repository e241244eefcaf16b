// Group commit: appends that queue while a write and sync run go out together in the next write and sync.
import { JournalError } from './errors.js';
import type { JournalPosition } from './types.js';

interface PendingAppend {
  readonly bytes: Buffer;
  readonly resolve: (position: JournalPosition) => void;
  readonly reject: (error: Error) => void;
}

/** Queues encoded records and hands them, batch by batch, to `write` (one write and one sync each). */
export class GroupCommit {
  private queue: PendingAppend[] = [];
  private writing: Promise<void> | undefined;

  /** `write` makes a batch durable and returns each record's position, or throws (the whole batch fails). */
  constructor(private readonly write: (buffers: Buffer[]) => Promise<JournalPosition[]>) {}

  /** Resolves with the record's position once it is durable. */
  append(bytes: Buffer): Promise<JournalPosition> {
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      this.writing ??= this.writeLoop();
    });
  }

  /** Resolves once every append made so far has been written and synced (or has failed). */
  async settled(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const positions = await this.write(batch.map((p) => p.bytes));
          batch.forEach((p, i) => p.resolve(positions[i] as JournalPosition));
        } catch (error) {
          const failure =
            error instanceof JournalError
              ? error
              : new JournalError(`journal write failed: ${(error as Error).message}`, 'write_failed', { cause: error });
          for (const p of batch) p.reject(failure);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
