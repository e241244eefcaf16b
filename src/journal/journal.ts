import { mkdir, open, readFile, readdir, truncate, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import {
  RETIRE_ENTRY_BYTES,
  encodeRecord,
  encodeRetirements,
  scanRetirements,
  scanSegment,
  type JournalRecord,
} from './format.js';

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

interface Segment {
  readonly seq: number;
  readonly logPath: string;
  readonly retirePath: string;
  /** Open for appending: the active segment only. */
  handle: FileHandle | undefined;
  /** Bytes of records (the file's size). */
  size: number;
  /** Records not yet retired. */
  live: number;
  /** No more records will be appended: deleted once `live` reaches 0. */
  sealed: boolean;
  deleted: boolean;
  /** The retire file: opened on the first retirement; written at `retireSize`, one write at a time. */
  retireHandle: Promise<FileHandle> | undefined;
  retireSize: number;
  retireChain: Promise<void>;
}

interface PendingAppend {
  readonly bytes: Buffer;
  readonly resolve: (position: JournalPosition) => void;
  readonly reject: (error: Error) => void;
}

const SEGMENT_NAME = /^segment-(\d{12})\.log$/;
const RETIRE_NAME = /^segment-\d{12}\.retired$/;

function segmentName(seq: number): string {
  return `segment-${String(seq).padStart(12, '0')}`;
}

/**
 * The write-ahead journal (Vector's disk buffer, Fluent Bit's filesystem storage): every accepted
 * invoice is appended to a segment file and fdatasync'ed before it is acknowledged; concurrent appends
 * share one write and one sync (group commit). A record is retired, once SQS acknowledged it or it was
 * dead-lettered, by appending its offset to the segment's retire file without a sync: a retirement lost
 * in a crash of the machine only makes the invoice be sent again, never lost. A segment whose records are
 * all retired is deleted. {@link Journal.open} recovers what an earlier run left behind.
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
  private queue: PendingAppend[] = [];
  private writing: Promise<void> | undefined;
  private pendingRetire = new Map<number, number[]>();
  private retireScheduled = false;
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
    const seqs = names
      .map((name) => SEGMENT_NAME.exec(name)?.[1])
      .filter((seq): seq is string => seq !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const journal = new Journal(options, (seqs[seqs.length - 1] ?? 0) + 1);
    const recovered: RecoveredRecord[] = [];
    try {
      for (const seq of seqs) recovered.push(...(await journal.recoverSegment(seq)));
      // A retire file whose segment is gone (deleted between the two unlinks) is left over.
      const logs = new Set(seqs.map((seq) => segmentName(seq)));
      for (const name of names) {
        if (RETIRE_NAME.test(name) && !logs.has(name.slice(0, -'.retired'.length))) {
          await unlink(path.join(dir, name)).catch(() => undefined);
        }
      }
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
   * Appends a record and resolves once it is durable (written and fdatasync'ed), with its position.
   * Rejects with a {@link JournalError} when the write or the sync fails; nothing of it stays then.
   */
  append(record: JournalRecord): Promise<JournalPosition> {
    if (this.closed) return Promise.reject(new JournalError('journal closed', 'write_failed'));
    const bytes = encodeRecord(record);
    return new Promise((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      this.writing ??= this.writeLoop();
    });
  }

  /**
   * Marks records as done (acknowledged by SQS, or dead-lettered). Cheap: the retire files are
   * written soon after, together, without a sync; segments left with no live record are deleted.
   */
  retire(positions: readonly JournalPosition[]): void {
    for (const position of positions) {
      const segment = this.segments.get(position.segment);
      if (segment === undefined || segment.deleted) continue;
      segment.live -= 1;
      const list = this.pendingRetire.get(position.segment) ?? [];
      list.push(position.offset);
      this.pendingRetire.set(position.segment, list);
    }
    if (!this.retireScheduled) {
      this.retireScheduled = true;
      setImmediate(() => this.writeRetirements());
    }
  }

  /** Resolves once every append made so far has been written and synced (or has failed). */
  async settled(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
  }

  /** Finishes pending appends and retirements and closes the files. What is not retired stays for the next start. */
  async close(): Promise<void> {
    await this.settled();
    this.closed = true;
    this.writeRetirements();
    for (const segment of this.segments.values()) {
      await segment.retireChain;
      await segment.handle?.close().catch(() => undefined);
      segment.handle = undefined;
      const retire = segment.retireHandle;
      segment.retireHandle = undefined;
      if (retire !== undefined) await (await retire.catch(() => undefined))?.close().catch(() => undefined);
    }
  }

  private async recoverSegment(seq: number): Promise<RecoveredRecord[]> {
    const name = segmentName(seq);
    const logPath = path.join(this.dir, `${name}.log`);
    const retirePath = path.join(this.dir, `${name}.retired`);
    const data = await readFile(logPath);
    const scan = scanSegment(data);
    for (const range of scan.corrupt) {
      this.logger.error(
        { segment: `${name}.log`, offset: range.offset, bytes: range.bytes },
        'journal: corrupt record skipped',
      );
    }
    if (scan.validEnd < data.length) {
      this.logger.warn(
        { segment: `${name}.log`, offset: scan.validEnd, bytes: data.length - scan.validEnd },
        'journal: torn tail truncated (a write cut short by a crash)',
      );
      await truncate(logPath, scan.validEnd);
    }
    let retired = new Set<number>();
    let retireSize = 0;
    try {
      const retireData = await readFile(retirePath);
      retired = scanRetirements(retireData);
      retireSize = retireData.length - (retireData.length % RETIRE_ENTRY_BYTES);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const live = scan.records.filter((r) => !retired.has(r.offset));
    const segment: Segment = {
      seq,
      logPath,
      retirePath,
      handle: undefined,
      size: scan.validEnd,
      live: live.length,
      sealed: true,
      deleted: false,
      retireHandle: undefined,
      retireSize,
      retireChain: Promise.resolve(),
    };
    this.segments.set(seq, segment);
    this.diskBytes += segment.size;
    if (segment.live === 0) await this.deleteSegment(segment);
    return live.map((r) => ({ position: { segment: seq, offset: r.offset }, record: r.record }));
  }

  private async startSegment(): Promise<void> {
    const seq = this.nextSeq;
    this.nextSeq += 1;
    const name = segmentName(seq);
    const logPath = path.join(this.dir, `${name}.log`);
    const handle = await open(logPath, 'wx', 0o600);
    try {
      // The new file's directory entry must be durable before any record in it is acknowledged.
      await syncDirectory(this.dir);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(logPath).catch(() => undefined);
      throw error;
    }
    const segment: Segment = {
      seq,
      logPath,
      retirePath: path.join(this.dir, `${name}.retired`),
      handle,
      size: 0,
      live: 0,
      sealed: false,
      deleted: false,
      retireHandle: undefined,
      retireSize: 0,
      retireChain: Promise.resolve(),
    };
    this.segments.set(seq, segment);
    this.active = segment;
  }

  /** Group commit: whatever queued while the last write and sync ran goes out in one write and one sync. */
  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const positions = await this.writeBatch(batch.map((p) => p.bytes));
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
      let written = 0;
      while (written < total) {
        const parts = written === 0 ? buffers : [Buffer.concat(buffers).subarray(written)];
        const result = await handle.writev(parts, start + written);
        if (result.bytesWritten === 0) throw new Error('short write');
        written += result.bytesWritten;
      }
      const started = this.now();
      await handle.datasync();
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

  private writeRetirements(): void {
    this.retireScheduled = false;
    const pending = this.pendingRetire;
    this.pendingRetire = new Map();
    for (const [seq, offsets] of pending) {
      const segment = this.segments.get(seq);
      if (segment === undefined || segment.deleted) continue;
      if (segment.sealed && segment.live <= 0) {
        void this.deleteSegment(segment);
        continue;
      }
      const bytes = encodeRetirements(offsets);
      segment.retireChain = segment.retireChain.then(() => this.appendRetirements(segment, bytes));
    }
  }

  private async appendRetirements(segment: Segment, bytes: Buffer): Promise<void> {
    if (segment.deleted) return;
    try {
      segment.retireHandle ??= open(segment.retirePath, segment.retireSize > 0 ? 'r+' : 'w', 0o600);
      const handle = await segment.retireHandle;
      // Written at a known position: a write cut short by a full disk is overwritten by the next one.
      const { bytesWritten } = await handle.write(bytes, 0, bytes.length, segment.retireSize);
      if (bytesWritten === bytes.length) segment.retireSize += bytes.length;
    } catch (error) {
      // Only costs a duplicate after a crash: the invoice was delivered, and recovery would send it again.
      this.logger.warn({ err: error, segment: path.basename(segment.retirePath) }, 'journal: retirement not recorded');
    }
  }

  private async deleteSegment(segment: Segment): Promise<void> {
    if (segment.deleted) return;
    segment.deleted = true;
    this.segments.delete(segment.seq);
    this.diskBytes -= segment.size;
    await segment.retireChain;
    await segment.handle?.close().catch(() => undefined);
    const retire = segment.retireHandle;
    if (retire !== undefined) await (await retire.catch(() => undefined))?.close().catch(() => undefined);
    // The log goes first: a retire file without its log is harmless, a log without its retire file is not.
    await unlink(segment.logPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') this.logger.warn({ err: error }, 'journal: could not delete a retired segment');
    });
    await unlink(segment.retirePath).catch(() => undefined);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
