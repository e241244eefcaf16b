// Retirement: records which offsets are done in each segment's retire file, batched and without a sync.
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { encodeRetirements } from './format.js';
import type { Segment } from './segment.js';
import type { JournalPosition } from './types.js';

export interface RetirementLedgerOptions {
  /** The live segment `seq`, if any. */
  segment(seq: number): Segment | undefined;
  /** Deletes a sealed segment left with no live record. */
  deleteSegment(segment: Segment): Promise<void>;
  logger: Logger;
}

/**
 * Retired positions, gathered and written soon after, together, to each segment's retire file. A
 * retirement lost in a crash of the machine only makes the invoice be sent again, never lost.
 */
export class RetirementLedger {
  private readonly options: RetirementLedgerOptions;
  private pending = new Map<number, number[]>();
  private scheduled = false;

  constructor(options: RetirementLedgerOptions) {
    this.options = options;
  }

  /** Counts the positions off their segments' live records; their retire files are written on the next turn. */
  retire(positions: readonly JournalPosition[]): void {
    for (const position of positions) {
      const segment = this.options.segment(position.segment);
      if (segment === undefined || segment.deleted) continue;
      segment.live -= 1;
      const list = this.pending.get(position.segment) ?? [];
      list.push(position.offset);
      this.pending.set(position.segment, list);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is pending now; sealed segments with no live record left are deleted instead. */
  flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [seq, offsets] of pending) {
      const segment = this.options.segment(seq);
      if (segment === undefined || segment.deleted) continue;
      if (segment.sealed && segment.live <= 0) {
        void this.options.deleteSegment(segment);
        continue;
      }
      const bytes = encodeRetirements(offsets);
      segment.retireChain = segment.retireChain.then(() => this.append(segment, bytes));
    }
  }

  private async append(segment: Segment, bytes: Buffer): Promise<void> {
    if (segment.deleted) return;
    try {
      segment.retireHandle ??= open(segment.retirePath, segment.retireSize > 0 ? 'r+' : 'w', 0o600);
      const handle = await segment.retireHandle;
      // Written at a known position: a write cut short by a full disk is overwritten by the next one.
      const { bytesWritten } = await handle.write(bytes, 0, bytes.length, segment.retireSize);
      if (bytesWritten === bytes.length) segment.retireSize += bytes.length;
    } catch (error) {
      // Only costs a duplicate after a crash: the invoice was delivered, and recovery would send it again.
      this.options.logger.warn(
        { err: error, segment: path.basename(segment.retirePath) },
        'journal: retirement not recorded',
      );
    }
  }
}
