// The write-ahead journal: appends, retires and recovers records across segment files, sharing each write and sync.
import { mkdir, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { encodeRecord, type JournalRecord } from './format.js';
import { JournalError } from './errors.js';
import { RetirementLedger } from './ledger.js';
import { recoverSegment } from './reader.js';
import {
  closeSegmentFiles,
  createSegment,
  removeOrphanRetireFiles,
  SYNC_ON_WRITE,
  segmentSeqs,
  unlinkSegment,
  type Segment,
} from './segment.js';
import type { JournalObserver, JournalOptions, JournalPosition, RecoveredRecord } from './types.js';
import { GroupCommit } from './writer.js';

/**
 * The write-ahead journal (Vector's disk buffer, Fluent Bit's filesystem storage): every accepted
 * invoice is appended to a segment file and made durable (an O_DSYNC write, or a write and fdatasync)
 * before it is acknowledged; concurrent appends share one durable write (group commit). A record is
 * retired, once SQS acknowledged it or it was dead-lettered, by appending its offset to the segment's
 * retire file without a sync: a retirement lost in a crash of the machine only makes the invoice be sent
 * again, never lost. A segment whose records are all retired is deleted. {@link Journal.open} recovers
 * what an earlier run left behind.
 */
export class Journal {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly segmentMaxBytes: number;
  private readonly logger: Logger;
  private readonly observer: JournalObserver;
  private readonly now: () => number;
  private readonly segments = new Map<number, Segment>();
  private active: Segment | undefined;
  private nextSeq: number;
  private diskBytes = 0;
  private readonly writer = new GroupCommit((buffers) => this.writeBatch(buffers));
  private readonly ledger: RetirementLedger;
  /** Deletions of fully retired segments under way: close() waits for them, so the next open sees none half done. */
  private readonly deletions = new Set<Promise<void>>();
  private closed = false;

  private constructor(options: JournalOptions, nextSeq: number) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.segmentMaxBytes =
      options.segmentMaxBytes ?? Math.min(16 * 1024 * 1024, Math.max(16 * 1024, Math.floor(options.maxBytes / 8)));
    this.logger = options.logger;
    this.observer = options.observer ?? {};
    this.now = options.now ?? (() => performance.now());
    this.nextSeq = nextSeq;
    this.ledger = new RetirementLedger({
      segment: (seq) => this.segments.get(seq),
      deleteSegment: (segment) => this.trackDeletion(this.deleteSegment(segment)),
      logger: this.logger,
    });
  }

  /**
   * Opens the journal in `dir`: reads every segment an earlier run left, truncates a torn tail, skips
   * (and logs) corrupt records, and returns the records not yet retired, oldest first. Then proves the
   * directory writable by creating the first new segment. Throws a {@link JournalError} (`unwritable`)
   * when the directory cannot be used.
   */
  static async open(options: JournalOptions): Promise<{ journal: Journal; recovered: RecoveredRecord[] }> {
    const { dir, logger } = options;
    let names: string[];
    try {
      await mkdir(dir, { recursive: true });
      names = await readdir(dir);
    } catch (error) {
      throw new JournalError(`JOURNAL_DIR ${dir} cannot be used: ${(error as Error).message}`, 'unwritable', {
        cause: error,
      });
    }
    const seqs = segmentSeqs(names);
    const journal = new Journal(options, (seqs[seqs.length - 1] ?? 0) + 1);
    const recovered: RecoveredRecord[] = [];
    try {
      for (const seq of seqs) recovered.push(...(await journal.recover(seq)));
      await removeOrphanRetireFiles(dir, names, seqs);
      await journal.startSegment();
    } catch (error) {
      throw new JournalError(`JOURNAL_DIR ${dir} is not writable: ${(error as Error).message}`, 'unwritable', {
        cause: error,
      });
    }
    if (seqs.length > 0) {
      logger.info(
        { dir, segments: seqs.length, recovered: recovered.length },
        'journal: recovered the invoices an earlier run had not delivered',
      );
    }
    return { journal, recovered };
  }

  /** Bytes of segment files on disk. */
  get bytes(): number {
    return this.diskBytes;
  }

  /** Segment files on disk. */
  get segmentCount(): number {
    return this.segments.size;
  }

  /**
   * True when the journal holds `maxBytes` or more: intake must turn invoices away. An active segment
   * whose records are all retired does not count: the next append replaces it.
   */
  get full(): boolean {
    const reclaimable = this.active !== undefined && this.active.live === 0 ? this.active.size : 0;
    return this.diskBytes - reclaimable >= this.maxBytes;
  }

  /**
   * Appends a record and resolves once it is durable (see segment.ts, SYNC_ON_WRITE), with its position.
   * Rejects with a {@link JournalError} when the write or the sync fails; nothing of it stays then.
   */
  append(record: JournalRecord): Promise<JournalPosition> {
    if (this.closed) return Promise.reject(new JournalError('journal closed', 'write_failed'));
    return this.writer.append(encodeRecord(record));
  }

  /**
   * Marks records as done (acknowledged by SQS, or dead-lettered). Cheap: the retire files are
   * written soon after, together, without a sync; segments left with no live record are deleted.
   */
  retire(positions: readonly JournalPosition[]): void {
    this.ledger.retire(positions);
  }

  /** Resolves once every append made so far has been written and synced (or has failed). */
  settled(): Promise<void> {
    return this.writer.settled();
  }

  /** Finishes pending appends and retirements and closes the files. What is not retired stays for the next start. */
  async close(): Promise<void> {
    await this.settled();
    this.closed = true;
    this.ledger.flush();
    await Promise.all(this.deletions);
    for (const segment of this.segments.values()) await closeSegmentFiles(segment);
  }

  private trackDeletion(deletion: Promise<void>): Promise<void> {
    const tracked = deletion.finally(() => this.deletions.delete(tracked));
    this.deletions.add(tracked);
    return tracked;
  }

  /** Takes in segment `seq` as an earlier run left it; deletes it when nothing in it is live. */
  private async recover(seq: number): Promise<RecoveredRecord[]> {
    const { segment, live } = await recoverSegment(this.dir, seq, this.logger);
    this.segments.set(seq, segment);
    this.diskBytes += segment.size;
    if (segment.live === 0) await this.deleteSegment(segment);
    return live;
  }

  private async startSegment(): Promise<void> {
    const seq = this.nextSeq;
    this.nextSeq += 1;
    const segment = await createSegment(this.dir, seq);
    this.segments.set(seq, segment);
    this.active = segment;
  }

  /** One write and one sync for a group commit's batch, at the end of the active segment (rotated when full). */
  private async writeBatch(buffers: Buffer[]): Promise<JournalPosition[]> {
    if (this.active === undefined || this.active.size >= this.segmentMaxBytes) await this.rotate();
    const segment = this.active as Segment;
    const handle = segment.handle as FileHandle;
    const start = segment.size;
    const positions: JournalPosition[] = [];
    let offset = start;
    for (const b of buffers) {
      positions.push({ segment: segment.seq, offset });
      offset += b.length;
    }
    const total = offset - start;
    try {
      const started = this.now();
      let written = 0;
      while (written < total) {
        const parts = written === 0 ? buffers : [Buffer.concat(buffers).subarray(written)];
        const result = await handle.writev(parts, start + written);
        if (result.bytesWritten === 0) throw new Error('short write');
        written += result.bytesWritten;
      }
      // With O_DSYNC (segment.ts) the bytes are durable once writev returns; otherwise sync them now.
      if (!SYNC_ON_WRITE) await handle.datasync();
      this.observer.synced?.((this.now() - started) / 1000, buffers.length);
    } catch (error) {
      // Leave no part of a failed batch behind: its requests are answered 503, so none of it may be sent.
      const undone = await handle.truncate(start).then(
        () => true,
        () => false,
      );
      if (!undone) {
        // Cannot take the bytes back: start a new segment, and retire these records so recovery skips them.
        segment.sealed = true;
        segment.size = offset;
        segment.live += positions.length;
        this.diskBytes += total;
        this.retire(positions);
        this.active = undefined;
      }
      this.logger.error({ err: error, segment: path.basename(segment.logPath) }, 'journal: write or sync failed');
      throw new JournalError(`journal write failed: ${(error as Error).message}`, 'write_failed', { cause: error });
    }
    segment.size = offset;
    segment.live += positions.length;
    this.diskBytes += total;
    return positions;
  }

  private async rotate(): Promise<void> {
    const old = this.active;
    this.active = undefined;
    await this.startSegment();
    if (old !== undefined) {
      old.sealed = true;
      await old.handle?.close().catch(() => undefined);
      old.handle = undefined;
      if (old.live === 0) await this.deleteSegment(old);
    }
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    if (segment.deleted) return;
    segment.deleted = true;
    this.segments.delete(segment.seq);
    this.diskBytes -= segment.size;
    await closeSegmentFiles(segment);
    await unlinkSegment(segment, this.logger);
  }
}
